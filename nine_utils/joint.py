r"""Joint tests of a match: the radial law and the calibration of the :math:`\chi^2` p-values.

Per-coordinate tests cannot see a **thin shell**. Spread ``n`` points uniformly on the sphere of
radius :math:`\sqrt d` in :math:`\mathbb R^d`: every coordinate has mean 0 and variance 1, for
``d`` of about 8 or more each marginal is close to :math:`\mathcal N(0, 1)`, the covariance is
the identity, and yet every point has :math:`\lVert z\rVert^2 = d`, where under
:math:`\mathcal N(0, I_d)` the squared norm follows :math:`\chi^2_d` (mean ``d``, variance ``2d``).
Contrastive embeddings tend towards such shells (Betser, Gofer, Levi, Gilboa, *InfoNCE Induces
Gaussian Distribution*, ICLR 2026, arXiv:2602.24012). Two statistics see them:

- ``"radial"``: the Kolmogorov--Smirnov distance between the law of the squared distance to the
  prior's mean, :math:`r = \lVert z - \mu\rVert^2`, and the prior's own law of it. For
  :math:`\mathcal N(0, I_d)` that law is :math:`\chi^2_d` and the test is one-sample
  (``scipy.stats.kstest`` against ``chi2(d).cdf``); for any other prior it is two-sample, against
  ``r`` of a fresh prior sample of the same size (``scipy.stats.ks_2samp``).
- ``"calibration"``: how far the :math:`\chi^2` test's false-positive rate is from its nominal
  level. With :math:`p_i = P(\chi^2_d > \lVert z_i\rVert^2)` the upper-tail p-values,

  .. math:: \mathrm{cal} = \max_{\alpha \in A} \Big| \frac1n \sum_i \mathbb 1[p_i \le \alpha]
            - \alpha \Big| , \qquad A = \text{:data:`CALIBRATION_ALPHAS`},

  the largest error of the false-alarm rate over a grid of levels: what an anomaly detector that
  thresholds :math:`\lVert z\rVert^2` (notebook 06) gets wrong. Defined for
  :math:`\mathcal N(0, I)` only.

Both are batch statistics for :mod:`nine_utils.dm`, which gives them noise floors like every
other statistic (``nu.dm.radial_score``, ``nu.dm.calibration_score``, ``dm_report``). Each takes
``z`` of shape ``(B, n, d)`` and returns shape ``(B,)``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .priors import Prior, StandardNormal

__all__ = ["CALIBRATION_ALPHAS", "calibration_batch", "radial_batch", "squared_radius"]

CALIBRATION_ALPHAS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The nominal levels over which the calibration error takes its largest deviation."""


def _is_standard_normal(prior: Prior) -> bool:
    return isinstance(prior, StandardNormal)


def squared_radius(z: np.ndarray, prior: Prior) -> np.ndarray:
    r"""Squared distance of each point to the prior's mean, :math:`\lVert z - \mu\rVert^2`.

    Parameters
    ----------
    z : np.ndarray
        Shape ``(..., n, d)``.
    prior : Prior
        Gives :math:`\mu` through ``prior.mean(d)``.

    Returns
    -------
    np.ndarray
        Shape ``(..., n)``.
    """
    zc = z - prior.mean(z.shape[-1])
    return np.einsum("...i,...i->...", zc, zc)


def _ks_one_sample(u: np.ndarray) -> np.ndarray:
    """KS distance of sorted CDF values ``u`` (shape ``(B, n)``) to the uniform law."""
    n = u.shape[1]
    i = np.arange(1, n + 1, dtype=np.float64)[None, :]
    return np.maximum((i / n - u).max(axis=1), (u - (i - 1) / n).max(axis=1))


def _ks_two_sample(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sample KS distance, row by row: ``a`` and ``b`` of shape ``(B, n)``."""
    a, b = np.sort(a, axis=1), np.sort(b, axis=1)
    out = np.empty(a.shape[0])
    for k in range(a.shape[0]):
        pooled = np.concatenate([a[k], b[k]])
        fa = np.searchsorted(a[k], pooled, side="right") / a.shape[1]
        fb = np.searchsorted(b[k], pooled, side="right") / b.shape[1]
        out[k] = np.abs(fa - fb).max()
    return out


def radial_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int = 0) -> np.ndarray:
    r"""KS distance between the law of :math:`\lVert z - \mu\rVert^2` and the prior's, per batch row.

    Parameters
    ----------
    z : np.ndarray
        Shape ``(B, n, d)``.
    prior : Prior
        :math:`\mathcal N(0, I)` is scored against :math:`\chi^2_d` exactly; any other prior
        against a fresh sample of ``n`` prior points per row, drawn with ``rng``.
    rng : numpy.random.Generator
        Used only for the two-sample case.
    n_projections : int
        Unused (the common signature of :mod:`nine_utils.dm`'s statistics).

    Returns
    -------
    np.ndarray
        Shape ``(B,)``, in ``[0, 1]``.
    """
    b, n, d = z.shape
    r = squared_radius(z, prior)
    if _is_standard_normal(prior):
        return _ks_one_sample(stats.chi2.cdf(np.sort(r, axis=1), d))
    ref = squared_radius(prior.sample(b * n, d, rng).reshape(b, n, d), prior)
    return _ks_two_sample(r, ref)


def calibration_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int = 0) -> np.ndarray:
    r"""Largest error of the :math:`\chi^2` test's false-positive rate over :data:`CALIBRATION_ALPHAS`.

    Parameters
    ----------
    z : np.ndarray
        Shape ``(B, n, d)``.
    prior : Prior
        Must be :math:`\mathcal N(0, I)`.
    rng, n_projections
        Unused (the common signature of :mod:`nine_utils.dm`'s statistics).

    Returns
    -------
    np.ndarray
        Shape ``(B,)``, in ``[0, 1]``.

    Raises
    ------
    ValueError
        For any prior but :math:`\mathcal N(0, I)`.
    """
    if not _is_standard_normal(prior):
        raise ValueError(f"the chi-square calibration error needs the N(0, I) prior ('normal'), got {prior!r}")
    p = stats.chi2.sf(squared_radius(z, prior), z.shape[2])  # (B, n) upper-tail p-values
    alphas = np.asarray(CALIBRATION_ALPHAS)
    fpr = (p[:, :, None] <= alphas).mean(axis=1)  # (B, len(alphas))
    return np.abs(fpr - alphas).max(axis=1)
