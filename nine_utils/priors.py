r"""Priors on :math:`\mathbb R^d`, and fixed maps from a matched embedding to other priors.

**Priors.** What the distribution-matching metrics of :mod:`nine_utils.dm` need from a target:

- :class:`StandardNormal` (``"normal"``, the prior of Gaussian NINE) and :class:`StandardUniform`
  (``"uniform"``, the prior of uniform NINE), the built-ins of :data:`PRIORS`;
- :class:`FactorizedPrior`: i.i.d. coordinates following any frozen, continuous 1-D
  ``scipy.stats`` distribution;
- :class:`TorchFactorizedPrior`: i.i.d. coordinates following a scalar ``torch.distributions``
  distribution with a CDF and an inverse CDF;
- :class:`SampledPrior`: a non-factorized prior known only through a sampler.

:func:`get_prior` turns any of these specifications into a :class:`Prior`.

Two non-factorized priors are built in: :func:`banana_prior` and :func:`gaussian_mixture_prior`.

**Maps to other priors** (:func:`pit_to_prior`, :func:`fit_flow`, :func:`flow_to_prior`,
:func:`flow_to_gaussian`) live in :mod:`nine_utils.prior_maps` and are importable from here.

Randomness follows the package convention: ``seed`` is an ``int`` or a
:class:`numpy.random.Generator` (:mod:`nine_utils.seeds`); nothing here touches global state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from scipy import special, stats

from ._arrays import ArrayLike, as_numpy
from ._checks import check_choice, check_positive_float, check_positive_int
from .seeds import SeedLike, as_generator

_U_EPS = 1e-12  # keeps uniform draws off 0 and 1 before an inverse CDF


# --------------------------------------------------------------------------------------------
# Priors
# --------------------------------------------------------------------------------------------

@runtime_checkable
class Prior(Protocol):
    """What the metrics need from a prior on ``R^d``.

    ``name`` labels the prior in messages. The noise floors are cached by the prior itself
    (its ``==`` and ``hash``): the priors of this module compare equal exactly when their
    :attr:`key`, which holds their real parameters, is equal, never by name alone. A prior of
    your own that defines neither is cached by identity, which is always safe.
    """

    name: str

    def sample(self, n: int, d: int, seed: SeedLike) -> np.ndarray:
        """``n`` draws in ``d`` dimensions, shape ``(n, d)``; ``seed`` an int or a numpy Generator."""
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


def _scipy_description(dist: Any) -> str:
    args = [repr(a) for a in dist.args] + [f"{k}={v!r}" for k, v in sorted(dist.kwds.items())]
    return f"{dist.dist.name}({', '.join(args)})"


def _exact(value: Any) -> str:
    """An exact, hashable text of a parameter: numbers at full precision (``repr`` of each float)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    try:
        return repr(np.asarray(value, dtype=np.float64).tolist())
    except (TypeError, ValueError):
        return repr(value)


class _KeyedPrior:
    """Equality and hash by :attr:`key`: the prior's type and its real parameters (not its name)."""

    key: tuple

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _KeyedPrior) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


def _check_scipy_dist(dist: Any) -> None:
    """Refuse anything but a frozen, continuous 1-D ``scipy.stats`` distribution."""
    if isinstance(dist, (stats.rv_continuous, stats.rv_discrete)):
        name = getattr(dist, "name", "dist")
        raise ValueError(f"scipy.stats.{name} is a family of distributions, not a distribution: freeze it by "
                         f"calling it with its parameters, e.g. scipy.stats.{name}() or scipy.stats.{name}(...)")
    if not all(hasattr(dist, a) for a in ("rvs", "cdf", "ppf", "mean", "var", "dist", "args", "kwds")):
        raise ValueError(f"dist must be a frozen scipy.stats distribution, got {dist!r}")
    if isinstance(dist.dist, stats.rv_discrete):
        raise ValueError(f"a prior must be continuous; scipy.stats.{dist.dist.name} is discrete")


class FactorizedPrior(_KeyedPrior):
    """A prior with i.i.d. coordinates, each following a frozen 1-D ``scipy.stats`` distribution.

    Parameters
    ----------
    dist : scipy.stats frozen distribution
        E.g. ``scipy.stats.beta(2, 5)`` (frozen: called with its parameters; the family
        ``scipy.stats.beta`` itself is refused). Continuous; needs a finite mean and variance
        for ``"w2"``.
    name : str, optional
        Labels the prior. Defaults to a description of ``dist`` such as ``"beta(2, 5)"``. The
        cached floors are keyed by the distribution's family and parameters (:attr:`key`), so two
        priors with one name but other parameters never share a floor.

    Raises
    ------
    ValueError
        For an unfrozen family, a discrete distribution, or anything else.
    """

    def __init__(self, dist: Any, name: str | None = None) -> None:
        _check_scipy_dist(dist)
        self.dist = dist
        self.name = name or _scipy_description(dist)
        self.key = (type(self).__name__, dist.dist.name, tuple(_exact(a) for a in dist.args),
                    tuple((k, _exact(v)) for k, v in sorted(dist.kwds.items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def sample(self, n: int, d: int, seed: SeedLike) -> np.ndarray:
        """``n`` i.i.d. draws in ``d`` dimensions, shape ``(n, d)``, float64."""
        return np.asarray(self.dist.rvs(size=(n, d), random_state=as_generator(seed)), dtype=np.float64)

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

    def sample(self, n: int, d: int, seed: SeedLike) -> np.ndarray:
        return as_generator(seed).standard_normal((n, d))

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

    def sample(self, n: int, d: int, seed: SeedLike) -> np.ndarray:
        return as_generator(seed).random((n, d))

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


def _torch_method(dist: torch.distributions.Distribution, method: str, x: torch.Tensor) -> torch.Tensor:
    """``dist.<method>(x)``, or a ``ValueError`` if torch does not implement the method."""
    try:
        return getattr(dist, method)(x)
    except NotImplementedError:
        raise ValueError(f"{type(dist).__name__} has no {method}() in torch, so the probability integral "
                         "transform is unavailable; use the scipy.stats distribution wrapped in "
                         "FactorizedPrior") from None


def _torch_parameters(dist: torch.distributions.Distribution) -> dict[str, torch.Tensor]:
    """The tensor parameters a torch distribution declares (``arg_constraints``), by name."""
    out = {}
    for k in sorted(getattr(dist, "arg_constraints", {})):
        try:
            v = getattr(dist, k)
        except (AttributeError, NotImplementedError, RuntimeError):
            continue
        if isinstance(v, torch.Tensor):
            out[k] = v
    return out


_FINGERPRINT_U = np.linspace(0.02, 0.98, 25)  # quantile levels whose values identify a 1-D law


class TorchFactorizedPrior(_KeyedPrior):
    """A prior with i.i.d. coordinates following a 1-D ``torch.distributions`` distribution.

    Uses the distribution's ``cdf``, ``icdf`` and ``mean``/``variance``. The CDF is defined on
    all of ``R``: 0 below the support and 1 above it (torch itself refuses values outside the
    support). Sampling goes through the inverse CDF of numpy uniforms, so the seeded numpy
    generator controls it. Distributions without ``icdf`` (e.g. ``Beta``, ``Gamma`` in torch)
    are rejected: wrap the equivalent ``scipy.stats`` distribution in :class:`FactorizedPrior`.

    Both methods are probed once at construction, at the median ``icdf(0.5)``, which lies inside
    the support of every continuous distribution (e.g. ``Uniform(2, 3)``, ``Pareto(1, 3)``).

    Parameters
    ----------
    dist : torch.distributions.Distribution
        A scalar (batch shape ``()``) distribution, e.g. ``torch.distributions.Laplace(0., 1.)``.
    name : str, optional
        Labels the prior; defaults to the distribution's class and parameters, e.g.
        ``"HalfNormal(scale=3.0)"``. The cached floors are keyed by :attr:`key`: the class, the
        declared parameters and the quantiles at 25 levels (the ``repr`` of many torch
        distributions, ``HalfNormal`` and every ``TransformedDistribution`` among them, omits
        their parameters, so it cannot tell them apart).

    Raises
    ------
    ValueError
        For a non-scalar distribution or one without ``cdf``/``icdf``.
    """

    def __init__(self, dist: torch.distributions.Distribution, name: str | None = None) -> None:
        if tuple(dist.batch_shape) != () or tuple(dist.event_shape) != ():
            raise ValueError(f"a factorized prior needs a scalar distribution, got {dist!r}")
        median = _torch_method(dist, "icdf", torch.tensor(0.5, dtype=torch.float64))
        _torch_method(dist, "cdf", median)
        self.dist = dist
        params = _torch_parameters(dist)
        self.name = name or f"{type(dist).__name__}({', '.join(f'{k}={float(v):g}' for k, v in params.items())})"
        self._median = float(median)
        quantiles = dist.icdf(torch.as_tensor(_FINGERPRINT_U, dtype=torch.float64)).double().numpy()
        self.key = ("TorchFactorizedPrior", type(dist).__name__,
                    tuple((k, _exact(v)) for k, v in params.items()), _exact(quantiles))

    def __repr__(self) -> str:
        return f"TorchFactorizedPrior(name={self.name!r})"

    def sample(self, n: int, d: int, seed: SeedLike) -> np.ndarray:
        return self.ppf(np.clip(as_generator(seed).random((n, d)), _U_EPS, 1.0 - _U_EPS))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Marginal CDF, elementwise; 0 below the support, 1 above it."""
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        inside = self.dist.support.check(t)
        median = torch.tensor(self._median, dtype=torch.float64)
        values = self.dist.cdf(torch.where(inside, t, median)).double()
        return torch.where(inside, values, (t > median).double()).numpy()

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.dist.icdf(torch.as_tensor(np.asarray(u, dtype=np.float64))).double().numpy()

    def mean(self, d: int) -> np.ndarray:
        return np.full(d, float(self.dist.mean))

    def cov(self, d: int) -> np.ndarray:
        return float(self.dist.variance) * np.eye(d)


class SampledPrior(_KeyedPrior):
    """A prior known only through a sampler, e.g. a non-factorized 2-D banana or mixture.

    Good for the sliced metric (``"swd"``), the classifier test (``"c2st"``) and, through a mean
    and covariance estimated once from ``reference_size`` draws, for ``"w2"``. It has no CDF:
    asking for ``"ks"`` or a quantile raises ``ValueError``.

    Parameters
    ----------
    name : str
        Labels the prior.
    sampler : callable
        ``(n, generator) -> array (n, dim)`` drawing with the numpy ``Generator`` it is given.
    dim : int
        Dimension of the samples.
    reference_size : int
        Draws used to estimate the mean and covariance.
    key : hashable, optional
        The sampler's parameters, exactly (e.g. ``("banana", c, s)``): priors with equal keys,
        dimension and ``reference_size`` share cached floors. Default: the ``sampler`` object
        itself, so only this prior's sampler reuses them.
    """

    def __init__(self, name: str, sampler: Callable[[int, np.random.Generator], np.ndarray], dim: int,
                 reference_size: int = 200_000, key: Any = None) -> None:
        check_positive_int("dim", dim)
        check_positive_int("reference_size", reference_size, minimum=2)
        if not callable(sampler):
            raise ValueError(f"sampler must be a callable (n, numpy Generator) -> array (n, dim), got {sampler!r}")
        self.name, self.sampler, self.dim, self.reference_size = name, sampler, dim, reference_size
        self.key = ("SampledPrior", sampler if key is None else key, dim, reference_size)
        self._moments: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"SampledPrior(name={self.name!r}, dim={self.dim})"

    def _check_dim(self, d: int) -> None:
        if d != self.dim:
            raise ValueError(f"prior {self.name!r} is {self.dim}-dimensional, got d={d}")

    def sample(self, n: int, d: int, seed: SeedLike) -> np.ndarray:
        self._check_dim(d)
        return np.asarray(self.sampler(n, as_generator(seed)), dtype=np.float64).reshape(n, d)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        raise ValueError(f"prior {self.name!r} is known only through samples and has no CDF: "
                         "use the sliced metric 'swd', the classifier test 'c2st' (or 'w2')")

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

    Accepts a built-in name (``"normal"``, ``"uniform"``), a frozen continuous 1-D
    ``scipy.stats`` distribution such as ``scipy.stats.norm()`` (wrapped in
    :class:`FactorizedPrior`), a scalar ``torch.distributions`` distribution with ``cdf``/``icdf``
    (wrapped in :class:`TorchFactorizedPrior`), or any :class:`Prior` (returned as is).

    Raises
    ------
    ValueError
        Naming the allowed forms, for anything else; for an unfrozen ``scipy.stats`` family
        (``scipy.stats.norm`` rather than ``scipy.stats.norm()``), saying to freeze it.
    """
    if isinstance(prior, str):
        return _builtin_prior(check_choice("prior", prior, PRIORS))
    if isinstance(prior, torch.distributions.Distribution):
        return TorchFactorizedPrior(prior)
    if isinstance(prior, Prior):
        return prior
    if isinstance(prior, (stats.rv_continuous, stats.rv_discrete)) or all(
            hasattr(prior, a) for a in ("rvs", "cdf", "ppf", "mean", "var")):
        return FactorizedPrior(prior)
    raise ValueError(f"prior must be one of {', '.join(map(repr, PRIORS))}, a frozen scipy.stats distribution, "
                     f"a torch distribution with cdf/icdf, or a Prior; got {prior!r}")



def banana_prior(curvature: float = 0.5, scale: float = 1.0) -> SampledPrior:
    r"""A non-factorized 2-D "banana": :math:`y_1 = s x_1,\; y_2 = x_2 + c\,(x_1^2 - 1)`, ``x ~ N(0, I)``.

    Its coordinates are uncorrelated yet dependent, so no per-coordinate map reaches it.

    Parameters
    ----------
    curvature : float
        ``c``, any finite number.
    scale : float
        ``s > 0``.
    """
    c = float(curvature)
    s = check_positive_float("scale", scale)

    def sampler(n: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.standard_normal((n, 2))
        return np.stack([s * x[:, 0], x[:, 1] + c * (x[:, 0] ** 2 - 1.0)], axis=1)

    return SampledPrior(f"banana(c={c}, s={s})", sampler, dim=2, key=("banana", c, s))


def gaussian_mixture_prior(centers: ArrayLike, std: float = 0.3) -> SampledPrior:
    r"""An equal-weight mixture of isotropic Gaussians :math:`\frac1k \sum_i \mathcal N(\mu_i, s^2 I)`.

    Parameters
    ----------
    centers : array-like
        The means :math:`\mu_i`, shape ``(k, d)``, ``k >= 1``.
    std : float
        ``s > 0``.
    """
    mu = as_numpy(centers, "centers").copy()  # the sampler and the key hold this copy
    if mu.ndim != 2 or mu.shape[0] < 1:
        raise ValueError(f"centers must have shape (k, d), got {mu.shape}")
    s = check_positive_float("std", std)

    def sampler(n: int, rng: np.random.Generator) -> np.ndarray:
        return mu[rng.integers(0, mu.shape[0], n)] + s * rng.standard_normal((n, mu.shape[1]))

    return SampledPrior(f"mixture(k={mu.shape[0]}, std={s}, centers={mu.round(3).tolist()})", sampler,
                        dim=mu.shape[1], key=("mixture", s, _exact(mu)))


# The maps to other priors live in prior_maps.py and stay importable from here (imported last:
# prior_maps needs the priors above).
from .prior_maps import SOURCES, fit_flow, flow_to_gaussian, flow_to_prior, pit_to_prior  # noqa: E402,F401
