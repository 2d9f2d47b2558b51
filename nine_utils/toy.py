r"""Toy problems with known answers: skewed 1-D inputs and their analytic maps to a prior.

For a continuous input ``X`` with CDF ``F_X`` and a prior with CDF ``G``, the maps

.. math:: T_+ = G^{-1} \circ F_X , \qquad T_- = G^{-1} \circ (1 - F_X)

are the only monotone maps that push ``X`` to the prior (increasing and decreasing). For the
Gaussian prior ``T_+ = \Phi^{-1} \circ F_X`` is the *Gaussianizer* and ``T_- = -T_+``; for
``U[0, 1]`` they are ``F_X`` and ``1 - F_X``. A NINE encoder trained on the 1-D toy should learn
one of them (notebooks 02 and 04), and :func:`map_fit` measures how close it comes.

Also here: :func:`heldout_infonce`, the MI estimate of a noisy channel on held-out embeddings
with a fixed critic. (The eval-mode statistics of a trained NINE head are made exact over a data
set by :func:`nine_utils.nine.recalibrate`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from ._arrays import ArrayLike, as_numpy, as_tensor
from ._checks import check_choice, check_positive_int
from .dm import Prior, get_prior
from .objectives import infonce
from .seeds import SeedLike, check_seed, torch_generator

TOY_DISTRIBUTIONS: dict[str, Callable[[], Any]] = {
    "gamma": lambda: stats.gamma(2.0),
    "exponential": lambda: stats.expon(),
    "lognormal": lambda: stats.lognorm(0.5),
    "beta": lambda: stats.beta(2.0, 5.0),
    "chi2": lambda: stats.chi2(3),
}
"""Skewed 1-D inputs by name: Gamma(2), Exp(1), LogNormal(0, 0.5^2), Beta(2, 5), chi^2(3)."""

Noise = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""A random channel: ``(embeddings, generator) -> noisy embeddings`` of the same shape."""


def toy_distribution(name: str) -> Any:
    """A frozen ``scipy.stats`` distribution from :data:`TOY_DISTRIBUTIONS`.

    Parameters
    ----------
    name : str
        ``"gamma"`` (Gamma(2)), ``"exponential"``, ``"lognormal"``, ``"beta"`` (Beta(2, 5)) or
        ``"chi2"`` (three degrees of freedom).

    Returns
    -------
    scipy.stats frozen distribution

    Raises
    ------
    ValueError
        For an unknown name; the message lists the allowed ones.
    """
    return TOY_DISTRIBUTIONS[check_choice("toy distribution", name, TOY_DISTRIBUTIONS)]()


def _is_symmetric(prior: Prior) -> bool:
    """Whether ``G^{-1}(1 - s) = 2 m - G^{-1}(s)`` (``m`` the median) at a few ``s``, to rounding."""
    s = np.array([1e-6, 1e-3, 0.05, 0.25])
    m = float(prior.ppf(np.array([0.5]))[0])
    low, high = np.asarray(prior.ppf(s), np.float64), np.asarray(prior.ppf(1.0 - s), np.float64)
    if not (np.isfinite(m) and np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return False
    scale = max(float(high[-1] - low[-1]), 1e-300)  # the interquartile range
    return bool(np.all(np.abs(low + high - 2.0 * m) <= 1e-7 * scale))


def _prior_quantile(prior: Prior, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    r"""``G^{-1}(u)`` from the lower tail ``u`` and the upper tail ``1 - u``, both given exactly.

    Uses only the prior's ``ppf`` (the :class:`~nine_utils.dm.Prior` protocol). Where
    ``u <= 1/2`` it is ``G^{-1}(u)``. Elsewhere, for a prior symmetric about its median ``m``
    (normal, uniform, Laplace, logistic, ...) it is ``2 m - G^{-1}(1 - u)``, so the upper tail is
    as accurate as the lower one; for an asymmetric prior it is ``G^{-1}(1 - (1 - u))``, accurate
    while ``1 - u`` is above about ``1e-16`` (and infinite beyond, where ``u`` rounds to 1).
    """
    lower_q = prior.ppf(np.minimum(lower, 0.5))
    tail = np.minimum(upper, 0.5)
    if _is_symmetric(prior):
        median = float(prior.ppf(np.array([0.5]))[0])
        upper_q = 2.0 * median - np.asarray(prior.ppf(tail), np.float64)
    else:
        upper_q = prior.ppf(1.0 - tail)
    return np.where(lower <= 0.5, lower_q, upper_q)


def transport_map(x: ArrayLike, dist: Any, prior: str | Prior = "normal",
                  decreasing: bool = False) -> np.ndarray:
    r"""The monotone map that pushes ``dist`` to ``prior``, evaluated at ``x``.

    .. math:: T_+(x) = G^{-1}\big(F_X(x)\big), \qquad T_-(x) = G^{-1}\big(1 - F_X(x)\big) ,

    with ``F_X`` the CDF of ``dist`` and ``G`` the prior's marginal CDF. Both tails are computed
    from ``F_X`` and the survival function ``1 - F_X`` separately, so values far in either tail
    stay finite and accurate (for an asymmetric prior, the far upper tail only down to
    ``1 - G(y) ~ 1e-16``; see :func:`_prior_quantile`). Only the prior's ``ppf`` is used, so any
    :class:`~nine_utils.dm.Prior` with a quantile function works, e.g. a ``torch.distributions``
    distribution.

    Parameters
    ----------
    x : array-like
        Points in the support of ``dist``, any shape, finite.
    dist : scipy.stats frozen distribution
        The input distribution (continuous, 1-D).
    prior : str, Prior or distribution
        ``"normal"`` (gives the Gaussianizer ``Phi^{-1} o F_X``), ``"uniform"`` (gives ``F_X``),
        a factorized :class:`~nine_utils.dm.Prior`, or anything ``get_prior`` accepts (a frozen
        ``scipy.stats`` or scalar ``torch.distributions`` distribution).
    decreasing : bool
        Return the decreasing map ``T_-`` instead of the increasing ``T_+``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``, float64.
    """
    p = get_prior(prior)
    x = as_numpy(x, "x")
    lower, upper = np.asarray(dist.cdf(x), np.float64), np.asarray(dist.sf(x), np.float64)
    if decreasing:
        lower, upper = upper, lower
    return np.asarray(_prior_quantile(p, lower, upper), dtype=np.float64)


@dataclass(frozen=True)
class MapFit:
    """How close a learned 1-D map is to the nearer analytic monotone map.

    Attributes
    ----------
    rmse : float
        Root-mean-square difference to the nearer of the two maps, ``min(rmse_increasing,
        rmse_decreasing)``.
    increasing : bool
        Whether the nearer map is the increasing one ``T_+``.
    rmse_increasing, rmse_decreasing : float
        The RMSE to ``T_+`` and to ``T_-``.
    """

    rmse: float
    increasing: bool
    rmse_increasing: float
    rmse_decreasing: float

    def as_dict(self) -> dict[str, float | bool]:
        """Plain-Python copy, for results files."""
        return asdict(self)


def map_fit(learned: ArrayLike, x: ArrayLike, dist: Any,
            prior: str | Prior = "normal") -> MapFit:
    r"""RMSE between a learned map and the analytic monotone maps to ``prior``, at points ``x``.

    .. math:: \mathrm{RMSE}_\pm = \Big(\frac1n \sum_i \big(f(x_i) - T_\pm(x_i)\big)^2\Big)^{1/2}

    The MI objective cannot tell ``T_+`` from ``T_-`` (both push ``X`` to the prior), so the fit
    is reported against the nearer one, and which one it is. With ``x`` drawn from ``dist`` this
    is the RMSE under the input distribution.

    Parameters
    ----------
    learned : array or tensor
        ``f(x_i)``, shape ``(n,)`` or ``(n, 1)``.
    x : array or tensor
        The inputs ``x_i`` in the units of ``dist``, same number of entries.
    dist : scipy.stats frozen distribution
        The input distribution.
    prior : str, Prior or distribution
        ``"normal"``, ``"uniform"``, or a factorized prior as in :func:`transport_map`.

    Returns
    -------
    MapFit

    Raises
    ------
    ValueError
        For bad shapes, different lengths, or NaN / infinite values.
    """
    def flat(a: ArrayLike, name: str) -> np.ndarray:
        v = as_numpy(a, name)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"{name} must have shape (n,) or (n, 1) with n >= 1, got {v.shape}")
        return v

    f, xs = flat(learned, "learned"), flat(x, "x")
    if f.shape != xs.shape:
        raise ValueError(f"learned and x must have the same length, got {f.size} and {xs.size}")
    up = float(np.sqrt(np.mean((f - transport_map(xs, dist, prior)) ** 2)))
    down = float(np.sqrt(np.mean((f - transport_map(xs, dist, prior, decreasing=True)) ** 2)))
    return MapFit(min(up, down), up <= down, up, down)


@torch.no_grad()
def heldout_infonce(z: ArrayLike, critic: nn.Module, noise: Noise, batch_size: int = 1024,
                    seed: SeedLike = 0) -> tuple[float, float]:
    r"""InfoNCE estimate of ``I(Z; noise(Z))`` on held-out embeddings, with a fixed critic.

    ``z`` (shape ``(n, d)``, e.g. eval-mode embeddings of test data) is cut into
    ``k = n // batch_size`` consecutive batches (the remainder is dropped). For each batch
    ``a``, ``b = noise(a, generator)`` (``generator`` a torch generator derived from ``seed``,
    shared by the batches) and the estimate is ``infonce(critic(a, b))``; the result
    is the mean over batches and its standard error. Every batch value is a lower bound on the
    channel's MI and at most ``log(batch_size)``.

    Parameters
    ----------
    z : array-like or torch.Tensor
        Clean embeddings, shape ``(n, d)``, ``n >= batch_size``; converted to float32. Shuffle them first if their order
        is not random.
    critic : nn.Module
        Scores ``(a, b) -> (m, m)``, e.g. :class:`~nine_utils.nine.GaussianChannelCritic`.
    noise : callable
        ``(a, generator) -> b``, the channel, e.g.
        ``lambda a, g: a + sigma * torch.randn(a.shape, generator=g)``.
    batch_size : int
        ``>= 2``; InfoNCE's ceiling is ``log(batch_size)``.
    seed : int or numpy.random.Generator
        Seeds the noise (:func:`nine_utils.seeds.torch_generator`). A numpy ``Generator`` gives
        fresh noise at each call; an int the same noise for the same ``z``.

    Returns
    -------
    mean, stderr : float
        Mean estimate in nats and its standard error over the ``k`` batches (``0.0`` when
        ``k = 1``).
    """
    check_positive_int("batch_size", batch_size, minimum=2)
    seed = check_seed(seed)
    z = as_tensor(z, "z")
    if z.dim() != 2:
        raise ValueError(f"z must have shape (n, d), got {tuple(z.shape)}")
    k = z.shape[0] // batch_size
    if k < 1:
        raise ValueError(f"need at least batch_size={batch_size} embeddings, got {z.shape[0]}")
    generator = torch_generator(seed)
    was_training = critic.training
    critic.eval()
    values = []
    try:
        for i in range(k):
            a = z[i * batch_size:(i + 1) * batch_size]
            values.append(float(infonce(critic(a, noise(a, generator)))))
    finally:
        critic.train(was_training)
    stderr = float(np.std(values, ddof=1) / math.sqrt(k)) if k > 1 else 0.0
    return float(np.mean(values)), stderr

