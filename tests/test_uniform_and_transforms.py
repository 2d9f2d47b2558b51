"""Uniform NINE head, the PIT route and the flow route to other priors (nine_utils.priors)."""

import math

import numpy as np
import pytest
import scipy.stats as st
import torch

import nine_utils as nu
from nine_utils.nine import UniformNINEHead, uniform_capacity
from nine_utils.priors import (
    SampledPrior,
    banana_prior,
    fit_flow,
    flow_to_gaussian,
    flow_to_prior,
    gaussian_mixture_prior,
    get_prior,
    pit_to_prior,
)


def test_uniform_capacity_formula_and_limits():
    assert uniform_capacity(1, 0.5) == pytest.approx(math.log(2.0))
    assert uniform_capacity(4, 0.05) == pytest.approx(4 * math.log(11.0))
    # the uniform input's MI, log(1+1/(2e)) - correction, never exceeds it; as eps -> 0 the gap vanishes
    assert uniform_capacity(3, 0.01) > uniform_capacity(3, 0.1)
    for bad in (0.0, -0.1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="eps"):
            uniform_capacity(2, bad)
    with pytest.raises(ValueError, match="eps"):
        UniformNINEHead(2, 0.0)


def test_uniform_head_squashes_into_unit_interval_and_is_pit_of_normal():
    torch.manual_seed(0)
    head = UniformNINEHead(3, eps=0.1)
    z = torch.randn(4000, 3) * torch.tensor([5.0, 0.1, 2.0]) + 7.0  # any scale and shift
    head.train()
    u = head(z)
    assert u.min() >= 0 and u.max() <= 1
    # Gaussian input -> uniform output: KS against U[0,1] within the floor
    assert nu.ks_score(u.detach(), "uniform").ratio <= 1.0
    assert sum(p.numel() for p in head.parameters()) == 0


def test_uniform_channel_noise_train_only_and_bounded():
    head = UniformNINEHead(2, eps=0.2)
    u = torch.full((5000, 2), 0.5)
    head.train()
    noisy = head.channel(u, torch.Generator().manual_seed(0))
    d = noisy - u
    assert d.abs().max() <= 0.2 + 1e-6
    assert d.var().item() == pytest.approx(0.2**2 / 3, rel=0.05)  # var of U[-e, e]
    head.eval()
    assert torch.equal(head.channel(u), u)
    assert head.capacity() == pytest.approx(2 * math.log(1 + 1 / 0.4))


@pytest.mark.parametrize("prior", [st.laplace(), st.expon(), st.beta(2, 5), torch.distributions.Laplace(0.0, 1.0)])
@pytest.mark.parametrize("source", ["normal", "uniform"])
def test_pit_maps_matched_samples_to_samples_passing_the_target_test(prior, source):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((500, 3)) if source == "normal" else rng.random((500, 3))
    y = pit_to_prior(z, prior, source=source)
    assert y.shape == (500, 3)
    assert nu.ks_score(y, prior).ratio <= 1.0
    # and a wrongly-declared source fails it
    wrong = pit_to_prior(z, prior, source="uniform" if source == "normal" else "normal")
    assert nu.ks_score(wrong, prior).ratio > 2.0


def test_pit_errors():
    with pytest.raises(ValueError, match="'normal', 'uniform'"):
        pit_to_prior(np.zeros((3, 2)), st.norm(), source="gaussian")
    with pytest.raises(ValueError, match="icdf|cdf"):
        pit_to_prior(np.zeros((3, 2)), torch.distributions.Beta(2.0, 5.0))
    with pytest.raises(ValueError, match="flow"):
        pit_to_prior(np.zeros((3, 2)), banana_prior())
    with pytest.raises(ValueError, match="prior must be"):
        get_prior(42)
    with pytest.raises(ValueError, match="freeze it"):
        pit_to_prior(np.zeros((3, 2)), st.laplace)
    with pytest.raises(ValueError, match="dimension"):
        pit_to_prior(np.zeros(3), st.laplace())


def test_sampled_prior_works_with_sliced_metric_but_not_ks():
    p = banana_prior()
    rng = np.random.default_rng(0)
    assert isinstance(p, SampledPrior)
    ok = nu.sliced_w2_score(p.sample(400, 2, rng), p)
    gauss = nu.sliced_w2_score(rng.standard_normal((400, 2)), p)
    assert ok.ratio <= 1.2 and gauss.ratio > ok.ratio
    with pytest.raises(ValueError, match="no CDF"):
        nu.ks_score(rng.standard_normal((400, 2)), p)
    with pytest.raises(ValueError, match="2-dimensional"):
        p.sample(10, 3, rng)
    mix = gaussian_mixture_prior([[-2, 0], [2, 0]], std=0.3)
    assert nu.gaussian_w2_score(mix.sample(400, 2, rng), mix).ratio <= 1.5


def test_flow_round_trip_is_invertible_and_fit_moves_towards_the_prior():
    p = gaussian_mixture_prior([[-2.0, 0.0], [2.0, 0.0]], std=0.4)
    y = p.sample(4000, 2, np.random.default_rng(0))
    flow, losses, _ = fit_flow(y, transforms=2, hidden=32, steps=60, batch_size=256, progress=False)
    assert len(losses) == 60 and losses[-1] < 0.6 * losses[0]  # NLL about 4.95 -> 2.0
    z = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    back = flow_to_gaussian(flow, flow_to_prior(flow, z))
    assert back.dtype == np.float64
    assert np.abs(back - z.numpy()).max() < 1e-3
    # a short fit already makes the pushed-forward sample closer to the mixture than N(0, I) is
    pushed = flow_to_prior(flow, z)
    assert nu.sliced_w2_score(pushed, p).statistic < nu.sliced_w2_score(z.numpy(), p).statistic
    with pytest.raises(ValueError, match="d >= 2"):
        fit_flow(np.zeros((10, 1)), steps=1, progress=False)
    with pytest.raises(ValueError, match="seed"):
        fit_flow(y, steps=1, seed=-1, progress=False)


def test_fit_flow_is_seeded_and_leaves_torch_global_rng_alone():
    y = banana_prior().sample(500, 2, 0)
    kwargs = dict(transforms=1, hidden=8, bins=4, steps=5, batch_size=64, progress=False)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    flow_a, losses_a, _ = fit_flow(y, seed=3, **kwargs)
    assert torch.equal(torch.get_rng_state(), state)  # it used to call torch.manual_seed(seed)
    expected_next = torch.rand(3)  # what the global generator gives next, had fit_flow not run
    torch.set_rng_state(state)
    _, losses_b, _ = fit_flow(y, seed=3, **kwargs)
    assert torch.equal(torch.rand(3), expected_next)
    _, losses_c, _ = fit_flow(y, seed=4, **kwargs)
    _, losses_d, _ = fit_flow(y, seed=np.random.default_rng(3), **kwargs)
    assert losses_a == losses_b  # same seed, same initialisation and minibatches
    assert losses_c != losses_a and losses_d != losses_a
