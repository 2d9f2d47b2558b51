"""Every notebook in notebooks/, run with its smoke parameters through papermill.

New notebooks are picked up automatically. Each notebook declares in ``metadata["nine"]``:
``smoke_parameters`` (small values), ``metric_keys`` (what its results file must hold) and
``sanity`` (expressions over the metrics that must hold, e.g. ``"mi_infonce <= infonce_ceiling"``).
"""

import json
import math
import re

import pytest

from nine_utils.course.runner import execute, nine_metadata, notebook_paths

NOTEBOOKS = notebook_paths()
TIMING = re.compile(r"seconds|time")
DETERMINISM_CHECKED = {"02_noise_injection", "03_gaussian_matching"}


def _numbers(obj):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


def _smoke_run(path, tmp_path, tag):
    results_dir = tmp_path / f"results_{tag}"
    params = dict(nine_metadata(path)["smoke_parameters"], results_dir=str(results_dir))
    workdir = tmp_path / f"cwd_{tag}"  # an unrelated working directory
    workdir.mkdir()
    execute(path, tmp_path / f"{path.stem}_{tag}.ipynb", params, cwd=workdir)
    return json.loads((results_dir / f"{path.stem}.json").read_text())


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_smoke_run(path, tmp_path):
    meta = nine_metadata(path)
    first = _smoke_run(path, tmp_path, "a")

    assert set(first) == {"notebook", "parameters", "metrics", "runtime_seconds", "versions"}
    assert first["notebook"] == path.stem
    for k, v in meta["smoke_parameters"].items():
        assert first["parameters"][k] == v, f"parameter {k} not recorded as run"
    metrics = first["metrics"]
    missing = [k for k in meta["metric_keys"] if k not in metrics]
    assert not missing, f"results file lacks {missing}"
    assert all(math.isfinite(x) for x in _numbers(metrics))
    for k, v in metrics.items():  # accuracies and AUROCs, with their _std and _by_seed companions
        if k.startswith(("probe_acc", "knn_acc", "auroc")):
            assert all(0.0 <= x <= 1.0 for x in _numbers(v)), k
    names = {"abs": abs, "min": min, "max": max, "math": math, "len": len, "all": all}
    for expr in meta.get("sanity", []):
        assert eval(expr, {"__builtins__": {}}, {**names, **metrics}), f"sanity check failed: {expr}"

    # determinism: the same seed and parameters give the same numbers (timings aside). Checked on two
    # notebooks that between them use every seeded path (the toy and the from-scratch loop in 02; digits,
    # augmentations, over_seeds and the classifier two-sample test in 03), to keep `make test` short.
    if path.stem not in DETERMINISM_CHECKED:
        return
    second = _smoke_run(path, tmp_path, "b")
    same = {k: v for k, v in metrics.items() if not TIMING.search(k)}
    assert same == {k: v for k, v in second["metrics"].items() if not TIMING.search(k)}
