"""Data, augmentation, encoders and critics."""

import numpy as np
import pytest
import torch

import nine_utils as nu


def test_digits_are_unit_interval_tensors():
    x, y = nu.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))


def test_split_is_stratified_disjoint_and_fixed_by_seed():
    a, b, c = nu.digits_split(0.25, seed=0), nu.digits_split(0.25, seed=0), nu.digits_split(0.25, seed=1)
    assert torch.equal(a.x_test, b.x_test) and not torch.equal(a.x_test, c.x_test)
    assert len(a.y_train) + len(a.y_test) == 1797
    counts = torch.bincount(a.y_test, minlength=10).numpy()
    assert counts.min() >= 43 and counts.max() <= 46  # ~45 per class
    flat_train = {tuple(r) for r in a.x_train.flatten(1).numpy().round(4)}
    overlap = sum(tuple(r) in flat_train for r in a.x_test.flatten(1).numpy().round(4))
    assert overlap < 5  # the digits hold a few duplicate images, no more
    with pytest.raises(ValueError, match="test_fraction"):
        nu.digits_split(1.5)


def test_augment_shifts_and_adds_noise_reproducibly():
    x, _ = nu.load_digits()
    aug = nu.TwoViewAugment(max_shift=1, noise=0.0)
    v = aug(x[:50], torch.Generator().manual_seed(0))
    assert v.shape == (50, 1, 8, 8)
    # pure shifts preserve the pixel mass away from the border and never create new values
    assert torch.equal(v, aug(x[:50], torch.Generator().manual_seed(0)))
    assert not torch.equal(v, x[:50])
    assert set(np.unique(v.numpy())) <= set(np.unique(x[:50].numpy()))
    noisy = nu.TwoViewAugment(max_shift=0, noise=0.1)(x[:50], torch.Generator().manual_seed(0))
    assert 0.0 <= noisy.min() and noisy.max() <= 1.0
    assert 0.02 < (noisy - x[:50]).abs().mean() < 0.1
    with pytest.raises(ValueError):
        nu.TwoViewAugment(max_shift=-1)
    with pytest.raises(ValueError, match="noise"):
        nu.TwoViewAugment(noise=-0.1)


def test_encoders_shapes():
    x = torch.rand(5, 1, 8, 8)
    assert nu.ConvEncoder(7)(x).shape == (5, 7)
    assert nu.MLPEncoder(64, 3)(x).shape == (5, 3)
    with pytest.raises(ValueError, match="8x8"):
        nu.ConvEncoder(4)(torch.rand(2, 1, 28, 28))
    assert nu.ConvEncoder(6, image_size=28)(torch.rand(3, 1, 28, 28)).shape == (3, 6)
    assert nu.ConvEncoder(6, image_size=16)(torch.rand(3, 1, 16, 16)).shape == (3, 6)
    with pytest.raises(ValueError, match="out_dim"):
        nu.ConvEncoder(0)


@pytest.mark.parametrize("name", ["dot", "bilinear", "concat"])
def test_critics_give_square_scores_with_pairwise_entries(name):
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    critic = nu.make_critic(name, 4, 4, hidden=16) if name == "concat" else nu.make_critic(name, 4)
    s = critic(a, b)
    assert s.shape == (6, 6)
    # entry (i, j) depends on a_i and b_j only
    s2 = critic(a.flip(0), b)
    assert torch.allclose(s2, s.flip(0), atol=1e-6)


def test_dot_critic_values_and_cosine_bound():
    a, b = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.allclose(nu.SeparableCritic(3, temperature=0.5)(a, b), a @ b.T / 0.5)
    cos = nu.SeparableCritic(3, normalize=True, temperature=0.2)(a, b)
    assert cos.abs().max() <= 1 / 0.2 + 1e-5


def test_critic_argument_errors():
    with pytest.raises(ValueError, match="'dot', 'bilinear', 'concat'"):
        nu.make_critic("cosine", 4)
    with pytest.raises(ValueError, match="temperature"):
        nu.SeparableCritic(4, temperature=0.0)
    with pytest.raises(ValueError, match="match"):
        nu.SeparableCritic(4, 5)
