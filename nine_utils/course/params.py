"""The parameter check every notebook runs right after its ``parameters`` cell (CONTRIBUTING.md shows it),
``run = course.check_parameters(globals(), {"seed": P.Int(min=0), ...}, rules=[...])``, and the thread policy."""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from ..device import DEVICES, resolve_device
from .paths import resolve_from_root

DEFAULT_TORCH_THREADS = 1
"""Threads for torch, numpy's BLAS and scikit-learn's OpenMP when a notebook does not set ``torch_threads``: under
one other CPU-bound process, a notebook ran 5x slower on torch's default, 1.1-1.4x on one (benchmarks/load_ratio.py)."""

THREADS = "torch_threads"
PLAIN_DATA = (int, float, str, bool, type(None), list, tuple, dict)
Rule = tuple[str, Callable[[dict[str, Any]], bool]]


class Param:
    """Allowed values, said in ``allowed``: :meth:`check` returns a value that ``accepts``, its items checked by
    ``items(value)`` (a :class:`Param` each), converted by ``convert``; else raises a ``ValueError`` naming it."""

    def __init__(self, allowed: str, accepts: Callable[[Any], bool] = lambda value: True,
                 items: Callable[[Any], Iterable[Param]] | None = None, convert: Callable | None = None) -> None:
        self.allowed, self.accepts, self.items, self.convert = allowed, accepts, items, convert

    def check(self, name: str, value: Any) -> Any:
        if not self.accepts(value):
            raise ValueError(f"{name} must be {self.allowed}, got {value!r}")
        try:
            if self.items:
                value = [p.check(f"{name}[{i}]", v) for i, (p, v) in enumerate(zip(self.items(value), value))]
        except ValueError as err:
            raise ValueError(f"{name} must be {self.allowed}; {err}") from None
        try:
            return self.convert(value) if self.convert else value
        except (OSError, ValueError) as err:  # a device this machine lacks, a folder it cannot write to
            raise ValueError(f"{name} = {value!r}: {err}") from None


def _words(what: str, gt: Any = None, ge: Any = None, lt: Any = None, le: Any = None) -> str:
    """``what`` and its bounds: ``an integer >= 0``, ``a finite number in (0, 1]``."""
    lo, hi = (ge if gt is None else gt), (le if lt is None else lt)
    if lo is not None and hi is not None:
        return f"{what} in {'[' if gt is None else '('}{lo}, {hi}{']' if lt is None else ')'}"
    bounds = ((">=" if gt is None else ">", lo), ("<=" if lt is None else "<", hi))
    return " ".join([what, *(f"{op} {bound}" for op, bound in bounds if bound is not None)])


class Int(Param):
    """An integer (not a bool) in ``[min, max]``, either bound optional, within 64 bits as numpy and torch need."""

    def __init__(self, min: int | None = None, max: int | None = None) -> None:
        super().__init__(_words("an integer", ge=min, le=max), lambda v: isinstance(v, int) and not isinstance(v, bool)
                         and (min is None or v >= min) and (max is None or v <= max))

    def check(self, name: str, value: Any) -> int:
        if self.accepts(value) and not -(2**63) <= value < 2**63:
            raise ValueError(f"{name} must be {self.allowed} and below 2**63 in size, got {value!r}")
        return super().check(name, value)


class Float(Param):
    """A finite number (an int too, not a bool) above ``gt`` or from ``ge``, below ``lt`` or up to ``le``."""

    def __init__(self, gt: float | None = None, ge: float | None = None, lt: float | None = None,
                 le: float | None = None) -> None:
        super().__init__(_words("a finite number", gt, ge, lt, le), lambda v: isinstance(v, (int, float))
                         and not isinstance(v, bool) and abs(v) <= sys.float_info.max  # math.isfinite overflows
                         and (gt is None or v > gt) and (ge is None or v >= ge)
                         and (lt is None or v < lt) and (le is None or v <= le))


class Bool(Param):
    """``True`` or ``False`` (not 0 or 1)."""

    def __init__(self) -> None:
        super().__init__("True or False", lambda v: isinstance(v, bool))


class Str(Param):
    """A non-empty string."""

    def __init__(self) -> None:
        super().__init__("a non-empty string", lambda v: isinstance(v, str) and v != "")


class Choice(Param):
    """One of ``values``, of the same type (``True`` is not ``1``), e.g. ``Choice("mlp", "conv")``."""

    def __init__(self, *values: Any) -> None:
        if not values:
            raise ValueError("Choice needs at least one allowed value")
        super().__init__(f"one of {', '.join(map(repr, values))}",
                         lambda v: any(v == c and type(v) is type(c) for c in values))


class Optional(Param):
    """``None``, or a value that ``inner`` allows."""

    def __init__(self, inner: Param) -> None:
        super().__init__(f"None or {inner.allowed}", lambda v: v is None)
        self.inner = inner

    def check(self, name: str, value: Any) -> Any:
        with contextlib.suppress(ValueError):
            return None if value is None else self.inner.check(name, value)
        return super().check(name, value)  # fails: it accepts None only


class ListOf(Param):
    """A list (or tuple) of at least ``min_len`` items, each allowed by ``item``; checked into a list."""

    def __init__(self, item: Param, min_len: int = 0) -> None:
        size = {0: "a list", 1: "a non-empty list"}.get(min_len, f"a list of at least {min_len} items")
        super().__init__(f"{size}, each item {item.allowed}", lambda v: isinstance(v, (list, tuple))
                         and len(v) >= min_len, items=lambda v: [item] * len(v))


class Tuple(Param):
    """A list (or tuple) of ``len(items)`` values, the i-th allowed by ``items[i]``; checked into a list."""

    def __init__(self, *items: Param) -> None:
        super().__init__(f"a list [{', '.join(p.allowed for p in items)}]", lambda v: isinstance(v, (list, tuple))
                         and len(v) == len(items), items=lambda v: items)


class Device(Param):
    """A device this machine has, checked into a ``torch.device`` (:func:`nine_utils.device.resolve_device`)."""

    def __init__(self) -> None:
        super().__init__(f"one of {', '.join(map(repr, DEVICES))} or 'cuda:N', available on this machine",
                         lambda v: isinstance(v, (str, torch.device)), convert=resolve_device)


class ResultsDir(Param):
    """A folder the run can write to (relative: from the repository root), created, checked into its ``Path``."""

    def __init__(self) -> None:
        super().__init__("a path (str) to a writable folder, relative paths taken from the repository root",
                         lambda v: isinstance(v, (str, os.PathLike)) and str(v) != "", convert=self._writable)

    @staticmethod
    def _writable(path: str | os.PathLike[str]) -> Path:
        path = resolve_from_root(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=path).close()  # a probe file, removed on closing
        except OSError as err:
            raise ValueError(f"cannot write to {path} ({err.strerror or err})") from None
        return path


@dataclass
class CheckedParameters:
    """The checked ``values`` (``run[name]`` reads one), the ``parameters`` as set (for the results file), the
    first :class:`Device` and :class:`ResultsDir` parameters' ``device`` and ``results_dir``, ``torch_threads``."""

    values: dict[str, Any]
    parameters: dict[str, Any]
    device: torch.device | None
    results_dir: Path | None
    torch_threads: int | None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def _literal_assignments(source: str) -> set[str]:
    """The names a cell assigns if it holds only assignments of literals (papermill's injected cell), else none."""
    try:
        body = ast.parse(source).body
        for s in body:  # literal_eval refuses any statement but an assignment's literal value
            ast.literal_eval(s.value if isinstance(s, ast.Assign) else s)
    except (SyntaxError, ValueError):
        return set()
    return {t.id for s in body for t in s.targets if isinstance(t, ast.Name)}


def undeclared_parameters(namespace: Mapping[str, Any], declared: Iterable[str],
                          allow: Iterable[str] = ()) -> list[str]:
    """The names in ``namespace`` holding plain data (a number, string, None, list, tuple or dict) that are not
    declared, allowed, private (``_x``) or IPython's own. In a kernel (``In``, the input history, is defined) only
    names assigned by a cell of literal assignments count, not the variables of an earlier full run."""
    skip = {*declared, *allow, "In", "Out", "exit", "quit", "get_ipython", "open"}  # and IPython's own names
    found = {k for k, v in namespace.items() if not k.startswith("_") and k not in skip and isinstance(v, PLAIN_DATA)}
    if isinstance(history := namespace.get("In"), list) and all(isinstance(cell, str) for cell in history):
        found &= set().union(*map(_literal_assignments, history))
    return sorted(found)


def apply_thread_policy(torch_threads: int | None = DEFAULT_TORCH_THREADS) -> int | None:
    """Make torch, numpy's BLAS and scikit-learn's OpenMP use ``torch_threads`` threads (None: leave them)."""
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
        if torch.get_num_interop_threads() != torch_threads:
            with contextlib.suppress(RuntimeError):  # torch allows it once, before any inter-op work
                torch.set_num_interop_threads(torch_threads)
        threadpool_limits(limits=torch_threads)  # not as a context manager: the limit stays
    return torch_threads


def check_parameters(namespace: Mapping[str, Any], spec: Mapping[str, Param], *, rules: Iterable[Rule] = (),
                     allow: Iterable[str] = ()) -> CheckedParameters:
    """Check a notebook's parameters (its ``globals()``) before any work, then :func:`apply_thread_policy`.

    ``spec`` gives each parameter's allowed values (``torch_threads`` left out: ``Optional(Int(min=1))``, default
    :data:`DEFAULT_TORCH_THREADS`); ``rules``, ``(text, predicate)`` over the checked values, run once all passed;
    ``allow``, plain constants that are not parameters. Raises a ``ValueError`` listing every problem, each naming
    the parameter and what it allows: one missing or undeclared (:func:`undeclared_parameters`), a value's type or
    range, a broken rule, a device this machine lacks, an unwritable ``results_dir`` (created once all else passed).
    """
    spec = {**spec, THREADS: spec.get(THREADS, Optional(Int(min=1)))}
    namespace = {THREADS: DEFAULT_TORCH_THREADS, **namespace}
    unknown = undeclared_parameters(namespace, spec, allow)
    problems = [f"parameter {n!r} is declared but not defined (add it to the parameters cell)"
                for n in spec if n not in namespace]
    problems += [f"unknown parameter{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} (misspelled?); "
                 f"the parameters are: {', '.join(sorted(spec))}"] if unknown else []
    values: dict[str, Any] = {}

    def check(names: Iterable[str]) -> None:
        for name in names:
            try:
                values[name] = spec[name].check(name, namespace[name])
            except ValueError as err:
                problems.append(str(err))

    later = [n for n, p in spec.items() if isinstance(p, ResultsDir)]  # created only once all else passed
    check(n for n in spec if n in namespace and n not in later)
    for text, predicate in () if problems else rules:
        try:
            if not predicate(values):
                involved = ", ".join(f"{n}={v!r}" for n, v in values.items() if re.search(rf"\b{n}\b", text))
                problems.append(f"need {text}" + (f", got {involved}" if involved else ""))
        except Exception as err:  # a rule over an odd value is broken, not a crash
            problems.append(f"rule {text!r} could not be evaluated: {type(err).__name__}: {err}")
    check([] if problems else later)
    if problems:
        raise ValueError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems with the parameters:\n" + "\n".join(f"- {p}" for p in problems))
    device, results_dir = (next((values[n] for n, p in spec.items() if isinstance(p, kind)), None)
                           for kind in (Device, ResultsDir))
    return CheckedParameters(values, {n: namespace[n] for n in spec}, device, results_dir,
                             apply_thread_policy(values[THREADS]))
