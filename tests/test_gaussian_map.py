"""The committed full map of notebook 03 (data/gaussian_map.json) matches the notebook it came from.

``make map`` runs notebook 03 over a larger grid; the notebook draws the file and compares its own
default run with it. That comparison means something only while the file was made with the
notebook's current defaults, so a changed default (epochs, sigma, the critic, the seeds) without a
new ``make map`` fails here, naming the parameter.
"""

import json

from nine_utils.course import gaussian_map
from nine_utils.course.paths import repo_root
from nine_utils.course.runner import notebook_defaults

MAP = repo_root() / "data" / "gaussian_map.json"
NOTEBOOK = repo_root() / "notebooks" / f"{gaussian_map.NOTEBOOK}.ipynb"
SET_BY_MAKE_MAP = {"map_dims", "map_views", "dataset", "results_dir"}


def test_the_committed_map_was_made_with_the_notebooks_defaults():
    content = json.loads(MAP.read_text())
    defaults = notebook_defaults(NOTEBOOK)
    stale = {k: (content["parameters"].get(k), v) for k, v in defaults.items()
             if k not in SET_BY_MAKE_MAP and content["parameters"].get(k) != v}
    assert not stale, f"data/gaussian_map.json was made with other defaults (file, notebook): {stale}; run `make map`"
    assert content["grid"] == gaussian_map.GRID


def test_the_map_covers_the_notebooks_default_cells_for_every_data_set():
    content = json.loads(MAP.read_text())
    defaults = notebook_defaults(NOTEBOOK)
    assert set(defaults["map_dims"]) <= set(gaussian_map.GRID["map_dims"])
    assert set(defaults["map_views"]) <= set(gaussian_map.GRID["map_views"])
    for name in gaussian_map.DATASETS:
        m = content[name]["map"]
        assert content[name]["n_seeds"] == defaults["n_seeds"] >= 3
        assert sorted(map(int, m)) == gaussian_map.GRID["map_dims"]
        for d, by_view in m.items():
            assert sorted(map(float, by_view)) == gaussian_map.GRID["map_views"], (name, d)
            for view, rows in by_view.items():
                for row in ("nine", "dim_standardized", "dim_whitened", "dim_learned_standardized", "dim_learned_whitened"):
                    entry = rows[row]["radial_ks_ratio"]
                    assert len(entry["by_seed"]) == defaults["n_seeds"], (name, d, view, row)
                    assert abs(sum(entry["by_seed"]) / len(entry["by_seed"]) - entry["mean"]) < 1e-9


def test_make_map_gathers_each_data_sets_map_into_one_file(tmp_path, monkeypatch):
    """The collection step of ``make map``, with the notebook runs replaced by made-up results files."""
    ran = []

    def fake_run(dataset, folder):
        ran.append(dataset)
        return {"parameters": {"dataset": dataset, "results_dir": str(folder), "epochs": 7, "seed": 0},
                "metrics": {"map": {"2": {"0.2": {"nine": {"radial_ks_ratio": {"mean": len(dataset)}}}}},
                            "n_seeds": 3},
                "runtime_seconds": 1.5, "versions": {"torch": "x"}}

    monkeypatch.setattr(gaussian_map, "run_one", fake_run)
    out = tmp_path / "map.json"
    assert gaussian_map.main(["--out", str(out), "--jobs", "1"]) == 0
    content = json.loads(out.read_text())
    assert sorted(ran) == sorted(gaussian_map.DATASETS)
    assert content["parameters"] == {"epochs": 7, "seed": 0}  # what the notebook ran with, less what make map sets
    assert content["grid"] == gaussian_map.GRID
    for name in gaussian_map.DATASETS:
        assert content[name]["map"]["2"]["0.2"]["nine"]["radial_ks_ratio"]["mean"] == len(name)
        assert content[name]["n_seeds"] == 3
    assert not list(tmp_path.glob("*.tmp"))  # written to a temporary file, then renamed
