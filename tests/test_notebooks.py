"""Every notebook in notebooks/, run with its smoke parameters through papermill.

New notebooks are picked up automatically. Each notebook declares in ``metadata["nine"]``:
``smoke_parameters`` (small values), ``metric_keys`` (what its results file must hold) and
``sanity`` (expressions over the metrics that must hold, e.g. ``"mi_infonce <= infonce_ceiling"``).

One kernel run serves two checks: where a notebook has coding exercises, the run is of its
*student copy* (``notebooks/student/``), which differs from the notebook only in the stubbed
solution cells. It must run top to bottom with only the stubs (``NotImplementedError``) and their
self-checks (``AssertionError``) raising, and its results file must pass the checks below. The
solution cells themselves are run by ``tests/test_exercises.py``, and the committed notebooks
top to bottom at their defaults by nbval. For the notebooks of ``DETERMINISM_CHECKED`` the
committed notebook is run a second time with the same parameters, and every number must be the
same: the seeds are honoured, and the student copy computes what the notebook computes.
"""

import json
import math
import re

import nbformat
import pytest

from nine_utils.course.runner import execute, nine_metadata, notebook_paths
from nine_utils.course.kit import SOLUTION_TAG, execute_student, student_path

NOTEBOOKS = notebook_paths()
TIMING = re.compile(r"seconds|time")
DETERMINISM_CHECKED = {"02_noise_injection"}


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


def _smoke_run(path, tmp_path, tag, student=False):
    """Run ``path`` (or its student copy) with the smoke parameters: (results, executed notebook)."""
    results_dir = tmp_path / f"results_{tag}"
    params = dict(nine_metadata(path)["smoke_parameters"], results_dir=str(results_dir))
    workdir = tmp_path / f"cwd_{tag}"  # an unrelated working directory
    workdir.mkdir()
    if student:
        run = execute_student(student_path(path), tmp_path / f"{path.stem}_{tag}.ipynb", params, cwd=workdir)
    else:
        run = execute(path, tmp_path / f"{path.stem}_{tag}.ipynb", params, cwd=workdir)
    results = results_dir / f"{path.stem}.json"
    assert results.exists(), f"{path.stem}: the results cell did not run"
    return json.loads(results.read_text()), run


def _has_exercises(path):
    nb = nbformat.read(str(path), as_version=4)
    return any(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells if c.cell_type == "code")


def _check_stubs_fail(path, run):
    """In an executed student copy, every stub raised NotImplementedError and its self-check (the next
    code cell) an AssertionError; no other cell raised (execute_student checks that part)."""
    code = [c for c in run.cells if c.cell_type == "code"]
    stubs = [k for k, c in enumerate(code) if "exercise" in c.get("metadata", {}).get("tags", [])]
    assert stubs, f"{path.stem}: the student copy has no exercise stubs (run `make student`)"
    for k in stubs:
        errors = [[o.ename for o in code[j].outputs if o.output_type == "error"] for j in (k, k + 1)]
        assert errors == [["NotImplementedError"], ["AssertionError"]], (
            f"{path.stem}: stub {code[k].get('id')} and its self-check raised {errors}, expected "
            "NotImplementedError and then AssertionError")


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_smoke_run(path, tmp_path):
    meta = nine_metadata(path)
    student = _has_exercises(path)
    first, run = _smoke_run(path, tmp_path, "a", student=student)
    if student:
        _check_stubs_fail(path, run)

    assert set(first) == {"notebook", "parameters", "metrics", "runtime_seconds", "source_sha256", "versions"}
    assert re.fullmatch(r"[0-9a-f]{64}", first["source_sha256"])  # the hash of the code that ran
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

    # determinism: the same seed and parameters give the same numbers (timings aside), here between the
    # student copy's run and the committed notebook's. Checked on notebook 02 (the toy and the from-scratch
    # loop); the seeded paths of the later notebooks (digits, views, NINE's head and the channel critic, the
    # cosine and learned critics, over_seeds, the joint statistics and their floors) are run twice in one
    # process by test_training_metrics.py::test_a_seeded_pipeline_gives_the_same_numbers_twice, to keep
    # `make test` short.
    if path.stem not in DETERMINISM_CHECKED:
        return
    second, _ = _smoke_run(path, tmp_path, "b")
    same = {k: v for k, v in metrics.items() if not TIMING.search(k)}
    assert same == {k: v for k, v in second["metrics"].items() if not TIMING.search(k)}
