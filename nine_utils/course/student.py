"""Student copies: solutions stubbed out or removed, outputs stripped.

``python -m nine_utils.course.kit student`` (``make student``) writes
``notebooks/student/NN_topic.ipynb`` for every course notebook.

Conventions (see ``CONTRIBUTING.md``)
-------------------------------------
* A code cell tagged ``solution`` becomes, in the student copy, a stub: its leading comment lines
  (the exercise prompt), a ``# TODO`` line and ``raise NotImplementedError("Exercise: ...")``. The
  stub is tagged ``raises-exception``, so nbclient (JupyterLab's "run all", nbval) runs on past it.
  A markdown or raw cell tagged ``solution`` is dropped.
* ``<details>...</details>`` blocks in markdown cells are solutions and are removed.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from .catalog import (STUDENT_FOLDER, KitConfig, NotebookInfo, cell_tags, course, dumps, load_config, read_notebook,
                      select, write_if_changed)
from .nav import apply_nav
from .paths import repo_root
from .runner import execute

SOLUTION_TAG = "solution"
STUB_TAGS = ("exercise", "raises-exception")

_DETAILS_RE = re.compile(r"[ \t]*<details\b[^>]*>.*?</details>[ \t]*", re.S | re.I)


# --------------------------------------------------------------------------------------------
# student copies


def strip_details(text: str) -> str:
    """Remove every ``<details>...</details>`` block (a collapsed solution) from markdown ``text``.

    Raises
    ------
    ValueError
        If a ``<details>`` is left unclosed.
    """
    out = _DETAILS_RE.sub("", text)
    if re.search(r"<details\b", out, re.I):
        raise ValueError("a <details> block is not closed by </details>")
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip("\n")


def exercise_prompt(source: str) -> list[str]:
    """The leading comment lines of a solution cell (``# NBVAL_...`` markers left out)."""
    prompt: list[str] = []
    for line in source.splitlines():
        s = line.strip()
        if s.startswith("#"):
            if not s.upper().startswith("# NBVAL"):
                prompt.append(line.rstrip())
        elif s or prompt:
            break
    return prompt


def stub_source(source: str) -> str:
    """The student stub for a solution cell's ``source``.

    The leading comment lines are kept as the prompt, then come ``# TODO: ...`` and
    ``raise NotImplementedError("Exercise: <first prompt line>")``.
    """
    prompt = exercise_prompt(source) or ["# Exercise: see the text above."]
    first = prompt[0].strip().lstrip("#").strip()
    message = first if first.lower().startswith("exercise") else f"Exercise: {first}"
    if len(message) > 80:
        message = message[:77].rsplit(" ", 1)[0].rstrip(" ,;:") + " ..."
    return "\n".join([*prompt, "# TODO: write your solution here, then run the cell.",
                      f"raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"])


def student_notebook(nb: NotebookNode, entries: list[NotebookInfo], index: int, config: KitConfig) -> NotebookNode:
    """The student copy of ``nb`` (= ``entries[index]``).

    Code cells tagged ``solution`` become stubs (:func:`stub_source`) tagged ``exercise`` and
    ``raises-exception``; markdown and raw cells tagged ``solution`` are dropped; ``<details>``
    blocks are removed from markdown; outputs, execution counts and run metadata are stripped. The
    navigation block points at the student neighbours and back at the full notebook. The
    parameters cell and ``metadata["nine"]`` are kept.

    Returns
    -------
    NotebookNode
    """
    nb = apply_nav(nb, entries, index, config, variant="student")
    cells = []
    for cell in nb.cells:
        tags = cell_tags(cell)
        for key in ("execution", "papermill", "ExecuteTime", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if SOLUTION_TAG in tags:
            if cell.cell_type != "code":
                continue
            if "parameters" in tags:
                raise ValueError(f"{entries[index].name}: the parameters cell cannot be a solution")
            cell.source = stub_source(cell.source)
            cell.metadata["tags"] = [t for t in tags if t not in (SOLUTION_TAG, *STUB_TAGS)] + list(STUB_TAGS)
        if cell.cell_type == "markdown":
            try:
                cell.source = strip_details(cell.source)
            except ValueError as err:
                raise ValueError(f"{entries[index].name}: {err}") from None
            if not cell.source.strip():
                continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    meta: dict[str, Any] = {k: copy.deepcopy(nb.metadata[k]) for k in ("kernelspec", "language_info", "nine")
                            if k in nb.metadata}
    if "language_info" in meta:
        meta["language_info"].pop("version", None)  # differs between machines; not the student's business
    nb.metadata = nbformat.from_dict(meta)
    return nb


def student_path(path: str | Path) -> Path:
    """``notebooks/student/NN_topic.ipynb`` for the course notebook ``notebooks/NN_topic.ipynb``."""
    path = Path(path)
    return path.parent / STUDENT_FOLDER / path.name


def solution_problems(nb: NotebookNode, name: str = "notebook") -> list[str]:
    """Ways in which ``nb``'s solution cells break the student copy's top-to-bottom run.

    Checks that a solution cell has a leading comment (the prompt), is neither the parameters cell
    nor the last code cell (the results cell), and that no later non-solution code cell reads a
    name that only solution cells define. The last check is static (names, not side effects on
    objects), so it catches the common mistake, not every one.

    Returns
    -------
    list of str
        One message per problem; empty when the convention holds.
    """
    problems: list[str] = []
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if not code:
        return problems
    solution_only: set[str] = set()
    bound_elsewhere: set[str] = set()
    parsed = {i: _names(c.source) for i, c in code}
    for i, c in code:
        if SOLUTION_TAG not in cell_tags(c):
            bound_elsewhere |= parsed[i][0]
    seen_solution = False
    for i, c in code:
        bound, loaded = parsed[i]
        if SOLUTION_TAG in cell_tags(c):
            seen_solution = True
            if not exercise_prompt(c.source):
                problems.append(f"{name}: solution cell {i} has no leading comment to serve as the exercise prompt")
            if "parameters" in cell_tags(c):
                problems.append(f"{name}: solution cell {i} is the parameters cell")
            if i == code[-1][0]:
                problems.append(f"{name}: the last code cell (the results cell) is tagged solution")
            solution_only |= bound - bound_elsewhere
        elif seen_solution:
            used = sorted((loaded - bound) & solution_only)
            if used:
                problems.append(f"{name}: cell {i} uses {', '.join(used)}, defined only in a solution cell")
    return problems


def _names(source: str) -> tuple[set[str], set[str]]:
    """Names bound and names read by a code cell (IPython magics translated first)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        pass
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return bound, loaded


def execute_student(path: str | Path, output: str | Path, parameters: dict[str, Any] | None = None,
                    cwd: str | Path | None = None) -> NotebookNode:
    """Run a student copy top to bottom with papermill, allowing errors only in its stub cells.

    nbclient honours the ``raises-exception`` tag and goes on past a stub, so every cell runs;
    papermill then still raises for the stub's error output (it ignores the tag). This function
    accepts that, and fails only if a cell *not* tagged ``raises-exception`` raised or never ran.

    Parameters
    ----------
    path, output : path
        The student notebook and where its executed copy goes.
    parameters : dict, optional
        Papermill parameters.
    cwd : path, optional
        Working directory of the kernel.

    Returns
    -------
    NotebookNode
        The executed notebook.

    Raises
    ------
    RuntimeError
        If a cell outside the exercise stubs raised, or the run stopped early.
    """
    from papermill.exceptions import PapermillExecutionError

    try:
        execute(path, output, parameters, cwd=cwd)
    except PapermillExecutionError:
        pass
    nb = nbformat.read(str(output), as_version=4)
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code" or not c.source.strip():
            continue
        if c.execution_count is None:
            raise RuntimeError(f"{Path(path).name}: the run stopped before cell {i}")
        errors = [o for o in c.outputs if o.output_type == "error"]
        if errors and "raises-exception" not in cell_tags(c):
            raise RuntimeError(f"{Path(path).name}: cell {i} raised {errors[0].ename}: {errors[0].evalue}")
    return nb


def write_students(root: str | Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Write ``notebooks/student/`` and remove student copies of notebooks that no longer exist.

    Returns
    -------
    list of Path
        The student copies written or removed.
    """
    root = Path(root) if root is not None else repo_root()
    config, entries = load_config(root), course(root)
    changed = []
    for i in select(entries, only):
        text = dumps(student_notebook(read_notebook(entries[i].path), entries, i, config))
        if write_if_changed(student_path(entries[i].path), text):
            changed.append(student_path(entries[i].path))
    if not only:
        for orphan in orphans(root, entries):
            orphan.unlink()
            changed.append(orphan)
    return changed


def orphans(root: Path, entries: list[NotebookInfo]) -> list[Path]:
    """Student copies in ``<root>/notebooks/student/`` whose course notebook no longer exists."""
    names = {e.name for e in entries}
    return sorted(p for p in (root / "notebooks" / STUDENT_FOLDER).glob("*.ipynb") if p.name not in names)


