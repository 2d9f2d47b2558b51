"""The results file of the course's contract, and the summary table printed by ``make run``.

Every notebook's last code cell calls :func:`save_results`, which writes
``<results_dir>/<notebook stem>.json`` holding ``notebook``, ``parameters``, ``metrics``,
``runtime_seconds`` and ``versions``. ``python -m nine_utils.course.results [DIR]`` prints the table.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from collections.abc import Mapping
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


def load_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every results file in ``results_dir`` (not recursive), keyed by notebook stem, in name order."""
    folder = resolve_from_root(results_dir)
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("[0-9][0-9]_*.json"))}


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"[{len(v)} entries]" if isinstance(v, (list, dict)) else str(v)
    if isinstance(v, int):
        return str(v)
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A plain-text table: one block per notebook with its runtime and each headline metric."""
    if not results:
        return "no results files found"
    lines = []
    for stem, res in results.items():
        lines.append(f"{stem}  (runtime {res.get('runtime_seconds', float('nan')):.1f} s)")
        metrics = res.get("metrics", {})
        width = max((len(k) for k in metrics), default=0)
        for k, v in metrics.items():
            lines.append(f"    {k:<{width}}  {_fmt(v)}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - exercised by `make run`
    target = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_RESULTS_DIR
    print(summary_table(load_results(target)))
