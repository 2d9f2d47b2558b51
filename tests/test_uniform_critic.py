"""The smoothed uniform-channel critic (nine_utils.uniform)."""

import math

import pytest
import torch

import nine_utils as nu
from nine_utils.uniform import UniformChannelCritic


def test_critic_tends_to_the_exact_box_log_ratio():
    eps = 0.1
    a = torch.tensor([[0.5], [0.5]])
    b = torch.tensor([[0.55], [0.8]])  # inside and outside the box around a = 0.5
    s = UniformChannelCritic(eps, temperature=1e-3)(a, b)
    assert s.shape == (2, 2)
    assert s[0, 0].item() == pytest.approx(-math.log(2 * eps), abs=1e-3)  # log (1/(2 eps)) / 1
    assert s[0, 1].item() < -100  # far outside the box: towards -inf


def test_infonce_with_critic_at_uniform_input_stays_below_capacity_and_is_close():
    eps, d, n = 0.25, 1, 512
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, d, generator=g)
    b = a + eps * (2 * torch.rand(n, d, generator=g) - 1)
    est = nu.infonce(UniformChannelCritic(eps, temperature=0.01)(a, b)).item()
    cap = nu.uniform_capacity(d, eps)
    assert est <= cap + 0.05
    assert est > cap - 0.25


def test_gradient_pulls_a_positive_pair_together():
    a = torch.tensor([[0.2]], requires_grad=True)
    b = torch.tensor([[0.6]])
    UniformChannelCritic(0.1)(a, b).sum().backward()
    assert a.grad.item() > 0  # increasing a moves it towards b


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"eps": -1.0}, {"eps": 0.1, "temperature": 0.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        UniformChannelCritic(**kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError):
        UniformChannelCritic(0.1)(torch.zeros(3, 2), torch.zeros(3, 1))
