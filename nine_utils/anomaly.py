r"""Anomaly scores from a matched Gaussian prior: the chi-square score, its p-values, and AUROC.

If embeddings follow the prior :math:`z \sim \mathcal N(0, I_d)` (what Gaussian NINE trains
them to do), their negative log density is known in closed form,

.. math:: -\log p(z) = \tfrac12 \lVert z \rVert^2 + \tfrac d2 \log(2\pi) ,

and :math:`\lVert z \rVert^2 \sim \chi^2_d`. So :math:`\lVert z \rVert^2` is a density-based
anomaly score, and :math:`P(\chi^2_d \ge \lVert z \rVert^2)` is a p-value that needs no fitted
density model: under the prior it is uniform on ``[0, 1]``, so flagging ``p <= alpha`` has a
false-positive rate of ``alpha``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._arrays import ArrayLike, as_numpy
from ._checks import check_choice

ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")
"""Tails of :func:`chi2_pvalue`."""


def _nonempty(a: ArrayLike, name: str, ndim: int) -> np.ndarray:
    """:func:`~nine_utils._arrays.as_numpy` with ``ndim`` dimensions, and at least one row and column."""
    out = as_numpy(a, name, ndim=ndim)
    if out.shape[0] < 1 or (ndim == 2 and out.shape[1] < 1):
        raise ValueError(f"{name} must not be empty, got shape {out.shape}")
    return out


def chi2_score(z: ArrayLike) -> np.ndarray:
    r"""The chi-square anomaly score :math:`\lVert z \rVert^2` of each row.

    Under the prior :math:`z \sim \mathcal N(0, I_d)` the score follows :math:`\chi^2_d`, and it
    equals the negative log density up to a factor and a constant:
    :math:`-\log p(z) = \tfrac12 \lVert z \rVert^2 + \tfrac d2 \log 2\pi`. Higher means less likely.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, finite.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``, float64, ``>= 0``.
    """
    a = _nonempty(z, "z", 2)
    return np.einsum("nd,nd->n", a, a)


def chi2_pvalue(z: ArrayLike, alternative: str = "greater") -> np.ndarray:
    r"""p-values of the embeddings under the prior :math:`\mathcal N(0, I_d)`, from :math:`\chi^2_d`.

    With :math:`q = \lVert z \rVert^2` and :math:`F_d` the :math:`\chi^2_d` CDF:

    - ``"greater"`` (default): :math:`p = 1 - F_d(q)`, small for points far from the origin.
      This is the density test: :math:`p` is the prior mass of the points with lower density
      than ``z``.
    - ``"less"``: :math:`p = F_d(q)`, small for points too close to the origin.
    - ``"two-sided"``: :math:`p = \min\big(1, 2\min(F_d(q), 1 - F_d(q))\big)`, a typicality test:
      in high dimension nearly all prior mass lies in a shell :math:`q \approx d`, so points near
      the origin (highest density) are atypical too.

    If ``z`` follows the prior, each p-value is uniform on ``[0, 1]``, so ``p <= alpha`` flags a
    fraction ``alpha`` of normal points.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, finite.
    alternative : str
        ``"greater"``, ``"less"`` or ``"two-sided"``.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``, float64 in ``[0, 1]``.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    a = _nonempty(z, "z", 2)
    q, d = np.einsum("nd,nd->n", a, a), a.shape[1]
    if alternative == "greater":
        return stats.chi2.sf(q, d)
    if alternative == "less":
        return stats.chi2.cdf(q, d)
    return np.minimum(1.0, 2.0 * np.minimum(stats.chi2.sf(q, d), stats.chi2.cdf(q, d)))


def false_positive_rate(pvalues: ArrayLike, alpha: float | ArrayLike) -> float | np.ndarray:
    r"""Share of (normal) points flagged at level ``alpha``: :math:`\frac1n \#\{i : p_i \le \alpha\}`.

    For calibrated p-values on normal data this is about ``alpha``.

    Parameters
    ----------
    pvalues : array or tensor
        p-values of normal points, shape ``(n,)``, in ``[0, 1]``.
    alpha : float or array
        Nominal level(s), each in ``[0, 1]``.

    Returns
    -------
    float or np.ndarray
        A float for a scalar ``alpha``, else an array of the shape of ``alpha``.
    """
    p = _nonempty(pvalues, "pvalues", 1)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("pvalues must lie in [0, 1]")
    a = np.asarray(alpha, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any((a < 0) | (a > 1)):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    out = (p[:, None] <= a.reshape(1, -1)).mean(axis=0).reshape(a.shape)
    return float(out) if out.ndim == 0 else out


def auroc(scores_normal: ArrayLike, scores_anomalous: ArrayLike) -> float:
    r"""Area under the ROC curve of an anomaly score (higher score = more anomalous).

    The Mann--Whitney form: the probability that a random anomaly scores above a random normal
    point, ties counted as one half,

    .. math:: \mathrm{AUROC} = \frac{1}{n_0 n_1} \sum_{i,j}
              \Big(\mathbb 1[s^{(1)}_j > s^{(0)}_i] + \tfrac12 \mathbb 1[s^{(1)}_j = s^{(0)}_i]\Big) ,

    which is ``sklearn.metrics.roc_auc_score`` with label 1 for the anomalies (this function is
    a thin wrapper that checks its inputs first). 0.5 is chance; a value below 0.5 means the
    score points the wrong way.

    Parameters
    ----------
    scores_normal : array or tensor
        Scores of the normal points, shape ``(n0,)``, finite, ``n0 >= 1``.
    scores_anomalous : array or tensor
        Scores of the anomalies, shape ``(n1,)``, finite, ``n1 >= 1``.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    s0 = _nonempty(scores_normal, "scores_normal", 1)
    s1 = _nonempty(scores_anomalous, "scores_anomalous", 1)
    labels = np.concatenate([np.zeros(len(s0)), np.ones(len(s1))])
    from sklearn.metrics import roc_auc_score  # scikit-learn (and the pandas it loads) only when used

    return float(roc_auc_score(labels, np.concatenate([s0, s1])))
