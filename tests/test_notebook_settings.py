"""Bad run settings fail in each notebook's parameter-check cell, before any work.

Every notebook's code is run here, in the test's process, as papermill runs it: the cells before the
parameters cell, the parameters cell, the values papermill would inject (the smoke parameters plus,
all at once, a misspelled parameter name, a batch of 1, a results_dir below a regular file, so that
it cannot be created, where it has one an unknown ``dataset``, and on a machine without CUDA
``device = "cuda"``), then the next code cell. That cell must be the one that calls
``course.check_parameters`` (so no work comes before the check), and it must raise one ValueError
naming each bad setting. That a failing cell stops a papermill run, in a kernel, is checked once
by ``tests/test_params.py::test_a_misspelled_papermill_parameter_fails_in_the_checker_cell``.
"""

import json

import pytest
import torch

from nine_utils.course.runner import nine_metadata, notebook_defaults, notebook_paths

NOTEBOOKS = notebook_paths()


# a batch-size parameter of each notebook, set to 1 (every notebook needs at least 2 pairs in a batch)
BATCH_PARAMETER = {"01_deep_infomax": "batch_size", "02_noise_injection": "batch_dd",
                   "03_gaussian_matching": "batch_size", "04_uniform_and_other_priors": "batch_size",
                   "05_disentanglement": "batch_size", "06_anomaly_detection": "batch_size",
                   "07_generative_modeling": "encoder_batch", "08_nine_in_practice": "batch_size",
                   "09_appendix": None}  # the appendix trains nothing in batches


def _run_to_the_cell_after_the_parameters(path, injected):
    """Run ``path``'s code cells up to the parameters cell, inject ``injected`` as papermill does (a cell of
    literal assignments, also in IPython's input history ``In``, which the check reads), then run the next
    code cell; returns that cell's source, the exception it raised (``None`` if none) and the namespace."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    ns = {"__name__": "__main__", "In": [""]}
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        ns["In"].append(source)
        exec(compile(source, f"{path.stem} cell {i}", "exec"), ns)
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            ns["In"].append("\n".join(f"{k} = {v!r}" for k, v in injected.items()))
            ns.update(injected)
            nxt = "".join(cells[i + 1]["source"])
            try:
                exec(compile(nxt, f"{path.stem} cell {i + 1}", "exec"), ns)
            except Exception as err:  # noqa: BLE001 - the test looks at what it is
                return nxt, err, ns
            return nxt, None, ns
    raise AssertionError(f"{path.name} has no cell tagged 'parameters'")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_bad_settings_fail_in_the_checker_cell_before_any_work(path, tmp_path):
    """A misspelled name, a batch of 1, an unwritable results_dir, an unknown data set and a missing device."""
    assert path.stem in BATCH_PARAMETER, f"add {path.stem}'s batch-size parameter to BATCH_PARAMETER"
    batch = BATCH_PARAMETER[path.stem]
    blocker = tmp_path / "a_file"
    blocker.write_text("results_dir cannot be a folder below a file")
    bad = {"no_such_parameter": 1, "results_dir": str(blocker / "results"), **({batch: 1} if batch else {})}
    if "dataset" in notebook_defaults(path):
        bad["dataset"] = "nope"
    if not torch.cuda.is_available():
        bad["device"] = "cuda"
    source, err, _ = _run_to_the_cell_after_the_parameters(path, {**nine_metadata(path)["smoke_parameters"], **bad})
    assert "check_parameters(" in source, "the cell after the parameters must be the parameter check"
    assert isinstance(err, ValueError), f"the check raised {err!r}, not one ValueError"
    for name in bad:
        assert name in str(err), f"the checker's message does not name {name!r}: {err}"
    if "dataset" in bad:
        assert "'nope'" in str(err) and "'digits', 'mnist', 'fashion_mnist'" in str(err)
    assert not (blocker / "results").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_smoke_parameters_pass_the_check(path, tmp_path):
    _, err, _ = _run_to_the_cell_after_the_parameters(
        path, {**nine_metadata(path)["smoke_parameters"], "results_dir": str(tmp_path / "results")})
    assert err is None, f"{path.stem}'s smoke parameters fail its check: {err}"
