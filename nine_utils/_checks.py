"""Argument checks shared by the package: each raises ``ValueError`` before any work starts."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any, Union

import numpy as np

from ._arrays import ArrayLike, as_numpy

SeedLike = Union[int, np.random.Generator]
"""An ``int`` (``>= 0``) or a :class:`numpy.random.Generator`."""


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ``ValueError`` naming them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed values are: {', '.join(map(repr, allowed))}")
    return value


def check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer ``>= minimum``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_positive_float(name: str, value: float) -> float:
    """Return ``value`` as float if it is finite and ``> 0``, else raise ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def check_nonnegative_float(name: str, value: float) -> float:
    """Return ``value`` as float if it is finite and ``>= 0``, else raise ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_seed(seed: SeedLike, name: str = "seed") -> SeedLike:
    """Return ``seed`` if it is a non-negative int or a numpy ``Generator``, else raise ``ValueError``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative int or a numpy.random.Generator, got {seed!r}")
    return int(seed)


def int_seed(seed: SeedLike, high: int = 2**63 - 1, name: str = "seed") -> int:
    """An int seed: ``seed`` itself, or one draw in ``[0, high)`` from a numpy ``Generator`` (which advances).

    ``high`` is what the seed feeds: ``2**63 - 1`` for torch and numpy, ``2**32 - 1`` for
    scikit-learn's ``random_state``.
    """
    seed = check_seed(seed, name)
    return seed if isinstance(seed, int) else int(seed.integers(0, high))


def as_matrix(a: ArrayLike, name: str, min_rows: int = 1, min_cols: int = 1) -> np.ndarray:
    """``a`` as a finite float64 array of shape ``(n, k)``, ``n >= min_rows``, ``k >= min_cols``.

    Raises
    ------
    ValueError
        Naming ``name``: not numeric, not 2-D, too few rows or columns, or NaN or infinite values.
    """
    out = as_numpy(a, name)
    if out.ndim != 2:
        raise ValueError(f"{name} must have shape (n, k), got {out.shape}")
    if out.shape[0] < min_rows or out.shape[1] < min_cols:
        raise ValueError(f"{name} must have shape (n, k) with n >= {min_rows} and k >= {min_cols}, got shape {out.shape}")
    return out


def check_fraction(name: str, value: float) -> float:
    """Return ``value`` if it lies strictly between 0 and 1, else raise ``ValueError``."""
    v = float(value)
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return v


def renamed(owner: str, old: str, new: str, old_value: Any, new_value: Any) -> Any:
    """The value of a keyword renamed from ``old`` to ``new``: ``old_value`` (with a ``FutureWarning``)
    if only it was given, else ``new_value``; ``ValueError`` if both were given."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ValueError(f"{owner}: pass {new}= only ({old}= is its old name)")
    warnings.warn(f"{owner}: {old}= is renamed {new}=; {old}= will be removed", FutureWarning, stacklevel=3)
    return old_value
