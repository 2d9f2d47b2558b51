"""Distribution-matching metrics against each prior's own noise floor."""

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy import stats

from nine_utils import dm
from nine_utils import priors as nu_priors
from nine_utils.dm import (
    DMScore,
    dm_report,
    gaussian_w2,
    gaussian_w2_score,
    ks_score,
    noise_floor,
    sliced_w2_score,
    standardize,
    whiten,
)
from nine_utils.priors import SampledPrior, StandardNormal, get_prior

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


def test_gaussian_w2_closed_forms_and_batches():
    # 1-D: W2^2 = (m1 - m2)^2 + (s1 - s2)^2
    assert gaussian_w2([1.0], [[4.0]], [-0.5], [[0.25]]) == pytest.approx(np.sqrt(1.5 ** 2 + 1.5 ** 2))
    # commuting (diagonal) covariances: the coordinates add up
    s1, s2, dm_ = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5]), np.array([0.3, 0.0, -1.0])
    expected = float(dm_ @ dm_ + ((s1 - s2) ** 2).sum())
    assert gaussian_w2(dm_, np.diag(s1 ** 2), np.zeros(3), np.diag(s2 ** 2), squared=True) == pytest.approx(expected)
    # a batch against one Gaussian equals the loop, and the two arguments can swap
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3, 3))
    covs, means = a @ np.swapaxes(a, 1, 2), rng.standard_normal((5, 3))
    c0 = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
    batch = gaussian_w2(means, covs, np.ones(3), c0)
    assert batch.shape == (5,)
    for i in range(5):
        assert batch[i] == pytest.approx(gaussian_w2(means[i], covs[i], np.ones(3), c0), rel=1e-10)
        assert batch[i] == pytest.approx(gaussian_w2(np.ones(3), c0, means[i], covs[i]), rel=1e-6)
    assert gaussian_w2(np.zeros(2), np.eye(2), torch.zeros(2), torch.eye(2)) == 0.0
    with pytest.raises(ValueError, match="covariances"):
        gaussian_w2(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_w2(np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2))


def test_sliced_w2_is_seeded():
    z = normal(0) + 0.1
    a, b, c = sliced_w2_score(z, seed=0), sliced_w2_score(z, seed=0), sliced_w2_score(z, seed=1)
    assert a == b
    assert a.statistic != c.statistic
    # far from the prior in one direction only: still seen through random slices
    z2 = normal(1)
    z2[:, 0] += 2.0
    assert sliced_w2_score(z2).ratio > 2.0


def test_sliced_w2_in_one_dimension_is_the_sorted_sample_w2():
    # a prior whose "fresh sample" is always y: in 1-D every direction is +-1, and SW2 is the
    # 2-Wasserstein distance between the two empirical distributions, sqrt(mean((z_(i) - y_(i))^2))
    rng = np.random.default_rng(0)
    y = rng.standard_normal(300)
    fixed = SampledPrior("fixed-sample", lambda n, gen: np.resize(y, n), dim=1)
    for z in (rng.standard_normal(300), 0.5 * rng.standard_normal(300) + 2.0, rng.exponential(size=300)):
        expected = np.sqrt(np.mean((np.sort(z) - np.sort(y)) ** 2))
        got = sliced_w2_score(z[:, None], fixed, n_projections=3, n_draws=100).statistic
        assert got == pytest.approx(expected, rel=1e-12)


def test_score_fields_and_types():
    score = ks_score(normal(0))
    assert isinstance(score, DMScore) and score.name == "ks"
    assert score.ratio == pytest.approx(score.statistic / score.floor)
    assert score.matched == (score.ratio <= 1.0)
    assert set(score.as_dict()) == {"name", "statistic", "floor", "ratio"}
    assert set(dm_report(normal(0))) == {"ks", "w2", "swd"}


def test_dm_report_metrics_choice_and_generator_seed():
    z = normal(0)
    rep = dm_report(z, metrics=("swd", "ks"))
    assert list(rep) == ["swd", "ks"]
    assert rep["ks"] == ks_score(z)
    assert set(dm_report(z)) == {"ks", "w2", "swd"}  # the default set
    # a numpy Generator gives one integer draw, used as the seed
    drawn = int(np.random.default_rng(5).integers(2**63 - 1))
    assert ks_score(z, seed=np.random.default_rng(5)) == ks_score(z, seed=drawn)
    with pytest.raises(ValueError, match="'ks', 'w2', 'swd', 'c2st'"):
        dm_report(z, metrics=("ks", "mmd"))
    with pytest.raises(ValueError, match="sequence"):
        dm_report(z, metrics="ks")
    with pytest.raises(ValueError, match="sequence"):
        dm_report(z, metrics=())


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


def test_floor_is_the_95th_percentile_of_the_exact_ks_law():
    # in one dimension the statistic is the one-sample KS statistic, whose law under the prior is
    # scipy.stats.kstwo(n) for every continuous prior; the floor is its 95th percentile, estimated
    # from n_draws draws: P(D <= floor) = 0.95 within 3 standard errors sqrt(.95 * .05 / 2000) = 0.005
    n = 100
    for prior in ("uniform", "normal"):
        f = noise_floor("ks", n, 1, prior, n_draws=2000)
        assert abs(stats.kstwo(n).cdf(f) - 0.95) < 0.015


def test_floor_shrinks_with_n():
    for metric in METRICS:
        assert noise_floor(metric, 2000, 4) < noise_floor(metric, 200, 4) / 2


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
    with pytest.raises(ValueError, match="'ks', 'w2', 'swd', 'c2st'"):
        noise_floor("mmd", 100, 2)


# --------------------------------------------------------------------------- fair baselines

def test_standardize_and_whiten_use_the_reference_statistics():
    rng = np.random.default_rng(0)
    mix = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.3, -0.2, 0.1]])
    train = rng.standard_normal((500, 3)) @ mix + np.array([5.0, -1.0, 0.2])
    test = rng.standard_normal((200, 3)) @ mix + np.array([5.0, -1.0, 0.2])
    s = standardize(train, train)
    np.testing.assert_allclose(s.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.std(0, ddof=1), 1.0, rtol=1e-12)
    w = whiten(train, train)
    np.testing.assert_allclose(w.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.cov(w, rowvar=False), np.eye(3), atol=1e-10)
    # ZCA: the symmetric map, the one that moves the data least; the standardized data stay correlated
    assert abs(np.corrcoef(s.T)[0, 1]) > 0.5
    # test data get the training statistics, not their own
    m, sd = train.mean(0), train.std(0, ddof=1)
    np.testing.assert_allclose(standardize(test, train), (test - m) / sd, rtol=1e-12)
    c = np.cov(train, rowvar=False)
    lam, v = np.linalg.eigh(c)
    np.testing.assert_allclose(whiten(test, train), (test - m) @ v @ np.diag(lam ** -0.5) @ v.T, rtol=1e-9)
    assert abs(whiten(test, train).mean()) > 1e-3  # not re-centred on the test data
    # tensors in, float64 numpy out
    out = whiten(torch.as_tensor(test, dtype=torch.float32), torch.as_tensor(train))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, whiten(test.astype(np.float32), train), rtol=1e-12)


def test_whiten_floors_tiny_eigenvalues_and_refuses_bad_input():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2))
    train = np.column_stack([x, x[:, 0] + x[:, 1]])  # rank 2: one zero eigenvalue
    out = whiten(train, train)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.eigvalsh(np.cov(out, rowvar=False))[1:], 1.0, rtol=1e-6)
    s = standardize(np.column_stack([x, np.ones(300)]), np.column_stack([x, np.ones(300)]))
    assert np.all(np.isfinite(s)) and np.all(s[:, 2] == 0)  # a dead unit stays 0, not NaN
    with pytest.raises(ValueError, match="shape"):
        whiten(x, train)
    with pytest.raises(ValueError, match="2 rows"):
        standardize(x, x[:1])
    with pytest.raises(ValueError, match="constant"):
        whiten(x, np.ones((10, 2)))
    with pytest.raises(ValueError, match="rel_floor"):
        standardize(x, x, rel_floor=0.0)


# ------------------------------------------------------------------ floors keyed by the real prior

def test_floors_of_priors_with_one_repr_but_other_parameters_are_apart():
    # torch's repr of HalfNormal omits its scale ("HalfNormal()"): the floors were cached by that
    # name, so HalfNormal(3) got HalfNormal(1)'s W2 floor and a true HalfNormal(3) sample read
    # "not matched" (ratio about 1.45)
    dm._cached_floor.cache_clear()
    one, three = torch.distributions.HalfNormal(1.0), torch.distributions.HalfNormal(3.0)
    assert repr(one) == repr(three)
    assert get_prior(one) != get_prior(three) and get_prior(one) == get_prior(torch.distributions.HalfNormal(1.0))
    f1 = noise_floor("w2", 300, 2, one, seed=3)
    f3 = noise_floor("w2", 300, 2, three, seed=3)
    assert f3 == pytest.approx(3 * f1, rel=1e-6)  # a scale-3 prior: every sample, and so the floor, x 3
    z = np.abs(np.random.default_rng(0).standard_normal((300, 2))) * 3.0
    assert gaussian_w2_score(z, three, seed=3).ratio < 1.2


def test_floors_of_nearby_mixtures_and_scipy_priors_with_one_name_are_apart():
    dm._cached_floor.cache_clear()
    centers = np.array([[-2.0, 0.0], [2.0, 0.0]])
    a = nu_priors.gaussian_mixture_prior(centers)
    b = nu_priors.gaussian_mixture_prior(centers + 1e-4)  # the same name: centres rounded to 3 decimals
    assert a.name == b.name and a != b
    assert a == nu_priors.gaussian_mixture_prior(centers.copy())  # the same parameters share floors
    fa, fb = noise_floor("swd", 200, 2, a, seed=1), noise_floor("swd", 200, 2, b, seed=1)
    assert fa != fb
    dm._cached_floor.cache_clear()
    assert noise_floor("swd", 200, 2, b, seed=1) == fb  # what b's floor is, computed afresh
    # a name given by hand does not key the floor either
    beta25 = nu_priors.FactorizedPrior(stats.beta(2, 5), name="beta")
    beta35 = nu_priors.FactorizedPrior(stats.beta(3, 5), name="beta")
    assert beta25 != beta35
    assert noise_floor("w2", 200, 2, beta25, seed=1) != noise_floor("w2", 200, 2, beta35, seed=1)


def test_metrics_that_cannot_be_computed_are_refused_before_any_work():
    # w2 against a Cauchy prior failed inside scipy ("mean2 contains NaN"); c2st on 2 points
    # reported "matched" (its floor is 1)
    cauchy = stats.cauchy()
    with pytest.raises(ValueError, match="metric 'w2' compares means and covariances.*use 'ks', 'swd' or 'c2st'"):
        noise_floor("w2", 50, 2, cauchy)
    with pytest.raises(ValueError, match="metric 'w2'"):
        dm_report(normal(0, 50, 2), cauchy)  # the default metrics include w2
    assert dm_report(normal(0, 50, 2), cauchy, metrics=["ks", "swd"])["ks"].ratio > 1
    with pytest.raises(ValueError, match=r"c2st needs n >= 10 embeddings.*got n=2"):
        dm.c2st_score(normal(0, 2, 2))
    with pytest.raises(ValueError, match=r"c2st needs n >= 10"):
        dm_report(normal(0, 4, 2), metrics=["ks", "c2st"])
    with pytest.raises(ValueError, match=r"c2st needs n >= 10"):
        noise_floor("c2st", 2, 2)


def test_every_score_and_dm_report_share_one_floor_default():
    # c2st_score defaulted to n_draws=100 and dm_report to 200: the same z got two floors
    import inspect
    z = normal(0, 60, 2)
    assert dm.c2st_score(z).floor == dm_report(z, metrics=["c2st"])["c2st"].floor
    for fn in (dm.ks_score, dm.gaussian_w2_score, dm.sliced_w2_score, dm.c2st_score, dm.radial_score,
               dm.calibration_score, dm_report, noise_floor):
        assert inspect.signature(fn).parameters["n_draws"].default == dm.N_DRAWS, fn.__name__


def test_dm_report_passes_its_seed_to_every_score():
    z = normal(0, 120, 2)
    rep = dm_report(z, metrics=("ks", "w2", "swd", "radial"), seed=7)
    for name, fn in (("ks", ks_score), ("w2", gaussian_w2_score), ("swd", sliced_w2_score), ("radial", dm.radial_score)):
        assert rep[name] == fn(z, seed=7), name
        assert rep[name].floor != fn(z, seed=0).floor, name  # the seed matters, so passing it on is seen


def test_standardize_and_whiten_do_not_depend_on_the_data_s_scale():
    # the variance floor is relative to the largest variance: data on a scale of 1e-7 (variances
    # about 1e-14, below an absolute floor of 1e-12) are standardized like the same data on scale 1
    r = np.random.default_rng(0).standard_normal((200, 3)) * [1.0, 2.0, 0.5] + 3.0
    z = np.random.default_rng(1).standard_normal((50, 3))
    for fn in (standardize, whiten):
        assert np.allclose(fn(1e-7 * z, 1e-7 * r), fn(z, r), rtol=1e-9, atol=1e-9), fn.__name__
        assert np.allclose(fn(1e7 * z, 1e7 * r), fn(z, r), rtol=1e-9, atol=1e-9), fn.__name__
