"""Argument checks shared by the package: each raises ``ValueError`` before any work starts."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any


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
