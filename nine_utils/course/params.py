"""The parameter check that every notebook runs right after its ``parameters`` cell.

One call replaces a notebook's hand-written validation cell::

    from nine_utils import course
    P = course.params
    run = course.check_parameters(globals(), {
        "seed": P.Int(min=0), "epochs": P.Int(min=1), "sigma": P.Float(gt=0),
        "momentum": P.Float(gt=0, le=1), "dataset": P.Choice("digits", "mnist", "fashion_mnist"),
        "device": P.Device(), "results_dir": P.ResultsDir(), "max_train": P.Optional(P.Int(min=1)),
        "sweep_sigmas": P.ListOf(P.Float(gt=0), min_len=1), "recalibrate_head": P.Bool(),
    }, rules=[("pair_coords <= latent_dim", lambda p: p["pair_coords"] <= p["latent_dim"])])
    dev = run.device

Before any work starts it checks that every declared parameter exists, that no undeclared name
was injected by papermill (a misspelled ``-p sigmaa 0.5``), the type and range of each value,
the cross-parameter ``rules``, that ``results_dir`` is (or can be made) a writable folder, and that
``device`` exists on this machine. Every problem found is reported in one ``ValueError``, each line
naming the parameter and what it allows. It then applies the course's thread policy
(:data:`DEFAULT_TORCH_THREADS`).
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from ..device import DEVICES, resolve_device
from .paths import resolve_from_root

DEFAULT_TORCH_THREADS = 1
"""Threads torch uses when a notebook does not set ``torch_threads``.

The course's models are tiny, so one thread is about as fast as several, and it keeps a notebook
fast when other programs share the CPU: measured under one other CPU-bound process, a notebook
on torch's default thread count ran 5x slower, on one thread only 1.1-1.4x slower. The same
number is applied to numpy's BLAS and scikit-learn's OpenMP pools (:func:`apply_thread_policy`);
``benchmarks/load_ratio.py`` measures the result for every notebook.
"""

THREADS_PARAMETER = "torch_threads"

# what IPython and ipykernel put in the user namespace themselves
IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
PLAIN_DATA = (int, float, str, bool, type(None), list, tuple, dict)

Rule = tuple[str, Callable[[dict[str, Any]], bool]]
INT_LIMIT = 2**63


class Param:
    """A parameter's allowed values. Subclasses implement :meth:`check` and :meth:`allowed`."""

    def allowed(self) -> str:
        """The allowed values, in words (used in the error messages)."""
        raise NotImplementedError

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` (possibly converted) if allowed, else raise ``ValueError`` naming ``name``."""
        raise NotImplementedError

    def _fail(self, name: str, value: Any) -> ValueError:
        return ValueError(f"{name} must be {self.allowed()}, got {value!r}")


@dataclass(frozen=True)
class Int(Param):
    """An integer (not a bool) in ``[min, max]``; either bound may be left out. Whatever the bounds, it must
    fit in 64 bits (``-2**63 <= value < 2**63``), as numpy and torch store it: a seed of 2**64 would
    otherwise pass and fail later with "Overflow when unpacking long long"."""

    min: int | None = None
    max: int | None = None

    def allowed(self) -> str:
        if self.min is not None and self.max is not None:
            return f"an integer in [{self.min}, {self.max}]"
        if self.min is not None:
            return f"an integer >= {self.min}"
        if self.max is not None:
            return f"an integer <= {self.max}"
        return "an integer"

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise self._fail(name, value)
        if not -INT_LIMIT <= value < INT_LIMIT:  # numpy and torch hold integers (seeds too) in 64 bits
            raise ValueError(f"{name} must be {self.allowed()} and below 2**63 in size, got {value!r}")
        return value


@dataclass(frozen=True)
class Float(Param):
    """A finite real number (an int is accepted, a bool is not) with optional bounds.

    ``gt``/``ge`` are the strict/non-strict lower bound, ``lt``/``le`` the upper one.
    """

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def allowed(self) -> str:
        lower = f"> {self.gt}" if self.gt is not None else f">= {self.ge}" if self.ge is not None else None
        upper = f"< {self.lt}" if self.lt is not None else f"<= {self.le}" if self.le is not None else None
        if lower and upper:
            left = "(" if self.gt is not None else "["
            right = ")" if self.lt is not None else "]"
            lo = self.gt if self.gt is not None else self.ge
            hi = self.lt if self.lt is not None else self.le
            return f"a finite number in {left}{lo}, {hi}{right}"
        bound = lower or upper
        return f"a finite number {bound}" if bound else "a finite number"

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._fail(name, value)
        if ((self.gt is not None and not value > self.gt) or (self.ge is not None and not value >= self.ge)
                or (self.lt is not None and not value < self.lt) or (self.le is not None and not value <= self.le)):
            raise self._fail(name, value)
        return value


@dataclass(frozen=True)
class Bool(Param):
    """``True`` or ``False`` (not 0 or 1)."""

    def allowed(self) -> str:
        return "True or False"

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self._fail(name, value)
        return value


@dataclass(frozen=True)
class Str(Param):
    """A non-empty string."""

    def allowed(self) -> str:
        return "a non-empty string"

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise self._fail(name, value)
        return value


class Choice(Param):
    """One of the given values, e.g. ``Choice("mlp", "conv")``."""

    def __init__(self, *values: Any) -> None:
        if not values:
            raise ValueError("Choice needs at least one allowed value")
        self.values = values

    def __repr__(self) -> str:
        return f"Choice({', '.join(map(repr, self.values))})"

    def allowed(self) -> str:
        return f"one of {', '.join(map(repr, self.values))}"

    def check(self, name: str, value: Any) -> Any:
        # type() too: True == 1 and 1 == 1.0, but neither is a choice among integers or floats
        if not any(value == v and type(value) is type(v) for v in self.values):
            raise self._fail(name, value)
        return value


@dataclass(frozen=True)
class Optional(Param):
    """``None``, or a value that ``inner`` allows."""

    inner: Param

    def allowed(self) -> str:
        return f"None or {self.inner.allowed()}"

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.inner.check(name, value)
        except ValueError:
            raise self._fail(name, value) from None


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
        out = []
        for i, v in enumerate(value):
            try:
                out.append(self.item.check(f"{name}[{i}]", v))
            except ValueError as err:
                raise ValueError(f"{name} must be {self.allowed()}; {err}") from None
        return out


class Tuple(Param):
    """A list (or tuple) of exactly ``len(items)`` values, the i-th allowed by ``items[i]``; returned as a list.

    E.g. a training stage ``[epochs, batch size, lr]``: ``Tuple(Int(min=1), Int(min=2), Float(gt=0))``.
    """

    def __init__(self, *items: Param) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Tuple({', '.join(map(repr, self.items))})"

    def allowed(self) -> str:
        return f"a list [{', '.join(p.allowed() for p in self.items)}]"

    def check(self, name: str, value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)) or len(value) != len(self.items):
            raise self._fail(name, value)
        try:
            return [p.check(f"{name}[{i}]", v) for i, (p, v) in enumerate(zip(self.items, value))]
        except ValueError as err:
            raise ValueError(f"{name} must be {self.allowed()}; {err}") from None


@dataclass(frozen=True)
class Device(Param):
    """A device name this machine has: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Checked with :func:`nine_utils.device.resolve_device`; the checked value is the ``torch.device``.
    """

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
    """A folder the run can write to; a relative path is taken from the repository root.

    The folder is created if missing, and a probe file is written to it and removed again. The
    checked value is the absolute :class:`~pathlib.Path`.
    """

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
        Every declared parameter's checked value (``ListOf`` gives a list, ``Device`` a
        ``torch.device``, ``ResultsDir`` an absolute ``Path``).
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


def _parameter_like_cells(history: Sequence[str]) -> set[str]:
    """Names assigned by executed cells made only of assignments of literals (and comments).

    In a papermill run these are the notebook's parameters cell and papermill's injected cell; a
    cell that computes something is not one of them, so rerunning the check by hand after a
    full run in JupyterLab does not take the run's variables for injected parameters.
    """
    import ast

    names: set[str] = set()
    for source in history:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        if not tree.body or not all(isinstance(s, ast.Assign) for s in tree.body):
            continue
        try:
            for s in tree.body:
                ast.literal_eval(s.value)
        except ValueError:
            continue
        names |= {t.id for s in tree.body for t in s.targets if isinstance(t, ast.Name)}
    return names


def undeclared_parameters(namespace: Mapping[str, Any], declared: Iterable[str],
                          allow: Iterable[str] = ()) -> list[str]:
    """The names in ``namespace`` that look like parameters but are not declared.

    A name counts when it holds plain data (int, float, str, bool, None, list, tuple, dict), is not
    private (``_x``), not one of IPython's own names, not declared and not in ``allow``. Inside an
    IPython kernel (the namespace holds its input history ``In``), it must moreover be assigned by
    an executed cell made only of literal assignments: papermill's injected cell or the
    parameters cell.
    """
    skip = set(declared) | set(allow) | IPYTHON_NAMES
    found = {k for k, v in namespace.items()
             if not k.startswith("_") and k not in skip and isinstance(v, PLAIN_DATA)}
    history = namespace.get("In")
    if isinstance(history, list) and all(isinstance(s, str) for s in history):
        found &= _parameter_like_cells(history)
    return sorted(found)


def apply_thread_policy(torch_threads: int | None = DEFAULT_TORCH_THREADS) -> int | None:
    """Make torch, numpy's BLAS and scikit-learn's OpenMP use ``torch_threads`` threads.

    ``None`` leaves every pool alone. Sets ``torch.set_num_threads`` (the intra-op pool, which
    does the work here), and the inter-op pool too when torch still allows it: it can be set only
    once per process, before any inter-op work, so a kernel that already set it keeps its value.
    Then limits, for the rest of the process, every BLAS and OpenMP pool already loaded
    (``threadpoolctl.threadpool_limits``): numpy's matrix products, scipy, and scikit-learn's
    OpenMP estimators (the gradient-boosted trees of ``nu.dci``, for one), so that numpy, scipy
    and scikit-learn code keeps to the same number of threads as torch.

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


def check_parameters(namespace: Mapping[str, Any], spec: Mapping[str, Param], *, rules: Iterable[Rule] = (),
                     allow: Iterable[str] = ()) -> CheckedParameters:
    """Check a notebook's parameters before any work, then apply the thread policy.

    Parameters
    ----------
    namespace : mapping
        The notebook's ``globals()``.
    spec : mapping of str to Param
        Every parameter of the notebook and its allowed values, e.g. ``{"sigma": Float(gt=0)}``.
        ``torch_threads`` may be left out: it is then declared as ``Optional(Int(min=1))``.
    rules : iterable of (str, callable)
        Checks across parameters: ``(text, predicate)``, the predicate taking the dict of checked
        values; a false one is reported with its text, e.g.
        ``("pair_coords <= latent_dim", lambda p: p["pair_coords"] <= p["latent_dim"])``. They run
        only when every value passed its own check.
    allow : iterable of str
        Names of plain-data constants the notebook defines before this call (e.g. in its imports
        cell) that are not parameters.

    Returns
    -------
    CheckedParameters
        The checked values, the resolved device, the results folder and the thread count.

    Raises
    ------
    ValueError
        Listing every problem: a declared parameter missing from ``namespace``, a name papermill
        injected that is not a parameter (the message lists the parameters), a value of the wrong
        type or out of range (naming the parameter and its allowed values), a broken rule, an
        unwritable ``results_dir`` or a device this machine lacks.

    Notes
    -----
    Thread policy: torch is set to ``torch_threads`` threads (the notebook's parameter, or
    :data:`DEFAULT_TORCH_THREADS` = 1 when the notebook has none; ``None`` leaves torch alone)
    with :func:`apply_thread_policy`. The models of this course are tiny: one thread is about as
    fast as torch's default of one per core, and far faster when another program is busy on the
    same cores (5x slowdown measured on the default threads, 1.1-1.4x on one).
    """
    spec = dict(spec)
    spec.setdefault(THREADS_PARAMETER, Optional(Int(min=1)))
    namespace = dict(namespace)
    namespace.setdefault(THREADS_PARAMETER, DEFAULT_TORCH_THREADS)

    problems: list[str] = []
    missing = [name for name in spec if name not in namespace]
    problems += [f"parameter {name!r} is declared but not defined (add it to the parameters cell)" for name in missing]
    unknown = undeclared_parameters(namespace, spec, allow)
    if unknown:
        problems.append(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                        f"(misspelled?); the parameters are: {', '.join(sorted(spec))}")

    values: dict[str, Any] = {}
    deferred = [n for n, p in spec.items() if isinstance(p, ResultsDir) and n in namespace]
    for name, param in spec.items():
        if name in namespace and name not in deferred:
            try:
                values[name] = param.check(name, namespace[name])
            except ValueError as err:
                problems.append(str(err))
    if not problems:
        for text, predicate in rules:
            try:
                ok = bool(predicate(values))
            except Exception as err:  # a rule over a missing or odd value is a broken rule, said as such
                problems.append(f"rule {text!r} could not be evaluated: {type(err).__name__}: {err}")
                continue
            if not ok:
                involved = ", ".join(f"{n}={values[n]!r}" for n in values if re.search(rf"\b{n}\b", text))
                problems.append(f"need {text}, got {involved}" if involved else f"need {text}")
    if not problems:  # the side effects (creating results_dir) only once everything else is right
        for name in deferred:
            try:
                values[name] = spec[name].check(name, namespace[name])
            except ValueError as err:
                problems.append(str(err))
    if problems:
        if len(problems) == 1:
            raise ValueError(problems[0])
        raise ValueError(f"{len(problems)} problems with the parameters:\n" + "\n".join(f"- {p}" for p in problems))

    checked = CheckedParameters(values=values, parameters={name: namespace[name] for name in spec})
    for name, param in spec.items():
        if isinstance(param, Device) and checked.device is None:
            checked.device = values[name]
        elif isinstance(param, ResultsDir) and checked.results_dir is None:
            checked.results_dir = values[name]
    checked.torch_threads = apply_thread_policy(values[THREADS_PARAMETER])
    return checked


__all__ = ["Bool", "CheckedParameters", "Choice", "DEFAULT_TORCH_THREADS", "Device", "Float", "Int",
           "ListOf", "Optional", "Param", "ResultsDir", "Str", "Tuple", "apply_thread_policy", "check_parameters",
           "undeclared_parameters"]
