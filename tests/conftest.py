import pytest
import torch


@pytest.fixture(autouse=True)
def _two_threads():
    """Match the course machines (2 cores) so timings and results are like CI's."""
    torch.set_num_threads(2)
    yield
