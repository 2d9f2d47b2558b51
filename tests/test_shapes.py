"""The shapes renderer of notebook 05: determinism, geometry, factor sampling, views, bad input, speed."""

import math
import time

import numpy as np
import pytest
import torch

import nine_utils as nu
from nine_utils.shapes import render_shapes, sample_factors


def _one(shape="square", scale=0.8, rotation=0.0, x=0.5, y=0.5, size=16, shapes=nu.SHAPES):
    f = np.array([[shapes.index(shape), scale, rotation, x, y]], dtype=float)
    return render_shapes(f, size, shapes=shapes)[0]


def _centre_of_mass(img):
    rows, cols = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    return (rows * img).sum() / img.sum(), (cols * img).sum() / img.sum()


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = nu.make_shapes(200, 16, seed=3), nu.make_shapes(200, 16, seed=3), nu.make_shapes(200, 16, seed=4)
    assert torch.equal(a.images, b.images) and np.array_equal(a.factors, b.factors)
    assert not np.array_equal(a.factors, c.factors)


def test_shapes_dtypes_ranges_and_factor_table():
    data = nu.make_shapes(500, 20, seed=0)
    assert data.images.shape == (500, 1, 20, 20) and data.images.dtype == torch.float32
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert data.factors.shape == (500, 5) and data.names == nu.FACTOR_NAMES
    assert set(np.unique(data.factor("shape"))) == {0.0, 1.0, 2.0, 3.0}
    assert 0.5 <= data.factor("scale").min() and data.factor("scale").max() <= 1.0
    assert 0.0 <= data.factor("rotation").min() and data.factor("rotation").max() <= math.pi / 3
    table = data.table()
    assert list(table.columns) == list(nu.FACTOR_NAMES) and set(table["shape"]) == set(nu.SHAPES)
    assert (data.images.sum(dim=(1, 2, 3)) > 1.0).all(), "every image shows a shape"


def test_factors_are_independent_and_uniform():
    f = sample_factors(20000, np.random.default_rng(0))
    cont = f[:, 1:]
    corr = np.corrcoef(cont.T) - np.eye(4)
    assert np.abs(corr).max() < 0.03
    u = (f[:, 3:] - 0.0) / 1.0  # x and y are uniform on [0, 1]: every decile holds about a tenth
    for col in u.T:
        counts = np.histogram(col, bins=10, range=(0, 1))[0]
        assert np.all(np.abs(counts / len(col) - 0.1) < 0.01)
    grid = sample_factors(5000, np.random.default_rng(1), levels=5)
    for j in range(1, 5):
        assert len(np.unique(grid[:, j])) == 5


def test_geometry_position_scale_and_rotation():
    # row 0 is the top: y = 1 puts the shape in the top rows, x = 1 in the right columns
    r_top, _ = _centre_of_mass(_one(y=1.0))
    r_bottom, _ = _centre_of_mass(_one(y=0.0))
    _, c_right = _centre_of_mass(_one(x=1.0))
    _, c_left = _centre_of_mass(_one(x=0.0))
    assert r_top < 5 < 11 < r_bottom and c_left < 5 < 11 < c_right
    # ink grows with scale, roughly with its square
    small, big = _one(scale=0.5).sum(), _one(scale=1.0).sum()
    assert 3.0 < big / small < 5.0
    # a rotated ellipse is a different image, a square turned by 90 degrees the same one
    assert np.abs(_one("ellipse") - _one("ellipse", rotation=math.pi / 4)).sum() > 5
    assert np.allclose(_one("square", rotation=0.0, size=12), _one("square", rotation=math.pi / 2, size=12), atol=1e-5)
    # the four shapes differ from one another at the same factors
    imgs = [_one(s, scale=1.0) for s in nu.SHAPES]
    assert min(np.abs(a - b).sum() for i, a in enumerate(imgs) for b in imgs[i + 1:]) > 3


def test_views_share_factors_up_to_jitter_and_are_reproducible():
    data = nu.make_shapes(300, 16, seed=0, shapes=("heart",))
    views = nu.ShapeViews(data.factors, 16, copies=3, jitter=0.02, noise=0.05, seed=0, shapes=("heart",))
    assert views.bank.shape == (300, 3, 1, 16, 16) and torch.equal(views.index, torch.arange(300))
    idx = torch.arange(64)
    a = views(idx, torch.Generator().manual_seed(1))
    b = views(idx, torch.Generator().manual_seed(1))
    c = views(idx, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    same = (a - c).pow(2).mean().item()
    other = (a - views(idx.roll(1), torch.Generator().manual_seed(2))).pow(2).mean().item()
    assert same < 0.2 * other, "two views of one image are much closer than views of two images"
    clean = nu.ShapeViews(data.factors, 16, copies=2, jitter=0.0, noise=0.0, shapes=("heart",))
    assert torch.allclose(clean(idx), data.images[:64])


def test_a_view_is_one_of_its_jittered_copies_drawn_at_random():
    data = nu.make_shapes(200, 16, seed=0, shapes=("heart",))
    views = nu.ShapeViews(data.factors, 16, copies=4, jitter=0.05, noise=0.0, seed=0, shapes=("heart",))
    bank = views.bank
    assert (bank[:, 0] - bank[:, 1]).abs().sum(dim=(1, 2, 3)).min() > 0, "the copies are jittered, not equal"
    idx = torch.arange(200)
    picks = []
    for s in range(3):
        v = views(idx, torch.Generator().manual_seed(s))
        match = (v.unsqueeze(1) - bank).abs().sum(dim=(2, 3, 4)) == 0  # (n, copies): which copy each view is
        assert match.any(dim=1).all(), "without pixel noise every view is exactly one copy of the bank"
        picks.append(match.float().argmax(dim=1))
    picks = torch.stack(picks)
    assert len(torch.unique(picks)) == 4, "every copy gets drawn"
    assert (picks[0] != picks[1]).float().mean() > 0.5, "two draws pick different copies for most images"


def test_jitter_stays_in_range_and_keeps_the_shape():
    f = sample_factors(2000, np.random.default_rng(0))
    j = nu.shapes.jitter_factors(f, 0.1, np.random.default_rng(1))
    assert np.array_equal(j[:, 0], f[:, 0])
    moved = np.abs(j[:, 1:] - f[:, 1:])
    assert moved.max() > 0 and np.all(moved[:, 2:] <= 0.1 + 1e-12)
    assert j[:, 1].min() >= 0.5 and j[:, 1].max() <= 1.0 and j[:, 3:].min() >= 0 and j[:, 3:].max() <= 1


def test_ten_thousand_images_in_a_couple_of_seconds():
    nu.make_shapes(100, 16, seed=0)  # warm-up
    start = time.perf_counter()
    nu.make_shapes(10_000, 16, seed=0)
    elapsed = time.perf_counter() - start
    assert elapsed < 6.0, f"10,000 images of 16x16 took {elapsed:.1f} s"  # about 1.5-2 s on a 2-core CPU


@pytest.mark.parametrize("call, match", [
    (lambda: nu.make_shapes(0), "n must be"),
    (lambda: nu.make_shapes(10, 3), "image_size"),
    (lambda: nu.make_shapes(10, shapes=("star",)), "'square', 'ellipse', 'heart', 'triangle'"),
    (lambda: nu.make_shapes(10, shapes=()), "non-empty"),
    (lambda: nu.make_shapes(10, shapes=("heart", "heart")), "repeat"),
    (lambda: nu.make_shapes(10, scale_range=(0.5, 1.5)), "scale_range"),
    (lambda: nu.make_shapes(10, rotation_range=(1.0, 0.0)), "low <= high"),
    (lambda: nu.make_shapes(10, levels=1), "levels"),
    (lambda: render_shapes(np.zeros((3, 4))), r"\(n, 5\)"),
    (lambda: render_shapes(np.array([[7, 0.8, 0, 0.5, 0.5]])), "indices"),
    (lambda: render_shapes(np.array([[0, 0.0, 0, 0.5, 0.5]])), "scale column > 0"),
    (lambda: nu.ShapeViews(np.zeros((3, 5)), noise=-1), "noise"),
    (lambda: nu.ShapeViews(np.zeros((3, 5)), copies=0), "copies"),
    (lambda: nu.shapes.jitter_factors(np.zeros((3, 5)), -0.1, np.random.default_rng(0)), "jitter"),
    (lambda: nu.make_shapes(10).factor("colour"), "'shape', 'scale'"),
])
def test_bad_input_is_a_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
