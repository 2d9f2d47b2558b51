"""Papermill reruns at scale: one notebook over a grid of parameters, in parallel, resumable.

Command line (``python -m nine_utils.course.sweep --help``)::

    python -m nine_utils.course.sweep notebooks/03_gaussian_matching.ipynb -p seed 0 1 2 --jobs 2
    python -m nine_utils.course.sweep 01_deep_infomax --grid grid.yaml --name my-sweep
    python -m nine_utils.course.sweep 01_deep_infomax -p seed 0 1 --executor dask --scheduler tcp://host:8786

Each combination runs through papermill into ``results/sweeps/<name>/<run id>/`` (executed notebook and
results file). A run is skipped (unless ``--force``) only when its results file records the parameters asked
for now (grid, fixed values, the notebook's defaults for the rest) and the hash of the notebook's code now;
any other run is rerun, and the summary says why. A failed run keeps its executed notebook and
``error.txt`` and does not stop the others (exit status 1). ``sweep.json`` is the manifest: notebook, grid,
fixed values and each run's parameters and status (``ok``, ``skipped``, ``failed``, ``interrupted``,
``left running`` on a Dask worker, ``not run``). Ctrl-C, SIGTERM and SIGHUP stop the queue, kill the running
kernels (local executor), write the manifest and summary, and exit with 128 + the signal's number. Errors
before the runs start are one line on stderr, exit status 2.

The local executor is a thread pool (each run's work is in its own kernel process, and
:func:`~nine_utils.course.runner.execute` is thread-safe); the distributed one is Dask (``distributed``),
whose workers must share the checkout and environment.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import itertools
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from .._checks import check_choice, check_positive_int
from .paths import repo_root, resolve_from_root
from .results import source_hash
from .runner import NO_DEFAULT, execute, notebook_defaults

EXECUTORS = ("local", "dask")
SWEEPS_DIR = "results/sweeps"
MANIFEST = "sweep.json"
MAX_RUN_ID = 120
DONE = ("ok", "skipped")  # the statuses of a run whose results file is valid for the manifest's parameters
STATUSES = ("ok", "skipped", "failed", "interrupted", "left running", "not run")
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@dataclass(frozen=True)
class Run:
    """One combination of a sweep.

    Attributes
    ----------
    run_id : str
        Folder name, e.g. ``"seed=0,sigma=0.3"``.
    parameters : dict
        The grid values of this run (the sweep's fixed parameters are added when it runs).
    directory : Path
        ``results/sweeps/<name>/<run_id>``.
    stem : str
        The notebook's stem; the results file is ``directory / f"{stem}.json"``, the executed copy
        ``directory / f"{stem}.ipynb"``, a failure's traceback ``directory / "error.txt"``.
    """

    run_id: str
    parameters: dict[str, Any]
    directory: Path
    stem: str

    @property
    def results_file(self) -> Path:
        """The run's results file."""
        return self.directory / f"{self.stem}.json"


@dataclass
class Outcome:
    """What happened to one run.

    Attributes
    ----------
    run_id : str
    status : str
        One of :data:`STATUSES`: ``"interrupted"`` was stopped while running, ``"left running"`` is on a
        Dask worker (which cannot stop it), ``"not run"`` was still queued.
    seconds : float
    error : str
        Why a run failed.
    rerun : str
        Why a run with an existing results file was run again (empty otherwise).
    """

    run_id: str
    status: str
    seconds: float = 0.0
    error: str = ""
    rerun: str = ""


@dataclass
class SweepReport:
    """The result of :func:`run_sweep`; ``interrupted`` when Ctrl-C (or ``signal``: SIGTERM, SIGHUP) stopped it."""

    name: str
    directory: Path
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False
    signal: int = signal.SIGINT

    @property
    def failed(self) -> list[Outcome]:
        """The failed runs."""
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        """A few lines: the counts, then one line per rerun and per failure."""
        n = {s: sum(o.status == s for o in self.outcomes) for s in STATUSES}
        head = f"sweep {self.name!r}: {n['ok']} ran, {n['skipped']} skipped (valid results exist), {n['failed']} failed"
        if self.interrupted:
            head += f"; INTERRUPTED: {n['interrupted']} stopped while running, {n['not run']} not run"
            if n["left running"]:
                head += (f", {n['left running']} left running on Dask workers (Dask cannot stop a running "
                         "task; their results files may still appear)")
            if self.signal != signal.SIGINT:
                head += f" ({signal.Signals(self.signal).name})"
        lines = [f"{head} -> {self.directory}"]
        lines += [f"  rerun {o.run_id}: {o.rerun}" for o in self.outcomes if o.rerun and o.status != "not run"]
        lines += [f"  FAILED {o.run_id}: {o.error}  (executed notebook kept in {self.directory / o.run_id})"
                  for o in self.failed]
        return "\n".join(lines)


# Grid parsing and validation: every error is raised before any run starts

def resolve_notebook(notebook: str | Path) -> Path:
    """A notebook path, or a stem/name looked up in ``<repo>/notebooks``; ``ValueError`` if missing."""
    p = Path(notebook)
    for c in (p, repo_root() / p, repo_root() / "notebooks" / p, repo_root() / "notebooks" / f"{p.name}.ipynb"):
        if c.is_file() and c.suffix == ".ipynb":
            return c.resolve()
    raise ValueError(f"notebook {str(notebook)!r} not found (tried a path, and a name in notebooks/)")


def parse_value(text: str) -> Any:
    """A command-line value, read as papermill reads ``-p NAME VALUE`` (``papermill.cli._resolve_type``).

    ``True``, ``False``, ``None``; then whatever ``int()`` accepts is an int (``010`` is 10), whatever
    ``float()`` accepts a float; anything else is the string itself (``off``, ``1:30``). One addition: a
    value in brackets, ``[2, 4]`` or ``{"a": 1}``, is a Python literal.
    """
    from papermill.cli import _resolve_type

    if text[:1] in "[{" and text[-1:] in "]}":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(f"cannot read {text!r} as a Python list or dict") from None
    return _resolve_type(text)


def _grid_file_value(name: str, value: Any) -> Any:
    """A YAML grid value: ``1e-3`` as 0.001 (YAML 1.1 reads a float without a dot as a string), and a
    one-line ``ValueError`` for a value JSON cannot hold (a YAML date, say)."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+", value):
        value = float(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError(f"grid value {value!r} of {name!r} is a {type(value).__name__}, which a results file "
                         "cannot hold; quote it to pass a string") from None
    return value


def _read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error is a one-line ``ValueError`` naming the file and position."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ValueError(f"{where}: YAML syntax error: {' '.join(str(err.problem or err.context).split())}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: YAML error: {' '.join(str(err).split())}") from None


def parse_grid(pairs: Sequence[Sequence[str]] | None = None,
               grid_file: str | Path | None = None) -> dict[str, list[Any]]:
    """Build a grid from ``-p NAME V1 V2 …`` pairs (read by :func:`parse_value`) and/or a YAML file mapping
    names to lists; ``ValueError`` naming the offending entry, or the file, line and column."""
    grid: dict[str, list[Any]] = {}
    if grid_file is not None:
        if not Path(grid_file).is_file():
            raise ValueError(f"grid file {str(grid_file)!r} not found")
        data = _read_yaml(Path(grid_file))
        if not isinstance(data, dict):
            raise ValueError(f"grid file {str(grid_file)!r} must map parameter names to lists of values")
        for name, values in data.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid entry {name!r} in {str(grid_file)!r} must be a non-empty list, got {values!r}")
            grid[str(name)] = [_grid_file_value(str(name), v) for v in values]
    for pair in pairs or []:
        if len(pair) < 2:
            raise ValueError(f"grid entry {' '.join(pair)!r} needs a name and at least one value: -p NAME V1 [V2 ...]")
        if pair[0] in grid:
            raise ValueError(f"grid entry {pair[0]!r} is given twice")
        grid[pair[0]] = [parse_value(v) for v in pair[1:]]
    if not grid:
        raise ValueError("the grid is empty: give -p NAME V1 [V2 ...] or --grid FILE")
    return grid


def validate_grid(notebook: Path, grid: Mapping[str, Sequence[Any]],
                  fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check every grid and fixed name against the notebook's parameters cell; ``results_dir`` is set by the
    sweep and may not be swept. Returns the notebook's defaults (:func:`notebook_defaults`)."""
    defaults = notebook_defaults(notebook)
    if not defaults:
        raise ValueError(f"{notebook.name} has no cell tagged 'parameters'")
    for name in [*grid, *(fixed or {})]:
        if name == "results_dir":
            raise ValueError("results_dir is set by the sweep (one folder per run) and cannot be swept")
        if name not in defaults:
            raise ValueError(f"unknown parameter {name!r} for {notebook.name}; its parameters are: "
                             f"{', '.join(sorted(defaults))}")
    return defaults


def run_id(parameters: Mapping[str, Any]) -> str:
    """A folder name for a combination, e.g. ``"seed=0,sigma=0.3"`` (unsafe characters become ``_``; a name
    over :data:`MAX_RUN_ID` characters is cut and ends in a hash of the whole)."""
    text = ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in parameters.items())
    text = re.sub(r"[^A-Za-z0-9=.,_+-]", "_", text)
    if len(text) > MAX_RUN_ID:  # a file name has at most 255 bytes; a long list value would pass that
        text = f"{text[:MAX_RUN_ID - 17]}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return text


def plan(notebook: Path, grid: Mapping[str, Sequence[Any]], directory: Path) -> list[Run]:
    """Every combination of the grid (the first name varies slowest), as :class:`Run` objects."""
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    runs = [Run(run_id(p), p, directory / run_id(p), notebook.stem) for p in combos]
    if len({r.run_id for r in runs}) != len(runs):
        raise ValueError("two grid combinations map to the same run folder; make the values distinct")
    return runs


# Running

def _same(a: Any, b: Any) -> bool:
    """Equal once both went through JSON (a tuple asked for is the list recorded)."""
    try:
        return json.loads(json.dumps(a)) == json.loads(json.dumps(b))
    except (TypeError, ValueError):
        return a == b


def stale_reason(results_file: Path, requested: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
                 source: str | None = None) -> str:
    """Why ``results_file`` is not the result of a run with ``requested`` parameters ("" if it is).

    Parameters
    ----------
    results_file : Path
    requested : mapping
        The parameters given to the run (grid values and fixed ones); each must be recorded with the same value.
    defaults : mapping, optional
        The notebook's defaults; every other parameter the file records must have its default value (so a
        smoke run's results do not pass for a full run's).
    source : str, optional
        The hash of the notebook's code now (:func:`~nine_utils.course.results.source_hash`); the file must
        record the same ``source_sha256``, so results of older code are not reused.

    Returns
    -------
    str
        Empty when the file is valid, else the reason, e.g. ``"it records epochs=2, not 300"``.
    """
    if not results_file.is_file():
        return "no results file"
    try:
        data = json.loads(results_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"its results file cannot be read ({type(err).__name__}: {err})"
    recorded = data.get("parameters") if isinstance(data, dict) else None
    if not isinstance(recorded, dict) or not isinstance(data.get("metrics"), dict):
        return "its results file is not a results file (no parameters or metrics)"
    if source is not None and data.get("source_sha256") != source:
        return ("the notebook's code changed since it ran" if data.get("source_sha256")
                else "its results file does not record the hash of the notebook's code")
    for name, value in requested.items():
        if name != "results_dir" and name not in recorded:
            return f"its results file does not record {name}"
        if name != "results_dir" and not _same(recorded[name], value):
            return f"it records {name}={recorded[name]!r}, not {value!r}"
    for name, value in (defaults or {}).items():
        if (name not in requested and name != "results_dir" and value is not NO_DEFAULT and name in recorded
                and not _same(recorded[name], value)):
            return f"it records {name}={recorded[name]!r}, not the default {value!r}"
    return ""


def run_one(notebook: str, run: Run, fixed: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
            on_kernel: Callable[[int], None] | None = None) -> Outcome:
    """Execute one run with papermill; never raises.

    The run's old results file and ``error.txt`` are removed first, so a failed run leaves no stale results
    beside its error; it succeeds only if it writes a results file that records the parameters it was given
    (:func:`stale_reason`). ``on_kernel`` is called with the kernel's process id once it started.
    """
    start = time.perf_counter()
    error_file = run.directory / "error.txt"
    try:
        run.directory.mkdir(parents=True, exist_ok=True)
        run.results_file.unlink(missing_ok=True)
        error_file.unlink(missing_ok=True)
        execute(notebook, run.directory / f"{run.stem}.ipynb", {**fixed, **run.parameters,
                "results_dir": str(run.directory)}, cwd=run.directory, on_kernel=on_kernel)
        if not run.results_file.is_file():
            raise RuntimeError(f"the notebook finished without writing {run.results_file.name}")
        reason = stale_reason(run.results_file, {**fixed, **run.parameters}, defaults, source_hash(notebook))
        if reason:
            raise RuntimeError(f"the run's results do not match its parameters: {reason}")
        return Outcome(run.run_id, "ok", time.perf_counter() - start)
    except Exception as exc:  # a failed run must not stop the sweep
        last = next((ln for ln in reversed(str(exc).strip().splitlines()) if ln.strip()), type(exc).__name__)
        with contextlib.suppress(OSError):
            run.results_file.unlink(missing_ok=True)
            error_file.write_text("".join(traceback.format_exception(exc)))
        return Outcome(run.run_id, "failed", time.perf_counter() - start, f"{type(exc).__name__}: {last[:300]}")


def _write_manifest(directory: Path, notebook: Path, grid: Mapping[str, Sequence[Any]], fixed: Mapping[str, Any],
                    runs: Sequence[Run], status: Mapping[str, Outcome]) -> None:
    manifest = {"notebook": str(notebook), "grid": dict(grid), "fixed": dict(fixed),
                "runs": [{"run_id": r.run_id, "parameters": r.parameters,
                          "status": status[r.run_id].status if r.run_id in status else "pending"} for r in runs]}
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(directory / MANIFEST)  # never a half-written manifest


def run_sweep(notebook: str | Path, grid: Mapping[str, Sequence[Any]], *, name: str | None = None,
              fixed: Mapping[str, Any] | None = None, jobs: int = 1, force: bool = False,
              executor: str = "local", scheduler: str | None = None, sweeps_dir: str | Path = SWEEPS_DIR,
              progress: bool = True, connect_timeout: float = 30.0) -> SweepReport:
    """Run ``notebook`` once per grid combination.

    Parameters
    ----------
    notebook : str or Path
        A path, or a name/stem of a notebook in ``notebooks/``.
    grid : mapping
        Parameter name -> list of values (see :func:`parse_grid`).
    name : str, optional
        Sweep name (folder under ``sweeps_dir``); defaults to the notebook's stem.
    fixed : mapping, optional
        Parameters set to one value in every run (e.g. smoke sizes).
    jobs : int
        Runs at once for the local executor, ``>= 1``.
    force : bool
        Rerun every combination, also those whose results are valid.
    executor : str
        ``"local"`` (threads, each driving one kernel) or ``"dask"`` (a ``distributed`` scheduler).
    scheduler : str, optional
        The Dask scheduler address, e.g. ``"tcp://host:8786"``; required with ``"dask"``.
    sweeps_dir : str or Path
        Parent folder of sweeps; relative paths are taken from the repository root.
    progress : bool
        Show a progress bar.
    connect_timeout : float
        Seconds to wait for the Dask scheduler; an unreachable one is a ``ValueError`` before anything is written.

    Returns
    -------
    SweepReport
        With ``interrupted=True`` when Ctrl-C, SIGTERM or SIGHUP stopped the sweep: the queued runs were
        dropped and the running kernels ended (local executor); ``sweep.json`` says which ran.
    """
    check_choice("executor", executor, EXECUTORS)
    check_positive_int("jobs", jobs)
    if executor == "dask" and not scheduler:
        raise ValueError("the dask executor needs --scheduler, e.g. tcp://127.0.0.1:8786")
    nb = resolve_notebook(notebook)
    fixed = dict(fixed or {})
    defaults = validate_grid(nb, grid, fixed)
    sweep_name = name or nb.stem
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", sweep_name):
        raise ValueError(f"sweep name {sweep_name!r} may hold only letters, digits, '.', '_' and '-'")
    directory = resolve_from_root(sweeps_dir) / sweep_name
    runs = plan(nb, grid, directory)
    client = _dask_client(scheduler, connect_timeout) if executor == "dask" else None

    directory.mkdir(parents=True, exist_ok=True)
    report = SweepReport(sweep_name, directory)
    status: dict[str, Outcome] = {}
    reruns: dict[str, str] = {}
    source = source_hash(nb)
    for r in runs:
        reason = stale_reason(r.results_file, {**fixed, **r.parameters}, defaults, source)
        if not reason and not force:
            status[r.run_id] = Outcome(r.run_id, "skipped")
        elif r.results_file.exists():
            reruns[r.run_id] = reason or "--force"
    todo = [r for r in runs if r.run_id not in status]
    _write_manifest(directory, nb, grid, fixed, runs, status)
    bar = tqdm(total=len(todo), desc=f"sweep {sweep_name}", disable=not progress or not todo)

    def record(outcome: Outcome) -> None:
        status[outcome.run_id] = outcome
        _write_manifest(directory, nb, grid, fixed, runs, status)
        bar.update()

    try:
        with _signals_as_interrupt():
            if client is None:
                _run_local(nb, todo, fixed, defaults, jobs, record, status)
            else:
                _run_dask(nb, todo, fixed, defaults, client, record, status)
    except KeyboardInterrupt as stop:
        report.interrupted = True
        report.signal = stop.args[0] if isinstance(stop, Stopped) else signal.SIGINT
        _write_manifest(directory, nb, grid, fixed, runs, status)
    finally:
        bar.close()
        if client is not None:
            client.close()
    report.outcomes = [status[r.run_id] for r in runs]
    for o in report.outcomes:
        o.rerun = reruns.get(o.run_id, "")
    return report


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (its number in ``args[0]``), handled as Ctrl-C is."""


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signum)


def _ignore_stop_signals() -> None:
    """During the clean-up after a stop, a second SIGTERM/SIGHUP must not cut it short (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for n in STOP_SIGNALS:
            signal.signal(n, signal.SIG_IGN)


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """In the main thread, SIGTERM and SIGHUP raise :class:`Stopped` while the runs run, so the sweep takes
    Ctrl-C's path; the handlers are put back afterwards. Elsewhere than in the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {n: signal.signal(n, _raise_stopped) for n in STOP_SIGNALS}
    try:
        yield
    finally:
        for n, handler in saved.items():
            signal.signal(n, handler)


def _run_local(nb: Path, todo: Sequence[Run], fixed: Mapping[str, Any], defaults: Mapping[str, Any], jobs: int,
               record: Callable[[Outcome], None], status: dict[str, Outcome]) -> None:
    """Run ``todo`` in a pool of ``jobs`` threads.

    On Ctrl-C (``KeyboardInterrupt``, re-raised) the queued runs are cancelled (``"not run"``) and the
    kernels of the running ones killed, with any process they started (``"interrupted"``); each thread then
    sees its kernel dead and ends.
    """
    kernels: dict[str, int | None] = {}  # run id -> its kernel's pid (None until it started)
    stopping = threading.Event()

    def started(run_id: str, pid: int) -> None:
        kernels[run_id] = pid
        if stopping.is_set():  # the kernel started after the others were killed
            _kill(pid)

    def start(r: Run) -> Outcome:
        if stopping.is_set():  # taken from the queue while the sweep was stopping
            return Outcome(r.run_id, "not run")
        kernels[r.run_id] = None
        return run_one(str(nb), r, fixed, defaults, on_kernel=lambda pid: started(r.run_id, pid))

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sweep") as pool:
        futures = [pool.submit(start, r) for r in todo]
        try:
            for fut in as_completed(futures):
                record(fut.result())
        except KeyboardInterrupt:
            _ignore_stop_signals()
            stopping.set()
            for fut in futures:
                fut.cancel()
            for pid in list(kernels.values()):
                _kill(pid)
            for r in todo:
                status.setdefault(r.run_id, Outcome(r.run_id, "interrupted" if r.run_id in kernels else "not run"))
            raise


def _kill(pid: int | None) -> None:
    """End a kernel (``None``: not started yet) and its children: jupyter_client starts each kernel in a
    session, and so a process group, of its own."""
    if pid is None:
        return
    with contextlib.suppress(OSError):  # already gone
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            os.kill(pid, signal.SIGTERM)


def _dask_client(scheduler: str | None, timeout: float) -> Any:
    """A ``distributed.Client`` on ``scheduler``; one that cannot be reached is a one-line ``ValueError``."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"cannot reach the Dask scheduler {scheduler!r} within {timeout:g} s: {reason[:200]}") from None


def _executing(dask_worker: Any) -> list[Any]:
    """On a Dask worker (``client.run``): the keys of the tasks it is executing now, not those queued."""
    return [ts.key for ts in dask_worker.state.executing]


def _run_dask(nb: Path, todo: Sequence[Run], fixed: Mapping[str, Any], defaults: Mapping[str, Any],
              client: Any, record: Callable[[Outcome], None], status: dict[str, Outcome]) -> None:
    """Run ``todo`` on a Dask scheduler. On Ctrl-C (re-raised) every unfinished run is cancelled. Dask cannot
    stop a task already running on a worker: such a run is ``"left running"``, the others ``"not run"``."""
    import distributed

    futures = {client.submit(run_one, str(nb), r, fixed, defaults, pure=False): r for r in todo}
    try:
        for fut in distributed.as_completed(list(futures)):
            record(fut.result())
    except KeyboardInterrupt:
        _ignore_stop_signals()
        try:
            running = {key for keys in client.run(_executing).values() for key in keys}
        except Exception:  # the scheduler is gone: say nothing stopped that may not have
            running = {fut.key for fut in futures}
        client.cancel(list(futures))
        for fut, r in futures.items():
            status.setdefault(r.run_id, Outcome(r.run_id, "left running" if fut.key in running else "not run"))
        raise


# Collecting and plotting

def _sweep_folder(sweep: str | Path) -> Path:
    folder = Path(sweep)
    return folder if folder.is_dir() else resolve_from_root(SWEEPS_DIR) / str(sweep)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the {what} {path}: {type(err).__name__}: {err}") from None


def collect(sweep: str | Path, explode: str | None = None, all_runs: bool = False):
    """Load a sweep's results into a pandas DataFrame.

    One row per run with columns ``run_id``, each swept parameter, each scalar metric and
    ``runtime_seconds``. With ``explode="sigma_sweep"`` a metric holding a list of records is expanded
    instead: one row per record, its fields as columns.

    Parameters
    ----------
    sweep : str or Path
        A sweep's folder, or its name under ``results/sweeps``.
    explode : str, optional
        A list-of-records metric to expand.
    all_runs : bool
        Every results file in the sweep's folder, also those of earlier sweeps under the same name. By
        default only the runs that the manifest ``sweep.json`` lists as done (``ok`` or ``skipped``).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        If the folder has no manifest, or a results file cannot be read (the message names it).
    """
    import pandas as pd

    folder = _sweep_folder(sweep)
    if not (folder / MANIFEST).is_file():
        raise ValueError(f"{folder} is not a sweep folder (no {MANIFEST})")
    manifest = _read_json(folder / MANIFEST, "sweep manifest")
    swept, stem = list(manifest.get("grid", {})), Path(str(manifest.get("notebook", ""))).stem
    if all_runs:
        files = sorted(folder.glob("*/[0-9][0-9]_*.json"))
    else:
        files = [folder / r["run_id"] / f"{stem}.json" for r in manifest.get("runs", []) if r.get("status") in DONE]
    rows = []
    for res_file in files:
        res = _read_json(res_file, "results file")
        if not isinstance(res, dict) or not isinstance(res.get("metrics"), dict):
            raise ValueError(f"cannot read the results file {res_file}: not a results file")
        base = {"run_id": res_file.parent.name, **{k: res.get("parameters", {}).get(k) for k in swept},
                "runtime_seconds": res.get("runtime_seconds")}
        if explode is None:
            rows.append({**base, **{k: v for k, v in res["metrics"].items()
                                    if isinstance(v, (int, float)) and not isinstance(v, bool)}})
            continue
        records = res["metrics"].get(explode)
        if not isinstance(records, list):
            raise ValueError(f"metric {explode!r} is not a list of records in {res_file}")
        rows.extend({**base, **rec} for rec in records)
    return pd.DataFrame(rows)


def plot_metric(df, x: str, y: str, *, over: str = "seed", ax=None, label: str | None = None, color: str | None = None):
    """Draw ``y`` against ``x``: the mean over ``over`` (e.g. seeds) with a band of ±1 std.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`collect`.
    x, y : str
        Column names.
    over : str
        The column averaged over; the number of its values is shown in the legend.
    ax : matplotlib Axes, optional
    label, color : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    for col in (x, y, over):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not in the sweep's table; columns are: {', '.join(map(str, df.columns))}")
    ax = ax or plt.gca()
    g = df.groupby(x)[y].agg(["mean", "std"]).reset_index().sort_values(x).fillna({"std": 0.0})
    line, = ax.plot(g[x], g["mean"], marker="o", color=color,
                    label=f"{label or y} (mean ± std over {df[over].nunique()} {over}s)")
    ax.fill_between(g[x], g["mean"] - g["std"], g["mean"] + g["std"], color=line.get_color(), alpha=0.2)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def save_figure(sweep: str | Path, x: str, y: str, explode: str | None = None, over: str = "seed") -> Path:
    """Collect a sweep, draw ``y`` against ``x`` with :func:`plot_metric`, save it as PNG in the sweep's
    folder and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import set_theme

    set_theme()
    df = collect(sweep, explode=explode)
    if df.empty:
        raise ValueError(f"no results in sweep {str(sweep)!r} to plot")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    plot_metric(df, x, y, over=over, ax=ax)
    if df[x].min() > 0 and df[x].max() / df[x].min() > 20:
        ax.set_xscale("log")
    ax.legend()
    ax.set_title(f"{y} against {x}")
    out = _sweep_folder(sweep) / f"{y}_vs_{x}.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m nine_utils.course.sweep NOTEBOOK -p NAME V1 V2 ... [options]``.

    Exit status: 0 when every run succeeded, 1 when a run failed (or a figure could not be made), 2 for a
    bad command line, grid, notebook or Dask scheduler (one line, before anything runs), 128 + the signal's
    number after Ctrl-C (130), SIGTERM (143) or SIGHUP (129).
    """
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("notebook", help="path, or name of a notebook in notebooks/")
    add("-p", "--param", nargs="+", action="append", metavar=("NAME", "VALUE"),
        help="a swept parameter and its values (repeatable)")
    add("--grid", help="YAML file mapping parameter names to lists of values")
    add("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="a parameter fixed for every run (repeatable)")
    add("--smoke", action="store_true", help="fix the notebook's smoke parameters for every run")
    add("--name", help="sweep name (default: the notebook's stem)")
    add("--jobs", type=int, default=1, help="parallel runs (local executor)")
    add("--force", action="store_true", help="rerun combinations whose results are valid")
    add("--executor", default="local", choices=EXECUTORS)
    add("--scheduler", help="Dask scheduler address for --executor dask")
    add("--connect-timeout", type=float, default=30.0, help="seconds to wait for the Dask scheduler")
    add("--plot", nargs=2, action="append", default=[], metavar=("X", "Y"),
        help="after the sweep, save a figure of Y against X with bands over seeds (repeatable)")
    add("--explode", help="a list-of-records metric to expand before plotting, e.g. sigma_sweep")
    add("--sweeps-dir", default=SWEEPS_DIR, help=f"parent folder of sweeps (default {SWEEPS_DIR})")
    args = parser.parse_args(argv)
    try:
        nb = resolve_notebook(args.notebook)
        grid = parse_grid(args.param, args.grid)
        fixed: dict[str, Any] = {}
        if args.smoke:
            from .runner import smoke_parameters

            fixed.update({k: v for k, v in smoke_parameters(nb).items() if k not in grid and k != "results_dir"})
        fixed.update({k: parse_value(v) for k, v in args.set})
        report = run_sweep(nb, grid, name=args.name, fixed=fixed, jobs=args.jobs, force=args.force,
                           executor=args.executor, scheduler=args.scheduler, sweeps_dir=args.sweeps_dir,
                           connect_timeout=args.connect_timeout)
    except Exception as exc:  # anything before the runs start: one line, never a traceback
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        kind = "" if isinstance(exc, (ValueError, KeyError)) else f"{type(exc).__name__}: "
        print(f"{parser.prog}: error: {kind}{' '.join(str(text).split())}", file=sys.stderr)
        return 2
    print(report.summary())
    if report.interrupted:
        return 128 + report.signal
    status = 1 if report.failed else 0
    for x, y in args.plot:
        try:
            print(f"figure: {save_figure(report.directory, x, y, explode=args.explode)}")
        except ValueError as exc:
            print(f"{parser.prog}: error: cannot plot {y} against {x}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":  # pragma: no cover - exercised through the tests' subprocess call
    sys.exit(main())
