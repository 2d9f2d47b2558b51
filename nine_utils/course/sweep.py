"""Papermill reruns at scale: one notebook over a grid of parameters, in parallel, resumable.

Command line (``python -m nine_utils.course.sweep --help``)::

    python -m nine_utils.course.sweep notebooks/03_gaussian_matching.ipynb -p seed 0 1 2 --jobs 2
    python -m nine_utils.course.sweep 01_deep_infomax --grid grid.yaml --name my-sweep
    python -m nine_utils.course.sweep 01_deep_infomax -p seed 0 1 --executor dask --scheduler tcp://host:8786

Every combination runs through papermill into ``results/sweeps/<name>/<run id>/``, which keeps
the executed notebook and the run's results file. A run whose results file exists is skipped
unless ``--force``. A failed run does not stop the others; its executed notebook is kept and the
sweep ends with a list of the failures (exit status 1).

The distributed executor uses Dask (``distributed``): it is pure Python, installs from PyPI in
seconds, starts a local cluster in a test with one call, and a sweep needs only ``submit`` and
``as_completed``. Workers must see the same checkout (a shared file system) and the same
environment.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml
from tqdm.auto import tqdm

from .._checks import check_choice, check_positive_int
from .runner import execute
from .paths import repo_root, resolve_from_root

EXECUTORS = ("local", "dask")
SWEEPS_DIR = "results/sweeps"


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
        The notebook's stem; the results file is ``directory / f"{stem}.json"``.
    """

    run_id: str
    parameters: dict[str, Any]
    directory: Path
    stem: str

    @property
    def results_file(self) -> Path:
        return self.directory / f"{self.stem}.json"

    @property
    def executed_notebook(self) -> Path:
        return self.directory / f"{self.stem}.ipynb"


@dataclass
class Outcome:
    """What happened to one run: ``status`` is ``"ok"``, ``"failed"`` or ``"skipped"``."""

    run_id: str
    status: str
    seconds: float = 0.0
    error: str = ""


@dataclass
class SweepReport:
    """The result of :func:`run_sweep`."""

    name: str
    directory: Path
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("ok", "skipped", "failed")}
        lines = [f"sweep {self.name!r}: {counts['ok']} ran, {counts['skipped']} skipped (results exist), "
                 f"{counts['failed']} failed -> {self.directory}"]
        for o in self.failed:
            lines.append(f"  FAILED {o.run_id}: {o.error}  (executed notebook kept in {self.directory / o.run_id})")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Grid parsing and validation: every error is raised before any run starts
# --------------------------------------------------------------------------------------------

def resolve_notebook(notebook: str | Path) -> Path:
    """A notebook path, or a stem/name looked up in ``<repo>/notebooks``; ``ValueError`` if missing."""
    p = Path(notebook)
    candidates = [p, repo_root() / p, repo_root() / "notebooks" / p, repo_root() / "notebooks" / f"{p.name}.ipynb"]
    for c in candidates:
        if c.is_file() and c.suffix == ".ipynb":
            return c.resolve()
    raise ValueError(f"notebook {str(notebook)!r} not found (tried a path, and a name in notebooks/)")


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_grid(pairs: Sequence[Sequence[str]] | None = None, grid_file: str | Path | None = None) -> dict[str, list[Any]]:
    """Build a grid from ``-p NAME V1 V2 …`` pairs and/or a YAML file mapping names to lists.

    Values on the command line are read as YAML scalars (``0.3`` is a float, ``true`` a bool,
    ``"[1, 2]"`` a list). Raises ``ValueError`` naming the offending entry for a malformed grid.
    """
    grid: dict[str, list[Any]] = {}
    if grid_file is not None:
        path = Path(grid_file)
        if not path.is_file():
            raise ValueError(f"grid file {str(grid_file)!r} not found")
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict):
            raise ValueError(f"grid file {str(grid_file)!r} must map parameter names to lists of values")
        for name, values in data.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid entry {name!r} in {str(grid_file)!r} must be a non-empty list, got {values!r}")
            grid[str(name)] = values
    for pair in pairs or []:
        if len(pair) < 2:
            raise ValueError(f"grid entry {' '.join(pair)!r} needs a name and at least one value: -p NAME V1 [V2 ...]")
        name, *values = pair
        if name in grid:
            raise ValueError(f"grid entry {name!r} is given twice")
        grid[name] = [_parse_value(v) for v in values]
    if not grid:
        raise ValueError("the grid is empty: give -p NAME V1 [V2 ...] or --grid FILE")
    return grid


def validate_grid(notebook: Path, grid: Mapping[str, Sequence[Any]], fixed: Mapping[str, Any] | None = None) -> None:
    """Check every grid and fixed name against the notebook's parameters cell (papermill's
    ``inspect_notebook``); ``results_dir`` is set by the sweep and may not be swept."""
    import papermill as pm

    known = set(pm.inspect_notebook(str(notebook)))
    if not known:
        raise ValueError(f"{notebook.name} has no cell tagged 'parameters'")
    for name in list(grid) + list(fixed or {}):
        if name == "results_dir":
            raise ValueError("results_dir is set by the sweep (one folder per run) and cannot be swept")
        if name not in known:
            raise ValueError(f"unknown parameter {name!r} for {notebook.name}; its parameters are: "
                             f"{', '.join(sorted(known))}")


def run_id(parameters: Mapping[str, Any]) -> str:
    """A folder name for a combination, e.g. ``"seed=0,sigma=0.3"`` (unsafe characters become ``_``)."""
    text = ",".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in parameters.items())
    return re.sub(r"[^A-Za-z0-9=.,_+-]", "_", text)


def plan(notebook: Path, grid: Mapping[str, Sequence[Any]], directory: Path) -> list[Run]:
    """Every combination of the grid (the first name varies slowest), as :class:`Run` objects."""
    names = list(grid)
    runs = []
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values))
        rid = run_id(params)
        runs.append(Run(rid, params, directory / rid, notebook.stem))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("two grid combinations map to the same run folder; make the values distinct")
    return runs


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

def run_one(notebook: str, run: Run, fixed: Mapping[str, Any]) -> Outcome:
    """Execute one run with papermill (in whatever process calls it); never raises."""
    start = time.perf_counter()
    run.directory.mkdir(parents=True, exist_ok=True)
    params = {**fixed, **run.parameters, "results_dir": str(run.directory)}
    try:
        execute(notebook, run.executed_notebook, params, cwd=run.directory)
        if not run.results_file.is_file():
            raise RuntimeError(f"the notebook finished without writing {run.results_file.name}")
        return Outcome(run.run_id, "ok", time.perf_counter() - start)
    except Exception as exc:  # a failed run must not stop the sweep
        message = str(exc).strip().splitlines()
        last = next((line for line in reversed(message) if line.strip()), type(exc).__name__)
        (run.directory / "error.txt").write_text("".join(traceback.format_exception(exc)))
        return Outcome(run.run_id, "failed", time.perf_counter() - start, f"{type(exc).__name__}: {last[:300]}")


def run_sweep(notebook: str | Path, grid: Mapping[str, Sequence[Any]], *, name: str | None = None,
              fixed: Mapping[str, Any] | None = None, jobs: int = 1, force: bool = False,
              executor: str = "local", scheduler: str | None = None, sweeps_dir: str | Path = SWEEPS_DIR,
              progress: bool = True) -> SweepReport:
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
        Parallel runs for the local executor (worker processes), ``>= 1``.
    force : bool
        Rerun combinations whose results file exists.
    executor : str
        ``"local"`` (process pool) or ``"dask"`` (a ``distributed`` scheduler).
    scheduler : str, optional
        The Dask scheduler address, e.g. ``"tcp://host:8786"``; required with ``"dask"``.
    sweeps_dir : str or Path
        Parent folder of sweeps; relative paths are taken from the repository root.
    progress : bool
        Show a progress bar.

    Returns
    -------
    SweepReport
    """
    check_choice("executor", executor, EXECUTORS)
    check_positive_int("jobs", jobs)
    if executor == "dask" and not scheduler:
        raise ValueError("the dask executor needs --scheduler, e.g. tcp://127.0.0.1:8786")
    nb = resolve_notebook(notebook)
    fixed = dict(fixed or {})
    validate_grid(nb, grid, fixed)
    sweep_name = name or nb.stem
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", sweep_name):
        raise ValueError(f"sweep name {sweep_name!r} may hold only letters, digits, '.', '_' and '-'")
    directory = resolve_from_root(sweeps_dir) / sweep_name
    runs = plan(nb, grid, directory)

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sweep.json").write_text(json.dumps(
        {"notebook": str(nb), "grid": dict(grid), "fixed": fixed, "runs": [r.run_id for r in runs]}, indent=2))
    report = SweepReport(sweep_name, directory)
    todo = []
    for r in runs:
        if r.results_file.is_file() and not force:
            report.outcomes.append(Outcome(r.run_id, "skipped"))
        else:
            todo.append(r)

    bar = tqdm(total=len(todo), desc=f"sweep {sweep_name}", disable=not progress or not todo)
    if executor == "local":
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_one, str(nb), r, fixed) for r in todo]
            for fut in as_completed(futures):
                report.outcomes.append(fut.result())
                bar.update()
    else:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler, timeout="30s") as client:
            futures = [client.submit(run_one, str(nb), r, fixed, pure=False) for r in todo]
            for fut in dask_completed(futures):
                report.outcomes.append(fut.result())
                bar.update()
    bar.close()
    order = {r.run_id: i for i, r in enumerate(runs)}
    report.outcomes.sort(key=lambda o: order[o.run_id])
    return report


# --------------------------------------------------------------------------------------------
# Collecting and plotting
# --------------------------------------------------------------------------------------------

def collect(sweep: str | Path, explode: str | None = None):
    """Load every results file of a sweep into a pandas DataFrame.

    One row per run with columns ``run_id``, each swept or fixed parameter (prefixed by nothing),
    each scalar metric, and ``runtime_seconds``. With ``explode="sigma_sweep"`` a metric holding
    a list of records is expanded instead: one row per record, its fields as columns.

    Parameters
    ----------
    sweep : str or Path
        A sweep's folder, or its name under ``results/sweeps``.
    explode : str, optional
        A list-of-records metric to expand.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    folder = Path(sweep)
    if not folder.is_dir():
        folder = resolve_from_root(SWEEPS_DIR) / str(sweep)
    manifest = folder / "sweep.json"
    if not manifest.is_file():
        raise ValueError(f"{folder} is not a sweep folder (no sweep.json)")
    swept = list(json.loads(manifest.read_text())["grid"])
    rows = []
    for res_file in sorted(folder.glob("*/[0-9][0-9]_*.json")):
        res = json.loads(res_file.read_text())
        base = {"run_id": res_file.parent.name, **{k: res["parameters"].get(k) for k in swept},
                "runtime_seconds": res["runtime_seconds"]}
        scalars = {k: v for k, v in res["metrics"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if explode is None:
            rows.append({**base, **scalars})
        else:
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
    g = df.groupby(x)[y].agg(["mean", "std", "count"]).reset_index().sort_values(x)
    g["std"] = g["std"].fillna(0.0)
    n = df[over].nunique()
    line, = ax.plot(g[x], g["mean"], marker="o", color=color, label=f"{label or y} (mean ± std over {n} {over}s)")
    ax.fill_between(g[x], g["mean"] - g["std"], g["mean"] + g["std"], color=line.get_color(), alpha=0.2)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def save_figure(sweep: str | Path, x: str, y: str, explode: str | None = None, over: str = "seed") -> Path:
    """Collect a sweep, draw ``y`` against ``x`` with :func:`plot_metric`, save it as PNG in the
    sweep's folder and return the path."""
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
    folder = Path(sweep) if Path(sweep).is_dir() else resolve_from_root(SWEEPS_DIR) / str(sweep)
    out = folder / f"{y}_vs_{x}.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", help="path, or name of a notebook in notebooks/")
    parser.add_argument("-p", "--param", nargs="+", action="append", metavar=("NAME", "VALUE"),
                        help="a swept parameter and its values (repeatable)")
    parser.add_argument("--grid", help="YAML file mapping parameter names to lists of values")
    parser.add_argument("--set", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter fixed for every run (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="fix the notebook's smoke parameters for every run")
    parser.add_argument("--name", help="sweep name (default: the notebook's stem)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel runs (local executor)")
    parser.add_argument("--force", action="store_true", help="rerun combinations whose results exist")
    parser.add_argument("--executor", default="local", choices=EXECUTORS)
    parser.add_argument("--scheduler", help="Dask scheduler address for --executor dask")
    parser.add_argument("--plot", nargs=2, action="append", default=[], metavar=("X", "Y"),
                        help="after the sweep, save a figure of Y against X with bands over seeds (repeatable)")
    parser.add_argument("--explode", help="a list-of-records metric to expand before plotting, e.g. sigma_sweep")
    parser.add_argument("--sweeps-dir", default=SWEEPS_DIR, help=f"parent folder of sweeps (default {SWEEPS_DIR})")
    args = parser.parse_args(argv)
    try:
        nb = resolve_notebook(args.notebook)
        grid = parse_grid(args.param, args.grid)
        fixed: dict[str, Any] = {}
        if args.smoke:
            from .runner import smoke_parameters

            fixed.update({k: v for k, v in smoke_parameters(nb).items() if k not in grid})
        fixed.update({k: _parse_value(v) for k, v in args.set})
        report = run_sweep(nb, grid, name=args.name, fixed=fixed, jobs=args.jobs, force=args.force,
                           executor=args.executor, scheduler=args.scheduler, sweeps_dir=args.sweeps_dir)
    except ValueError as exc:
        parser.error(str(exc))
    print(report.summary())
    for x, y in args.plot:
        print(f"figure: {save_figure(report.directory, x, y, explode=args.explode)}")
    return 1 if report.failed else 0


if __name__ == "__main__":  # pragma: no cover - exercised through the tests' subprocess call
    sys.exit(_main())
