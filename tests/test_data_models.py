"""Data, augmentation, encoders and critics."""

import numpy as np
import pytest
import torch

from nine_utils.data import GaussianJitter, TwoViewAugment, dataset_split, digits_split, load_digits
from nine_utils.models import ConcatCritic, ConvEncoder, MLPEncoder, SeparableCritic, make_critic


def test_digits_are_unit_interval_tensors():
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))


def test_split_is_stratified_disjoint_and_fixed_by_seed():
    a, b, c = digits_split(0.25, seed=0), digits_split(0.25, seed=0), digits_split(0.25, seed=1)
    assert torch.equal(a.x_test, b.x_test) and not torch.equal(a.x_test, c.x_test)
    assert len(a.y_train) + len(a.y_test) == 1797
    counts = torch.bincount(a.y_test, minlength=10).numpy()
    assert counts.min() >= 43 and counts.max() <= 46  # ~45 per class
    flat_train = {tuple(r) for r in a.x_train.flatten(1).numpy().round(4)}
    overlap = sum(tuple(r) in flat_train for r in a.x_test.flatten(1).numpy().round(4))
    assert overlap < 5  # the digits hold a few duplicate images, no more
    with pytest.raises(ValueError, match="test_fraction"):
        digits_split(1.5)


def test_augment_shifts_and_adds_noise_reproducibly():
    x, _ = load_digits()
    aug = TwoViewAugment(max_shift=1, noise=0.0)
    v = aug(x[:50], torch.Generator().manual_seed(0))
    assert v.shape == (50, 1, 8, 8)
    # pure shifts preserve the pixel mass away from the border and never create new values
    assert torch.equal(v, aug(x[:50], torch.Generator().manual_seed(0)))
    assert not torch.equal(v, x[:50])
    assert set(np.unique(v.numpy())) <= set(np.unique(x[:50].numpy()))
    noisy = TwoViewAugment(max_shift=0, noise=0.1)(x[:50], torch.Generator().manual_seed(0))
    assert 0.0 <= noisy.min() and noisy.max() <= 1.0
    assert 0.02 < (noisy - x[:50]).abs().mean() < 0.1
    with pytest.raises(ValueError):
        TwoViewAugment(max_shift=-1)
    with pytest.raises(ValueError, match="noise"):
        TwoViewAugment(noise=-0.1)


def test_split_takes_a_numpy_generator_and_checks_the_seed():
    a = digits_split(0.25, seed=np.random.default_rng(3))
    b = digits_split(0.25, seed=np.random.default_rng(3))
    assert torch.equal(a.y_test, b.y_test) and len(a.y_test) + len(a.y_train) == 1797
    with pytest.raises(ValueError, match="seed must be"):
        digits_split(0.25, seed="abc")
    with pytest.raises(ValueError, match="seed must be"):
        dataset_split("digits", seed=1.5)
    with pytest.raises(ValueError, match="'digits', 'mnist', 'fashion_mnist'"):
        dataset_split("cifar")
    small = dataset_split("digits", seed=0, max_train=50)
    assert len(small.y_train) == 50
    assert torch.equal(small.x_train, dataset_split("digits", seed=0, max_train=50).x_train)


def test_gaussian_jitter_adds_noise_of_the_given_std_reproducibly():
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(20000, 3)), dtype=torch.float32)
    jitter = GaussianJitter(0.3)
    v = jitter(x, torch.Generator().manual_seed(0))
    assert v.shape == x.shape and v.dtype == torch.float32
    assert torch.allclose((v - x).std(0), torch.full((3,), 0.3), rtol=0.03)
    assert torch.allclose((v - x).mean(0), torch.zeros(3), atol=0.01)
    assert torch.equal(v, jitter(x, torch.Generator().manual_seed(0)))
    assert not torch.equal(v, jitter(x, torch.Generator().manual_seed(1)))
    assert torch.equal(GaussianJitter(0.0)(x[:5]), x[:5])
    assert jitter(x[:4].double(), torch.Generator()).dtype == torch.float64
    assert "std=0.3" in repr(jitter)


@pytest.mark.parametrize("std", [-0.1, float("nan"), float("inf"), "a"])
def test_gaussian_jitter_refuses_a_bad_std(std):
    with pytest.raises(ValueError, match="std"):
        GaussianJitter(std)


@pytest.mark.parametrize("x", [torch.zeros(4, 1, 8, 8), torch.zeros(4), torch.zeros(4, 3, dtype=torch.long)])
def test_gaussian_jitter_is_for_rows_of_features(x):
    with pytest.raises(ValueError, match=r"\(n, p\)"):
        GaussianJitter(0.1)(x, torch.Generator())


def test_encoders_shapes():
    x = torch.rand(5, 1, 8, 8)
    assert ConvEncoder(7)(x).shape == (5, 7)
    assert MLPEncoder(64, 3)(x).shape == (5, 3)
    with pytest.raises(ValueError, match="8x8"):
        ConvEncoder(4)(torch.rand(2, 1, 28, 28))
    assert ConvEncoder(6, image_size=28)(torch.rand(3, 1, 28, 28)).shape == (3, 6)
    assert ConvEncoder(6, image_size=16)(torch.rand(3, 1, 16, 16)).shape == (3, 6)
    with pytest.raises(ValueError, match="out_dim"):
        ConvEncoder(0)


@pytest.mark.parametrize("name", ["dot", "bilinear", "concat"])
def test_critics_give_square_scores_with_pairwise_entries(name):
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    critic = make_critic(name, 4, 4, hidden=16) if name == "concat" else make_critic(name, 4)
    s = critic(a, b)
    assert s.shape == (6, 6)
    # entry (i, j) depends on a_i and b_j only
    s2 = critic(a.flip(0), b)
    assert torch.allclose(s2, s.flip(0), atol=1e-6)


def test_dot_critic_values_and_cosine_bound():
    a, b = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.allclose(SeparableCritic(3, temperature=0.5)(a, b), a @ b.T / 0.5)
    cos = SeparableCritic(3, normalize=True, temperature=0.2)(a, b)
    assert cos.abs().max() <= 1 / 0.2 + 1e-5


@pytest.mark.parametrize("critic", [SeparableCritic(5), SeparableCritic(5, kind="bilinear"),
                                    SeparableCritic(5, hidden=8), ConcatCritic(5, hidden=8)])
def test_critics_refuse_embeddings_of_another_width(critic):
    # SeparableCritic(5) used to score width-4 embeddings: without hidden layers g and h are the
    # identity and the plain dot product works for any common width
    assert critic.dim == critic.dim_a == critic.dim_b == 5
    assert critic(torch.randn(3, 5), torch.randn(4, 5)).shape == (3, 4)
    with pytest.raises(ValueError, match="expects a of shape"):
        critic(torch.randn(3, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match="expects a of shape"):
        critic(torch.randn(3, 5), torch.randn(3, 4))
    with pytest.raises(ValueError, match="expects a of shape"):
        critic(torch.randn(5), torch.randn(5))


def test_critic_argument_errors():
    with pytest.raises(ValueError, match="'dot', 'bilinear', 'concat'"):
        make_critic("cosine", 4)
    with pytest.raises(ValueError, match="temperature"):
        SeparableCritic(4, temperature=0.0)
    with pytest.raises(ValueError, match="match"):
        SeparableCritic(4, 5)


def test_mixture_split_is_clustered_standardized_and_seeded():
    from nine_utils.data import mixture_split

    s = mixture_split(n_train=600, n_test=200, n_components=4, dim=6, seed=3)
    assert s.x_train.shape == (600, 6) and s.x_test.shape == (200, 6) and s.x_train.dtype == torch.float32
    np.testing.assert_allclose(s.x_train.mean(0).numpy(), 0, atol=1e-5)  # the training rows set the scale
    np.testing.assert_allclose(s.x_train.std(0).numpy(), 1, atol=1e-4)
    assert set(s.y_train.tolist()) == {0, 1, 2, 3}
    # clustered: a point is much closer to its own cluster's mean than to any other
    means = torch.stack([s.x_train[s.y_train == k].mean(0) for k in range(4)])
    nearest = torch.cdist(s.x_test, means).argmin(1)
    assert (nearest == s.y_test).float().mean() > 0.95
    again = mixture_split(n_train=600, n_test=200, n_components=4, dim=6, seed=3)
    assert torch.equal(s.x_test, again.x_test)
    with pytest.raises(ValueError, match="n_components"):
        mixture_split(n_components=1)
    with pytest.raises(ValueError, match="separation"):
        mixture_split(separation=float("nan"))


def test_no_random_helper_draws_from_torchs_global_generator():
    # sample_correlated_gaussians (generator=None), head.channel(z), TwoViewAugment and GaussianJitter
    # without a generator advanced torch's global generator, against the seeds convention
    import nine_utils as nu
    from nine_utils.shapes import ShapeViews, make_shapes

    images, rows = torch.rand(6, 1, 8, 8), torch.randn(6, 3)
    head = nu.GaussianNINEHead(3, 0.5).train()
    uniform = nu.UniformNINEHead(3, 0.1).train()
    data = make_shapes(6, 16, seed=0, shapes=("heart",))
    views = ShapeViews(data.factors, 16, copies=2, jitter=0.02, noise=0.05, seed=0, shapes=("heart",))
    state = torch.random.get_rng_state()
    a = nu.sample_correlated_gaussians(5, 2, 0.5)
    b = nu.sample_correlated_gaussians(5, 2, 0.5, 0)
    assert all(torch.equal(u, v) for u, v in zip(a, b))  # the default is seed 0
    for call in (lambda: head.channel(rows), lambda: uniform.channel(rows), lambda: TwoViewAugment()(images),
                 lambda: GaussianJitter(0.1)(rows), lambda: views(torch.arange(6))):
        with pytest.raises(ValueError, match="needs a torch.Generator"):
            call()
    assert torch.equal(torch.random.get_rng_state(), state)
    # with a generator, nothing changes: the same draws as before
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 2, generator=g)
    eps = torch.randn(5, 2, generator=g)
    x2, y2 = nu.sample_correlated_gaussians(5, 2, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(x2, x) and torch.equal(y2, 0.5 * x + (1 - 0.25) ** 0.5 * eps)
