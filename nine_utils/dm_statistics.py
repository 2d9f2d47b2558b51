r"""The distribution-matching statistics, vectorised over a leading batch axis, and the Gaussian W2.

Each statistic maps embeddings ``z`` of shape ``(B, n, d)`` (``B`` samples at once, so that a
noise floor's prior samples are scored in a few large array operations) to ``(B,)``. The scores
with their noise floors, which are what a user calls, are in :mod:`nine_utils.dm`; everything
here stays importable from there.
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from ._arrays import ArrayLike, as_numpy
from .joint import calibration_batch, radial_batch
from .priors import Prior

__all__ = ["JOINT_METRICS", "METRICS", "gaussian_w2"]

# --------------------------------------------------------------------------------------------
# The Gaussian 2-Wasserstein distance, one implementation for dm and generative
# --------------------------------------------------------------------------------------------

def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root via an eigen-decomposition, negative eigenvalues clipped."""
    w, v = np.linalg.eigh(0.5 * (c + np.swapaxes(c, -1, -2)))
    return (v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(v, -1, -2)


def gaussian_w2(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike, *,
                squared: bool = False) -> float | np.ndarray:
    r"""2-Wasserstein distance between :math:`\mathcal N(m_1, C_1)` and :math:`\mathcal N(m_2, C_2)`.

    .. math:: W_2^2 = \lVert m_1 - m_2 \rVert^2
              + \operatorname{tr}\Big(C_1 + C_2 - 2\big(C_2^{1/2} C_1\, C_2^{1/2}\big)^{1/2}\Big) .

    Matrix square roots are taken by symmetric eigen-decompositions with negative eigenvalues
    clipped to 0, so singular covariances are fine; :math:`W_2^2` is clipped at 0 against
    rounding. Symmetric in its two Gaussians up to rounding.

    Parameters
    ----------
    mean1, mean2 : array or tensor
        Means, shapes ``(..., d)``.
    cov1, cov2 : array or tensor
        Covariances (symmetric positive semi-definite), shapes ``(..., d, d)``. Leading axes of
        all four broadcast against each other, e.g. a batch ``(B, d)``, ``(B, d, d)`` against one
        Gaussian ``(d,)``, ``(d, d)`` (whose square root is then taken once).
    squared : bool
        Return :math:`W_2^2` (the Fréchet distance of FID) instead of :math:`W_2`.

    Returns
    -------
    float or np.ndarray
        A float for a single pair, else an array of the broadcast leading shape.

    Raises
    ------
    ValueError
        For inconsistent shapes or non-finite entries.
    """
    m1, m2 = as_numpy(mean1, "mean1"), as_numpy(mean2, "mean2")
    c1, c2 = as_numpy(cov1, "cov1"), as_numpy(cov2, "cov2")
    if m1.ndim < 1 or m2.ndim < 1 or c1.ndim < 2 or c2.ndim < 2:
        raise ValueError(f"means must have shape (..., d) and covariances (..., d, d), got {m1.shape}, "
                         f"{c1.shape}, {m2.shape}, {c2.shape}")
    d = m1.shape[-1]
    if m2.shape[-1] != d or c1.shape[-2:] != (d, d) or c2.shape[-2:] != (d, d):
        raise ValueError(f"means must have shape (..., d) and covariances (..., d, d) with one d, got "
                         f"{m1.shape}, {c1.shape}, {m2.shape}, {c2.shape}")
    s2 = _psd_sqrt(c2)
    cross = s2 @ c1 @ s2
    ev = np.linalg.eigvalsh(0.5 * (cross + np.swapaxes(cross, -1, -2)))
    w2sq = (((m1 - m2) ** 2).sum(axis=-1) + np.trace(c1, axis1=-2, axis2=-1) + np.trace(c2, axis1=-2, axis2=-1)
            - 2.0 * np.sqrt(np.clip(ev, 0.0, None)).sum(axis=-1))
    out = np.clip(w2sq, 0.0, None)
    out = out if squared else np.sqrt(out)
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------------------------
# Statistics, vectorised over a leading batch axis: z has shape (B, n, d), result (B,)
# --------------------------------------------------------------------------------------------

def _ks_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int) -> np.ndarray:
    n = z.shape[1]
    u = prior.cdf(np.sort(z, axis=1))  # (B, n, d)
    i = np.arange(1, n + 1, dtype=np.float64)[None, :, None]
    d_plus = (i / n - u).max(axis=1)
    d_minus = (u - (i - 1) / n).max(axis=1)
    return np.maximum(d_plus, d_minus).mean(axis=1)


def _w2_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int) -> np.ndarray:
    n, d = z.shape[1], z.shape[2]
    m = z.mean(axis=1)  # (B, d)
    zc = z - m[:, None, :]
    c = np.swapaxes(zc, 1, 2) @ zc / (n - 1)  # (B, d, d)
    return gaussian_w2(m, c, prior.mean(d), prior.cov(d))


def _swd_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int) -> np.ndarray:
    b, n, d = z.shape
    ref = prior.sample(b * n, d, rng).reshape(b, n, d)
    theta = rng.standard_normal((b, d, n_projections))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    pz = np.sort(z @ theta, axis=1)  # (B, n, P)
    pr = np.sort(ref @ theta, axis=1)
    return np.sqrt(((pz - pr) ** 2).mean(axis=(1, 2)))


def _c2st_neighbors(n: int) -> int:
    """Neighbours of the classifier: the odd integer nearest ``sqrt(n)``, ``n`` = points per training fold."""
    k = max(1, int(round(math.sqrt(n))))
    return k if k % 2 == 1 else k + 1 if k + 1 <= n else k - 1


def _c2st_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int) -> np.ndarray:
    b, n, d = z.shape
    ref = prior.sample(b * n, d, rng).reshape(b, n, d)
    labels = np.r_[np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)]
    k = _c2st_neighbors(n)  # 2 folds: each training fold holds n of the 2n pooled points
    half = n // 2
    out = np.empty(b)
    import sklearn  # scikit-learn (and the pandas it loads) only when a classifier test runs
    from sklearn.neighbors import KNeighborsClassifier

    # tiny problems: threads and sklearn's input validation cost more than they save
    with threadpool_limits(limits=1), sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        for i in range(b):
            x = np.concatenate([z[i], ref[i]])
            sd = x.std(axis=0)
            x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
            ones, zeros = rng.permutation(n), n + rng.permutation(n)  # stratified 2-fold split
            fold_a = np.concatenate([ones[:half], zeros[:half]])
            fold_b = np.concatenate([ones[half:], zeros[half:]])
            correct = 0
            for train, test in ((fold_a, fold_b), (fold_b, fold_a)):
                clf = KNeighborsClassifier(n_neighbors=min(k, len(train)), algorithm="brute")
                correct += int((clf.fit(x[train], labels[train]).predict(x[test]) == labels[test]).sum())
            out[i] = correct / (2 * n)
    return out


_STATISTICS = {"ks": _ks_batch, "w2": _w2_batch, "swd": _swd_batch, "c2st": _c2st_batch,
               "radial": radial_batch, "calibration": calibration_batch}
METRICS: tuple[str, ...] = tuple(_STATISTICS)
"""Names of the distribution-matching statistics."""

JOINT_METRICS: tuple[str, ...] = ("c2st", "radial", "calibration")
"""The statistics that see the joint law, not only marginals and two moments."""
