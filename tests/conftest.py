import os
import tempfile

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """The course's thread policy (nine_utils.course.params.DEFAULT_TORCH_THREADS): one torch thread per process."""
    torch.set_num_threads(1)
    yield


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew (the exercise tests run notebook cells in this process)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# nbval waits at most 5 s (a constant it sets on each cell item, with no option to change it) for a
# cell's output messages once the kernel has replied that the cell finished. On a busy 2-core machine
# that wait has run out after long training cells (notebook 03, twice, with TQDM_DISABLE=1), failing
# a cell that had run correctly. A longer wait changes nothing else: a hung cell is still caught by
# --nbval-cell-timeout.
NBVAL_OUTPUT_TIMEOUT = 60


def pytest_configure(config):
    """Under pytest-xdist, give each worker its own IPython and matplotlib folders.

    Two workers start kernels at the same moment. With one shared IPYTHONDIR they would create the
    same profile folder and open the same history database together; with one MPLCONFIGDIR they
    would build the same font cache. The kernels inherit these variables from the worker.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        home = tempfile.mkdtemp(prefix=f"nine-tests-{worker}-")
        for var, sub in (("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")):
            os.environ[var] = os.path.join(home, sub)
            os.makedirs(os.environ[var], exist_ok=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
