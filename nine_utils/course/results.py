"""The results file of the course's contract, and the summary table printed by ``make run``.

Every notebook's last code cell calls :func:`save_results`, which writes
``<results_dir>/<notebook stem>.json`` holding ``notebook``, ``parameters``, ``metrics``,
``runtime_seconds`` and ``versions``. ``python -m nine_utils.course.results [DIR]`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .paths import resolve_from_root

DEFAULT_RESULTS_DIR = "results"
_VERSIONED = ("nine-utils", "torch", "numpy", "scipy", "scikit-learn", "matplotlib", "seaborn", "papermill")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a results file: {obj!r}")


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the main packages."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def results_path(notebook: str, results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Path:
    """``<results_dir>/<notebook stem>.json``, a relative ``results_dir`` taken from the repo root."""
    return resolve_from_root(results_dir) / f"{Path(notebook).stem}.json"


def save_results(notebook: str, parameters: Mapping[str, Any], metrics: Mapping[str, Any],
                 runtime_seconds: float, results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Path:
    """Write a notebook's results file and return its path.

    Parameters
    ----------
    notebook : str
        The notebook's file name or stem, e.g. ``"01_deep_infomax"``.
    parameters : mapping
        Every parameter of the run (the parameters cell's values).
    metrics : mapping
        The headline numbers, under the key names the notebook's issue gives. Floats must be
        finite.
    runtime_seconds : float
        Wall time of the notebook run.
    results_dir : str or Path
        Folder of the file; a relative path is resolved from the repository root.

    Returns
    -------
    Path
        The file written.
    """
    payload = {
        "notebook": Path(notebook).stem,
        "parameters": _jsonable(dict(parameters)),
        "metrics": _jsonable(dict(metrics)),
        "runtime_seconds": float(runtime_seconds),
        "versions": versions(),
    }
    path = results_path(notebook, results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    return path


def read_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> tuple[dict[str, dict[str, Any]], dict[Path, str]]:
    """Every readable results file in ``results_dir`` (not recursive), and what is wrong with the others.

    Parameters
    ----------
    results_dir : str or Path
        The folder; a relative path is taken from the repository root.

    Returns
    -------
    results : dict
        Notebook stem -> the file's content, in name order.
    unreadable : dict
        Path -> reason, for each file that is not valid JSON or not a results file.

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` is not a folder (the message names it).
    """
    folder = resolve_from_root(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"no results folder {folder}")
    results: dict[str, dict[str, Any]] = {}
    unreadable: dict[Path, str] = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            unreadable[path] = f"{type(err).__name__}: {err}"
            continue
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            unreadable[path] = "not a results file (no 'metrics' mapping)"
            continue
        results[path.stem] = data
    return results, unreadable


def load_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every results file in ``results_dir`` (not recursive), keyed by notebook stem, in name order.

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` is not a folder.
    ValueError
        If a file is not a readable results file (the message names it); :func:`read_results`
        skips such files instead.
    """
    results, unreadable = read_results(results_dir)
    if unreadable:
        path, reason = next(iter(unreadable.items()))
        raise ValueError(f"cannot read the results file {path}: {reason}")
    return results


def is_smoke(result: Mapping[str, Any], notebooks: str | Path | None = None) -> bool:
    """Whether a results file comes from a smoke run: its parameters hold every value of the
    notebook's ``metadata["nine"]["smoke_parameters"]``.

    Parameters
    ----------
    result : mapping
        A results file's content.
    notebooks : path, optional
        The folder of the course notebooks (default ``<repository>/notebooks``).
    """
    folder = Path(notebooks) if notebooks is not None else resolve_from_root("notebooks")
    path = folder / f"{result.get('notebook', '')}.ipynb"
    if not path.is_file():
        return False
    try:
        smoke = json.loads(path.read_text()).get("metadata", {}).get("nine", {}).get("smoke_parameters", {})
    except (OSError, json.JSONDecodeError):
        return False
    recorded = result.get("parameters", {})
    return bool(smoke) and all(k in recorded and recorded[k] == v for k, v in smoke.items() if k != "results_dir")


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"[{len(v)} entries]" if isinstance(v, (list, dict)) else str(v)
    if isinstance(v, int):
        return str(v)
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def summary_table(results: Mapping[str, Mapping[str, Any]], smoke: Iterable[str] = ()) -> str:
    """A plain-text table: one block per notebook with its runtime and each headline metric.

    Parameters
    ----------
    results : mapping
        Notebook stem -> results file content (:func:`read_results`).
    smoke : iterable of str
        The stems whose numbers come from a smoke run; their blocks say so.
    """
    if not results:
        return "no results files found"
    smoke = set(smoke)
    lines = []
    for stem, res in results.items():
        mark = "  SMOKE RUN: small parameters, not the course's numbers" if stem in smoke else ""
        lines.append(f"{stem}  (runtime {res.get('runtime_seconds', float('nan')):.1f} s){mark}")
        metrics = res.get("metrics", {})
        width = max((len(k) for k in metrics), default=0)
        for k, v in metrics.items():
            lines.append(f"    {k:<{width}}  {_fmt(v)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m nine_utils.course.results [DIR]``: print the table of the results files in ``DIR``.

    An unreadable file is named on stderr and skipped. The exit status is 0 when at least one
    file was read, 1 when none was, 2 when ``DIR`` is not a folder.
    """
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.results",
                                     description="Print the headline metrics of every results file in DIR.")
    parser.add_argument("results_dir", nargs="?", default=DEFAULT_RESULTS_DIR, metavar="DIR",
                        help="folder of the results files, relative to the repository root "
                             f"(default {DEFAULT_RESULTS_DIR})")
    args = parser.parse_args(argv)
    try:
        results, unreadable = read_results(args.results_dir)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path, reason in unreadable.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not results:
        print(f"no readable results files in {resolve_from_root(args.results_dir)}", file=sys.stderr)
        return 1
    print(summary_table(results, smoke=[stem for stem, res in results.items() if is_smoke(res)]))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by `make run` and the tests' subprocess calls
    sys.exit(main())
