import pytest
import torch


@pytest.fixture(autouse=True)
def _two_threads():
    """Match the course machines (2 cores) so timings and results are like CI's."""
    torch.set_num_threads(2)
    yield


# nbval waits at most 5 s (a constant it sets on each cell item, with no option to change it) for a
# cell's output messages once the kernel has replied that the cell finished. On a busy 2-core machine
# that wait has run out after long training cells (notebook 03, twice, with TQDM_DISABLE=1), failing
# a cell that had run correctly. A longer wait changes nothing else: a hung cell is still caught by
# --nbval-cell-timeout.
NBVAL_OUTPUT_TIMEOUT = 60


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
