import os
import tempfile

import pytest
import torch

from nine_utils.course.runner import retry_kernel_start


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
    """Under pytest-xdist, give each worker its own IPython and matplotlib folders; retry nbval's kernel start.

    Two workers start kernels at the same moment. With one shared IPYTHONDIR they would create the
    same profile folder and open the same history database together; with one MPLCONFIGDIR they
    would build the same font cache. The kernels inherit these variables from the worker.

    nbval starts each committed notebook's kernel with its ``nbval.kernel.start_new_kernel``. Like
    every kernel start, it can lose a port to another process (the kernel then dies with "Address
    already in use", and every cell of that notebook would fail); it is wrapped in the runner's
    ``retry_kernel_start``, as the runner's own starts are.
    """
    import nbval.kernel

    if not hasattr(nbval.kernel.start_new_kernel, "__wrapped__"):
        nbval.kernel.start_new_kernel = retry_kernel_start(nbval.kernel.start_new_kernel)
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
