"""A kernel that dies while starting (a port taken by another process) is started again.

No kernel is started here: the start functions are stand-ins that fail the way jupyter_client
does. A real occurrence, in a `make test` run: a sweep's kernel exited with "zmq.error.ZMQError:
Address already in use" and nbclient raised "Kernel died before replying to kernel_info".
"""

import nbval.kernel
import pytest
from papermill.exceptions import PapermillExecutionError

from nine_utils.course import runner
from nine_utils.course.runner import KERNEL_START_ATTEMPTS, retry_kernel_start

DIED = RuntimeError("Kernel died before replying to kernel_info")


def _failing(errors):
    """A start function that raises ``errors`` one by one, then returns "started"; it counts its calls."""
    calls = []

    def start(*args, **kwargs):
        calls.append((args, kwargs))
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "started"

    return start, calls


def test_a_kernel_that_died_while_starting_is_started_again():
    start, calls = _failing([DIED, DIED])
    assert retry_kernel_start(start)("nb.ipynb", cwd="x") == "started"
    assert len(calls) == 3 and all(c == (("nb.ipynb",), {"cwd": "x"}) for c in calls)


def test_it_gives_up_after_the_last_attempt():
    start, calls = _failing([DIED] * KERNEL_START_ATTEMPTS)
    with pytest.raises(RuntimeError, match="Kernel died before replying"):
        retry_kernel_start(start)()
    assert len(calls) == KERNEL_START_ATTEMPTS


@pytest.mark.parametrize("error", [RuntimeError("Kernel didn't respond in 60 seconds"),
                                   PapermillExecutionError(3, 4, "code", "ValueError", "bad value", []),
                                   ValueError("not a kernel problem")],
                         ids=["timeout", "a cell failed", "other"])
def test_other_errors_are_raised_at_once(error):
    start, calls = _failing([error])
    with pytest.raises(type(error)):
        retry_kernel_start(start)()
    assert len(calls) == 1


def test_attempts_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        retry_kernel_start(lambda: None, attempts=0)


def test_execute_and_nbvals_kernel_start_use_it(monkeypatch, tmp_path):
    import papermill

    start, calls = _failing([DIED])
    monkeypatch.setattr(papermill, "execute_notebook", start)
    assert runner.execute(tmp_path / "in.ipynb", tmp_path / "out.ipynb") == tmp_path / "out.ipynb"
    assert len(calls) == 2
    # tests/conftest.py wraps the function nbval starts the committed notebooks' kernels with
    assert nbval.kernel.start_new_kernel.__wrapped__.__name__ == "start_new_kernel"
    assert nbval.kernel.RunningKernel.__init__.__globals__["start_new_kernel"] is nbval.kernel.start_new_kernel
