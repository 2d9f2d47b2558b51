"""Bad run settings fail in each notebook's parameter-check cell, before any work.

Every notebook runs with its smoke parameters plus, all at once, a misspelled parameter name, a
batch of 1, a results_dir below a regular file (so it cannot be created), where it has one an
unknown ``dataset`` (the message lists the known ones) and, on a machine without CUDA,
``device = "cuda"``. The run must fail in the cell that calls
``course.check_parameters``, with one message naming each bad setting, and no later cell may run.
(A file of its own, so that pytest-xdist's ``--dist loadfile`` can run it beside the smoke runs.)
"""

import pytest

from nine_utils.course.runner import execute, nine_metadata, notebook_defaults, notebook_paths

NOTEBOOKS = notebook_paths()


# a batch-size parameter of each notebook, set to 1 (every notebook needs at least 2 pairs in a batch)
BATCH_PARAMETER = {"01_deep_infomax": "batch_size", "02_noise_injection": "batch_dd",
                   "03_gaussian_matching": "batch_size", "04_uniform_and_other_priors": "batch_size",
                   "05_disentanglement": "batch_size", "06_anomaly_detection": "batch_size",
                   "07_generative_modeling": "encoder_batch", "08_nine_in_practice": "batch_size",
                   "09_appendix": None}  # the appendix trains nothing in batches


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
    bad = {"no_such_parameter": 1, "results_dir": str(blocker / "results"), **({batch: 1} if batch else {})}
    if "dataset" in notebook_defaults(path):
        bad["dataset"] = "nope"
    if not torch.cuda.is_available():
        bad["device"] = "cuda"
    params = {**nine_metadata(path)["smoke_parameters"], **bad}
    out = tmp_path / f"{path.stem}_bad.ipynb"
    with pytest.raises(PapermillExecutionError) as err:
        execute(path, out, params, cwd=tmp_path)
    assert err.value.ename == "ValueError", f"{err.value.ename}: {err.value.evalue}"
    for name in bad:
        assert name in err.value.evalue, f"the checker's message does not name {name!r}: {err.value.evalue}"
    if "dataset" in bad:
        assert "'nope'" in err.value.evalue and "'digits', 'mnist', 'fashion_mnist'" in err.value.evalue
    ran = nbformat.read(str(out), as_version=4)
    failed = [i for i, c in enumerate(ran.cells)
              if c.cell_type == "code" and any(o.output_type == "error" for o in c.get("outputs", []))]
    checker = [i for i, c in enumerate(ran.cells) if c.cell_type == "code" and "check_parameters(" in c.source]
    assert failed == checker[:1], f"the run failed in cell(s) {failed}, not in the checker cell {checker[:1]}"
    executed = [i for i, c in enumerate(ran.cells) if c.cell_type == "code" and c.get("execution_count")]
    assert max(executed) == failed[0], "cells after the checker ran"
