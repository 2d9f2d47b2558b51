"""The coding exercises: every reference solution passes its self-check, every student stub fails it.

Convention, for every course notebook (new ones are picked up automatically):

* a code cell tagged ``solution`` holds the reference solution; its leading comment lines are the
  exercise prompt (the student copy keeps them and raises ``NotImplementedError`` after them);
* the next code cell is its **self-check**, tagged ``self-check`` and ``raises-exception``: asserts
  with a helpful message. It finds the learner's code with ``globals().get(name)``, so that it fails
  with an ``AssertionError`` (not a ``NameError``) while the exercise is unsolved, and so that no
  later cell reads a name bound only in a solution cell (:func:`solution_problems`). The
  ``raises-exception`` tag lets the student copy run on past a failing check;
* a solution and its self-check should use only the notebook's imports, its parameters and the
  set-up cell right after the parameters cell. That keeps this test fast: it runs those cells with
  the smoke parameters, then each exercise, without executing the rest of the notebook. A
  self-check that needs more (a ``NameError`` there) is checked the slow way: every code cell up
  to the last self-check is run in order, with the smoke parameters.

``tests/test_notebooks.py::test_notebook_smoke_run`` runs each student copy top to bottom with the
smoke parameters (its one kernel run per notebook) and checks that only the stubs and their
self-checks raised.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest

from nine_utils.course.runner import nine_metadata, notebook_paths
from nine_utils.course.kit import SOLUTION_TAG, student_path

matplotlib.use("Agg")

SELF_CHECK_TAG = "self-check"
NOTEBOOKS = notebook_paths()


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def exercises(nb) -> list[tuple[object, object]]:
    """``(solution_or_stub, self_check)`` pairs, in notebook order.

    A solution is a code cell tagged ``solution`` (in a course notebook) or ``exercise`` (its stub
    in a student copy); its self-check is the next code cell.
    """
    code = _code_cells(nb)
    pairs = []
    for i, cell in enumerate(code):
        if SOLUTION_TAG in _tags(cell) or "exercise" in _tags(cell):
            pairs.append((cell, code[i + 1] if i + 1 < len(code) else None))
    return pairs


def _context_cells(nb):
    """Code cells up to and including the first one after the ``parameters`` cell (imports, parameters,
    set-up), without the Colab cell."""
    code = _code_cells(nb)
    idx = next((i for i, c in enumerate(code) if "parameters" in _tags(c)), None)
    if idx is None:
        raise AssertionError("the notebook has no cell tagged 'parameters'")
    return [c for c in code[:idx + 2] if "colab-setup" not in _tags(c)], code[idx]


def _namespace(nb, path: Path, tmp_path: Path, upto=None) -> dict:
    """Run the imports, the parameters (with the smoke parameters injected) and the set-up cell.

    With ``upto`` (a list of cells), run every code cell before the first of them instead, except
    the exercises themselves, which the caller runs.
    """
    context, params_cell = _context_cells(nb)
    if upto is not None:
        skip = {id(c) for pair in exercises(nb) for c in pair if c is not None}
        code = _code_cells(nb)
        first = min(code.index(c) for c in upto)
        context = [c for c in code[:first] if "colab-setup" not in _tags(c) and id(c) not in skip]
    overrides = dict(nine_metadata(path).get("smoke_parameters", {}), results_dir=str(tmp_path / "results"))
    # "In" is IPython's input history: the parameter check reads it to tell the parameters cell and
    # the injected one (literal assignments only) from cells that compute something
    from IPython.display import display

    ns: dict = {"__name__": "__exercise_check__", "In": [], "display": display}
    for cell in context:
        _run(cell.source, ns, f"{path.name} cell {cell.get('id', '?')}")
        if cell is params_cell:  # papermill's injected cell
            injected = "\n".join(f"{k} = {v!r}" for k, v in json.loads(json.dumps(overrides)).items())
            _run(injected, ns, f"{path.name} injected parameters")
    return ns


def _run(source: str, ns: dict, where: str) -> None:
    from IPython.core.inputtransformer2 import TransformerManager

    ns["In"].append(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(TransformerManager().transform_cell(source), f"<{where}>", "exec"), ns)


def _run_cell(cell, ns: dict, path: Path) -> None:
    _run(cell.source, ns, f"{path.name} cell {cell.get('id', '?')}")


def _run_between(nb, path: Path, ns: dict, start, stop) -> None:
    """In slow mode: run the non-exercise code cells strictly between two cells (``None``: the end)."""
    code = _code_cells(nb)
    skip = {id(c) for pair in exercises(nb) for c in pair if c is not None}
    lo = code.index(start) + 1
    hi = code.index(stop) if stop is not None else lo
    for cell in code[lo:hi]:
        if id(cell) not in skip and "colab-setup" not in _tags(cell):
            _run_cell(cell, ns, path)


def _with_exercises():
    found = [p for p in NOTEBOOKS if any(SOLUTION_TAG in _tags(c) for c in _code_cells(nbformat.read(str(p), as_version=4)))]
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no notebook has solution cells"))]


WITH_EXERCISES = _with_exercises()


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem if p else "none")
def test_each_solution_has_a_self_check(path):
    nb = nbformat.read(str(path), as_version=4)
    for solution, check in exercises(nb):
        where = f"{path.name}: solution cell {solution.get('id')}"
        assert check is not None, f"{where} is not followed by a self-check cell"
        assert SOLUTION_TAG not in _tags(check), f"{where}: the next code cell is another solution, not a self-check"
        assert SELF_CHECK_TAG in _tags(check) and "raises-exception" in _tags(check), (
            f"{where}: tag its self-check cell {check.get('id')} 'self-check' and 'raises-exception' (the "
            "student copy must run on past it while the exercise is unsolved)")
        assert "assert" in check.source, f"{where}: the self-check cell {check.get('id')} has no assert"


def _check_full(nb, path: Path, tmp_path: Path, slow: bool) -> None:
    pairs = exercises(nb)
    ns = _namespace(nb, path, tmp_path, upto=[pairs[0][0]] if slow else None)
    for k, (solution, check) in enumerate(pairs):
        _run_cell(solution, ns, path)
        _run_cell(check, ns, path)
        if slow and k + 1 < len(pairs):
            _run_between(nb, path, ns, check, pairs[k + 1][0])


def _check_student(snb, student: Path, tmp_path: Path, slow: bool) -> None:
    pairs = exercises(snb)
    ns = _namespace(snb, student, tmp_path, upto=[pairs[0][0]] if slow else None)
    for k, (stub, check) in enumerate(pairs):
        assert "raises-exception" in _tags(check), f"{student.name}: self-check {check.get('id')} lacks 'raises-exception'"
        with pytest.raises(NotImplementedError):
            _run_cell(stub, ns, student)
        try:
            _run_cell(check, ns, student)
        except AssertionError as err:
            assert str(err).strip(), f"{student.name}: self-check {check.get('id')} fails without a message"
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{student.name}: self-check {check.get('id')} must fail with an AssertionError and a "
                        f"helpful message while the exercise is unsolved, not {type(err).__name__}: {err}")
        else:
            pytest.fail(f"{student.name}: self-check {check.get('id')} passes although its exercise "
                        f"{stub.get('id')} is unsolved; it must assert that the learner's code exists and works")
        if slow and k + 1 < len(pairs):
            _run_between(snb, student, ns, check, pairs[k + 1][0])


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem if p else "none")
def test_solutions_pass_and_stubs_fail_their_self_checks(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    nb = nbformat.read(str(path), as_version=4)
    slow = False
    try:
        _check_full(nb, path, tmp_path / "full", slow=False)
    except NameError:  # a self-check that needs more than the imports, parameters and set-up
        slow = True
    except Exception as err:  # noqa: BLE001 - any failure of a reference solution is reported
        pytest.fail(f"{path.name}: a reference solution fails its self-check: {type(err).__name__}: {err}")
    if slow:
        try:
            _check_full(nb, path, tmp_path / "full_slow", slow=True)
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{path.name}: a reference solution fails its self-check (all earlier cells run): "
                        f"{type(err).__name__}: {err}")

    student = student_path(path)
    assert student.exists(), f"{student} is missing (run `make student`)"
    snb = nbformat.read(str(student), as_version=4)
    assert [s.get("id") for s, _ in exercises(snb)] == [s.get("id") for s, _ in exercises(nb)], (
        f"{student.name}: its exercise stubs do not match the solution cells of {path.name} (run `make student`)")
    _check_student(snb, student, tmp_path / "student", slow=slow)
