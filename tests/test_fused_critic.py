"""The fused Gaussian channel critic: the same scores as GaussianChannelCritic, from one matmul."""

import math

import pytest
import torch
from torch import nn

from nine_utils.data import load_digits
from nine_utils.models import MLPEncoder, count_parameters
from nine_utils.nine import FusedGaussianChannelCritic, GaussianChannelCritic, GaussianNINEHead, gaussian_capacity
from nine_utils.objectives import infonce
from nine_utils.training import train_infomax


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


def pairs(n, m, d, sigma, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=dtype)
    b = torch.cat([a, torch.randn(max(0, m - n), d, generator=g, dtype=dtype)])[:m]
    return a, b + sigma * torch.randn(m, d, generator=g, dtype=dtype)


@pytest.mark.parametrize("marginal", [True, False])
@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0, 3.0])
def test_same_scores_as_the_distance_form(sigma, marginal):
    a, b = pairs(64, 80, 5, sigma)
    fused = FusedGaussianChannelCritic(sigma, marginal=marginal)(a, b)
    reference = GaussianChannelCritic(sigma, marginal=marginal)(a, b)
    assert fused.shape == (64, 80)
    assert torch.allclose(fused, reference, rtol=1e-10, atol=1e-8)


def test_same_gradients_in_float32():
    a, b = pairs(256, 256, 8, 1.0, seed=1, dtype=torch.float32)
    grads = []
    for critic in (GaussianChannelCritic(1.0), FusedGaussianChannelCritic(1.0)):
        x, y = a.clone().requires_grad_(), b.clone().requires_grad_()
        infonce(critic(x, y)).backward()
        grads.append((x.grad, y.grad))
    for g_ref, g_fused in zip(*grads):
        assert torch.allclose(g_ref, g_fused, rtol=1e-4, atol=1e-6)


def test_infonce_reaches_capacity_and_no_parameters():
    sigma = 1.0
    a, b = pairs(2048, 2048, 1, sigma, seed=3)
    critic = FusedGaussianChannelCritic(sigma)
    assert count_parameters(critic) == 0
    assert infonce(critic(a, b)).item() == pytest.approx(gaussian_capacity(1, sigma), abs=0.03)
    assert "sigma=1.0" in repr(critic)


def test_bad_arguments():
    with pytest.raises(ValueError):
        FusedGaussianChannelCritic(0.0)
    with pytest.raises(ValueError):
        FusedGaussianChannelCritic(float("nan"))
    critic = FusedGaussianChannelCritic(0.5)
    with pytest.raises(ValueError):
        critic(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError):
        critic(torch.randn(4), torch.randn(4))


def test_trains_a_nine_encoder_like_the_distance_form():
    x, _ = load_digits()
    x = x[:512]
    histories = []
    for critic_cls in (GaussianChannelCritic, FusedGaussianChannelCritic):
        torch.manual_seed(0)
        model = nn.Sequential(MLPEncoder(64, 4, hidden=32), GaussianNINEHead(4, 1.0))
        histories.append(train_infomax(model, critic_cls(1.0), x, epochs=3, batch_size=128, device="cpu",
                                       progress=False))  # the head's channel is applied automatically
    ref, fused = histories
    assert fused.mi == pytest.approx(ref.mi, abs=1e-3)
    assert max(fused.mi) <= gaussian_capacity(4, 1.0) + 0.05
    assert not math.isnan(fused.loss[-1])
