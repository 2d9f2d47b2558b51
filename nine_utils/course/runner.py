"""Finding and executing the course notebooks with papermill (used by the Makefile and the tests).

``python -m nine_utils.course.runner run``      executes every notebook with its defaults into
                                            ``results/executed/`` and writes the results files
                                            ``results/<notebook>.json``;
``python -m nine_utils.course.runner run --smoke`` does the same with the smoke parameters, all of it
                                            in ``results/smoke/`` (results files) and
                                            ``results/smoke/executed/``, so the full run's
                                            results are never overwritten by small numbers;
``python -m nine_utils.course.runner refresh``  re-executes the committed notebooks in place, and keeps each
one's results file in ``results/committed/`` (tracked).

The kernels are started with CurveZMQ transport encryption when jupyter_client and the kernel
support it (:func:`_run_kernel_manager`), so ipykernel does not warn, once per notebook, that it
"is running over TCP without encryption". A kernel that dies before it answers, because another
process took one of its ports first, is started again (:func:`retry_kernel_start`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

import nbformat

from .paths import repo_root

NOTEBOOK_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
SMOKE_RESULTS_DIR = "results/smoke"
# `refresh` keeps a copy of each notebook's results file here (tracked): the numbers behind the committed outputs,
# which notebook 08 and the README's findings read
COMMITTED_RESULTS_DIR = "results/committed"
KERNEL_START_ATTEMPTS = 3
_DIED_AT_START = "Kernel died before replying to kernel_info"  # jupyter_client's message, then nbclient's

T = TypeVar("T")


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


NO_DEFAULT = object()
"""What :func:`notebook_defaults` gives for a default that is not a Python literal, so it is never compared."""


def notebook_defaults(notebook: str | Path) -> dict[str, Any]:
    """The parameters of ``notebook`` and their defaults (papermill's ``inspect_notebook``); a default that is
    not a Python literal maps to :data:`NO_DEFAULT`."""
    import ast

    import papermill as pm

    defaults = {}
    for name, info in pm.inspect_notebook(str(notebook)).items():
        try:
            defaults[name] = ast.literal_eval(str(info.get("default")))
        except (ValueError, SyntaxError):
            defaults[name] = NO_DEFAULT
    return defaults


def retry_kernel_start(start: Callable[..., T], attempts: int = KERNEL_START_ATTEMPTS) -> Callable[..., T]:
    """``start`` (a function that starts a kernel) called again when the kernel died while starting.

    jupyter_client chooses a kernel's five TCP ports by binding each to port 0 and releasing it;
    the kernel binds them about a second later. In between, another process on the machine can
    take one of them (any outgoing connection draws its local port from the same range; see
    jupyter_client issue 487). The kernel then exits with "Address already in use" and ``start``
    raises ``RuntimeError("Kernel died before replying to kernel_info")``. No cell has run at that
    point, so starting again repeats no work; with new ports it succeeds. Any other error, and
    the same error after ``attempts`` tries, is raised as it is.

    Parameters
    ----------
    start : callable
        E.g. ``papermill.execute_notebook`` or nbval's ``start_new_kernel``.
    attempts : int
        Tries in all, at least 1.

    Returns
    -------
    callable
        ``start`` with the same signature (``__wrapped__`` is ``start``).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")

    @functools.wraps(start)
    def started(*args: Any, **kwargs: Any) -> T:
        for attempt in range(1, attempts + 1):
            try:
                return start(*args, **kwargs)
            except RuntimeError as exc:
                if attempt == attempts or _DIED_AT_START not in str(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    return started


def _run_kernel_manager(env: dict[str, str], cwd: str | None, on_kernel: Callable[[int], None] | None = None) -> type:
    """A kernel manager class whose kernel gets ``env`` on top of this process's environment and starts
    in ``cwd``: nothing process-wide changes (papermill's ``cwd`` would ``chdir`` the whole process, and
    a changed ``os.environ`` is seen by every thread), so runs in several threads keep apart.

    The kernel's connection is encrypted with CurveZMQ where jupyter_client (>= 8.10,
    ``transport_encryption="auto"``) and libzmq support it, so ipykernel (>= 7) does not warn, once per
    notebook, that it "is running over TCP without encryption". ``on_kernel`` is called with the kernel's
    process id once it started.
    """
    import zmq
    from jupyter_client import AsyncKernelManager

    encrypt = "transport_encryption" in AsyncKernelManager.class_trait_names() and zmq.has("curve")

    class RunKernelManager(AsyncKernelManager):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**({"transport_encryption": "auto"} if encrypt else {}), **kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw["env"] = {**(kw.get("env") or os.environ), **env}
            if cwd is not None:
                kw["cwd"] = cwd
            await super()._async_launch_kernel(kernel_cmd, **kw)
            if on_kernel is not None:
                on_kernel(self.provisioner.pid)

    return RunKernelManager


def execute(path: str | Path, output: str | Path, parameters: dict[str, Any] | None = None,
            cwd: str | Path | None = None, log_output: bool = False, progress_bars: bool = False,
            on_kernel: Callable[[int], None] | None = None) -> Path:
    """Execute one notebook with papermill in a fresh ``python3`` kernel; safe to call from several threads.

    A kernel that dies while starting (a port taken by another process) is started again, up to
    :data:`KERNEL_START_ATTEMPTS` times in all (:func:`retry_kernel_start`). The kernel's environment
    holds the hash of the notebook's code (``NINE_SOURCE_SHA256``), which its results file records.

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
    on_kernel : callable, optional
        Called with the kernel's process id once it started (the sweep kills it on Ctrl-C).
    """
    import papermill as pm  # imported lazily: it is slow to import

    from .results import SOURCE_HASH_ENV, source_hash

    path, output = Path(path).resolve(), Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    env = {} if progress_bars else {"TQDM_DISABLE": "1"}
    if path.is_file():
        env[SOURCE_HASH_ENV] = source_hash(path)
    manager = _run_kernel_manager(env, str(Path(cwd).resolve()) if cwd is not None else None, on_kernel)
    retry_kernel_start(pm.execute_notebook)(
        str(path), str(output), parameters=parameters or {}, kernel_name="python3", progress_bar=False,
        log_output=log_output, kernel_manager_class=manager)
    return output


def strip_run_metadata(path: str | Path) -> None:
    """Remove run metadata so a refreshed notebook's diff shows only real changes.

    Drops papermill's timing metadata, and the notebook's stored widget state: the course's runs
    keep no progress-bar widgets (``TQDM_DISABLE``), so any state there was saved by an earlier
    interactive run, and its frozen bar texts ("150/150", a ``beta`` no longer in the grid)
    describe a run the outputs do not come from.
    """
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, str(path))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m nine_utils.course.runner {run,refresh,list}``.

    Exit status 0, 1 when there is no notebook to run, 2 when ``NINE_ROOT`` is not a checkout.
    """
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("run", "refresh", "list"))
    parser.add_argument("--smoke", action="store_true",
                        help=f"use each notebook's smoke parameters; results go to {SMOKE_RESULTS_DIR}/ (run)")
    parser.add_argument("--out", default=None,
                        help="folder for executed copies (run; default results/executed, "
                             f"or {SMOKE_RESULTS_DIR}/executed with --smoke)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names or stems to restrict to")
    args = parser.parse_args(argv)

    try:
        root = repo_root()
    except FileNotFoundError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    paths = notebook_paths()
    if not paths:
        print(f"{parser.prog}: error: no notebooks NN_topic.ipynb in {root / 'notebooks'}", file=sys.stderr)
        return 1
    if args.only:
        wanted = {Path(n).stem for n in args.only}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            parser.error(f"unknown notebooks {sorted(unknown)}; known: {[p.stem for p in paths]}")
        paths = [p for p in paths if p.stem in wanted]
    if args.command == "list":
        print("\n".join(p.name for p in paths))
        return 0
    if args.command == "refresh" and args.smoke:
        parser.error("refresh stores the full runs' outputs in the notebooks; --smoke is for run")
    out_dir = args.out or (f"{SMOKE_RESULTS_DIR}/executed" if args.smoke else "results/executed")
    for p in paths:
        params = {**smoke_parameters(p), "results_dir": SMOKE_RESULTS_DIR} if args.smoke else {}
        t0 = time.perf_counter()
        if args.command == "refresh":
            (root / "results" / f"{p.stem}.json").unlink(missing_ok=True)  # no "replaced an earlier run" warning in the outputs
            execute(p, p, params, cwd=p.parent)
            strip_run_metadata(p)
            written = root / "results" / f"{p.stem}.json"  # the notebook's default results_dir
            (root / COMMITTED_RESULTS_DIR).mkdir(parents=True, exist_ok=True)
            (root / COMMITTED_RESULTS_DIR / written.name).write_bytes(written.read_bytes())
            where = p.relative_to(root)
        else:
            out = execute(p, root / out_dir / p.name, params, cwd=p.parent)  # --out may lie outside the repository
            where = out.relative_to(root) if out.is_relative_to(root) else out
        print(f"{p.name}: {time.perf_counter() - t0:.1f} s -> {where}", flush=True)
    if args.command == "run" and args.smoke:
        print(f"smoke results in {SMOKE_RESULTS_DIR}/: python -m nine_utils.course.results {SMOKE_RESULTS_DIR}")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(main())
