"""Randomness, one convention for the whole package, and running an experiment over seeds.

Every public function that draws random numbers takes ``seed``: an ``int`` or a
:class:`numpy.random.Generator`, in the style of scikit-learn's ``random_state``. Torch
generators are derived from it with :func:`torch_generator`. No helper touches global random
state, except :func:`seed_everything`, which exists to make weight initialisation reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import SeedLike, check_seed, int_seed  # SeedLike and check_seed: importable from here too


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A numpy ``Generator``: ``seed`` itself, or ``numpy.random.default_rng(seed)`` for an int."""
    seed = check_seed(seed)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def torch_generator(seed: SeedLike) -> torch.Generator:
    """A CPU ``torch.Generator`` derived from ``seed``.

    An int seeds it directly (``torch.Generator().manual_seed(seed)``); a numpy ``Generator`` gives
    one draw of 63 bits as the torch seed, so the numpy generator advances.
    """
    return torch.Generator().manual_seed(int_seed(seed))


def require_generator(generator: object, owner: str) -> torch.Generator:
    """``generator`` if it is a ``torch.Generator``, else a ``ValueError`` naming ``owner``.

    For the random maps that the training loop calls with its own generator (views, channels): a
    missing generator would otherwise mean torch's global one, which no helper may touch.
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"{owner} draws random numbers and needs a torch.Generator (train_infomax passes its own; "
                         f"by hand: torch.Generator().manual_seed(0)), got {generator!r}; it never draws from "
                         "torch's global generator")
    return generator


def as_torch_generator(generator: torch.Generator | SeedLike, name: str = "generator") -> torch.Generator:
    """A ``torch.Generator``: ``generator`` itself, or :func:`torch_generator` of an int or numpy ``Generator``."""
    if isinstance(generator, torch.Generator):
        return generator
    try:
        return torch_generator(generator)
    except ValueError:
        raise ValueError(f"{name} must be a torch.Generator, a non-negative int or a numpy.random.Generator, "
                         f"got {generator!r}") from None


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch's global generators, and return a fresh ``torch.Generator``.

    This is the one function of the package that touches global state: the global seeds make
    weight initialisation (``nn.Linear`` and friends draw from torch's global generator)
    reproducible. Everything else takes ``seed`` explicitly.

    Parameters
    ----------
    seed : int
        The seed, ``>= 0``.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``.
    """
    seed = check_seed(seed)
    if not isinstance(seed, int):
        raise ValueError(f"seed_everything needs an int seed, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class SeedRuns:
    """The results of one experiment repeated over seeds; see :func:`over_seeds`.

    Attributes
    ----------
    seeds : tuple of int
        The seeds, in the order they ran.
    runs : tuple of dict
        What the experiment returned for each seed: metric name -> float.
    """

    seeds: tuple[int, ...]
    runs: tuple[dict[str, float], ...]

    @property
    def n(self) -> int:
        """Number of seeds."""
        return len(self.seeds)

    @property
    def keys(self) -> list[str]:
        """Metric names, in the order of the first run."""
        return list(self.runs[0])

    def by_seed(self, key: str) -> list[float]:
        """The value of ``key`` for each seed."""
        if key not in self.runs[0]:
            raise KeyError(f"unknown metric {key!r}; the runs have: {', '.join(self.keys)}")
        return [float(r[key]) for r in self.runs]

    def mean(self, key: str) -> float:
        """Mean of ``key`` over seeds."""
        return float(np.mean(self.by_seed(key)))

    def std(self, key: str) -> float:
        """Sample standard deviation (``ddof=1``) of ``key`` over seeds; 0 for a single seed."""
        v = self.by_seed(key)
        return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    def min(self, key: str) -> float:
        """Smallest value of ``key``."""
        return float(np.min(self.by_seed(key)))

    def max(self, key: str) -> float:
        """Largest value of ``key``."""
        return float(np.max(self.by_seed(key)))

    def holds(self, predicate: Callable[[Mapping[str, float]], bool]) -> int:
        """In how many seeds ``predicate(run)`` is true (out of :attr:`n`).

        Example: ``runs.holds(lambda r: r["ks_nine"] < r["ks_dim"])``.
        """
        return sum(bool(predicate(r)) for r in self.runs)

    def format(self, key: str, digits: int = 3) -> str:
        """``"mean ± sd"`` of ``key``, e.g. ``"1.021 ± 0.034"``."""
        return f"{self.mean(key):.{digits}f} ± {self.std(key):.{digits}f}"

    def results(self, keys: Sequence[str] | None = None) -> dict[str, object]:
        """Results-file entries: ``key`` (the mean), ``key_std``, ``key_by_seed``, and ``n_seeds``."""
        out: dict[str, object] = {"n_seeds": self.n}
        for key in (self.keys if keys is None else keys):
            out[key] = self.mean(key)
            out[f"{key}_std"] = self.std(key)
            out[f"{key}_by_seed"] = self.by_seed(key)
        return out


def over_seeds(experiment: Callable[[int], Mapping[str, float]], n_seeds: int, seed: int = 0,
               progress: Callable[[Sequence[int]], Sequence[int]] | None = None) -> SeedRuns:
    """Run ``experiment(s)`` for the seeds ``seed, seed + 1, ..., seed + n_seeds - 1``.

    Parameters
    ----------
    experiment : callable
        ``seed -> {metric name: float}``; every run must return the same names.
    n_seeds : int
        Number of seeds, ``>= 1``.
    seed : int
        The first seed, ``>= 0``.
    progress : callable, optional
        Wraps the list of seeds, e.g. ``tqdm.auto.tqdm``, for a progress bar.

    Returns
    -------
    SeedRuns
        Mean, sd, min, max and per-seed values of every metric, and :meth:`SeedRuns.holds` to count
        the seeds in which a verdict holds.

    Raises
    ------
    ValueError
        For a bad ``n_seeds`` or ``seed``, before anything runs; or if the runs return different
        metric names or a value that is not a number.
    """
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
        raise ValueError(f"n_seeds must be an integer >= 1, got {n_seeds!r}")
    first = check_seed(seed)
    if not isinstance(first, int):
        raise ValueError(f"over_seeds needs an int first seed, got {seed!r}")
    seeds = list(range(first, first + int(n_seeds)))
    runs: list[dict[str, float]] = []
    for s in (progress(seeds) if progress is not None else seeds):
        out = experiment(s)
        row = {}
        for k, v in dict(out).items():
            try:
                row[k] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"seed {s}: metric {k!r} is not a number: {v!r}") from None
        if runs and list(row) != list(runs[0]):
            raise ValueError(f"seed {s} returned metrics {sorted(row)}, the first seed {sorted(runs[0])}")
        runs.append(row)
    return SeedRuns(seeds=tuple(seeds), runs=tuple(runs))
