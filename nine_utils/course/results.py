"""The results file of the course's contract, and the summary table printed by ``make run``.

Every notebook's last code cell calls :func:`save_results`, which writes
``<results_dir>/<notebook stem>.json`` holding ``notebook``, ``parameters``, ``metrics``,
``runtime_seconds`` and ``versions``. ``python -m nine_utils.course.results [DIR]`` prints the table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import warnings
import math
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .paths import resolve_from_root

DEFAULT_RESULTS_DIR = "results"
SOURCE_HASH_ENV = "NINE_SOURCE_SHA256"
HEADLINE_COUNT = 5
_VERSIONED = ("nine-utils", "torch", "numpy", "scipy", "scikit-learn", "matplotlib", "seaborn", "papermill")


class ResultsWarning(UserWarning):
    """A results file was written, but with something the reader must know (a metric stored as null,
    another run's results replaced)."""


def _jsonable(obj: Any, where: str, nonfinite: list[str]) -> Any:
    """``obj`` as plain JSON data; a non-finite float becomes ``None`` and its place is added to ``nonfinite``."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}" if where else str(k), nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]", nonfinite) for i, v in enumerate(obj)]
    if isinstance(obj, (torch.Tensor, np.ndarray, np.generic)):  # np.bool_, np.float32, np.int64, arrays
        return _jsonable(obj.tolist() if not isinstance(obj, torch.Tensor) else obj.detach().cpu().tolist(),
                         where, nonfinite)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        nonfinite.append(where)
        return None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, (Path, torch.device)):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a results file ({where}): {obj!r}")


def source_hash(notebook: str | Path) -> str:
    """SHA-256 of a notebook's code cells, papermill's injected cell left out: what a rerun must match.

    Outputs, metadata and markdown do not count, so a refresh or an edit of the prose keeps the hash.
    """
    cells = json.loads(Path(notebook).read_text()).get("cells", [])
    code = ["".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code"
            and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    return hashlib.sha256("\n\x00".join(code).encode()).hexdigest()


def _running_source_hash(stem: str) -> str | None:
    """The hash of the notebook this kernel runs: set by the runner (``NINE_SOURCE_SHA256``), else that of
    ``notebooks/<stem>.ipynb`` in the checkout, else ``None``."""
    if os.environ.get(SOURCE_HASH_ENV):
        return os.environ[SOURCE_HASH_ENV]
    try:
        return source_hash(resolve_from_root("notebooks") / f"{stem}.ipynb")
    except (OSError, ValueError):
        return None


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
        The headline numbers. A non-finite float is stored as ``null`` and named in a
        :class:`ResultsWarning`; numpy scalars and arrays, tensors, paths and ``torch.device`` are
        stored as plain JSON.
    runtime_seconds : float
        Wall time of the notebook run.
    results_dir : str or Path
        Folder of the file; a relative path is resolved from the repository root.

    Returns
    -------
    Path
        The file written, atomically (a temporary file, then a rename). It also records
        ``source_sha256``, the hash of the notebook's code (:func:`source_hash`), so a resumed sweep
        reruns a notebook that changed. Replacing the results of a run with other parameters is
        said in a :class:`ResultsWarning`.
    """
    stem = Path(notebook).stem
    nonfinite: list[str] = []
    payload = {
        "notebook": stem,
        "parameters": _jsonable(dict(parameters), "parameters", nonfinite),
        "metrics": _jsonable(dict(metrics), "metrics", nonfinite),
        "runtime_seconds": float(runtime_seconds),
        "source_sha256": _running_source_hash(stem),
        "versions": versions(),
    }
    path = results_path(notebook, results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    _warn_if_replacing_another_run(path, payload["parameters"], float(runtime_seconds))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if nonfinite:
        warnings.warn(f"{path.name}: not a finite number, stored as null: {', '.join(nonfinite)}",
                      ResultsWarning, stacklevel=2)
    return path


def _warn_if_replacing_another_run(path: Path, parameters: Mapping[str, Any], runtime_seconds: float) -> None:
    """Say plainly when ``path`` holds the results of a run with other parameters, above all one that
    finished while this run was running (two runs sharing one ``results_dir``)."""
    try:
        old = json.loads(path.read_text())
        recorded = old["parameters"]
        changed = [k for k in sorted(set(recorded) | set(parameters))
                   if k != "results_dir" and recorded.get(k) != parameters.get(k)]
        during = path.stat().st_mtime > time.time() - runtime_seconds
    except (OSError, ValueError, KeyError, TypeError):
        return
    if changed:
        what = ", ".join(f"{k}={recorded.get(k)!r} (now {parameters.get(k)!r})" for k in changed[:4])
        when = "another run that wrote it while this one ran" if during else "an earlier run"
        warnings.warn(f"{path} held the results of {when}, with {what}; they are replaced. Give each run "
                      "its own results_dir to keep both.", ResultsWarning, stacklevel=3)


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


def _nine(result: Mapping[str, Any], notebooks: str | Path | None) -> tuple[Path, dict[str, Any]]:
    """The notebook of a results file (in ``notebooks``, default ``<repository>/notebooks``) and its
    ``metadata["nine"]`` block (empty when the notebook cannot be read)."""
    path = (Path(notebooks) if notebooks is not None else resolve_from_root("notebooks")) / f"{result.get('notebook', '')}.ipynb"
    try:
        return path, dict(json.loads(path.read_text()).get("metadata", {}).get("nine", {}))
    except (OSError, ValueError, AttributeError):
        return path, {}


def is_smoke(result: Mapping[str, Any], notebooks: str | Path | None = None) -> bool:
    """Whether a results file comes from a smoke run: its parameters hold every value of the notebook's
    ``metadata["nine"]["smoke_parameters"]`` (``notebooks``: the notebooks' folder, default ``<repository>/notebooks``)."""
    smoke, recorded = _nine(result, notebooks)[1].get("smoke_parameters", {}), result.get("parameters", {})
    return bool(smoke) and all(k in recorded and recorded[k] == v for k, v in smoke.items() if k != "results_dir")


def non_defaults(result: Mapping[str, Any], notebooks: str | Path | None = None) -> dict[str, tuple[Any, Any]]:
    """The recorded parameters that differ from the notebook's defaults: name -> (recorded, default).

    ``results_dir`` does not count, nor does a parameter whose default is not a literal. Empty when the
    notebook is not found or papermill cannot read it.
    """
    from .runner import NO_DEFAULT, notebook_defaults

    path = _nine(result, notebooks)[0]
    try:
        defaults = notebook_defaults(path) if path.is_file() else {}
    except Exception:  # a notebook papermill cannot read: nothing to compare with
        return {}
    return {k: (v, defaults[k]) for k, v in result.get("parameters", {}).items()
            if k != "results_dir" and defaults.get(k, NO_DEFAULT) is not NO_DEFAULT
            and json.dumps(v, sort_keys=True) != json.dumps(defaults[k], sort_keys=True)}


def _fmt(v: Any) -> str:
    if v is None:
        return "null (not a finite number)"
    if isinstance(v, (list, dict)):
        return f"[{len(v)} entries]"
    return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else str(v)


def _spread(metrics: Mapping[str, Any], key: str) -> str:
    """`` ± std over n seeds`` from ``<key>_std`` or ``<key>_by_seed``, else ``""`` (one seed has no spread)."""
    by_seed = metrics.get(f"{key}_by_seed")
    n = len(by_seed) if isinstance(by_seed, list) else metrics.get("n_seeds")
    std = metrics.get(f"{key}_std")
    if std is None and isinstance(by_seed, list) and len(by_seed) > 1 and all(isinstance(x, (int, float)) for x in by_seed):
        std = float(np.std(by_seed, ddof=1))
    if not isinstance(std, (int, float)) or isinstance(std, bool) or (isinstance(n, int) and n < 2):
        return ""
    return f" ± {std:.2g}" + (f" over {n} seeds" if isinstance(n, int) and n > 1 else "")


def _headline(metrics: Mapping[str, Any], meta: Mapping[str, Any]) -> list[str]:
    """``meta["headline"]`` if set, else the first :data:`HEADLINE_COUNT` numbers among ``meta["metric_keys"]``
    (else among the metrics), spreads (``_std``) and ``n_seeds`` left out."""
    if meta.get("headline"):
        return list(meta["headline"])
    number = [k for k, v in metrics.items() if isinstance(v, (int, float, type(None))) and not isinstance(v, bool)
              and not k.endswith("_std") and k != "n_seeds"]
    return ([k for k in meta.get("metric_keys", []) if k in number] or number)[:HEADLINE_COUNT]


def summary_table(results: Mapping[str, Mapping[str, Any]], smoke: Iterable[str] = (),
                  changed: Mapping[str, Mapping[str, tuple[Any, Any]]] | None = None, *,
                  folder: str | Path | None = None, notebooks: str | Path | None = None) -> str:
    """A plain-text table: one block per notebook with its runtime and each of its metrics.

    Parameters
    ----------
    results : mapping
        Notebook stem -> results file content (:func:`read_results`).
    smoke : iterable of str
        The stems whose numbers come from a smoke run; their blocks say so.
    changed : mapping, optional
        Stem -> :func:`non_defaults`; a block of a run with other parameters (not a smoke run) says which.
    folder : path, optional
        The results folder: given, the table is one screen, each block naming its file and showing only the
        headline numbers (the notebook's ``metadata["nine"]["headline"]``, else the first
        :data:`HEADLINE_COUNT` of its ``metric_keys``) with their spread over seeds.
    notebooks : path, optional
        The notebooks' folder, for their metadata (default ``<repository>/notebooks``).
    """
    if not results:
        return "no results files found"
    smoke, changed, lines = set(smoke), changed or {}, []
    for stem, res in results.items():
        metrics, where = res.get("metrics", {}), ""
        keys = list(metrics)
        if folder is not None:
            keys = _headline(metrics, _nine(res, notebooks)[1])
            path, root = Path(folder) / f"{stem}.json", resolve_from_root(".")
            where = f", {path.relative_to(root) if path.is_relative_to(root) else path}"
        mark, diff = "", changed.get(stem)
        if stem in smoke:
            mark = "  SMOKE RUN: small parameters, not the course's numbers"
        elif diff:
            shown = ", ".join(f"{k}={v!r} (default {d!r})" for k, (v, d) in list(diff.items())[:3])
            mark = f"  NOT THE DEFAULTS: {shown}{f' and {len(diff) - 3} more' if len(diff) > 3 else ''}"
        lines.append(f"{stem}  (runtime {res.get('runtime_seconds', float('nan')):.1f} s{where}){mark}")
        width = max(map(len, keys), default=0)
        lines += [f"    {k:<{width}}  {_fmt(metrics.get(k))}{_spread(metrics, k) if folder is not None else ''}"
                  for k in keys]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m nine_utils.course.results [--all] [DIR]``: the headline numbers of the results files in
    ``DIR`` (one screen), or with ``--all`` every metric of every file.

    An unreadable file is named on stderr and skipped. The exit status is 0 when at least one
    file was read, 1 when none was, 2 when ``DIR`` is not a folder.
    """
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.results",
                                     description="Print the headline numbers of every results file in DIR.")
    parser.add_argument("results_dir", nargs="?", default=DEFAULT_RESULTS_DIR, metavar="DIR",
                        help="folder of the results files, relative to the repository root "
                             f"(default {DEFAULT_RESULTS_DIR})")
    parser.add_argument("--all", action="store_true", help="every metric of every file, not just the headline numbers")
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
    smoke = [stem for stem, res in results.items() if is_smoke(res)]
    changed = {stem: non_defaults(res) for stem, res in results.items() if stem not in smoke}
    if args.all:
        print(summary_table(results, smoke=smoke, changed=changed))
        return 0
    print(summary_table(results, smoke=smoke, changed=changed, folder=resolve_from_root(args.results_dir)))
    where = "" if args.results_dir == DEFAULT_RESULTS_DIR else f" {args.results_dir}"
    print(f"\nevery number: python -m nine_utils.course.results --all{where}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by `make run` and the tests' subprocess calls
    sys.exit(main())
