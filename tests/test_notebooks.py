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


# a batch-size parameter of each notebook, set to 1 (every notebook needs at least 2 pairs in a batch)
BATCH_PARAMETER = {"01_deep_infomax": "batch_size", "02_noise_injection": "batch_dd",
                   "03_gaussian_matching": "batch_size", "04_uniform_and_other_priors": "batch_size",
                   "05_disentanglement": "batch_size", "06_anomaly_detection": "batch_size",
                   "07_generative_modeling": "encoder_batch"}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_bad_settings_fail_in_the_checker_cell_before_any_work(path, tmp_path):
    """A misspelled name, a batch of 1, an unwritable results_dir and a missing device, all at once."""
    import nbformat
    import torch
    from papermill.exceptions import PapermillExecutionError

    assert path.stem in BATCH_PARAMETER, f"add {path.stem}'s batch-size parameter to BATCH_PARAMETER"
    batch = BATCH_PARAMETER[path.stem]
    blocker = tmp_path / "a_file"
    blocker.write_text("results_dir cannot be a folder below a file")
    bad = {"no_such_parameter": 1, batch: 1, "results_dir": str(blocker / "results")}
    if not torch.cuda.is_available():
        bad["device"] = "cuda"
    params = {**nine_metadata(path)["smoke_parameters"], **bad}
    out = tmp_path / f"{path.stem}_bad.ipynb"
    with pytest.raises(PapermillExecutionError) as err:
        execute(path, out, params, cwd=tmp_path)
    assert err.value.ename == "ValueError", f"{err.value.ename}: {err.value.evalue}"
    for name in bad:
        assert name in err.value.evalue, f"the checker's message does not name {name!r}: {err.value.evalue}"
    ran = nbformat.read(str(out), as_version=4)
    failed = [i for i, c in enumerate(ran.cells)
              if c.cell_type == "code" and any(o.output_type == "error" for o in c.get("outputs", []))]
    checker = [i for i, c in enumerate(ran.cells) if c.cell_type == "code" and "check_parameters(" in c.source]
    assert failed == checker[:1], f"the run failed in cell(s) {failed}, not in the checker cell {checker[:1]}"
    executed = [i for i, c in enumerate(ran.cells) if c.cell_type == "code" and c.get("execution_count")]
    assert max(executed) == failed[0], "cells after the checker ran"
