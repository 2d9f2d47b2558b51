r"""Fair baselines for a raw representation: standardize or whiten it with training statistics.

A method that matches :math:`\mathcal N(0, I)` must beat what a one-line post-processing of a
plain InfoMax embedding gets for free: its first two moments. :func:`standardize` and
:func:`whiten` apply the mean and (co)variance of a *reference* (the training embeddings) to any
data (the held-out embeddings). :func:`fit_batch` is the same map over a leading batch axis, which
:mod:`nine_utils.dm` uses to put the prior's own samples through the same pipeline when it
simulates a noise floor (a *fair floor*).
"""

from __future__ import annotations

import numpy as np

from ._arrays import ArrayLike, as_numpy
from ._checks import check_choice, check_positive_float, renamed

__all__ = ["FITS", "fit_batch", "standardize", "whiten"]

FITS: tuple[str, ...] = ("standardize", "whiten")
"""The post-processings a noise floor can simulate (:func:`standardize`, :func:`whiten`)."""


def _pair(z: ArrayLike, reference: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a = as_numpy(z, "z")
    r = as_numpy(reference, "reference", ndim=2)
    if r.shape[0] < 2:
        raise ValueError(f"reference needs at least 2 rows, got shape {r.shape}")
    if a.ndim not in (1, 2) or a.shape[-1] != r.shape[1]:
        raise ValueError(f"z must have shape (n, {r.shape[1]}) like the reference, got {a.shape}")
    return a, r
REL_FLOOR = 1e-12
"""The default relative floor of :func:`standardize` and :func:`whiten` (and of :func:`fit_batch`)."""


def standardize(z: ArrayLike, reference: ArrayLike, rel_floor: float | None = None, *,
                eps: float | None = None) -> np.ndarray:
    r"""Standardize each coordinate with the mean and standard deviation of ``reference``.

    .. math:: \tilde z_{ik} = \frac{z_{ik} - \bar r_k}{s_k}, \qquad
              s_k^2 = \max\Big(\frac{1}{m - 1} \sum_j (r_{jk} - \bar r_k)^2,\; f \max_l s_l^2\Big),

    with ``r`` the reference (the training embeddings), so test data get the training statistics
    and the reference itself comes out with mean 0 and unit variances (``ddof=1``). The floor
    ``f = rel_floor`` (relative to the largest variance) keeps a constant coordinate finite; being
    relative, it leaves the map unchanged when the data are rescaled.

    Parameters
    ----------
    z : array or tensor
        Data to transform, shape ``(n, d)`` (or ``(d,)``).
    reference : array or tensor
        Shape ``(m, d)``, ``m >= 2``, not all constant.
    rel_floor : float, optional
        Relative variance floor ``f``, ``> 0``; default :data:`REL_FLOOR` (``1e-12``).
    eps : float, optional
        The old name of ``rel_floor`` (a ``FutureWarning``).

    Returns
    -------
    np.ndarray
        Float64, the shape of ``z``.
    """
    floor = renamed("standardize", "eps", "rel_floor", eps, rel_floor)
    floor = check_positive_float("rel_floor", REL_FLOOR if floor is None else floor)
    a, r = _pair(z, reference)
    var = r.var(axis=0, ddof=1)
    if var.max() <= 0:
        raise ValueError("reference is constant: nothing to standardize with")
    return (a - r.mean(axis=0)) / np.sqrt(np.maximum(var, floor * var.max()))


def whiten(z: ArrayLike, reference: ArrayLike, rel_floor: float | None = None, *,
           eps: float | None = None) -> np.ndarray:
    r"""ZCA-whiten with the mean and covariance of ``reference``: :math:`(z - \bar r)\, C^{-1/2}`.

    With :math:`C = V \operatorname{diag}(\lambda) V^\top` the reference covariance (``ddof=1``),
    :math:`C^{-1/2} = V \operatorname{diag}\big(\max(\lambda, f \lambda_{\max})^{-1/2}\big) V^\top`,
    the symmetric (zero-phase) whitening, which of all whitening maps changes the data least.
    The reference itself comes out with mean 0 and identity covariance (if no eigenvalue is
    floored); test data get the training statistics.

    Parameters
    ----------
    z : array or tensor
        Data to transform, shape ``(n, d)`` (or ``(d,)``).
    reference : array or tensor
        Shape ``(m, d)``, ``m >= 2``, not all constant.
    rel_floor : float, optional
        Relative eigenvalue floor ``f``, ``> 0``; default :data:`REL_FLOOR` (``1e-12``).
    eps : float, optional
        The old name of ``rel_floor`` (a ``FutureWarning``).

    Returns
    -------
    np.ndarray
        Float64, the shape of ``z``.
    """
    floor = renamed("whiten", "eps", "rel_floor", eps, rel_floor)
    floor = check_positive_float("rel_floor", REL_FLOOR if floor is None else floor)
    a, r = _pair(z, reference)
    cov = np.atleast_2d(np.cov(r, rowvar=False))
    lam, v = np.linalg.eigh(cov)
    if lam.max() <= 0:
        raise ValueError("reference is constant: nothing to whiten with")
    inv_sqrt = (v / np.sqrt(np.maximum(lam, floor * lam.max()))) @ v.T
    return (a - r.mean(axis=0)) @ inv_sqrt


def fit_batch(z: np.ndarray, reference: np.ndarray, how: str) -> np.ndarray:
    r""":func:`standardize` or :func:`whiten` each batch row of ``z`` with its own reference.

    Parameters
    ----------
    z : np.ndarray
        Shape ``(B, n, d)``.
    reference : np.ndarray
        Shape ``(B, m, d)``, ``m >= 2``: row ``k`` of ``z`` gets the mean and (co)variance
        (``ddof=1``) of row ``k`` of ``reference``.
    how : str
        ``"standardize"`` or ``"whiten"`` (symmetric ZCA whitening).

    Returns
    -------
    np.ndarray
        Shape ``(B, n, d)``. Variances and eigenvalues are floored as in :func:`standardize` and
        :func:`whiten`, so a reference with fewer rows than columns stays finite.
    """
    check_choice("fit", how, FITS)
    eps = REL_FLOOR  # the relative floor of standardize() and whiten()
    mean = reference.mean(axis=1, keepdims=True)
    if how == "standardize":
        var = reference.var(axis=1, ddof=1, keepdims=True)
        return (z - mean) / np.sqrt(np.maximum(var, eps * var.max(axis=2, keepdims=True)))
    rc = reference - mean
    cov = np.swapaxes(rc, 1, 2) @ rc / (reference.shape[1] - 1)
    lam, v = np.linalg.eigh(cov)
    lam = np.maximum(lam, eps * lam.max(axis=1, keepdims=True))
    inv_sqrt = (v / np.sqrt(lam)[:, None, :]) @ np.swapaxes(v, 1, 2)
    return (z - mean) @ inv_sqrt
