r"""Distribution matching: how close embeddings are to a prior, against the prior's noise floor.

A statistic alone means nothing: even true prior samples score above zero. Each metric here is
reported next to its *noise floor*, the 95th percentile of the same statistic over ``n_draws``
samples of the prior itself with the same ``n`` and ``d``, and as the ratio
``statistic / floor``. A ratio ``<= 1`` means the embeddings cannot be told from the prior at the
95% level by that statistic.

Three statistics, all fixing the target fully (no fitted location or scale):

- ``"ks"``: the mean over coordinates of the one-sample Kolmogorov--Smirnov statistic against
  the prior's marginal CDF. Per-coordinate only: blind to correlation between coordinates.
- ``"w2"``: the closed-form 2-Wasserstein distance between Gaussians fitted by mean and
  covariance. Sees correlation, but only the first two moments.
- ``"swd"``: the sliced 2-Wasserstein distance to a fresh prior sample of the same size.

Priors: :class:`FactorizedPrior` wraps any frozen 1-D ``scipy.stats`` distribution and
:class:`TorchFactorizedPrior` any scalar ``torch.distributions`` one with a CDF and inverse CDF
(i.i.d. coordinates); :class:`SampledPrior` is a non-factorized prior known only by a sampler,
for the sliced metric (and the Gaussian W2 from estimated moments).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from scipy import special, stats

from ._checks import check_choice, check_positive_int

ArrayLike = np.ndarray | torch.Tensor

FLOOR_QUANTILE = 0.95
"""The floor is this quantile of the statistic on true prior samples."""

_CHUNK_ELEMENTS = 2_000_000  # floats per vectorised block when computing a floor


# --------------------------------------------------------------------------------------------
# Priors
# --------------------------------------------------------------------------------------------

@runtime_checkable
class Prior(Protocol):
    """What the metrics need from a prior on ``R^d``.

    ``name`` identifies the prior: it is part of the cache key of the noise floors, so two
    different priors must not share a name.
    """

    name: str

    def sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws in ``d`` dimensions, shape ``(n, d)``."""
        ...

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Marginal CDF, elementwise, same shape as ``x``."""
        ...

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Marginal quantile function (inverse CDF), elementwise on ``u`` in ``(0, 1)``."""
        ...

    def mean(self, d: int) -> np.ndarray:
        """Mean vector, shape ``(d,)``."""
        ...

    def cov(self, d: int) -> np.ndarray:
        """Covariance matrix, shape ``(d, d)``."""
        ...


def _describe(dist: Any) -> str:
    args = [repr(a) for a in dist.args] + [f"{k}={v!r}" for k, v in sorted(dist.kwds.items())]
    return f"{dist.dist.name}({', '.join(args)})"


class FactorizedPrior:
    """A prior with i.i.d. coordinates, each following a frozen 1-D ``scipy.stats`` distribution.

    Parameters
    ----------
    dist : scipy.stats frozen distribution
        E.g. ``scipy.stats.beta(2, 5)``. Needs a finite mean and variance for ``"w2"``.
    name : str, optional
        Identifies the prior (and its cached floors). Defaults to a description of ``dist``
        such as ``"beta(2, 5)"``.
    """

    def __init__(self, dist: Any, name: str | None = None) -> None:
        if not all(hasattr(dist, a) for a in ("rvs", "cdf", "ppf", "mean", "var")):
            raise ValueError(f"dist must be a frozen scipy.stats distribution, got {dist!r}")
        self.dist = dist
        self.name = name or _describe(dist)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FactorizedPrior) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("FactorizedPrior", self.name))

    def sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` i.i.d. draws in ``d`` dimensions, shape ``(n, d)``, float64."""
        return np.asarray(self.dist.rvs(size=(n, d), random_state=rng), dtype=np.float64)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Marginal CDF ``F(x)``, elementwise."""
        return np.asarray(self.dist.cdf(x), dtype=np.float64)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Marginal quantile function ``F^{-1}(u)``, elementwise."""
        return np.asarray(self.dist.ppf(u), dtype=np.float64)

    def mean(self, d: int) -> np.ndarray:
        """``E[X] * 1``, shape ``(d,)``."""
        return np.full(d, float(self.dist.mean()))

    def cov(self, d: int) -> np.ndarray:
        """``Var[X] * I``, shape ``(d, d)``."""
        return float(self.dist.var()) * np.eye(d)


class StandardNormal(FactorizedPrior):
    """``N(0, I_d)``, the prior of Gaussian NINE. Name ``"normal"``."""

    def __init__(self) -> None:
        super().__init__(stats.norm(), "normal")

    def sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, d))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return special.ndtr(x)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return special.ndtri(u)

    def mean(self, d: int) -> np.ndarray:
        return np.zeros(d)

    def cov(self, d: int) -> np.ndarray:
        return np.eye(d)


class StandardUniform(FactorizedPrior):
    """``U[0, 1]^d``, the prior of uniform NINE. Name ``"uniform"``."""

    def __init__(self) -> None:
        super().__init__(stats.uniform(), "uniform")

    def sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random((n, d))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, 0.0, 1.0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(u, dtype=np.float64)

    def mean(self, d: int) -> np.ndarray:
        return np.full(d, 0.5)

    def cov(self, d: int) -> np.ndarray:
        return np.eye(d) / 12.0


PRIORS: dict[str, Callable[[], Prior]] = {"normal": StandardNormal, "uniform": StandardUniform}
"""Built-in priors by name."""


@functools.lru_cache(maxsize=None)
def _builtin_prior(name: str) -> Prior:
    return PRIORS[name]()


class TorchFactorizedPrior:
    """A prior with i.i.d. coordinates following a 1-D ``torch.distributions`` distribution.

    Uses the distribution's ``cdf``, ``icdf`` and ``mean``/``variance``. Sampling goes through the
    inverse CDF of numpy uniforms, so the seeded numpy generator controls it. Distributions
    without ``icdf`` (e.g. ``Beta``, ``Gamma`` in torch) are rejected: wrap the equivalent
    ``scipy.stats`` distribution in :class:`FactorizedPrior` instead.

    Parameters
    ----------
    dist : torch.distributions.Distribution
        A scalar (batch shape ``()``) distribution, e.g. ``torch.distributions.Laplace(0., 1.)``.
    name : str, optional
        Identifies the prior; defaults to ``repr(dist)``.
    """

    def __init__(self, dist: torch.distributions.Distribution, name: str | None = None) -> None:
        if tuple(dist.batch_shape) != () or tuple(dist.event_shape) != ():
            raise ValueError(f"a factorized prior needs a scalar distribution, got {dist!r}")
        for method in ("cdf", "icdf"):
            try:
                getattr(dist, method)(torch.tensor(0.5, dtype=torch.float64))
            except NotImplementedError:
                raise ValueError(f"{type(dist).__name__} has no {method}() in torch, so the probability "
                                 "integral transform is unavailable; use the scipy.stats distribution "
                                 "wrapped in FactorizedPrior") from None
        self.dist = dist
        self.name = name or repr(dist)

    def __repr__(self) -> str:
        return f"TorchFactorizedPrior(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TorchFactorizedPrior) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("TorchFactorizedPrior", self.name))

    def _apply(self, method: str, x: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        return getattr(self.dist, method)(t).double().numpy()

    def sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        return self.ppf(np.clip(rng.random((n, d)), 1e-12, 1.0 - 1e-12))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return self._apply("cdf", x)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self._apply("icdf", u)

    def mean(self, d: int) -> np.ndarray:
        return np.full(d, float(self.dist.mean))

    def cov(self, d: int) -> np.ndarray:
        return float(self.dist.variance) * np.eye(d)


class SampledPrior:
    """A prior known only through a sampler, e.g. a non-factorized 2-D banana or mixture.

    Good for the sliced metric (``"swd"``) and, through a mean and covariance estimated once
    from ``reference_size`` draws, for ``"w2"``. It has no CDF: asking for ``"ks"`` or a
    quantile raises ``ValueError``.

    Parameters
    ----------
    name : str
        Identifies the prior (and its cached floors).
    sampler : callable
        ``(n, rng) -> array (n, dim)`` drawing with the numpy generator ``rng``.
    dim : int
        Dimension of the samples.
    reference_size : int
        Draws used to estimate the mean and covariance.
    """

    def __init__(self, name: str, sampler: Callable[[int, np.random.Generator], np.ndarray], dim: int,
                 reference_size: int = 200_000) -> None:
        check_positive_int("dim", dim)
        check_positive_int("reference_size", reference_size, minimum=2)
        self.name, self.sampler, self.dim, self.reference_size = name, sampler, dim, reference_size
        self._moments: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"SampledPrior(name={self.name!r}, dim={self.dim})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SampledPrior) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("SampledPrior", self.name))

    def _check_dim(self, d: int) -> None:
        if d != self.dim:
            raise ValueError(f"prior {self.name!r} is {self.dim}-dimensional, got d={d}")

    def sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        self._check_dim(d)
        return np.asarray(self.sampler(n, rng), dtype=np.float64).reshape(n, d)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        raise ValueError(f"prior {self.name!r} is known only through samples and has no CDF: "
                         "use the sliced metric 'swd' (or 'w2')")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        raise ValueError(f"prior {self.name!r} is known only through samples and has no quantile function")

    def _estimate(self) -> tuple[np.ndarray, np.ndarray]:
        if self._moments is None:
            ref = self.sample(self.reference_size, self.dim, np.random.default_rng([0, 2]))
            self._moments = (ref.mean(axis=0), np.cov(ref, rowvar=False).reshape(self.dim, self.dim))
        return self._moments

    def mean(self, d: int) -> np.ndarray:
        self._check_dim(d)
        return self._estimate()[0]

    def cov(self, d: int) -> np.ndarray:
        self._check_dim(d)
        return self._estimate()[1]


def get_prior(prior: Any) -> Prior:
    """Turn a prior specification into a :class:`Prior`.

    Accepts a built-in name (``"normal"``, ``"uniform"``), a frozen 1-D ``scipy.stats``
    distribution (wrapped in :class:`FactorizedPrior`), a scalar ``torch.distributions``
    distribution with ``cdf``/``icdf`` (wrapped in :class:`TorchFactorizedPrior`), or any
    :class:`Prior` (returned as is). Raises ``ValueError`` naming the allowed forms otherwise.
    """
    if isinstance(prior, str):
        return _builtin_prior(check_choice("prior", prior, PRIORS))
    if isinstance(prior, torch.distributions.Distribution):
        return TorchFactorizedPrior(prior)
    if isinstance(prior, Prior):
        return prior
    if all(hasattr(prior, a) for a in ("rvs", "cdf", "ppf", "mean", "var")):
        return FactorizedPrior(prior)
    raise ValueError(f"prior must be one of {', '.join(map(repr, PRIORS))}, a frozen scipy.stats distribution, "
                     f"a torch distribution with cdf/icdf, or a Prior; got {prior!r}")


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


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root via an eigen-decomposition, negative eigenvalues clipped."""
    w, v = np.linalg.eigh(0.5 * (c + np.swapaxes(c, -1, -2)))
    return (v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(v, -1, -2)


def _w2_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int) -> np.ndarray:
    n, d = z.shape[1], z.shape[2]
    m = z.mean(axis=1)  # (B, d)
    zc = z - m[:, None, :]
    c = np.swapaxes(zc, 1, 2) @ zc / (n - 1)  # (B, d, d)
    m0, c0 = prior.mean(d), prior.cov(d)
    s0 = _psd_sqrt(c0)
    cross = s0 @ c @ s0
    ev = np.linalg.eigvalsh(0.5 * (cross + np.swapaxes(cross, 1, 2)))
    w2sq = (((m - m0) ** 2).sum(axis=1) + np.trace(c, axis1=1, axis2=2) + np.trace(c0)
            - 2.0 * np.sqrt(np.clip(ev, 0.0, None)).sum(axis=1))
    return np.sqrt(np.clip(w2sq, 0.0, None))


def _swd_batch(z: np.ndarray, prior: Prior, rng: np.random.Generator, n_projections: int) -> np.ndarray:
    b, n, d = z.shape
    ref = prior.sample(b * n, d, rng).reshape(b, n, d)
    theta = rng.standard_normal((b, d, n_projections))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    pz = np.sort(z @ theta, axis=1)  # (B, n, P)
    pr = np.sort(ref @ theta, axis=1)
    return np.sqrt(((pz - pr) ** 2).mean(axis=(1, 2)))


_STATISTICS = {"ks": _ks_batch, "w2": _w2_batch, "swd": _swd_batch}
METRICS: tuple[str, ...] = tuple(_STATISTICS)
"""Names of the distribution-matching statistics."""

_STREAM_STATISTIC, _STREAM_FLOOR = 0, 1  # independent random streams per seed


@dataclass(frozen=True)
class DMScore:
    """A distribution-matching statistic next to the prior's own noise floor.

    Attributes
    ----------
    name : str
        ``"ks"``, ``"w2"`` or ``"swd"``.
    statistic : float
        The statistic of the embeddings against the prior (lower is closer).
    floor : float
        95th percentile of the same statistic on true prior samples of the same ``n`` and ``d``.
    ratio : float
        ``statistic / floor``; ``<= 1`` means indistinguishable from the prior at the 95% level.
    """

    name: str
    statistic: float
    floor: float
    ratio: float

    @property
    def matched(self) -> bool:
        """``ratio <= 1``."""
        return self.ratio <= 1.0

    def as_dict(self) -> dict[str, float | str]:
        """Plain-Python copy, for results files."""
        return asdict(self)


def _as_matrix(z: ArrayLike) -> np.ndarray:
    a = z.detach().cpu().double().numpy() if isinstance(z, torch.Tensor) else np.asarray(z, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"embeddings must have shape (n, d), got {a.shape}")
    if a.shape[0] < 2 or a.shape[1] < 1:
        raise ValueError(f"need n >= 2 samples and d >= 1 dimensions, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("embeddings contain NaN or infinite values")
    return a


def _check_knobs(n_draws: int, seed: int, n_projections: int) -> None:
    check_positive_int("n_draws", n_draws, minimum=100)
    check_positive_int("seed", seed, minimum=0)
    check_positive_int("n_projections", n_projections)


@functools.lru_cache(maxsize=256)
def _cached_floor(metric: str, prior: Prior, n: int, d: int, n_draws: int, seed: int,
                  n_projections: int) -> float:
    stat = _STATISTICS[metric]
    rng = np.random.default_rng([seed, _STREAM_FLOOR])
    per = n * d * (2 * n_projections if metric == "swd" else 1)
    chunk = max(1, _CHUNK_ELEMENTS // per)
    values = []
    for start in range(0, n_draws, chunk):
        b = min(chunk, n_draws - start)
        values.append(stat(prior.sample(b * n, d, rng).reshape(b, n, d), prior, rng, n_projections))
    return float(np.quantile(np.concatenate(values), FLOOR_QUANTILE))


def noise_floor(metric: str, n: int, d: int, prior: str | Prior = "normal", *, n_draws: int = 200,
                seed: int = 0, n_projections: int = 50) -> float:
    """The noise floor of ``metric``: its 95th percentile on true prior samples of shape ``(n, d)``.

    Computed from ``n_draws`` prior samples drawn with ``numpy.random.default_rng([seed, 1])``
    and cached (keyed on every argument), so repeated calls are free.

    Parameters
    ----------
    metric : str
        ``"ks"``, ``"w2"`` or ``"swd"``.
    n, d : int
        Sample size ``>= 2`` and dimension ``>= 1``.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`Prior`.
    n_draws : int
        Number of prior samples, ``>= 100``.
    seed : int
        Seed, ``>= 0``.
    n_projections : int
        Directions per sliced distance (used by ``"swd"`` only).

    Returns
    -------
    float
    """
    check_choice("metric", metric, METRICS)
    check_positive_int("n", n, minimum=2)
    check_positive_int("d", d)
    _check_knobs(n_draws, seed, n_projections)
    p = get_prior(prior)
    return _cached_floor(metric, p, n, d, n_draws, seed, n_projections if metric == "swd" else 0)


def _score(metric: str, z: ArrayLike, prior: str | Prior, n_draws: int, seed: int,
           n_projections: int) -> DMScore:
    _check_knobs(n_draws, seed, n_projections)
    a = _as_matrix(z)
    p = get_prior(prior)
    rng = np.random.default_rng([seed, _STREAM_STATISTIC])
    statistic = float(_STATISTICS[metric](a[None], p, rng, n_projections)[0])
    floor = noise_floor(metric, a.shape[0], a.shape[1], p, n_draws=n_draws, seed=seed,
                        n_projections=n_projections)
    ratio = statistic / floor if floor > 0 else math.inf
    return DMScore(metric, statistic, floor, ratio)


def ks_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = 200, seed: int = 0) -> DMScore:
    r"""Mean one-sample Kolmogorov--Smirnov statistic over coordinates, against the prior's CDF.

    .. math:: \mathrm{KS} = \frac1d \sum_{k=1}^d \sup_x \big|\hat F_k(x) - F(x)\big| ,

    with :math:`\hat F_k` the empirical CDF of coordinate ``k``. The target is fixed fully (unlike
    Shapiro--Wilk, which fits mean and variance and so cannot see a wrong scale). It checks
    marginals only: correlated coordinates with the right marginals pass.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"`` (``N(0, I)``), ``"uniform"`` (``U[0, 1]^d``) or a :class:`Prior`.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int
        Seed of the floor's samples, ``>= 0``.

    Returns
    -------
    DMScore
    """
    return _score("ks", z, prior, n_draws, seed, 1)


def gaussian_w2_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = 200,
                      seed: int = 0) -> DMScore:
    r"""2-Wasserstein distance between Gaussians fitted to ``z`` and to the prior.

    With ``m, C`` the sample mean and covariance of ``z`` and ``m_0, C_0`` the prior's,

    .. math:: W_2^2 = \lVert m - m_0 \rVert^2
              + \operatorname{tr}\Big(C + C_0 - 2\big(C_0^{1/2} C\, C_0^{1/2}\big)^{1/2}\Big) ,

    which for ``N(0, I)`` is ``||m||^2 + tr(C + I - 2 C^{1/2})``. Matrix square roots are taken
    by a symmetric eigen-decomposition with negative eigenvalues clipped to 0. Catches
    correlation between coordinates that per-coordinate tests miss; sees only two moments.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`Prior`.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int
        Seed of the floor's samples, ``>= 0``.

    Returns
    -------
    DMScore
        ``statistic`` is ``W_2`` (not squared).
    """
    return _score("w2", z, prior, n_draws, seed, 1)


def sliced_w2_score(z: ArrayLike, prior: str | Prior = "normal", *, n_projections: int = 50,
                    n_draws: int = 200, seed: int = 0) -> DMScore:
    r"""Sliced 2-Wasserstein distance between ``z`` and a fresh prior sample of the same size.

    .. math:: \mathrm{SW}_2 = \Big(\frac1P \sum_{p=1}^P \frac1n \sum_{i=1}^n
              \big(\theta_p^\top z_{(i)} - \theta_p^\top y_{(i)}\big)^2\Big)^{1/2} ,

    with ``y`` an ``(n, d)`` prior sample, ``theta_p`` uniform on the unit sphere, and
    :math:`(i)` the ``i``-th smallest projection. ``y`` and ``theta`` come from
    ``numpy.random.default_rng([seed, 0])``; the floor redraws both for each of its samples.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`Prior`.
    n_projections : int
        Number of random directions ``P``, ``>= 1``.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int
        Seed, ``>= 0``.

    Returns
    -------
    DMScore
    """
    return _score("swd", z, prior, n_draws, seed, n_projections)


def dm_report(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = 200, seed: int = 0,
              n_projections: int = 50) -> dict[str, DMScore]:
    """All three distribution-matching scores of ``z`` (shape ``(n, d)``) against ``prior``.

    Evaluate held-out embeddings in eval mode (running statistics, no noise).

    Returns
    -------
    dict of str to DMScore
        Keys ``"ks"`` (:func:`ks_score`), ``"w2"`` (:func:`gaussian_w2_score`) and ``"swd"``
        (:func:`sliced_w2_score`).
    """
    _check_knobs(n_draws, seed, n_projections)
    a = _as_matrix(z)
    p = get_prior(prior)
    return {
        "ks": ks_score(a, p, n_draws=n_draws, seed=seed),
        "w2": gaussian_w2_score(a, p, n_draws=n_draws, seed=seed),
        "swd": sliced_w2_score(a, p, n_projections=n_projections, n_draws=n_draws, seed=seed),
    }
