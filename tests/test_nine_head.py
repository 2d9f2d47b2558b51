"""Gaussian NINE: the normalizing head, its channel, the capacity bound and the channel critic."""

import math

import pytest
import torch
from torch import nn

from nine_utils.data import load_digits
from nine_utils.models import ConvEncoder, MLPEncoder, count_parameters
from nine_utils.nine import GaussianChannelCritic, GaussianNINEHead, gaussian_capacity
from nine_utils.objectives import gaussian_log_ratio, gaussian_mi, infonce
from nine_utils.training import train_infomax


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


def skewed(n: int, d: int, seed: int = 0) -> torch.Tensor:
    """Shifted, scaled, skewed input: 5 + 3 * Exp(1) per coordinate."""
    g = torch.Generator().manual_seed(seed)
    return 5.0 + 3.0 * torch.empty(n, d).exponential_(generator=g)


# ------------------------------------------------------------------------------------ the head

def test_train_mode_standardizes_each_coordinate():
    head = GaussianNINEHead(4, sigma=0.3).train()
    out = head(skewed(512, 4))
    assert out.shape == (512, 4)
    assert torch.allclose(out.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(4), atol=1e-3)


def test_head_has_no_trainable_parameters():
    head = GaussianNINEHead(8, sigma=0.3)
    assert count_parameters(head) == 0
    assert list(head.parameters()) == []


def test_channel_adds_noise_of_variance_sigma_squared_in_train_mode():
    sigma = 0.3
    head = GaussianNINEHead(4, sigma).train()
    z = skewed(20000, 4)
    noise = head.channel(z, torch.Generator().manual_seed(1)) - z
    assert torch.allclose(noise.mean(0), torch.zeros(4), atol=0.02)
    assert torch.allclose(noise.var(0), torch.full((4,), sigma ** 2), rtol=0.05)
    # reproducible from the generator, different for another seed
    again = head.channel(z, torch.Generator().manual_seed(1)) - z
    other = head.channel(z, torch.Generator().manual_seed(2)) - z
    assert torch.equal(noise, again)
    assert not torch.equal(noise, other)


def test_eval_mode_uses_running_statistics_and_no_noise():
    head = GaussianNINEHead(3, sigma=0.5, momentum=0.1).train()
    for seed in range(60):
        head(skewed(256, 3, seed))
    # 5 + 3 Exp(1): mean 8, variance 9
    assert torch.allclose(head.norm.running_mean, torch.full((3,), 8.0), rtol=0.05)
    assert torch.allclose(head.norm.running_var, torch.full((3,), 9.0), rtol=0.15)
    head.eval()
    one = torch.tensor([[8.0, 11.0, 5.0]])
    out = head(one)  # a single sample works in eval mode
    expected = (one - head.norm.running_mean) / torch.sqrt(head.norm.running_var + head.norm.eps)
    assert torch.allclose(out, expected)
    assert torch.equal(head(one), out)
    assert torch.equal(head.channel(out, torch.Generator().manual_seed(0)), out)


def test_head_after_conv_encoder():
    x, _ = load_digits()
    torch.manual_seed(0)
    enc = nn.Sequential(ConvEncoder(8, channels=4, hidden=16), GaussianNINEHead(8, 0.3))
    out = enc(x[:128])
    assert out.shape == (128, 8)
    assert torch.allclose(out.mean(0), torch.zeros(8), atol=1e-4)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(8), atol=1e-2)


def test_head_trains_inside_train_infomax():
    x, _ = load_digits()
    torch.manual_seed(0)
    head = GaussianNINEHead(4, sigma=0.5)
    enc = nn.Sequential(MLPEncoder(64, 4, hidden=32), head)
    hist = train_infomax(enc, head.critic(), x[:256], epochs=2, batch_size=64, recalibrate=False,
                         progress=False, device="cpu")
    assert all(math.isfinite(v) for v in hist.mi + hist.loss)
    assert max(hist.mi) <= head.capacity() + 0.05
    assert not head.training
    assert head.norm.num_batches_tracked.item() == 2 * hist.steps  # both branches pass the head
    # recalibration then replaces those statistics by a cumulative average over the clean data
    hist = train_infomax(enc, head.critic(), x[:256], epochs=1, batch_size=64, progress=False, device="cpu")
    assert hist.recalibrated
    assert head.norm.num_batches_tracked.item() == 1  # 256 inputs, recalibrate's batches of 1024: one batch


def test_head_and_critic_name_their_family_and_noise():
    head, critic = GaussianNINEHead(4, sigma=0.7), GaussianChannelCritic(0.7)
    assert head.family == critic.family == "gaussian"
    assert head.sigma == critic.sigma == head.noise == critic.noise == 0.7
    assert head.prior == "normal"
    assert "sigma=0.7" in repr(head) and "sigma=0.7" in repr(critic)


@pytest.mark.parametrize("sigma", [0.0, -1.0, math.inf, math.nan, "a"])
def test_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        GaussianNINEHead(4, sigma)
    with pytest.raises(ValueError, match="sigma"):
        GaussianChannelCritic(sigma)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_capacity(4, sigma)


def test_bad_dim_momentum_and_shape():
    with pytest.raises(ValueError, match="dim"):
        GaussianNINEHead(0, 0.3)
    with pytest.raises(ValueError, match="dim"):
        gaussian_capacity(0, 0.3)
    with pytest.raises(ValueError, match="momentum"):
        GaussianNINEHead(4, 0.3, momentum=0.0)
    with pytest.raises(ValueError, match="bn_eps"):
        GaussianNINEHead(4, 0.3, bn_eps=0.0)
    with pytest.raises(ValueError, match="shape"):
        GaussianNINEHead(4, 0.3)(torch.zeros(8, 5))
    with pytest.raises(ValueError, match="shape"):
        GaussianChannelCritic(0.3)(torch.zeros(8, 4), torch.zeros(8, 3))


# ----------------------------------------------------------------------------------- the bound

@pytest.mark.parametrize("dim, sigma", [(1, 1.0), (8, 0.3), (3, 2.0)])
def test_capacity_formula_and_gaussian_mi(dim, sigma):
    expected = 0.5 * dim * math.log(1.0 + 1.0 / sigma ** 2)
    assert gaussian_capacity(dim, sigma) == pytest.approx(expected, rel=1e-12)
    assert GaussianNINEHead(dim, sigma).capacity() == pytest.approx(expected, rel=1e-12)
    # U ~ N(0, 1), Y = U + sigma Z: corr(U, Y) = 1 / sqrt(1 + sigma^2)
    assert gaussian_capacity(dim, sigma) == pytest.approx(gaussian_mi(1.0 / math.sqrt(1.0 + sigma ** 2), dim),
                                                          rel=1e-12)


def test_known_values():
    assert gaussian_capacity(1, 1.0) == pytest.approx(0.5 * math.log(2.0))
    assert gaussian_capacity(2, 1.0 / math.sqrt(3.0)) == pytest.approx(math.log(4.0))


# ---------------------------------------------------------------------------------- the critic

def channel_pairs(n: int, d: int, sigma: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, d, generator=g, dtype=torch.float64)
    return u, u + sigma * torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_critic_is_the_exact_log_ratio(sigma):
    u, y = channel_pairs(64, 3, sigma)
    rho = 1.0 / math.sqrt(1.0 + sigma ** 2)
    # Y / sqrt(1 + sigma^2) is standard normal with corr rho to U; the log ratio is invariant to the rescaling
    truth = gaussian_log_ratio(u, y * rho, rho)
    scores = GaussianChannelCritic(sigma)(u, y)
    assert scores.shape == (64, 64)
    assert torch.allclose(scores, truth, atol=1e-9)


def test_bare_likelihood_differs_by_a_per_column_term():
    sigma = 0.5
    u, y = channel_pairs(64, 3, sigma)
    rho = 1.0 / math.sqrt(1.0 + sigma ** 2)
    truth = gaussian_log_ratio(u, y * rho, rho)
    bare = GaussianChannelCritic(sigma, marginal=False)(u, y)
    expected_bare = -torch.cdist(u, y) ** 2 / (2 * sigma ** 2)
    assert torch.allclose(bare, expected_bare, atol=1e-9)
    diff = bare - truth
    assert torch.allclose(diff, diff[:1].expand_as(diff), atol=1e-9)  # constant down each column
    assert diff[0].std() > 0.1  # ... but not a global constant
    # a softmax over i (scores.T) cancels it exactly
    assert infonce(bare.T).item() == pytest.approx(infonce(truth.T).item(), abs=1e-9)


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_infonce_with_the_critic_reaches_capacity(sigma):
    u, y = channel_pairs(2048, 1, sigma, seed=3)
    est = infonce(GaussianChannelCritic(sigma)(u, y)).item()
    assert est == pytest.approx(gaussian_capacity(1, sigma), abs=0.03)


def test_bare_likelihood_falls_short_with_a_softmax_over_the_noisy_side():
    # why marginal=True is the default: train_infomax's InfoNCE takes its softmax over b (noisy)
    sigma = 1.0
    u, y = channel_pairs(2048, 1, sigma, seed=3)
    bare = infonce(GaussianChannelCritic(sigma, marginal=False)(u, y)).item()
    assert bare < gaussian_capacity(1, sigma) - 0.08


def test_a_float64_batch_into_a_float32_head_is_one_clear_error():
    # it failed inside batch norm with "mixed dtype"
    head = GaussianNINEHead(4, sigma=0.5)
    with pytest.raises(ValueError, match=r"embeddings are torch.float64 but the head's statistics are torch.float32"):
        head(torch.randn(8, 4, dtype=torch.float64))
    assert head.double()(torch.randn(8, 4, dtype=torch.float64)).dtype == torch.float64


def test_eps_names_one_thing_per_function():
    # GaussianNINEHead(4, sigma=0.5, eps=0.5) set the batch norm's epsilon, not a noise level, and
    # trained with output std 0.8; eps is only the uniform head's noise half-width now
    with pytest.raises(ValueError, match=r"GaussianNINEHead has no eps \(got eps=0.5\): its noise level is sigma, "
                                         r"and the batch norm's epsilon is bn_eps"):
        GaussianNINEHead(4, sigma=0.5, eps=0.5)
    assert GaussianNINEHead(4, sigma=0.5, bn_eps=1e-3).norm.eps == 1e-3
    from nine_utils.nine import UniformNINEHead
    head = UniformNINEHead(4, eps=0.1, bn_eps=1e-3)
    assert head.eps == 0.1 and head.norm.eps == 1e-3


def test_the_relative_and_log_floors_have_their_own_names_and_the_old_one_still_works_with_a_warning():
    import numpy as np
    from nine_utils.baselines import standardize, whiten
    from nine_utils.generative import inception_score
    r = np.random.default_rng(0).standard_normal((50, 3)) * [1.0, 1e-4, 2.0]
    for fn in (standardize, whiten):
        with pytest.warns(FutureWarning, match="eps= is renamed rel_floor="):
            old = fn(r, r, eps=1e-6)
        assert np.array_equal(old, fn(r, r, rel_floor=1e-6))
        assert not np.array_equal(old, fn(r, r))  # the floor binds on the small coordinate
        with pytest.raises(ValueError, match="pass rel_floor= only"):
            fn(r, r, 1e-6, eps=1e-6)
    p = np.full((4, 2), 0.5)
    with pytest.warns(FutureWarning, match="eps= is renamed log_floor="):
        assert inception_score(p, eps=1e-6) == inception_score(p, log_floor=1e-6)
