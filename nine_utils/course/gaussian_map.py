"""The full map of notebook 03, made by ``make map`` and committed as ``data/gaussian_map.json``.

Notebook 03 runs a small part of the map by default (two latent dimensions, two view strengths,
a few minutes on a CPU). This script runs the same notebook, with the same code and seeds, over
the whole grid (``GRID``) for each data set of ``DATASETS``, one papermill run per data set, and
gathers each run's ``map`` (d -> view strength -> method -> statistic -> mean, sd, per-seed values)
into one small JSON file. The notebook draws the full map from that file and checks that its own
live cells agree with it.

Usage::

    python -m nine_utils.course.gaussian_map [--out data/gaussian_map.json] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .paths import repo_root
from .runner import execute

NOTEBOOK = "03_gaussian_matching"
GRID = {"map_dims": [2, 4, 8, 16], "map_views": [0.0, 0.05, 0.1, 0.2]}
"""The grid of the full map: latent dimensions and view strengths."""
DATASETS = ("digits", "mixture")
"""The data sets: 8x8 digits, and clustered 10-D data made by code (``nu.data.mixture_split``)."""


def run_one(dataset: str, folder: Path) -> dict:
    """Run notebook 03 over :data:`GRID` on ``dataset``; returns its results file's content."""
    nb = repo_root() / "notebooks" / f"{NOTEBOOK}.ipynb"
    results = folder / dataset
    execute(nb, folder / f"{NOTEBOOK}_{dataset}.ipynb", {**GRID, "dataset": dataset, "results_dir": str(results)},
            cwd=folder)
    return json.loads((results / f"{NOTEBOOK}.json").read_text())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; writes the map file and prints what it holds."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.gaussian_map", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data/gaussian_map.json", help="the map file (relative: to the repository)")
    parser.add_argument("--jobs", type=int, default=2, help="data sets run at once (one core each)")
    args = parser.parse_args(argv)
    out = Path(args.out) if Path(args.out).is_absolute() else repo_root() / args.out
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = dict(zip(DATASETS, pool.map(lambda name: run_one(name, Path(tmp)), DATASETS)))
    first = next(iter(runs.values()))
    parameters = {k: v for k, v in first["parameters"].items() if k not in ("dataset", "results_dir")}
    content = {"made_by": f"make map (python -m nine_utils.course.gaussian_map), {NOTEBOOK}", "grid": GRID,
               "parameters": parameters, "versions": first.get("versions", {})}
    for name, res in runs.items():
        content[name] = {"map": res["metrics"]["map"], "n_seeds": res["metrics"]["n_seeds"],
                         "runtime_seconds": res["runtime_seconds"]}
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    tmp_out.replace(out)
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} ({v['runtime_seconds']:.0f} s)" for k, v in runs.items() if isinstance(v, dict)))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by `make map`
    sys.exit(main())
