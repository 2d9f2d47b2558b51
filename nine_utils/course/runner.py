"""Finding the course notebooks and executing them with papermill: ``python -m nine_utils.course.runner``."""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

import nbformat

from .paths import repo_root

SMOKE_RESULTS_DIR = "results/smoke"
COMMITTED_RESULTS_DIR = "results/committed"  # `refresh` keeps each results file here (tracked), for 08 and the README
KERNEL_START_ATTEMPTS = 3
NO_DEFAULT = object()  # what notebook_defaults gives for a default that is not a Python literal


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The course notebooks ``NN_topic.ipynb`` in ``folder`` (default ``<repo>/notebooks``), in order."""
    folder = Path(folder) if folder is not None else repo_root() / "notebooks"
    return sorted(p for p in folder.glob("*.ipynb") if re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name))


def nine_metadata(path: str | Path) -> dict[str, Any]:
    """The notebook's ``metadata["nine"]`` block (smoke parameters, metric keys, sanity checks)."""
    return dict(json.loads(Path(path).read_text()).get("metadata", {}).get("nine", {}))


def smoke_parameters(path: str | Path) -> dict[str, Any]:
    """``metadata["nine"]["smoke_parameters"]`` of a notebook; ``KeyError`` if it has none."""
    meta = nine_metadata(path)
    if "smoke_parameters" not in meta:
        raise KeyError(f"{Path(path).name} has no metadata.nine.smoke_parameters")
    return dict(meta["smoke_parameters"])


def notebook_defaults(notebook: str | Path) -> dict[str, Any]:
    """The parameters of ``notebook`` and their defaults (papermill's ``inspect_notebook``), a default that is
    not a Python literal as :data:`NO_DEFAULT`."""
    import papermill as pm

    defaults = {}
    for name, info in pm.inspect_notebook(str(notebook)).items():
        try:
            defaults[name] = ast.literal_eval(str(info.get("default")))
        except (ValueError, SyntaxError):
            defaults[name] = NO_DEFAULT
    return defaults


def retry_kernel_start(start: Callable[..., Any], attempts: int = KERNEL_START_ATTEMPTS) -> Callable[..., Any]:
    """``start`` (e.g. ``papermill.execute_notebook``) tried again, up to ``attempts`` tries in all, while it raises
    "Kernel died before replying to kernel_info": another process took a port jupyter_client had picked for the
    kernel (jupyter_client issue 487). No cell has run then. Any other error is raised at once."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")

    @functools.wraps(start)
    def started(*args: Any, **kwargs: Any) -> Any:
        for _ in range(attempts - 1):
            try:
                return start(*args, **kwargs)
            except RuntimeError as exc:
                if "Kernel died before replying to kernel_info" not in str(exc):
                    raise
        return start(*args, **kwargs)

    return started


def execute(path: str | Path, output: str | Path, parameters: dict[str, Any] | None = None,
            cwd: str | Path | None = None, log_output: bool = False, progress_bars: bool = False,
            on_kernel: Callable[[int], None] | None = None, kernel_log: str | Path | None = None) -> Path:
    """Execute a notebook into ``output`` with papermill in a fresh ``python3`` kernel, thread-safely.

    The kernel starts in ``cwd`` with ``NINE_SOURCE_SHA256`` (:func:`~.results.source_hash`) and, unless
    ``progress_bars``, ``TQDM_DISABLE=1`` (a stored widget bar shows on GitHub as a frozen "0%"). ``log_output``
    streams the cells' output to the log; ``on_kernel`` gets the kernel's process id; ``kernel_log``, a file the
    kernel process's own stdout and stderr are appended to (its start-up and shutdown messages; the cells'
    output is in ``output``) instead of this process's. A kernel that died while starting is started again
    (:func:`retry_kernel_start`).
    """
    import papermill as pm  # slow to import
    import zmq
    from jupyter_client import AsyncKernelManager

    from .results import SOURCE_HASH_ENV, source_hash

    path, output = Path(path).resolve(), Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    env = {SOURCE_HASH_ENV: source_hash(path)} if path.is_file() else {}
    env.update({} if progress_bars else {"TQDM_DISABLE": "1"})
    where = {"cwd": str(Path(cwd).resolve())} if cwd is not None else {}
    curve = "transport_encryption" in AsyncKernelManager.class_trait_names() and zmq.has("curve")

    class Manager(AsyncKernelManager):  # env and cwd for this kernel alone: papermill's cwd would chdir the process
        def __init__(self, **kw: Any) -> None:  # CurveZMQ where supported, else ipykernel warns of plain TCP
            super().__init__(**({"transport_encryption": "auto"} if curve else {}), **kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw = {**kw, **where, "env": {**(kw.get("env") or os.environ), **env}}
            with open(kernel_log, "a") if kernel_log is not None else contextlib.nullcontext() as log:
                await super()._async_launch_kernel(kernel_cmd, **kw, **({"stdout": log, "stderr": log} if log else {}))
            if on_kernel is not None:
                on_kernel(self.provisioner.pid)

    retry_kernel_start(pm.execute_notebook)(str(path), str(output), parameters=parameters or {}, kernel_name="python3",
                                            progress_bar=False, log_output=log_output, kernel_manager_class=Manager)
    return output


def strip_run_metadata(path: str | Path) -> None:
    """Drop papermill's timings and the stored widget state (from an interactive run, not the one of the outputs)
    from a notebook, so a refresh's diff shows only real changes."""
    nb = nbformat.read(str(path), as_version=4)
    for meta in [nb.metadata, *(cell.metadata for cell in nb.cells)]:
        for key in ("papermill", "widgets", "execution"):
            meta.pop(key, None)
    nbformat.write(nb, str(path))


def main(argv: list[str] | None = None) -> int:
    """``python -m nine_utils.course.runner {run,refresh,list}``: exit status 0, 1 without a notebook, 2 when
    ``NINE_ROOT`` is not a checkout."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.runner", description=(
        f"run: every notebook into results/executed, results files in results/ (--smoke: all in {SMOKE_RESULTS_DIR});"
        f" refresh: the notebooks in place, their results files copied to {COMMITTED_RESULTS_DIR}; list."))
    parser.add_argument("command", choices=("run", "refresh", "list"))
    parser.add_argument("--smoke", action="store_true", help="run with each notebook's smoke parameters")
    parser.add_argument("--out", help="folder for the executed copies (run)")
    parser.add_argument("--only", nargs="*", help="notebook names or stems to restrict to")
    args = parser.parse_args(argv)
    try:
        root, paths = repo_root(), notebook_paths()
    except FileNotFoundError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    if not paths:
        print(f"{parser.prog}: error: no notebooks NN_topic.ipynb in {root / 'notebooks'}", file=sys.stderr)
        return 1
    if unknown := {Path(n).stem for n in args.only or ()} - {p.stem for p in paths}:
        parser.error(f"unknown notebooks {sorted(unknown)}; known: {[p.stem for p in paths]}")
    paths = [p for p in paths if not args.only or p.stem in {Path(n).stem for n in args.only}]
    if args.command == "list":
        print("\n".join(p.name for p in paths))
        return 0
    if args.command == "refresh" and args.smoke:
        parser.error("refresh stores the full runs' outputs in the notebooks; --smoke is for run")
    out_dir = root / (args.out or (f"{SMOKE_RESULTS_DIR}/executed" if args.smoke else "results/executed"))
    for p in paths:
        t0, written = time.perf_counter(), root / "results" / f"{p.stem}.json"  # the default results_dir
        if args.command == "refresh":
            written.unlink(missing_ok=True)  # no "replaced an earlier run" warning in the outputs
            execute(p, p, cwd=p.parent)
            strip_run_metadata(p)
            (root / COMMITTED_RESULTS_DIR).mkdir(parents=True, exist_ok=True)
            (root / COMMITTED_RESULTS_DIR / written.name).write_bytes(written.read_bytes())
            where = p.relative_to(root)
        else:
            params = {**smoke_parameters(p), "results_dir": SMOKE_RESULTS_DIR} if args.smoke else {}
            out = execute(p, out_dir / p.name, params, cwd=p.parent)
            where = out.relative_to(root) if out.is_relative_to(root) else out  # --out may lie elsewhere
        print(f"{p.name}: {time.perf_counter() - t0:.1f} s -> {where}", flush=True)
    if args.command == "run" and args.smoke:
        print(f"smoke results in {SMOKE_RESULTS_DIR}/: python -m nine_utils.course.results {SMOKE_RESULTS_DIR}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(main())
