"""Papermill reruns at scale: one notebook over a grid of parameters, in parallel, resumable.

    python -m nine_utils.course.sweep 03_gaussian_matching -p seed 0 1 2 -p sigma 0.1 0.3 --jobs 2
    python -m nine_utils.course.sweep 01_deep_infomax --grid grid.yaml --smoke --name quick
    python -m nine_utils.course.sweep 01_deep_infomax -p seed 0 1 --executor dask --scheduler tcp://host:8786

Runs go to results/sweeps/<name>/<param=value,...>/. A run is skipped (unless --force) only when its results
file records the parameters asked for now (the notebook's defaults for the rest) and the code's hash now.
Exit status: 1 when a run failed (its notebook and error.txt are kept), 2 for bad input (one line, before any
run), 128 + the signal's number after Ctrl-C, SIGTERM or SIGHUP (the running kernels are killed).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from .._checks import check_choice, check_positive_int
from .paths import repo_root, resolve_from_root
from .results import source_hash
from .runner import NO_DEFAULT, execute, notebook_defaults, smoke_parameters

SWEEPS_DIR = "results/sweeps"
MANIFEST = "sweep.json"
MAX_RUN_ID = 120
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@dataclasses.dataclass
class Run:
    """One combination and its outcome: ``status`` is ``pending``, ``ok``, ``skipped``, ``failed``, ``interrupted``,
    ``left running`` (on a Dask worker) or ``not run``; ``rerun`` says why existing results were not reused."""

    run_id: str
    parameters: dict[str, Any]
    directory: Path
    stem: str
    status: str = "pending"
    error: str = ""
    rerun: str = ""

    @property
    def results_file(self) -> Path:
        return self.directory / f"{self.stem}.json"


@dataclasses.dataclass
class SweepReport:
    """The result of :func:`run_sweep`; ``interrupted`` by Ctrl-C or by ``signal`` (SIGTERM, SIGHUP)."""

    name: str
    directory: Path
    outcomes: list[Run]
    interrupted: bool = False
    signal: int = signal.SIGINT

    @property
    def failed(self) -> list[Run]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        """The counts, then one line per rerun and per failure."""
        n = [o.status for o in self.outcomes].count
        head = f"sweep {self.name!r}: {n('ok')} ran, {n('skipped')} skipped (valid results exist), {n('failed')} failed"
        if self.interrupted:
            head += f"; INTERRUPTED: {n('interrupted')} stopped while running, {n('not run')} not run"
            if n("left running"):
                head += f", {n('left running')} left running on Dask workers (their results may still appear)"
            head += f" ({signal.Signals(self.signal).name})" if self.signal != signal.SIGINT else ""
        return "\n".join([f"{head} -> {self.directory}"]
                         + [f"  rerun {o.run_id}: {o.rerun}" for o in self.outcomes
                            if o.rerun and o.status != "not run"]
                         + [f"  FAILED {o.run_id}: {o.error}  (executed notebook kept in {o.directory})"
                            for o in self.failed])


def resolve_notebook(notebook: str | Path) -> Path:
    """A notebook path, or a stem/name looked up in ``<repo>/notebooks``; ``ValueError`` if missing."""
    p, nbs = Path(notebook), repo_root() / "notebooks"
    for c in (p, repo_root() / p, nbs / p, nbs / f"{p.name}.ipynb"):
        if c.is_file() and c.suffix == ".ipynb":
            return c.resolve()
    raise ValueError(f"notebook {str(notebook)!r} not found (tried a path, and a name in notebooks/)")


def parse_value(text: str) -> Any:
    """A command-line value, read as papermill reads ``-p NAME VALUE`` (``papermill.cli._resolve_type``: ``010``
    is 10, ``off`` a string); a value in brackets, ``[2, 4]`` or ``{"a": 1}``, is a Python literal."""
    from papermill.cli import _resolve_type

    if text[:1] in "[{" and text[-1:] in "]}":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(f"cannot read {text!r} as a Python list or dict") from None
    return _resolve_type(text)


def parse_grid(pairs: Sequence[Sequence[str]] | None = None,
               grid_file: str | Path | None = None) -> dict[str, list[Any]]:
    """A grid from ``-p NAME V1 V2 …`` pairs (read by :func:`parse_value`) and/or a YAML file mapping names to
    lists; ``ValueError`` naming the offending entry, or the file, line and column."""
    grid: dict[str, list[Any]] = {}
    if grid_file is not None and not Path(grid_file).is_file():
        raise ValueError(f"grid file {str(grid_file)!r} not found")
    try:
        data = {} if grid_file is None else yaml.safe_load(Path(grid_file).read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{grid_file}:{mark.line + 1}:{mark.column + 1}" if mark else str(grid_file)
        text = getattr(err, "problem", None) or getattr(err, "context", None) or err
        raise ValueError(f"{where}: YAML syntax error: {' '.join(str(text).split())}") from None
    if not isinstance(data, dict):
        raise ValueError(f"grid file {str(grid_file)!r} must map parameter names to lists of values")
    for name, values in data.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid entry {name!r} in {str(grid_file)!r} must be a non-empty list, got {values!r}")
        # YAML 1.1 reads a float without a dot (1e-3) as a string; a date is refused (no results file holds it)
        grid[str(name)] = [float(v) if isinstance(v, str) and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+", v)
                           else v for v in values]
        for v in grid[str(name)]:
            try:
                json.dumps(v, allow_nan=False)
            except (TypeError, ValueError):
                raise ValueError(f"grid value {v!r} of {name!r} is a {type(v).__name__}, which a results file "
                                 "cannot hold; quote it to pass a string") from None
    for pair in pairs or []:
        if len(pair) < 2 or pair[0] in grid:
            raise ValueError(f"grid entry {pair[0]!r} is given twice" if len(pair) > 1 else
                             f"grid entry {' '.join(pair)!r} needs a name and at least one value: -p NAME V1 [V2 ...]")
        grid[pair[0]] = [parse_value(v) for v in pair[1:]]
    if not grid:
        raise ValueError("the grid is empty: give -p NAME V1 [V2 ...] or --grid FILE")
    return grid


def run_id(parameters: Mapping[str, Any]) -> str:
    """A folder name, e.g. ``"seed=0,sigma=0.3"``: unsafe characters become ``_``, and a name over
    :data:`MAX_RUN_ID` characters (a long list) is cut and ends in a hash of the whole."""
    text = ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in parameters.items())
    text = re.sub(r"[^A-Za-z0-9=.,_+-]", "_", text)
    if len(text) > MAX_RUN_ID:
        text = f"{text[:MAX_RUN_ID - 17]}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return text


def stale_reason(results_file: Path, requested: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
                 source: str | None = None) -> str:
    """Why ``results_file`` is not the result of a run with ``requested`` parameters (``""`` if it is): it must
    record each, the notebook's ``defaults`` for the others it records, and ``source`` (the code's hash)."""
    try:
        data = json.loads(results_file.read_text())
    except FileNotFoundError:
        return "no results file"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"its results file cannot be read ({type(err).__name__}: {err})"
    recorded = data.get("parameters") if isinstance(data, dict) else None
    if not isinstance(recorded, dict) or not isinstance(data.get("metrics"), dict):
        return "its results file is not a results file (no parameters or metrics)"
    if source is not None and data.get("source_sha256") != source:
        return ("the notebook's code changed since it ran" if data.get("source_sha256")
                else "its results file does not record the hash of the notebook's code")
    want = {**requested, **{k: v for k, v in (defaults or {}).items() if k not in requested and k in recorded}}
    want = {k: v for k, v in want.items() if k != "results_dir" and v is not NO_DEFAULT}
    for name, value in json.loads(json.dumps(want, default=repr)).items():  # as JSON: a tuple is a list, 1 is 1.0
        if name not in recorded:
            return f"its results file does not record {name}"
        if recorded[name] != value:
            return f"it records {name}={recorded[name]!r}, not {'' if name in requested else 'the default '}{value!r}"
    return ""


def run_one(notebook: str, run: Run, fixed: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
            on_kernel: Callable[[int], None] | None = None) -> Run:
    """Execute one run with papermill (``on_kernel`` gets the kernel's pid) and return it with its status; never
    raises. It succeeds only if it writes results that record its parameters (:func:`stale_reason`). The kernel's
    own messages go to the run's ``kernel.log``, not into the sweep's output, where runs in parallel would mix."""
    error_file, parameters = run.directory / "error.txt", {**fixed, **run.parameters}
    try:
        run.directory.mkdir(parents=True, exist_ok=True)
        run.results_file.unlink(missing_ok=True)  # a failed run leaves no stale results beside its error
        error_file.unlink(missing_ok=True)
        (run.directory / "kernel.log").unlink(missing_ok=True)
        execute(notebook, run.directory / f"{run.stem}.ipynb", {**parameters, "results_dir": str(run.directory)},
                cwd=run.directory, on_kernel=on_kernel, kernel_log=run.directory / "kernel.log")
        if not run.results_file.is_file():
            raise RuntimeError(f"the notebook finished without writing {run.results_file.name}")
        if reason := stale_reason(run.results_file, parameters, defaults, source_hash(notebook)):
            raise RuntimeError(f"the run's results do not match its parameters: {reason}")
        return dataclasses.replace(run, status="ok")
    except Exception as exc:  # a failed run must not stop the sweep
        last = next((ln for ln in reversed(str(exc).strip().splitlines()) if ln.strip()), type(exc).__name__)
        with contextlib.suppress(OSError):
            run.results_file.unlink(missing_ok=True)
            error_file.write_text("".join(traceback.format_exception(exc)))
        return dataclasses.replace(run, status="failed", error=f"{type(exc).__name__}: {last[:300]}")


def run_sweep(notebook: str | Path, grid: Mapping[str, Sequence[Any]], *, name: str | None = None,
              fixed: Mapping[str, Any] | None = None, jobs: int = 1, force: bool = False,
              executor: str = "local", scheduler: str | None = None, sweeps_dir: str | Path = SWEEPS_DIR,
              progress: bool = True, connect_timeout: float = 30.0) -> SweepReport:
    """Run ``notebook`` (a path or a name in ``notebooks/``) once per combination of ``grid`` (name -> values).

    The runs go to ``sweeps_dir / name`` (default name: the notebook's stem), with the ``fixed`` parameters;
    ``force`` reruns those with valid results. ``jobs`` threads each drive a kernel (``executor="local"``), or
    the runs go to the Dask ``scheduler`` (``executor="dask"``, reached within ``connect_timeout`` seconds).
    The report is ``interrupted`` when Ctrl-C, SIGTERM or SIGHUP stopped the sweep.
    """
    check_choice("executor", executor, ("local", "dask"))
    check_positive_int("jobs", jobs)
    if executor == "dask" and not scheduler:
        raise ValueError("the dask executor needs --scheduler, e.g. tcp://127.0.0.1:8786")
    nb, fixed = resolve_notebook(notebook), dict(fixed or {})
    if not (defaults := notebook_defaults(nb)):
        raise ValueError(f"{nb.name} has no cell tagged 'parameters'")
    for key in [*grid, *fixed]:
        if key == "results_dir":
            raise ValueError("results_dir is set by the sweep (one folder per run) and cannot be swept")
        if key not in defaults:
            raise ValueError(f"unknown parameter {key!r} for {nb.name}; its parameters are: "
                             f"{', '.join(sorted(defaults))}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", sweep_name := name or nb.stem):
        raise ValueError(f"sweep name {sweep_name!r} may hold only letters, digits, '.', '_' and '-'")
    directory = resolve_from_root(sweeps_dir) / sweep_name
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]  # the first name slowest
    runs = [Run(run_id(p), p, directory / run_id(p), nb.stem) for p in combos]
    if len({r.run_id for r in runs}) != len(runs):
        raise ValueError("two grid combinations map to the same run folder; make the values distinct")
    client = None
    if executor == "dask":
        from distributed import Client

        try:
            client = Client(scheduler, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError, ValueError) as err:
            raise ValueError(f"cannot reach the Dask scheduler {scheduler!r} within {connect_timeout:g} s: "
                             f"{(' '.join(str(err).split()) or type(err).__name__)[:200]}") from None

    directory.mkdir(parents=True, exist_ok=True)
    done, source = {}, source_hash(nb)
    for r in runs:
        if not (reason := stale_reason(r.results_file, {**fixed, **r.parameters}, defaults, source)) and not force:
            done[r.run_id] = dataclasses.replace(r, status="skipped")
        elif r.results_file.exists():
            r.rerun = reason or "--force"
    todo = [r for r in runs if r.run_id not in done]

    def save(outcome: Run | None = None) -> None:
        if outcome is not None:
            done[outcome.run_id] = outcome
            bar.update()
        listed = [{"run_id": r.run_id, "parameters": r.parameters, "status": done.get(r.run_id, r).status}
                  for r in runs]
        tmp = directory / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps({"notebook": str(nb), "grid": dict(grid), "fixed": fixed, "runs": listed}, indent=2))
        tmp.replace(directory / MANIFEST)  # never a half-written manifest

    bar = tqdm(total=len(todo), desc=f"sweep {sweep_name}", disable=not progress or not todo)
    report = SweepReport(sweep_name, directory, [])
    save()
    try:
        with _signals_as_interrupt():
            _run_all(nb, todo, fixed, defaults, jobs, client, save, done)
    except KeyboardInterrupt as stop:
        report.interrupted, report.signal = True, stop.args[0] if isinstance(stop, Stopped) else signal.SIGINT
        save()
    finally:
        bar.close()
        if client is not None:
            client.close()
    report.outcomes = [done[r.run_id] for r in runs]
    return report


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (its number in ``args[0]``), handled as Ctrl-C is."""


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """In the main thread, SIGTERM and SIGHUP raise :class:`Stopped` inside, so the sweep takes Ctrl-C's path."""
    in_main = threading.current_thread() is threading.main_thread()
    saved = {n: signal.signal(n, _raise_stopped) for n in STOP_SIGNALS} if in_main else {}
    try:
        yield
    finally:
        for n, old in saved.items():
            signal.signal(n, old)


def _run_all(nb: Path, todo: list[Run], fixed: dict[str, Any], defaults: dict[str, Any], jobs: int, client: Any,
             record: Callable[[Run], None], done: dict[str, Run]) -> None:
    """Run ``todo`` in ``jobs`` threads or on Dask's ``client``, ``record`` each outcome. On Ctrl-C (re-raised) the
    queued runs are cancelled, the running kernels killed; Dask cannot stop a task on a worker: "left running"."""
    kernels: dict[str, int | None] = {}  # run id -> its kernel's pid (None until it started)
    stopping = threading.Event()

    def started(rid: str, pid: int) -> None:
        kernels[rid] = pid
        if stopping.is_set():  # the kernel started after the others were killed
            _kill(pid)

    def local(r: Run) -> Run:
        if stopping.is_set():  # taken from the queue while the sweep was stopping
            return dataclasses.replace(r, status="not run")
        kernels[r.run_id] = None
        return run_one(str(nb), r, fixed, defaults, on_kernel=lambda pid: started(r.run_id, pid))

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sweep") as pool:
        if client is None:
            futures, wait = {pool.submit(local, r): r for r in todo}, as_completed
        else:
            import distributed

            futures = {client.submit(run_one, str(nb), r, fixed, defaults, pure=False): r for r in todo}
            wait = distributed.as_completed
        try:
            for fut in wait(list(futures)):
                record(fut.result())
        except KeyboardInterrupt:
            if threading.current_thread() is threading.main_thread():  # a second SIGTERM must not cut it short
                for n in STOP_SIGNALS:
                    signal.signal(n, signal.SIG_IGN)
            stopping.set()
            running, stopped = set(kernels), "interrupted"
            if client is not None:
                try:  # the tasks the workers are executing now, not those queued
                    keys = {k for ks in client.run(lambda dask_worker: [t.key for t in dask_worker.state.executing])
                            .values() for k in ks}
                except Exception:  # the scheduler is gone: say nothing stopped that may not have
                    keys = {fut.key for fut in futures}
                running, stopped = {r.run_id for fut, r in futures.items() if fut.key in keys}, "left running"
            for fut, r in futures.items():
                fut.cancel()
                done.setdefault(r.run_id, dataclasses.replace(
                    r, status=stopped if r.run_id in running else "not run"))
            for pid in list(kernels.values()):
                _kill(pid)
            raise


def _kill(pid: int | None) -> None:
    """End a kernel (``None``: not started yet) and its children: jupyter_client starts each in its own session."""
    if pid is not None:
        with contextlib.suppress(OSError):  # already gone
            os.killpg(pid, signal.SIGKILL) if hasattr(os, "killpg") else os.kill(pid, signal.SIGTERM)  # or Windows


def _sweep_folder(sweep: str | Path) -> Path:
    return Path(sweep) if Path(sweep).is_dir() else resolve_from_root(SWEEPS_DIR) / str(sweep)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the {what} {path}: {type(err).__name__}: {err}") from None


def collect(sweep: str | Path, explode: str | None = None, all_runs: bool = False):
    """A sweep's results (``sweep``: its folder, or its name under ``results/sweeps``) as a pandas DataFrame.

    One row per run: ``run_id``, the swept parameters, ``runtime_seconds`` and the scalar metrics; with
    ``explode="sigma_sweep"`` one row per record of that list-of-records metric, its fields as columns. Only the
    runs the manifest lists as ``ok`` or ``skipped``, unless ``all_runs`` (every results file in the folder).
    ``ValueError`` if the folder has no manifest, or a results file cannot be read (the message names it).
    """
    import pandas as pd

    folder = _sweep_folder(sweep)
    if not (folder / MANIFEST).is_file():
        raise ValueError(f"{folder} is not a sweep folder (no {MANIFEST})")
    manifest = _read_json(folder / MANIFEST, "sweep manifest")
    stem, rows = Path(str(manifest.get("notebook", ""))).stem, []
    files = sorted(folder.glob("*/[0-9][0-9]_*.json")) if all_runs else [
        folder / r["run_id"] / f"{stem}.json" for r in manifest.get("runs", []) if r.get("status") in ("ok", "skipped")]
    for path in files:
        if not isinstance(res := _read_json(path, "results file"), dict) or not isinstance(res.get("metrics"), dict):
            raise ValueError(f"cannot read the results file {path}: not a results file")
        row = {"run_id": path.parent.name, **{k: res.get("parameters", {}).get(k) for k in manifest.get("grid", {})},
               "runtime_seconds": res.get("runtime_seconds")}
        if explode is None:
            rows.append({**row, **{k: v for k, v in res["metrics"].items() if type(v) in (int, float)}})
        elif isinstance(records := res["metrics"].get(explode), list):
            rows.extend({**row, **rec} for rec in records)
        else:
            raise ValueError(f"metric {explode!r} is not a list of records in {path}")
    return pd.DataFrame(rows)


def plot_metric(df, x: str, y: str, *, over: str = "seed", ax=None, label: str | None = None,
                color: str | None = None):
    """Draw column ``y`` of ``df`` (from :func:`collect`) against ``x`` on ``ax``: the mean over ``over`` (e.g.
    seeds, their number in the legend) with a band of ±1 std. Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    for col in (x, y, over):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not in the sweep's table; columns are: {', '.join(map(str, df.columns))}")
    ax = ax or plt.gca()
    g = df.groupby(x)[y].agg(["mean", "std"]).reset_index().sort_values(x).fillna({"std": 0.0})
    line, = ax.plot(g[x], g["mean"], marker="o", color=color,
                    label=f"{label or y} (mean ± std over {df[over].nunique()} {over}s)")
    ax.fill_between(g[x], g["mean"] - g["std"], g["mean"] + g["std"], color=line.get_color(), alpha=0.2)
    ax.set(xlabel=x, ylabel=y)
    return ax


def save_figure(sweep: str | Path, x: str, y: str, explode: str | None = None, over: str = "seed") -> Path:
    """Collect a sweep, draw ``y`` against ``x`` (:func:`plot_metric`), save it as PNG in its folder; the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import set_theme

    set_theme()
    if (df := collect(sweep, explode=explode)).empty:
        raise ValueError(f"no results in sweep {str(sweep)!r} to plot")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    plot_metric(df, x, y, over=over, ax=ax)
    if df[x].min() > 0 and df[x].max() / df[x].min() > 20:
        ax.set_xscale("log")
    ax.legend()
    ax.set_title(f"{y} against {x}")
    fig.savefig(out := _sweep_folder(sweep) / f"{y}_vs_{x}.png", dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """The command line (``--help``)."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("notebook", help="path, or name of a notebook in notebooks/")
    add("-p", "--param", nargs="+", action="append", metavar=("NAME", "VALUE"), help="a swept parameter, its values")
    add("--grid", help="YAML file mapping parameter names to lists of values")
    add("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="a parameter fixed for all runs")
    add("--smoke", action="store_true", help="fix the notebook's smoke parameters for every run")
    add("--name", help="sweep name (default: the notebook's stem)")
    add("--jobs", type=int, default=1, help="parallel runs (local executor)")
    add("--force", action="store_true", help="rerun combinations whose results are valid")
    add("--executor", default="local", choices=("local", "dask"))
    add("--scheduler", help="Dask scheduler address for --executor dask")
    add("--connect-timeout", type=float, default=30.0, help="seconds to wait for the Dask scheduler")
    add("--plot", nargs=2, action="append", default=[], metavar=("X", "Y"),
        help="after the sweep, save a figure of Y against X with bands over seeds")
    add("--explode", help="a list-of-records metric to expand before plotting, e.g. sigma_sweep")
    add("--sweeps-dir", default=SWEEPS_DIR, help=f"parent folder of sweeps (default {SWEEPS_DIR})")
    args = parser.parse_args(argv)
    try:
        nb = resolve_notebook(args.notebook)
        grid = parse_grid(args.param, args.grid)
        smoke = smoke_parameters(nb) if args.smoke else {}
        fixed = {**{k: v for k, v in smoke.items() if k not in grid and k != "results_dir"},
                 **{k: parse_value(v) for k, v in args.set}}
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
