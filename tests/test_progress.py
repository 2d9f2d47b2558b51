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
