"""``make map``: notebook 03 over its whole grid on each data set, gathered into ``data/gaussian_map.json``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .paths import resolve_from_root
from .runner import execute

NOTEBOOK = "03_gaussian_matching"
GRID = {"map_dims": [2, 4, 8, 16], "map_views": [0.0, 0.05, 0.1, 0.2]}  # latent dimensions x view strengths
DATASETS = ("digits", "mixture")  # 8x8 digits, and clustered 10-D data made by code (nu.data.mixture_split)


def run_one(dataset: str, folder: Path) -> dict:
    """Run notebook 03 over :data:`GRID` on ``dataset`` in ``folder``; returns its results file's content."""
    execute(resolve_from_root("notebooks") / f"{NOTEBOOK}.ipynb", folder / f"{NOTEBOOK}_{dataset}.ipynb",
            {**GRID, "dataset": dataset, "results_dir": str(folder / dataset)}, cwd=folder)
    return json.loads((folder / dataset / f"{NOTEBOOK}.json").read_text())


def main(argv: list[str] | None = None) -> int:
    """``python -m nine_utils.course.gaussian_map [--out FILE] [--jobs N]``: writes the map file."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.gaussian_map", description=__doc__)
    parser.add_argument("--out", default="data/gaussian_map.json", help="the map file (relative: to the repository)")
    parser.add_argument("--jobs", type=int, default=2, help="data sets run at once (one core each)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        runs = dict(zip(DATASETS, pool.map(lambda name: run_one(name, Path(tmp)), DATASETS)))
    first, out = runs[DATASETS[0]], resolve_from_root(args.out)
    content = {"made_by": f"make map (python -m nine_utils.course.gaussian_map), {NOTEBOOK}", "grid": GRID,
               "parameters": {k: v for k, v in first["parameters"].items() if k not in ("dataset", "results_dir")},
               "versions": first.get("versions", {})}
    content.update({name: {"map": r["metrics"]["map"], "n_seeds": r["metrics"]["n_seeds"],
                           "runtime_seconds": r["runtime_seconds"]} for name, r in runs.items()})
    out.with_suffix(".json.tmp").write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    out.with_suffix(".json.tmp").replace(out)
    print(f"wrote {out}: " + ", ".join(f"{name} ({r['runtime_seconds']:.0f} s)" for name, r in runs.items()))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by `make map`
    sys.exit(main())
