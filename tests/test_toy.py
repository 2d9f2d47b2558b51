"""The 1-D toy: skewed inputs, analytic transport maps (to any prior), map fits, held-out MI."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from nine_utils.nine import GaussianChannelCritic, gaussian_capacity
from nine_utils.toy import TOY_DISTRIBUTIONS, heldout_infonce, map_fit, toy_distribution, transport_map


# ------------------------------------------------------------------------------ distributions

@pytest.mark.parametrize("name", sorted(TOY_DISTRIBUTIONS))
def test_toy_distributions_are_skewed_and_continuous(name):
    dist = toy_distribution(name)
    assert dist.stats(moments="s") > 0.3  # visibly right-skewed
    assert np.isfinite(dist.mean()) and dist.var() > 0


def test_unknown_distribution_lists_the_choices():
    with pytest.raises(ValueError, match="gamma.*exponential.*lognormal"):
        toy_distribution("cauchy")


# ------------------------------------------------------------------------------ transport maps

@pytest.mark.parametrize("name", sorted(TOY_DISTRIBUTIONS))
def test_gaussianizer_pushes_the_input_to_a_standard_normal(name):
    dist = toy_distribution(name)
    x = dist.rvs(size=4000, random_state=np.random.default_rng(0))
    z = transport_map(x, dist, "normal")
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # a wrong target is caught: the raw, standardized input is not normal
    raw = (x - dist.mean()) / dist.std()
    assert stats.kstest(raw, "norm").pvalue < 1e-6


def test_decreasing_gaussianizer_is_the_mirror_image():
    dist = toy_distribution("gamma")
    x = np.linspace(0.01, 20.0, 500)
    up, down = transport_map(x, dist), transport_map(x, dist, decreasing=True)
    assert np.allclose(down, -up, atol=1e-9)
    assert np.all(np.diff(up) > 0)


def test_uniform_prior_gives_the_cdf_and_its_complement():
    dist = toy_distribution("lognormal")
    x = np.linspace(0.05, 6.0, 200)
    assert np.allclose(transport_map(x, dist, "uniform"), dist.cdf(x), atol=1e-12)
    assert np.allclose(transport_map(x, dist, "uniform", decreasing=True), dist.sf(x), atol=1e-12)


def test_gaussianizer_of_a_normal_is_the_identity_and_the_tails_stay_finite():
    x = np.array([-12.0, -3.0, 0.0, 1.5, 12.0])
    assert np.allclose(transport_map(x, stats.norm()), x, atol=1e-9)
    gamma = toy_distribution("gamma")
    far = gamma.isf(1e-30)  # F_X rounds to 1 here; the survival function does not
    assert np.isclose(transport_map(np.array([far]), gamma)[0], stats.norm.isf(1e-30), rtol=1e-6)


def test_a_torch_prior_gives_the_same_map_as_its_scipy_twin():
    # torch's own icdf computes from |u - 1/2|, so both of its tails stop at about 1e-16; up to 1e-9 the
    # maps must agree with scipy's
    gamma = toy_distribution("gamma")
    x = np.linspace(gamma.ppf(1e-9), gamma.isf(1e-9), 300)
    for torch_prior, scipy_prior in [(torch.distributions.Laplace(0.0, 1.0), stats.laplace()),
                                     (torch.distributions.Exponential(1.0), stats.expon())]:
        for decreasing in (False, True):
            got = transport_map(x, gamma, torch_prior, decreasing=decreasing)
            want = transport_map(x, gamma, scipy_prior, decreasing=decreasing)
            assert np.all(np.isfinite(got))
            assert np.allclose(got, want, rtol=1e-6, atol=1e-8)
            assert np.all(np.diff(got) < 0) if decreasing else np.all(np.diff(got) > 0)


def test_map_fit_with_a_torch_prior():
    gamma = toy_distribution("gamma")
    prior = torch.distributions.Laplace(0.0, 1.0)
    x = gamma.rvs(size=500, random_state=np.random.default_rng(2))
    fit = map_fit(transport_map(x, gamma, prior), x, gamma, prior)
    assert fit.rmse < 1e-9 and fit.increasing
    assert map_fit(-transport_map(x, gamma, prior), x, gamma, prior).rmse < 1e-9


# ------------------------------------------------------------------------------ map fit

def test_map_fit_finds_the_nearer_monotone_map():
    dist = toy_distribution("gamma")
    x = dist.rvs(size=3000, random_state=np.random.default_rng(1))
    t = transport_map(x, dist)
    exact = map_fit(t, x, dist)
    assert exact.rmse < 1e-9 and exact.increasing
    flipped = map_fit(torch.as_tensor(-t)[:, None], torch.as_tensor(x), dist)
    assert flipped.rmse < 1e-6 and not flipped.increasing
    assert flipped.rmse_increasing == pytest.approx(2 * np.sqrt(np.mean(t ** 2)), rel=1e-6)
    shifted = map_fit(t + 0.1, x, dist)
    assert shifted.rmse == pytest.approx(0.1, rel=1e-6) and shifted.increasing
    # the standardized input is a poor Gaussianizer
    assert map_fit((x - dist.mean()) / dist.std(), x, dist).rmse > 0.1


def test_map_fit_checks_shapes():
    dist = toy_distribution("gamma")
    with pytest.raises(ValueError, match="same length"):
        map_fit(np.zeros(5), np.ones(6), dist)
    with pytest.raises(ValueError, match="shape"):
        map_fit(np.zeros((5, 2)), np.ones(5), dist)


# ------------------------------------------------------------------------------ held-out MI

def _gaussian_noise(sigma):
    return lambda a, g: a + sigma * torch.randn(a.shape, generator=g)


def test_heldout_infonce_reaches_the_capacity_on_a_standard_normal():
    sigma, d = 0.5, 2
    z = torch.randn(16384, d, generator=torch.Generator().manual_seed(0))
    mean, se = heldout_infonce(z, GaussianChannelCritic(sigma), _gaussian_noise(sigma), 1024, seed=1)
    assert 0 < se < 0.02
    assert mean == pytest.approx(gaussian_capacity(d, sigma), abs=0.03)


def test_heldout_infonce_is_capped_by_log_batch_and_falls_for_a_skewed_input():
    sigma = 0.05  # capacity 3.0 nats per dimension, 6 in all: above log 64
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4096, 2, generator=g)
    capped, _ = heldout_infonce(z, GaussianChannelCritic(sigma), _gaussian_noise(sigma), 64, seed=2)
    assert capped <= math.log(64) + 1e-6
    assert capped > math.log(64) - 0.3  # far below the 6-nat capacity: the ceiling binds
    # same power, non-Gaussian input: strictly below the capacity
    sigma = 0.5
    e = torch.empty(16384, 1).exponential_(generator=g)
    e = (e - 1.0)  # Exp(1) has mean 1 and variance 1
    skewed, _ = heldout_infonce(e, GaussianChannelCritic(sigma), _gaussian_noise(sigma), 1024, seed=3)
    assert skewed < gaussian_capacity(1, sigma) - 0.03


def test_heldout_infonce_needs_a_full_batch():
    with pytest.raises(ValueError, match="at least batch_size"):
        heldout_infonce(torch.zeros(10, 1), GaussianChannelCritic(1.0), _gaussian_noise(1.0), 64)


def test_heldout_infonce_seeds():
    z = np.random.default_rng(0).normal(size=(256, 2))  # numpy is accepted
    critic, noise = GaussianChannelCritic(0.5), _gaussian_noise(0.5)
    assert heldout_infonce(z, critic, noise, 128, seed=4) == heldout_infonce(z, critic, noise, 128, seed=4)
    assert heldout_infonce(z, critic, noise, 128, seed=4) != heldout_infonce(z, critic, noise, 128, seed=5)
    rng = np.random.default_rng(0)  # a numpy Generator gives fresh noise at each call
    assert heldout_infonce(z, critic, noise, 128, seed=rng) != heldout_infonce(z, critic, noise, 128, seed=rng)
    with pytest.raises(ValueError, match="seed must be"):
        heldout_infonce(z, critic, noise, 128, seed=torch.Generator())
