"""Each notebook's run time on a quiet machine and beside one other CPU-bound process.

A learner's laptop is never idle. For every course notebook this runs the notebook through
papermill twice -- once alone, once while a second process keeps one core busy (a Python busy
loop) -- and prints a Markdown table of the two wall times and their ratio. The course's target
is a ratio of at most 1.5.

    .venv/bin/python benchmarks/load_ratio.py                      # every notebook, defaults (~40 min)
    .venv/bin/python benchmarks/load_ratio.py --only 03_gaussian_matching 06_anomaly_detection
    .venv/bin/python benchmarks/load_ratio.py --smoke               # smoke parameters: a quick check
    .venv/bin/python benchmarks/load_ratio.py -p torch_threads 2    # compare another thread setting
    .venv/bin/python benchmarks/load_ratio.py --repeat 3            # medians of 3 quiet and 3 busy runs

With ``--repeat n`` each notebook runs n times alone and n times beside the busy process, in the
order quiet, busy, busy, quiet, quiet, busy, ... so that a slow drift of the machine's own speed
falls on both columns alike; the table gives the medians.

Results files go to a temporary folder, never to results/. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nine_utils.course.runner import execute, notebook_paths, smoke_parameters


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_once(path: Path, parameters: dict, workdir: Path, tag: str) -> float:
    """Wall seconds of one papermill run of ``path``."""
    start = time.perf_counter()
    execute(path, workdir / f"{path.stem}_{tag}.ipynb", parameters, cwd=workdir)
    return time.perf_counter() - start


def run_condition(path: Path, parameters: dict, workdir: Path, condition: str) -> float:
    """Wall seconds of one run, alone (``"quiet"``) or beside a busy loop on one core (``"busy"``)."""
    if condition == "quiet":
        return run_once(path, parameters, workdir, "quiet")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return run_once(path, parameters, workdir, "busy")
    finally:
        busy.kill()
        busy.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="notebook stems (default: all)")
    parser.add_argument("--smoke", action="store_true", help="use each notebook's smoke parameters")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook and condition (medians; default 1)")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter for every notebook, e.g. -p torch_threads 2")
    args = parser.parse_args(argv)
    paths = [p for p in notebook_paths() if args.only is None or p.stem in args.only]
    if args.only and len(paths) != len(args.only):
        known = ", ".join(p.stem for p in notebook_paths())
        parser.error(f"unknown notebook in --only; the notebooks are: {known}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    extra = {name: _value(value) for name, value in args.p}
    rows = []
    with tempfile.TemporaryDirectory(prefix="nine-bench-") as tmp:
        workdir = Path(tmp)
        for path in paths:
            params = dict(smoke_parameters(path) if args.smoke else {}, **extra,
                          results_dir=str(workdir / "results"))
            times = {"quiet": [], "busy": []}
            for k in range(args.repeat):
                for condition in (("quiet", "busy") if k % 2 == 0 else ("busy", "quiet")):
                    times[condition].append(run_condition(path, params, workdir, condition))
                    print(f"{path.stem}: {condition} {times[condition][-1]:.1f} s", file=sys.stderr, flush=True)
            rows.append((path.stem, statistics.median(times["quiet"]), statistics.median(times["busy"])))
    print("| notebook | quiet (s) | beside one busy process (s) | ratio |")
    print("|---|---|---|---|")
    for stem, quiet, loaded in rows:
        print(f"| {stem} | {quiet:.0f} | {loaded:.0f} | {loaded / quiet:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
