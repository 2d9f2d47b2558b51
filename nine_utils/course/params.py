"""The parameter check that every notebook runs right after its ``parameters`` cell::

    from nine_utils import course
    P = course.params
    run = course.check_parameters(globals(), {
        "seed": P.Int(min=0), "sigma": P.Float(gt=0), "momentum": P.Float(gt=0, le=1),
        "dataset": P.Choice("digits", "mnist"), "device": P.Device(), "results_dir": P.ResultsDir(),
        "max_train": P.Optional(P.Int(min=1)), "sweep_sigmas": P.ListOf(P.Float(gt=0), min_len=1),
    }, rules=[("pair_coords <= latent_dim", lambda p: p["pair_coords"] <= p["latent_dim"])])

Before any work it checks that every declared parameter exists, that no undeclared name was injected by
papermill (a misspelled ``-p sigmaa 0.5``), each value's type and range, the cross-parameter ``rules``,
that ``results_dir`` is (or can be made) a writable folder and that ``device`` exists on this machine. All
problems are reported in one ``ValueError``, each line naming the parameter and what it allows. It then
applies the course's thread policy (:data:`DEFAULT_TORCH_THREADS`).
"""

from __future__ import annotations

import ast
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from ..device import DEVICES, resolve_device
from .paths import resolve_from_root

DEFAULT_TORCH_THREADS = 1
"""Threads torch uses when a notebook does not set ``torch_threads``.

The course's models are tiny, so one thread is about as fast as several, and it keeps a notebook fast when
other programs share the CPU: under one other CPU-bound process, a notebook on torch's default thread count
ran 5x slower, on one thread 1.1-1.4x slower (``benchmarks/load_ratio.py``). The same number applies to
numpy's BLAS and scikit-learn's OpenMP pools (:func:`apply_thread_policy`).
"""

THREADS_PARAMETER = "torch_threads"
IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})  # IPython's own names
PLAIN_DATA = (int, float, str, bool, type(None), list, tuple, dict)
Rule = tuple[str, Callable[[dict[str, Any]], bool]]
INT_LIMIT = 2**63


class Param:
    """A parameter's allowed values: :meth:`allowed` says them in words, :meth:`check` returns the value
    (possibly converted) or raises ``ValueError`` naming the parameter; a subclass that only accepts or
    refuses a value implements :meth:`accepts`."""

    def allowed(self) -> str:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def check(self, name: str, value: Any) -> Any:
        if not self.accepts(value):
            raise self._fail(name, value)
        return value

    def _fail(self, name: str, value: Any) -> ValueError:
        return ValueError(f"{name} must be {self.allowed()}, got {value!r}")


@dataclass(frozen=True)
class Int(Param):
    """An integer (not a bool) in ``[min, max]``, either bound optional, and within 64 bits
    (``-2**63 <= value < 2**63``) as numpy and torch store it (a seed of 2**64 fails there, late)."""

    min: int | None = None
    max: int | None = None

    def allowed(self) -> str:
        if self.min is not None and self.max is not None:
            return f"an integer in [{self.min}, {self.max}]"
        return ("an integer" + (f" >= {self.min}" if self.min is not None else "")
                + (f" <= {self.max}" if self.max is not None else ""))

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool) and (self.min is None or value >= self.min)
                and (self.max is None or value <= self.max))

    def check(self, name: str, value: Any) -> int:
        if self.accepts(value) and not -INT_LIMIT <= value < INT_LIMIT:
            raise ValueError(f"{name} must be {self.allowed()} and below 2**63 in size, got {value!r}")
        return super().check(name, value)


@dataclass(frozen=True)
class Float(Param):
    """A finite real number (an int is accepted, a bool is not); ``gt``/``ge`` the strict/non-strict lower
    bound, ``lt``/``le`` the upper one."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def allowed(self) -> str:
        strict_lo, strict_hi = self.gt is not None, self.lt is not None
        lo, hi = (self.gt if strict_lo else self.ge), (self.lt if strict_hi else self.le)
        if lo is not None and hi is not None:
            return f"a finite number in {'(' if strict_lo else '['}{lo}, {hi}{')' if strict_hi else ']'}"
        if lo is not None:
            return f"a finite number {'>' if strict_lo else '>='} {lo}"
        return f"a finite number {'<' if strict_hi else '<='} {hi}" if hi is not None else "a finite number"

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and (self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
                and (self.lt is None or value < self.lt) and (self.le is None or value <= self.le))


@dataclass(frozen=True)
class Bool(Param):
    """``True`` or ``False`` (not 0 or 1)."""

    def allowed(self) -> str:
        return "True or False"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Str(Param):
    """A non-empty string."""

    def allowed(self) -> str:
        return "a non-empty string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value)


class Choice(Param):
    """One of the given values, e.g. ``Choice("mlp", "conv")``, of the same type (``True`` is not ``1``)."""

    def __init__(self, *values: Any) -> None:
        if not values:
            raise ValueError("Choice needs at least one allowed value")
        self.values = values

    def __repr__(self) -> str:
        return f"Choice({', '.join(map(repr, self.values))})"

    def allowed(self) -> str:
        return f"one of {', '.join(map(repr, self.values))}"

    def accepts(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)


@dataclass(frozen=True)
class Optional(Param):
    """``None``, or a value that ``inner`` allows."""

    inner: Param

    def allowed(self) -> str:
        return f"None or {self.inner.allowed()}"

    def check(self, name: str, value: Any) -> Any:
        try:
            return None if value is None else self.inner.check(name, value)
        except ValueError:
            raise self._fail(name, value) from None


def _items(owner: Param, name: str, checks: Iterable[tuple[Param, Any]]) -> list[Any]:
    """Each item checked by its own :class:`Param` (named ``name[i]``); a failure names ``owner`` too."""
    try:
        return [p.check(f"{name}[{i}]", v) for i, (p, v) in enumerate(checks)]
    except ValueError as err:
        raise ValueError(f"{name} must be {owner.allowed()}; {err}") from None


@dataclass(frozen=True)
class ListOf(Param):
    """A list (or tuple) of at least ``min_len`` items, each allowed by ``item``; returned as a list."""

    item: Param
    min_len: int = 0

    def allowed(self) -> str:
        size = {0: "a list", 1: "a non-empty list"}.get(self.min_len, f"a list of at least {self.min_len} items")
        return f"{size}, each item {self.item.allowed()}"

    def check(self, name: str, value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len:
            raise self._fail(name, value)
        return _items(self, name, ((self.item, v) for v in value))


class Tuple(Param):
    """A list (or tuple) of exactly ``len(items)`` values, the i-th allowed by ``items[i]``; returned as a
    list. E.g. a training stage ``[epochs, batch size, lr]``: ``Tuple(Int(min=1), Int(min=2), Float(gt=0))``."""

    def __init__(self, *items: Param) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Tuple({', '.join(map(repr, self.items))})"

    def allowed(self) -> str:
        return f"a list [{', '.join(p.allowed() for p in self.items)}]"

    def check(self, name: str, value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)) or len(value) != len(self.items):
            raise self._fail(name, value)
        return _items(self, name, zip(self.items, value))


@dataclass(frozen=True)
class Device(Param):
    """A device this machine has: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; the checked
    value is the ``torch.device`` (:func:`nine_utils.device.resolve_device`)."""

    def allowed(self) -> str:
        return f"one of {', '.join(map(repr, DEVICES))} or 'cuda:N', available on this machine"

    def check(self, name: str, value: Any) -> torch.device:
        if not isinstance(value, (str, torch.device)):
            raise self._fail(name, value)
        try:
            return resolve_device(value)
        except ValueError as err:  # its message names the device and the allowed values
            raise ValueError(str(err) if name == "device" else f"{name}: {err}") from None


@dataclass(frozen=True)
class ResultsDir(Param):
    """A folder the run can write to, a relative path taken from the repository root; it is created if
    missing and a probe file written to it and removed. The checked value is the absolute ``Path``."""

    def allowed(self) -> str:
        return "a path (str) to a writable folder, relative paths taken from the repository root"

    def check(self, name: str, value: Any) -> Path:
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise self._fail(name, value)
        try:
            path = resolve_from_root(value)
        except FileNotFoundError as err:  # a relative path, and NINE_ROOT is not a checkout
            raise ValueError(f"{name} = {value!r}: {err}") from None
        probe = path / f".write-probe-{uuid.uuid4().hex}"
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise ValueError(f"{name} = {value!r}: cannot write to {path} ({err.strerror or err})") from None
        return path


@dataclass
class CheckedParameters:
    """What :func:`check_parameters` returns.

    Attributes
    ----------
    values : dict
        Every declared parameter's checked value (``ListOf`` gives a list, ``Device`` a ``torch.device``,
        ``ResultsDir`` an absolute ``Path``); ``run[name]`` reads it.
    parameters : dict
        Every declared parameter's value as the notebook set it (``device="auto"``, a relative
        ``results_dir``): what the results file records, ``course.save_results(stem, run.parameters, ...)``.
    device : torch.device or None
        The resolved device, when a parameter is declared with :class:`Device`.
    results_dir : Path or None
        The writable results folder, when a parameter is declared with :class:`ResultsDir`.
    torch_threads : int or None
        The threads torch was set to use (``None``: torch's own setting was left alone).
    """

    values: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    device: torch.device | None = None
    results_dir: Path | None = None
    torch_threads: int | None = None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def _literal_assignments(source: str) -> set[str]:
    """The names a cell assigns when it holds only assignments of literals (a parameters cell, papermill's
    injected cell); empty for any other cell."""
    try:
        body = ast.parse(source).body
        if not body or not all(isinstance(s, ast.Assign) for s in body):
            return set()
        for s in body:
            ast.literal_eval(s.value)
    except (SyntaxError, ValueError):
        return set()
    return {t.id for s in body for t in s.targets if isinstance(t, ast.Name)}


def undeclared_parameters(namespace: Mapping[str, Any], declared: Iterable[str],
                          allow: Iterable[str] = ()) -> list[str]:
    """The names in ``namespace`` that look like parameters but are not declared.

    A name counts when it holds plain data (int, float, str, bool, None, list, tuple, dict), is not private
    (``_x``), not one of IPython's own names, not declared and not in ``allow``. Inside an IPython kernel
    (the namespace holds its input history ``In``) it must moreover be assigned by an executed cell of
    literal assignments only (papermill's injected cell, or the parameters cell), so variables computed by
    an earlier full run do not count when the check is rerun by hand.
    """
    skip = set(declared) | set(allow) | IPYTHON_NAMES
    found = {k for k, v in namespace.items() if not k.startswith("_") and k not in skip and isinstance(v, PLAIN_DATA)}
    history = namespace.get("In")
    if isinstance(history, list) and all(isinstance(s, str) for s in history):
        found &= set().union(*map(_literal_assignments, history))
    return sorted(found)


def apply_thread_policy(torch_threads: int | None = DEFAULT_TORCH_THREADS) -> int | None:
    """Make torch, numpy's BLAS and scikit-learn's OpenMP use ``torch_threads`` threads (``None``: leave them).

    Sets torch's intra-op pool, and its inter-op pool where torch still allows it (once per process, before
    any inter-op work); then limits every BLAS and OpenMP pool already loaded for the rest of the process
    (``threadpoolctl.threadpool_limits``), so numpy, scipy and scikit-learn keep to the same number.

    Returns
    -------
    int or None
        ``torch_threads``.
    """
    if torch_threads is None:
        return None
    torch.set_num_threads(torch_threads)
    if torch.get_num_interop_threads() != torch_threads:
        try:
            torch.set_num_interop_threads(torch_threads)
        except RuntimeError:  # already set, or inter-op work has started: keep torch's value
            pass
    threadpool_limits(limits=torch_threads)  # not as a context manager: the limit stays
    return torch_threads


def _broken_rules(rules: Iterable[Rule], values: dict[str, Any]) -> list[str]:
    """One line per rule that is false, or that raised (a rule over an odd value is said to be broken)."""
    problems = []
    for text, predicate in rules:
        try:
            if predicate(values):
                continue
        except Exception as err:
            problems.append(f"rule {text!r} could not be evaluated: {type(err).__name__}: {err}")
            continue
        involved = ", ".join(f"{n}={values[n]!r}" for n in values if re.search(rf"\b{n}\b", text))
        problems.append(f"need {text}, got {involved}" if involved else f"need {text}")
    return problems


def check_parameters(namespace: Mapping[str, Any], spec: Mapping[str, Param], *, rules: Iterable[Rule] = (),
                     allow: Iterable[str] = ()) -> CheckedParameters:
    """Check a notebook's parameters before any work, then apply the thread policy.

    Parameters
    ----------
    namespace : mapping
        The notebook's ``globals()``.
    spec : mapping of str to Param
        Every parameter of the notebook and its allowed values, e.g. ``{"sigma": Float(gt=0)}``.
        ``torch_threads`` may be left out: it is then ``Optional(Int(min=1))``, default
        :data:`DEFAULT_TORCH_THREADS`.
    rules : iterable of (str, callable)
        Checks across parameters, ``(text, predicate)`` with the predicate taking the dict of checked
        values; run only when every value passed its own check.
    allow : iterable of str
        Plain-data constants the notebook defines before this call that are not parameters.

    Returns
    -------
    CheckedParameters
        The checked values, the resolved device, the results folder and the thread count
        (:func:`apply_thread_policy` with ``torch_threads``).

    Raises
    ------
    ValueError
        Listing every problem: a declared parameter missing from ``namespace``, an undeclared one
        (:func:`undeclared_parameters`; the message lists the parameters), a value of the wrong type or out
        of range (naming the parameter and its allowed values), a broken rule, an unwritable
        ``results_dir`` or a device this machine lacks. ``results_dir`` is created only when all else is right.
    """
    spec = dict(spec)
    spec.setdefault(THREADS_PARAMETER, Optional(Int(min=1)))
    namespace = {THREADS_PARAMETER: DEFAULT_TORCH_THREADS, **namespace}
    problems = [f"parameter {n!r} is declared but not defined (add it to the parameters cell)"
                for n in spec if n not in namespace]
    unknown = undeclared_parameters(namespace, spec, allow)
    if unknown:
        problems.append(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                        f"(misspelled?); the parameters are: {', '.join(sorted(spec))}")
    values: dict[str, Any] = {}
    later = [n for n, p in spec.items() if isinstance(p, ResultsDir)]  # its side effect only once all else is right
    problems += _check_each(spec, namespace, [n for n in spec if n not in later], values)
    if not problems:
        problems += _broken_rules(rules, values)
    if not problems:
        problems += _check_each(spec, namespace, later, values)
    if problems:
        raise ValueError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems with the parameters:\n" + "\n".join(f"- {p}" for p in problems))
    first = {kind: next((values[n] for n, p in spec.items() if isinstance(p, kind)), None) for kind in (Device, ResultsDir)}
    return CheckedParameters(values=values, parameters={n: namespace[n] for n in spec}, device=first[Device],
                             results_dir=first[ResultsDir], torch_threads=apply_thread_policy(values[THREADS_PARAMETER]))


def _check_each(spec: Mapping[str, Param], namespace: Mapping[str, Any], names: Iterable[str],
                values: dict[str, Any]) -> list[str]:
    """Check each of ``names`` present in ``namespace`` into ``values``; one line per failed check."""
    problems = []
    for name in names:
        if name in namespace:
            try:
                values[name] = spec[name].check(name, namespace[name])
            except ValueError as err:
                problems.append(str(err))
    return problems


__all__ = ["Bool", "CheckedParameters", "Choice", "DEFAULT_TORCH_THREADS", "Device", "Float", "Int",
           "ListOf", "Optional", "Param", "ResultsDir", "Str", "Tuple", "apply_thread_policy", "check_parameters",
           "undeclared_parameters"]
