"""The chi-square anomaly score, its p-values under N(0, I), and the AUROC helper."""

import numpy as np
import pytest
import torch
from scipy import stats

from nine_utils.anomaly import auroc, chi2_pvalue, chi2_score, false_positive_rate


def normal(seed: int, n: int = 4000, d: int = 8) -> np.ndarray:
    return np.random.default_rng(2000 + seed).standard_normal((n, d))


def test_chi2_score_is_squared_norm_and_follows_chi2():
    z = normal(0)
    q = chi2_score(z)
    assert q.shape == (len(z),)
    np.testing.assert_allclose(q, (z ** 2).sum(1))
    np.testing.assert_allclose(chi2_score(torch.as_tensor(z)), q)
    assert stats.kstest(q, stats.chi2(8).cdf).pvalue > 0.01
    # half the negative log density, up to the constant (d/2) log(2 pi)
    nll = -stats.multivariate_normal(np.zeros(8), np.eye(8)).logpdf(z[:5])
    np.testing.assert_allclose(nll, 0.5 * q[:5] + 4 * np.log(2 * np.pi))


@pytest.mark.parametrize("d", [1, 8, 32])
@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_pvalues_of_true_prior_samples_are_uniform(d, alternative):
    p = chi2_pvalue(normal(d, d=d), alternative)
    assert p.min() >= 0 and p.max() <= 1
    assert stats.kstest(p, "uniform").pvalue > 0.01
    for alpha in (0.01, 0.05, 0.1):
        # 4000 samples: the binomial standard error at alpha = 0.1 is 0.005
        assert abs(false_positive_rate(p, alpha) - alpha) < 4 * np.sqrt(alpha * (1 - alpha) / len(p)) + 1e-3


@pytest.mark.parametrize("scale", [0.8, 1.2])
def test_pvalues_of_a_wrong_scale_are_not_uniform(scale):
    p = chi2_pvalue(scale * normal(3))
    assert stats.kstest(p, "uniform").pvalue < 1e-6
    fpr = false_positive_rate(p, 0.05)
    assert (fpr > 0.1) if scale > 1 else (fpr < 0.02)


def test_two_sided_flags_the_centre_and_the_tail():
    z = np.array([[0.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    greater, two = chi2_pvalue(z), chi2_pvalue(z, "two-sided")
    assert greater[0] == 1.0 and greater[1] < 1e-10  # the origin is the densest point
    assert two[0] == 0.0 and two[1] < 1e-10 and two[2] > 0.5  # ... but atypical in 4-D


def test_false_positive_rate_vectorised():
    p = np.array([0.001, 0.02, 0.05, 0.5, 0.9])
    np.testing.assert_allclose(false_positive_rate(p, [0.01, 0.05, 1.0]), [0.2, 0.6, 1.0])
    assert isinstance(false_positive_rate(p, 0.05), float)


def mann_whitney_auroc(s0: np.ndarray, s1: np.ndarray) -> float:
    """The definition: P(anomaly scores above a normal point), ties counted one half, over all pairs."""
    diff = np.asarray(s1, dtype=float)[None, :] - np.asarray(s0, dtype=float)[:, None]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_auroc_is_the_mann_whitney_probability_including_ties():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n0, n1 = rng.integers(1, 60, 2)
        # integer scores: many ties, within and across the two groups
        s0, s1 = rng.integers(0, 6, n0).astype(float), (rng.integers(0, 6, n1) + trial % 3).astype(float)
        assert auroc(s0, s1) == pytest.approx(mann_whitney_auroc(s0, s1), abs=1e-12)
    s0, s1 = rng.standard_normal(300), rng.standard_normal(200) + 1
    assert auroc(torch.as_tensor(s0), s1) == pytest.approx(mann_whitney_auroc(s0, s1), abs=1e-12)
    # the binormal model: AUROC = Phi(shift / sqrt(2)) = 0.760 for a shift of 1
    s0, s1 = rng.standard_normal(4000), rng.standard_normal(4000) + 1
    assert auroc(s0, s1) == pytest.approx(stats.norm.cdf(1 / np.sqrt(2)), abs=0.015)


def test_auroc_extremes():
    assert auroc([0.0, 1.0], [2.0, 3.0]) == 1.0
    assert auroc([2.0, 3.0], [0.0, 1.0]) == 0.0
    assert auroc([1.0, 1.0], [1.0]) == 0.5
    assert auroc([0.0, 2.0], [1.0, 3.0]) == 0.75  # pairs (0,1) (0,3) (2,3) above, (2,1) below
    assert isinstance(auroc([0.0], [1.0]), float)


@pytest.mark.parametrize("call", [
    lambda: chi2_score(np.zeros(5)),
    lambda: chi2_score(np.zeros((0, 3))),
    lambda: chi2_score(np.array([[np.nan, 1.0]])),
    lambda: chi2_pvalue(np.zeros((3, 2)), "both"),
    lambda: false_positive_rate([0.1, 1.5], 0.05),
    lambda: false_positive_rate([0.1, 0.5], 1.5),
    lambda: auroc([], [1.0]),
    lambda: auroc([[1.0]], [1.0]),
    lambda: auroc([1.0], [np.inf]),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
