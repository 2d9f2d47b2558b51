"""Progress bars: off when the runner sets TQDM_DISABLE, the notebook's widget bar included."""

import pytest
from tqdm.notebook import tqdm as widget_tqdm

from nine_utils import _progress, course


@pytest.mark.parametrize("value, off", [("1", True), ("true", True), ("0", False), ("", False), (None, False)])
def test_the_widget_bar_follows_tqdm_disable(monkeypatch, value, off):
    # tqdm.auto gives the widget bar in a kernel, and that bar ignores TQDM_DISABLE on its own
    monkeypatch.setattr(_progress, "tqdm", widget_tqdm)
    if value is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", value)
    bar = course.progress(range(3), desc="x", display=False)
    assert bar.disable is off
    assert list(bar) == [0, 1, 2]
    bar.close()
    assert course.progress(range(3), enabled=False, display=False).disable


def test_a_library_loop_shows_no_bar_under_tqdm_disable(monkeypatch, capsys):
    import torch

    import nine_utils as nu

    monkeypatch.setenv("TQDM_DISABLE", "1")
    enc = nu.MLPEncoder(4, 2, hidden=8)
    nu.train_infomax(enc, nu.SeparableCritic(2), torch.randn(64, 4), epochs=1, batch_size=32, progress=True, seed=0)
    assert "it/s" not in capsys.readouterr().err


def test_a_refresh_drops_stored_widget_state_and_papermill_timings(tmp_path):
    # An interactive run stores its progress bars' widget state in the notebook's metadata; a refresh
    # (no widgets, TQDM_DISABLE) would otherwise keep those frozen bars from a run the outputs do not come from.
    import nbformat

    from nine_utils.course.runner import strip_run_metadata

    nb = nbformat.v4.new_notebook()
    nb.metadata.update(widgets={"application/vnd.jupyter.widget-state+json": {"state": {"m": {"value": "150/150"}}}},
                       papermill={"duration": 1.0}, nine={"metric_keys": ["x"]})
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.metadata.update(papermill={"duration": 0.1}, execution={"shell.execute_reply": "now"}, tags=["keep"])
    nb.cells.append(cell)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    strip_run_metadata(path)
    out = nbformat.read(str(path), as_version=4)
    assert set(out.metadata) == {"nine"}
    assert dict(out.cells[0].metadata) == {"tags": ["keep"]}
