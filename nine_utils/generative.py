r"""Sample-quality scores for generative models, computed with a fixed classifier.

Both scores follow the recipe of the image-generation literature with a small classifier in
place of Inception-v3, so that they run on 8x8 digits on a CPU:

- the **Fréchet distance** between Gaussians fitted to the classifier's features of real and of
  generated images (FID, Heusel et al., 2017);
- the **inception-style score** of the classifier's class probabilities on generated images
  (IS, Salimans et al., 2016): high when each sample is classified confidently and the classes
  are used evenly.

Neither score is comparable across classifiers; compare models under one fixed classifier, and
compare sample sets of equal size (the Fréchet distance is biased upwards at small ``n``).
"""

from __future__ import annotations

import numpy as np

from ._arrays import ArrayLike, as_numpy
from ._checks import as_matrix, check_positive_float, renamed
from .dm import gaussian_w2


def frechet_distance(a: ArrayLike, b: ArrayLike) -> float:
    r"""Squared 2-Wasserstein (Fréchet) distance between Gaussians fitted to two sample sets.

    With :math:`m_a, C_a` and :math:`m_b, C_b` the sample means and covariances (``n - 1`` in the
    denominator) of the rows of ``a`` and ``b``,

    .. math:: \mathrm{FD} = \lVert m_a - m_b \rVert^2
              + \operatorname{tr}\Big(C_a + C_b - 2\big(C_a^{1/2} C_b\, C_a^{1/2}\big)^{1/2}\Big) ,

    which is symmetric, ``>= 0``, zero when the moments agree, and ``||m_a - m_b||^2`` when the
    covariances are equal. Square roots are taken by symmetric eigen-decompositions with negative
    eigenvalues clipped to 0, so singular covariances (e.g. dead ReLU features) are fine. This is
    the squared form used by FID, computed by :func:`nine_utils.dm.gaussian_w2` (``squared=True``),
    which :func:`nine_utils.gaussian_w2_score` also uses to report the square root against a prior.

    Parameters
    ----------
    a, b : array or tensor
        Samples (e.g. classifier features), shapes ``(n_a, k)`` and ``(n_b, k)`` with
        ``n_a, n_b >= 2``, finite.

    Returns
    -------
    float
        The distance, in squared feature units.
    """
    x, y = as_matrix(a, "a", min_rows=2), as_matrix(b, "b", min_rows=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples differ in width: {x.shape[1]} vs {y.shape[1]}")
    ca = np.atleast_2d(np.cov(x, rowvar=False))
    cb = np.atleast_2d(np.cov(y, rowvar=False))
    return gaussian_w2(x.mean(axis=0), ca, y.mean(axis=0), cb, squared=True)


def inception_score(probs: ArrayLike, log_floor: float | None = None, *, eps: float | None = None) -> float:
    r"""Inception-style score of class probabilities: ``exp`` of the mean KL from the marginal.

    With :math:`p(y \mid x_i)` the rows of ``probs`` and :math:`\hat p(y) = \frac1n \sum_i p(y \mid x_i)`,

    .. math:: \mathrm{IS} = \exp\Big(\frac1n \sum_i \mathrm{KL}\big(p(y \mid x_i) \,\|\, \hat p(y)\big)\Big)
              = \exp\big(H[\hat p(y)] - \tfrac1n \textstyle\sum_i H[p(y \mid x_i)]\big) ,

    the exponential of a mutual-information estimate between sample and label. It lies in
    ``[1, K]`` for ``K`` classes: 1 when every sample gets the same prediction, ``K`` when every
    prediction is one-hot and the classes are used equally often.

    Parameters
    ----------
    probs : array or tensor
        Class probabilities, shape ``(n, K)`` with ``n >= 1``, ``K >= 1``; entries in ``[0, 1]``
        and rows summing to 1 (within ``1e-4``).
    log_floor : float, optional
        Floor inside the logarithms, ``> 0`` (``0 log 0`` is taken as 0); default ``1e-12``.
    eps : float, optional
        The old name of ``log_floor`` (a ``FutureWarning``).

    Returns
    -------
    float
        The score.
    """
    p = as_numpy(probs, "probs")
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"probs must have shape (n, K) with n, K >= 1, got {p.shape}")
    floor = renamed("inception_score", "eps", "log_floor", eps, log_floor)
    floor = check_positive_float("log_floor", 1e-12 if floor is None else floor)
    if p.min() < 0 or p.max() > 1 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs must be probabilities: entries in [0, 1], rows summing to 1")
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(np.maximum(p, floor)) - np.log(np.maximum(marginal, floor)))).sum(axis=1)
    return float(np.exp(max(kl.mean(), 0.0)))
