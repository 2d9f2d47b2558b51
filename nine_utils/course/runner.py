"""Finding and executing the course notebooks with papermill (used by the Makefile and the tests).

``python -m nine_utils.course.runner run``      executes every notebook with its defaults into
                                            ``results/executed/`` and writes the results files;
``python -m nine_utils.course.runner run --smoke`` does the same with the smoke parameters;
``python -m nine_utils.course.runner refresh``  re-executes the committed notebooks in place.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

from .paths import repo_root

NOTEBOOK_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The course notebooks ``NN_topic.ipynb`` in ``folder`` (default ``<repo>/notebooks``), in order."""
    folder = Path(folder) if folder is not None else repo_root() / "notebooks"
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))


def nine_metadata(path: str | Path) -> dict[str, Any]:
    """The notebook's ``metadata["nine"]`` block (smoke parameters, metric keys, sanity checks)."""
    nb = json.loads(Path(path).read_text())
    return dict(nb.get("metadata", {}).get("nine", {}))


def smoke_parameters(path: str | Path) -> dict[str, Any]:
    """``metadata["nine"]["smoke_parameters"]`` of a notebook; ``KeyError`` if it has none."""
    meta = nine_metadata(path)
    if "smoke_parameters" not in meta:
        raise KeyError(f"{Path(path).name} has no metadata.nine.smoke_parameters")
    return dict(meta["smoke_parameters"])


def execute(path: str | Path, output: str | Path, parameters: dict[str, Any] | None = None,
            cwd: str | Path | None = None, log_output: bool = False, progress_bars: bool = False) -> Path:
    """Execute one notebook with papermill in a fresh ``python3`` kernel.

    Parameters
    ----------
    path, output : path
        Input notebook and where the executed copy goes.
    parameters : dict, optional
        Values injected after the ``parameters`` cell.
    cwd : path, optional
        Working directory of the kernel (the notebooks must not depend on it).
    log_output : bool
        Stream the cells' output to the log.
    progress_bars : bool
        Keep the notebook's tqdm bars. Off by default (``TQDM_DISABLE=1`` in the kernel): a
        stored widget bar renders on GitHub as a frozen "0%", which misleads a reader.
    """
    import papermill as pm  # imported lazily: it is slow to import

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    saved = os.environ.get("TQDM_DISABLE")
    if not progress_bars:
        os.environ["TQDM_DISABLE"] = "1"
    try:
        pm.execute_notebook(str(path), str(output), parameters=parameters or {}, kernel_name="python3",
                            cwd=str(cwd) if cwd is not None else None, progress_bar=False, log_output=log_output)
    finally:
        if saved is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = saved
    return output


def strip_run_metadata(path: str | Path) -> None:
    """Remove papermill's timing metadata so a refreshed notebook's diff shows only real changes."""
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, str(path))


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("run", "refresh", "list"))
    parser.add_argument("--smoke", action="store_true", help="use each notebook's smoke parameters")
    parser.add_argument("--out", default="results/executed", help="folder for executed copies (run)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names or stems to restrict to")
    args = parser.parse_args(argv)

    root = repo_root()
    paths = notebook_paths()
    if args.only:
        wanted = {Path(n).stem for n in args.only}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            parser.error(f"unknown notebooks {sorted(unknown)}; known: {[p.stem for p in paths]}")
        paths = [p for p in paths if p.stem in wanted]
    if args.command == "list":
        print("\n".join(p.name for p in paths))
        return 0
    for p in paths:
        params = smoke_parameters(p) if args.smoke else {}
        t0 = time.perf_counter()
        if args.command == "refresh":
            execute(p, p, params, cwd=p.parent)
            strip_run_metadata(p)
            where = p.relative_to(root)
        else:
            out = execute(p, root / args.out / p.name, params, cwd=p.parent)  # --out may lie outside the repository
            where = out.relative_to(root) if out.is_relative_to(root) else out
        print(f"{p.name}: {time.perf_counter() - t0:.1f} s -> {where}", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(_main())
