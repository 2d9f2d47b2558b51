"""The results file every notebook writes (:func:`save_results`), and the table ``make run`` prints."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
import warnings
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
    """A results file was written with something the reader must know (a null metric, a replaced run)."""


def _jsonable(obj: Any, where: str, nonfinite: list[str]) -> Any:
    """``obj`` as plain JSON data; a non-finite float becomes ``None`` and its place goes to ``nonfinite``."""
    if isinstance(obj, (torch.Tensor, np.ndarray, np.generic)):  # np.bool_, np.float32, arrays, tensors
        obj = obj.tolist()
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}", nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]", nonfinite) for i, v in enumerate(obj)]
    if isinstance(obj, float) and not np.isfinite(obj):
        nonfinite.append(where)
        return None
    if isinstance(obj, (Path, torch.device)):
        return str(obj)
    if isinstance(obj, (str, int, float)) or obj is None:
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a results file ({where}): {obj!r}")


def source_hash(notebook: str | Path) -> str:
    """SHA-256 of a notebook's code cells, papermill's injected cell left out (outputs and prose do not count)."""
    cells = json.loads(Path(notebook).read_text()).get("cells", [])
    code = ["".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code"
            and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    return hashlib.sha256("\n\x00".join(code).encode()).hexdigest()


def results_path(notebook: str, results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Path:
    """``<results_dir>/<notebook stem>.json``, a relative ``results_dir`` taken from the repo root."""
    return resolve_from_root(results_dir) / f"{Path(notebook).stem}.json"


def save_results(notebook: str, parameters: Mapping[str, Any], metrics: Mapping[str, Any],
                 runtime_seconds: float, results_dir: str | Path = DEFAULT_RESULTS_DIR) -> Path:
    """Write :func:`results_path` atomically (a temporary file, then a rename) and return it.

    Numpy values, tensors, paths and devices are stored as plain JSON, a non-finite float as ``null``, named
    in a :class:`ResultsWarning`, as is the replacing of another run's results. ``source_sha256`` (from the
    runner's ``NINE_SOURCE_SHA256``, else the checkout) lets a resumed sweep rerun a changed notebook.
    """
    stem, nonfinite, path = Path(notebook).stem, [], results_path(notebook, results_dir)
    try:
        sha = os.environ.get(SOURCE_HASH_ENV) or source_hash(resolve_from_root("notebooks") / f"{stem}.ipynb")
    except (OSError, ValueError):
        sha = None
    versions = {n: next((d.version for d in metadata.distributions(name=n)), "not installed") for n in _VERSIONED}
    new = _jsonable(dict(parameters), "parameters", nonfinite)
    payload = {"notebook": stem, "parameters": new, "metrics": _jsonable(dict(metrics), "metrics", nonfinite),
               "runtime_seconds": float(runtime_seconds), "source_sha256": sha, "versions": {
                   "python": sys.version.split()[0], "platform": platform.platform(), **versions}}
    try:
        old = json.loads(path.read_text())["parameters"]
        changed = [k for k in sorted(set(old) | set(new)) if k != "results_dir" and old.get(k) != new.get(k)]
        when = ("another run that wrote it while this one ran" if path.stat().st_mtime > time.time() - runtime_seconds
                else "an earlier run")
    except (OSError, ValueError, KeyError, TypeError):
        changed = []
    if changed:
        what = ", ".join(f"{k}={old.get(k)!r} (now {new.get(k)!r})" for k in changed[:4])
        warnings.warn(f"{path} held the results of {when}, with {what}; they are replaced. Give each run "
                      "its own results_dir to keep both.", ResultsWarning, stacklevel=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)
    if nonfinite:
        warnings.warn(f"{path.name}: not a finite number, stored as null: {', '.join(nonfinite)}",
                      ResultsWarning, stacklevel=2)
    return path


def read_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> tuple[dict[str, dict[str, Any]], dict[Path, str]]:
    """The results files ``NN_*.json`` in ``results_dir`` (stem -> content, in name order), and path -> what is
    wrong for each other such file. ``FileNotFoundError`` if ``results_dir`` is not a folder."""
    folder = resolve_from_root(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"no results folder {folder}")
    results, unreadable = {}, {}
    for path in sorted(folder.glob("[0-9][0-9]_*.json")):
        try:  # a file cut short, not UTF-8, or not a results file: JSONDecodeError, UnicodeDecodeError, ValueError
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
                raise ValueError("not a results file (no 'metrics' mapping)")
            results[path.stem] = data
        except (OSError, ValueError) as err:
            unreadable[path] = f"{type(err).__name__}: {err}"
    return results, unreadable


def load_results(results_dir: str | Path = DEFAULT_RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """:func:`read_results`' results, or a ``ValueError`` naming the first file it could not read."""
    results, unreadable = read_results(results_dir)
    for path, reason in unreadable.items():
        raise ValueError(f"cannot read the results file {path}: {reason}")
    return results


def _nine(result: Mapping[str, Any], notebooks: str | Path | None) -> tuple[Path, dict[str, Any]]:
    """A results file's notebook (in ``notebooks``, default ``<repo>/notebooks``) and its ``metadata["nine"]``."""
    path = Path(notebooks or resolve_from_root("notebooks")) / f"{result.get('notebook', '')}.ipynb"
    try:
        return path, dict(json.loads(path.read_text()).get("metadata", {}).get("nine", {}))
    except (OSError, ValueError, AttributeError):
        return path, {}


def is_smoke(result: Mapping[str, Any], notebooks: str | Path | None = None) -> bool:
    """Whether a results file's parameters hold every value of its notebook's ``smoke_parameters``."""
    smoke, recorded = _nine(result, notebooks)[1].get("smoke_parameters", {}), result.get("parameters", {})
    return bool(smoke) and all(k in recorded and recorded[k] == v for k, v in smoke.items() if k != "results_dir")


def non_defaults(result: Mapping[str, Any], notebooks: str | Path | None = None) -> dict[str, tuple[Any, Any]]:
    """The recorded parameters but ``results_dir`` that differ from the notebook's literal defaults: name ->
    (recorded, default); empty when papermill cannot read the notebook."""
    from .runner import NO_DEFAULT, notebook_defaults

    try:
        defaults = notebook_defaults(_nine(result, notebooks)[0])
    except Exception:  # a missing notebook, or one papermill cannot read: nothing to compare with
        return {}
    return {k: (v, defaults[k]) for k, v in result.get("parameters", {}).items() if k != "results_dir"
            and defaults.get(k, NO_DEFAULT) is not NO_DEFAULT  # as JSON, a tuple default equals its recorded list
            and json.dumps(v, sort_keys=True) != json.dumps(defaults[k], sort_keys=True)}


def _cell(metrics: Mapping[str, Any], key: str, spread: bool) -> str:
    """A metric's value, and if ``spread`` `` ± std over n seeds`` (from ``<key>_std`` or ``<key>_by_seed``)."""
    v, by_seed, std = metrics.get(key), metrics.get(f"{key}_by_seed"), metrics.get(f"{key}_std")
    text = ("null (not a finite number)" if v is None else f"[{len(v)} entries]" if isinstance(v, (list, dict))
            else f"{v:.4g}" if isinstance(v, float) else str(v))
    n = len(by_seed) if isinstance(by_seed, list) else metrics.get("n_seeds")
    if std is None and isinstance(by_seed, list) and n > 1 and all(type(x) in (int, float) for x in by_seed):
        std = float(np.std(by_seed, ddof=1))
    if not spread or type(std) not in (int, float) or (isinstance(n, int) and n < 2):  # one seed has no spread
        return text
    return f"{text} ± {std:.2g}" + (f" over {n} seeds" if isinstance(n, int) else "")


def summary_table(results: Mapping[str, Mapping[str, Any]], smoke: Iterable[str] = (),
                  changed: Mapping[str, Mapping[str, tuple[Any, Any]]] | None = None, *,
                  folder: str | Path | None = None, notebooks: str | Path | None = None) -> str:
    """A plain-text table: one block per notebook (stem -> results file), its runtime and its metrics.

    The blocks in ``smoke`` say so; those in ``changed`` (stem -> :func:`non_defaults`) name what is not the default.
    Given the results ``folder``, a block names its file and shows only the first :data:`HEADLINE_COUNT` numbers of
    the notebook's ``metric_keys`` (else of its metrics), with their spread over seeds."""
    smoke, changed, lines = set(smoke), changed or {}, []
    for stem, res in results.items():
        metrics, where, mark, diff = res.get("metrics", {}), "", "", changed.get(stem)
        keys = list(metrics)
        if folder is not None:
            path, root = Path(folder) / f"{stem}.json", resolve_from_root(".")
            keys = [k for k in keys if type(metrics[k]) in (int, float, type(None)) and not k.endswith("_std")
                    and k != "n_seeds"]
            keys = ([k for k in _nine(res, notebooks)[1].get("metric_keys", []) if k in keys] or keys)[:HEADLINE_COUNT]
            where = f", {path.relative_to(root) if path.is_relative_to(root) else path}"
        if stem in smoke:
            mark = "  SMOKE RUN: small parameters, not the course's numbers"
        elif diff:
            shown = ", ".join(f"{k}={v!r} (default {d!r})" for k, (v, d) in list(diff.items())[:3])
            mark = f"  NOT THE DEFAULTS: {shown}{f' and {len(diff) - 3} more' if len(diff) > 3 else ''}"
        lines.append(f"{stem}  (runtime {res.get('runtime_seconds', float('nan')):.1f} s{where}){mark}")
        lines += [f"    {k:<{max(map(len, keys))}}  {_cell(metrics, k, folder is not None)}" for k in keys]
    return "\n".join(lines) or "no results files found"


def main(argv: list[str] | None = None) -> int:
    """``python -m nine_utils.course.results [--all] [DIR]``: exit status 0, 1 without a readable file,
    2 when ``DIR`` is not a folder; an unreadable file is named on stderr and skipped."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.results",
                                     description="Print the headline numbers of every results file in DIR.")
    parser.add_argument("results_dir", nargs="?", default=DEFAULT_RESULTS_DIR, metavar="DIR",
                        help=f"folder of the results files, from the repository root (default {DEFAULT_RESULTS_DIR})")
    parser.add_argument("--all", action="store_true", help="every metric of every file, not just the headline")
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
    print(summary_table(results, smoke, changed, folder=None if args.all else resolve_from_root(args.results_dir)))
    if not args.all:
        print(f"\nevery number: python -m nine_utils.course.results --all"
              + ("" if args.results_dir == DEFAULT_RESULTS_DIR else f" {args.results_dir}"))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by `make run` and the tests' subprocess calls
    sys.exit(main())
