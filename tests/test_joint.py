"""Joint tests of a match (the radial law, the chi-square calibration error) and fair noise floors."""

import numpy as np
import pytest
from scipy import stats

import nine_utils as nu
from nine_utils.anomaly import chi2_pvalue, false_positive_rate
from nine_utils.baselines import fit_batch
from nine_utils.joint import CALIBRATION_ALPHAS, calibration_batch, radial_batch
from nine_utils.priors import get_prior


def _shell(n, d, rng):
    g = rng.standard_normal((n, d))
    return np.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)


def test_radial_statistic_is_scipys_ks_against_chi2():
    z = np.random.default_rng(0).standard_normal((300, 5)) * 1.2
    ours = radial_batch(z[None], get_prior("normal"), np.random.default_rng(1))[0]
    assert ours == pytest.approx(stats.kstest((z ** 2).sum(1), stats.chi2(5).cdf).statistic, abs=1e-12)


def test_radial_statistic_of_another_prior_is_scipys_two_sample_ks():
    z = np.random.default_rng(0).random((200, 3)) ** 2
    prior = get_prior("uniform")
    ours = radial_batch(z[None], prior, np.random.default_rng(7))[0]
    ref = prior.sample(200, 3, np.random.default_rng(7))  # the reference sample radial_batch draws
    r = lambda a: ((a - 0.5) ** 2).sum(1)
    assert ours == pytest.approx(stats.ks_2samp(r(z), r(ref)).statistic, abs=1e-12)


def test_calibration_error_is_the_largest_false_positive_rate_error():
    z = np.random.default_rng(3).standard_normal((400, 4)) * 0.9
    p = chi2_pvalue(z)
    expected = max(abs(false_positive_rate(p, a) - a) for a in CALIBRATION_ALPHAS)
    assert calibration_batch(z[None], get_prior("normal"), None)[0] == pytest.approx(expected, abs=1e-12)


def test_true_prior_samples_pass_the_joint_tests_at_the_nominal_rate():
    rng = np.random.default_rng(11)
    over = {"radial": 0, "calibration": 0}
    for _ in range(200):
        rep = nu.dm_report(rng.standard_normal((300, 6)), metrics=list(over), n_draws=400, seed=0)
        for m in over:
            over[m] += rep[m].ratio > 1
    assert all(v / 200 <= 0.1 for v in over.values()), over


def test_a_thin_shell_passes_per_coordinate_ks_and_fails_the_joint_tests():
    shell = _shell(450, 16, np.random.default_rng(0))
    rep = nu.dm_report(shell, metrics=["ks", "w2", "radial", "calibration"], seed=0)
    assert rep["ks"].ratio <= 1 and rep["w2"].ratio <= 1  # unit-variance, Gaussian-looking coordinates
    assert rep["radial"].ratio > 3 and rep["calibration"].ratio > 3


def test_fair_floor_keeps_the_nominal_rate_for_a_standardized_perfect_encoder():
    # a perfect Gaussian encoder (any mean and scale), standardized with 1347 training embeddings, scored on 450
    rng = np.random.default_rng(5)
    over = {None: 0, "standardize": 0}
    reps = 400
    for _ in range(reps):
        z = nu.standardize(3 + 2 * rng.standard_normal((450, 8)), 3 + 2 * rng.standard_normal((1347, 8)))
        for fit in over:
            over[fit] += nu.ks_score(z, n_draws=1000, seed=0, fit=fit, n_fit=1347 if fit else None).ratio > 1
    assert over["standardize"] / reps <= 0.09, over  # about 5%, up to the floor's own sampling error
    assert over[None] / reps >= 0.12, over  # the plain floor is too strict for a standardized embedding


def test_fair_floor_is_above_the_plain_one_and_cached_apart():
    plain = nu.noise_floor("ks", 450, 8, n_draws=200, seed=0)
    fair = nu.noise_floor("ks", 450, 8, n_draws=200, seed=0, fit="standardize", n_fit=1347)
    whitened = nu.noise_floor("w2", 450, 8, n_draws=200, seed=0, fit="whiten", n_fit=1347)
    assert fair > plain
    assert whitened > nu.noise_floor("w2", 450, 8, n_draws=200, seed=0)


def test_fit_batch_is_standardize_and_whiten_row_by_row():
    rng = np.random.default_rng(2)
    z, ref = rng.standard_normal((3, 50, 4)), rng.standard_normal((3, 80, 4)) @ rng.standard_normal((4, 4))
    for how, one in (("standardize", nu.standardize), ("whiten", nu.whiten)):
        got = fit_batch(z, ref, how)
        for k in range(3):
            np.testing.assert_allclose(got[k], one(z[k], ref[k]), atol=1e-10)


@pytest.mark.parametrize("kwargs, message", [
    ({"fit": "standardize"}, "needs n_fit"),
    ({"n_fit": 100}, "without fit"),
    ({"fit": "center", "n_fit": 100}, "unknown fit"),
    ({"fit": "standardize", "n_fit": 1}, "n_fit"),
])
def test_bad_fit_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nu.radial_score(np.zeros((10, 2)) + np.arange(10)[:, None], **kwargs)


def test_calibration_refuses_other_priors_and_fit_refuses_priors_without_unit_moments():
    z = np.random.default_rng(42).random((50, 2))
    with pytest.raises(ValueError, match="N\\(0, I\\)"):
        nu.calibration_score(z, prior="uniform")
    with pytest.raises(ValueError, match="N\\(0, I\\)"):
        nu.dm_report(z, prior="uniform", metrics=["ks", "calibration"])
    with pytest.raises(ValueError, match="mean 0 and identity covariance"):
        nu.ks_score(z, prior="uniform", fit="standardize", n_fit=100)
    with pytest.raises(ValueError, match="NaN"):
        nu.radial_score(np.full((10, 2), np.nan))
    assert nu.radial_score(z, prior="uniform").ratio > 0  # the two-sample radial law works for any prior


def test_fit_batch_stays_finite_with_fewer_reference_rows_than_columns():
    rng = np.random.default_rng(4)
    z, ref = rng.standard_normal((2, 10, 6)), rng.standard_normal((2, 3, 6))
    for how in ("standardize", "whiten"):
        got = fit_batch(z, ref, how)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got[1], (nu.standardize if how == "standardize" else nu.whiten)(z[1], ref[1]), atol=1e-6)
