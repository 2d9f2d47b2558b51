"""Priors: the built-ins, scipy and torch wrappers, sampled priors, get_prior, and the seed convention."""

import numpy as np
import pytest
import torch
from scipy import stats

from nine_utils.dm import ks_score, noise_floor
from nine_utils.priors import (
    PRIORS,
    FactorizedPrior,
    Prior,
    SampledPrior,
    StandardNormal,
    StandardUniform,
    TorchFactorizedPrior,
    banana_prior,
    get_prior,
)


def test_builtin_priors():
    assert set(PRIORS) == {"normal", "uniform"}
    assert get_prior("normal") == StandardNormal() and get_prior("uniform") == StandardUniform()
    u = StandardUniform().sample(1000, 2, 0)
    assert u.shape == (1000, 2) and u.min() >= 0 and u.max() <= 1
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(StandardNormal().cdf(x), stats.norm.cdf(x))
    np.testing.assert_allclose(StandardNormal().ppf(stats.norm.cdf(x)), x)
    np.testing.assert_allclose(StandardUniform().cov(3), np.eye(3) / 12)


@pytest.mark.parametrize("prior", [StandardNormal(), StandardUniform(), FactorizedPrior(stats.beta(2, 5)),
                                   TorchFactorizedPrior(torch.distributions.Laplace(0.0, 1.0)), banana_prior()])
def test_sample_takes_an_int_or_a_generator_and_leaves_global_state_alone(prior):
    d = 2
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state()
    a = prior.sample(50, d, 3)
    np.testing.assert_array_equal(a, prior.sample(50, d, np.random.default_rng(3)))
    assert not np.array_equal(a, prior.sample(50, d, 4))
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    with pytest.raises(ValueError, match="seed"):
        prior.sample(5, d, -1)


def test_scipy_prior_agrees_with_builtin():
    wrapped = FactorizedPrior(stats.norm())
    assert wrapped.name == "norm()" and wrapped != StandardNormal()
    assert isinstance(wrapped, Prior)
    for metric in ("ks", "w2", "swd"):
        assert noise_floor(metric, 200, 3, wrapped) == pytest.approx(noise_floor(metric, 200, 3), rel=0.05)
    beta = FactorizedPrior(stats.beta(2, 5))
    assert beta.name == "beta(2, 5)"
    assert ks_score(beta.sample(450, 4, 0), beta).ratio <= 1.0
    assert ks_score(np.random.default_rng(0).random((450, 4)), beta).ratio > 2.0


def test_unfrozen_or_discrete_scipy_distributions_are_refused():
    # the family scipy.stats.norm has rvs/cdf/ppf/mean/var too, and used to be accepted
    for family in (stats.norm, stats.beta):
        with pytest.raises(ValueError, match=r"freeze it.*scipy\.stats\.\w+\(\)"):
            get_prior(family)
        with pytest.raises(ValueError, match="freeze it"):
            FactorizedPrior(family)
    with pytest.raises(ValueError, match="discrete"):
        get_prior(stats.poisson(3.0))
    with pytest.raises(ValueError, match="frozen scipy.stats"):
        FactorizedPrior("norm")
    with pytest.raises(ValueError, match="'normal', 'uniform'"):
        get_prior("laplace")
    with pytest.raises(ValueError, match="prior must be"):
        get_prior(42)


def test_torch_prior_agrees_with_scipy():
    t = TorchFactorizedPrior(torch.distributions.Laplace(0.0, 1.0))
    assert get_prior(torch.distributions.Laplace(0.0, 1.0)) == t
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(t.cdf(x), stats.laplace().cdf(x))
    np.testing.assert_allclose(t.ppf(np.array([0.1, 0.5, 0.9])), stats.laplace().ppf([0.1, 0.5, 0.9]))
    np.testing.assert_allclose(t.cov(2), 2.0 * np.eye(2))


@pytest.mark.parametrize("dist, reference", [
    (torch.distributions.Uniform(2.0, 3.0), stats.uniform(2.0, 1.0)),
    (torch.distributions.Pareto(1.0, 3.0), stats.pareto(3.0)),
], ids=["uniform(2, 3)", "pareto"])
def test_torch_prior_whose_support_excludes_one_half(dist, reference):
    # these used to be refused: the constructor probed cdf at 0.5, outside their support
    p = TorchFactorizedPrior(dist)
    assert get_prior(dist) == p
    u = np.array([0.05, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(p.ppf(u), reference.ppf(u), rtol=1e-6)
    # the CDF is defined on all of R: 0 below the support, 1 above (torch itself raises there)
    x = np.array([-5.0, 0.5, 1.5, 2.0, 2.5, 2.9, 4.0, 100.0])
    np.testing.assert_allclose(p.cdf(x), reference.cdf(x), atol=1e-7)
    np.testing.assert_allclose(p.mean(2), np.full(2, reference.mean()), rtol=1e-6)
    y = p.sample(400, 3, 0)
    assert ks_score(y, p).ratio <= 1.0
    assert ks_score(y + 0.3, p).ratio > 2.0  # partly outside the support: still a number, and a miss


def test_torch_prior_without_icdf_or_batch_shape_is_refused():
    with pytest.raises(ValueError, match="icdf"):
        TorchFactorizedPrior(torch.distributions.Beta(2.0, 5.0))
    with pytest.raises(ValueError, match="scalar"):
        TorchFactorizedPrior(torch.distributions.Normal(torch.zeros(2), torch.ones(2)))


def test_sampled_prior():
    p = banana_prior()
    assert isinstance(p, SampledPrior) and isinstance(p, Prior)
    y = p.sample(20000, 2, 0)
    # banana: y2 = x2 + c (x1^2 - 1) is uncorrelated with y1 but depends on it
    assert abs(np.corrcoef(y.T)[0, 1]) < 0.03
    assert np.corrcoef(y[:, 0] ** 2, y[:, 1])[0, 1] > 0.3
    np.testing.assert_allclose(p.mean(2), [0.0, 0.0], atol=0.02)
    with pytest.raises(ValueError, match="2-dimensional"):
        p.sample(10, 3, 0)
    with pytest.raises(ValueError, match="no CDF"):
        p.cdf(y)
