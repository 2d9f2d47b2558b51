"""Distribution-matching metrics against each prior's own noise floor."""

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy import stats

from nine_utils import dm
from nine_utils.dm import (
    DMScore,
    FactorizedPrior,
    StandardNormal,
    StandardUniform,
    dm_report,
    gaussian_w2_score,
    get_prior,
    ks_score,
    noise_floor,
    sliced_w2_score,
)

N, D = 450, 8
METRICS = ("ks", "w2", "swd")


def normal(seed: int, n: int = N, d: int = D) -> np.ndarray:
    return np.random.default_rng(1000 + seed).standard_normal((n, d))


def uniform(seed: int, n: int = N, d: int = D) -> np.ndarray:
    return np.random.default_rng(2000 + seed).random((n, d))


def ratios(z: np.ndarray, prior: str = "normal") -> dict[str, float]:
    return {k: s.ratio for k, s in dm_report(z, prior).items()}


# ------------------------------------------------------------------------------ true samples pass

@pytest.mark.parametrize("prior, draw", [("normal", normal), ("uniform", uniform)])
def test_true_prior_samples_are_within_the_floor(prior, draw):
    r = np.array([[ratios(draw(s), prior)[k] for k in METRICS] for s in range(20)])
    assert (r <= 1.0).mean(axis=0).min() >= 0.8, r
    assert r.max() < 1.5


# ------------------------------------------------------------------------------- mismatch is seen

@pytest.mark.parametrize("transform", [lambda z: z + 0.5, lambda z: 1.5 * z], ids=["shift", "scale"])
def test_wrong_location_or_scale_is_caught_normal(transform):
    for s in range(3):
        r = ratios(transform(normal(s)))
        assert min(r.values()) > 2.0, r


@pytest.mark.parametrize("make", [
    lambda: uniform(0) + 0.15,
    lambda: 0.15 + 0.7 * uniform(0),
    lambda: stats.norm.cdf(2.0 * normal(0)),  # a Gaussian squashed with the wrong scale
], ids=["shift", "narrow", "squashed"])
def test_wrong_distribution_is_caught_uniform(make):
    r = ratios(make(), "uniform")
    assert min(r.values()) > 2.0, r


def test_correlation_is_caught_by_w2_but_not_by_ks():
    # four pairs of coordinates with correlation 0.8; every marginal is exactly N(0, 1)
    rho, r = 0.8, []
    for s in range(20):
        x, e = normal(s, d=4), normal(100 + s, d=4)
        z = np.concatenate([x, rho * x + np.sqrt(1 - rho ** 2) * e], axis=1)
        rep = dm_report(z)
        r.append((rep["ks"].ratio, rep["w2"].ratio))
    r = np.array(r)
    assert (r[:, 0] <= 1.0).mean() >= 0.6, r[:, 0]  # per-coordinate KS is blind to it
    assert (r[:, 1] > 2.0).all(), r[:, 1]  # the Gaussian W2 is not


# ------------------------------------------------------------------------- the statistics proper

def test_ks_matches_scipy():
    z = normal(0) * 1.2 + 0.1
    expected = np.mean([stats.kstest(z[:, k], "norm").statistic for k in range(D)])
    assert ks_score(z).statistic == pytest.approx(expected, rel=1e-12)
    u = uniform(0) ** 1.5
    expected = np.mean([stats.kstest(u[:, k], "uniform").statistic for k in range(D)])
    assert ks_score(u, "uniform").statistic == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_gaussian_w2_matches_the_sqrtm_formula(prior):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((D, D))
    z = rng.standard_normal((N, D)) @ a * 0.3 + 0.2
    m, c = z.mean(0), np.cov(z, rowvar=False)
    p = get_prior(prior)
    m0, c0 = p.mean(D), p.cov(D)
    s0 = scipy.linalg.sqrtm(c0).real
    w2sq = np.sum((m - m0) ** 2) + np.trace(c + c0 - 2 * scipy.linalg.sqrtm(s0 @ c @ s0).real)
    assert gaussian_w2_score(z, prior).statistic == pytest.approx(np.sqrt(w2sq), rel=1e-8)


def test_gaussian_w2_of_a_degenerate_sample_is_finite():
    z = np.zeros((50, 4))
    z[:, 0] = normal(0, n=50, d=1)[:, 0]  # rank-one covariance
    score = gaussian_w2_score(z)
    assert np.isfinite(score.statistic) and score.ratio > 2.0


def test_sliced_w2_is_seeded():
    z = normal(0) + 0.1
    a, b, c = sliced_w2_score(z, seed=0), sliced_w2_score(z, seed=0), sliced_w2_score(z, seed=1)
    assert a == b
    assert a.statistic != c.statistic
    # far from the prior in one direction only: still seen through random slices
    z2 = normal(1)
    z2[:, 0] += 2.0
    assert sliced_w2_score(z2).ratio > 2.0


def test_score_fields_and_types():
    score = ks_score(normal(0))
    assert isinstance(score, DMScore) and score.name == "ks"
    assert score.ratio == pytest.approx(score.statistic / score.floor)
    assert score.matched == (score.ratio <= 1.0)
    assert set(score.as_dict()) == {"name", "statistic", "floor", "ratio"}
    assert set(dm_report(normal(0))) == {"ks", "w2", "swd"}


def test_torch_and_numpy_inputs_agree():
    z = normal(0)
    a = dm_report(z)
    b = dm_report(torch.as_tensor(z, dtype=torch.float64).requires_grad_())
    assert a == b


# --------------------------------------------------------------------------------------- floors

def test_floors_are_cached_and_seeded():
    args = ("ks", 123, 3)
    before = dm._cached_floor.cache_info()
    f1 = noise_floor(*args, seed=7)
    f2 = noise_floor(*args, prior=StandardNormal(), seed=7)
    after = dm._cached_floor.cache_info()
    assert f1 == f2
    assert after.misses == before.misses + 1 and after.hits == before.hits + 1
    assert noise_floor(*args, seed=8) != f1


def test_floor_matches_the_ks_asymptotics():
    # the one-sample KS statistic is distribution-free; sqrt(n) D has median ~0.83 (Kolmogorov)
    f = noise_floor("ks", 400, 1, "uniform", n_draws=400)
    assert 1.2 < f * np.sqrt(400) < 1.5  # 95th percentile of the Kolmogorov distribution: 1.36


def test_floor_shrinks_with_n():
    for metric in METRICS:
        assert noise_floor(metric, 2000, 4) < noise_floor(metric, 200, 4) / 2


def test_scipy_prior_agrees_with_builtin():
    wrapped = FactorizedPrior(stats.norm())
    assert wrapped.name == "norm()" and wrapped != StandardNormal()
    for metric in METRICS:
        assert noise_floor(metric, 200, 3, wrapped) == pytest.approx(noise_floor(metric, 200, 3), rel=0.05)
    beta = FactorizedPrior(stats.beta(2, 5))
    z = beta.sample(N, D, np.random.default_rng(0))
    assert max(ratios(z, beta).values()) <= 1.2
    assert min(ratios(uniform(0), beta).values()) > 2.0


def test_builtin_priors():
    assert get_prior("normal") == StandardNormal() and get_prior("uniform") == StandardUniform()
    rng = np.random.default_rng(0)
    u = StandardUniform().sample(1000, 2, rng)
    assert u.shape == (1000, 2) and u.min() >= 0 and u.max() <= 1
    x = np.linspace(-3, 3, 7)
    assert np.allclose(StandardNormal().cdf(x), stats.norm.cdf(x))
    assert np.allclose(StandardNormal().ppf(stats.norm.cdf(x)), x)


# ----------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("z, match", [
    (np.zeros(10), "shape"),
    (np.zeros((2, 3, 4)), "shape"),
    (np.zeros((1, 3)), "n >= 2"),
    (np.zeros((5, 0)), "n >= 2"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), "NaN"),
])
def test_bad_embeddings(z, match):
    for fn in (ks_score, gaussian_w2_score, sliced_w2_score, dm_report):
        with pytest.raises(ValueError, match=match):
            fn(z)


def test_bad_knobs():
    z = normal(0)
    with pytest.raises(ValueError, match="'normal', 'uniform'"):
        ks_score(z, prior="laplace")
    with pytest.raises(ValueError, match="prior"):
        get_prior(3)
    with pytest.raises(ValueError, match="n_draws"):
        ks_score(z, n_draws=50)
    with pytest.raises(ValueError, match="seed"):
        gaussian_w2_score(z, seed=-1)
    with pytest.raises(ValueError, match="n_projections"):
        sliced_w2_score(z, n_projections=0)
    with pytest.raises(ValueError, match="'ks', 'w2', 'swd'"):
        noise_floor("mmd", 100, 2)
    with pytest.raises(ValueError, match="frozen scipy.stats"):
        FactorizedPrior("norm")
