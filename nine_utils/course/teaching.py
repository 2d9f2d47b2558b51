"""The teaching kit: student copies, navigation, the Colab set-up cell and the static site.

Everything here is generated from the course notebooks ``notebooks/NN_topic.ipynb`` (as found by
:func:`nine_utils.course.runner.notebook_paths`), so a notebook added later is covered without any
change to this module.

``python -m nine_utils.course.teaching nav``      writes, in every notebook, the navigation block at the
                                           top of the title cell and the Colab set-up cell after
                                           it, and the notebook table of ``README.md``;
``python -m nine_utils.course.teaching student``  writes ``notebooks/student/NN_topic.ipynb``: solutions
                                           stubbed out or removed, outputs stripped;
``python -m nine_utils.course.teaching site``     renders every notebook, with its outputs, to HTML in
                                           ``site/`` with an ``index.html``;
``python -m nine_utils.course.teaching check``    exits non-zero when any generated part is out of date.

Conventions (see ``CONTRIBUTING.md``)
-------------------------------------
* A code cell tagged ``solution`` becomes, in the student copy, a stub: its leading comment lines
  (the exercise prompt), a ``# TODO`` line and ``raise NotImplementedError("Exercise: ...")``. The
  stub is tagged ``raises-exception``, so nbclient (JupyterLab's "run all", nbval) runs on past it.
  A markdown or raw cell tagged ``solution`` is dropped.
* ``<details>...</details>`` blocks in markdown cells are solutions and are removed.
* The title cell's learning goals (its bullet list after "Learning goals") and the heading are the
  source of the README table and of the site's index; the CPU runtime comes from
  ``metadata["nine"]["runtime_minutes_cpu"]``, or else from the title cell's "Runtime" sentence.
* The GitHub repository used by the badges and the Colab cell is ``[tool.nine] repository`` in
  ``pyproject.toml``, and nowhere else.
"""

from __future__ import annotations

import argparse
import ast
import copy
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import nbformat
from nbformat import NotebookNode

from .runner import execute, notebook_paths
from .paths import repo_root

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10: tomli, or the copy pip vendors
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

NAV_START = "<!-- nav:start -->"
NAV_END = "<!-- nav:end -->"
README_START = "<!-- notebooks:start -->"
README_END = "<!-- notebooks:end -->"
SOLUTION_TAG = "solution"
STUB_TAGS = ("exercise", "raises-exception")
COLAB_TAG = "colab-setup"
COLAB_CELL_ID = "colab-setup"
STUDENT_FOLDER = "student"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"

Variant = Literal["course", "student", "site"]

_NAV_RE = re.compile(re.escape(NAV_START) + r".*?" + re.escape(NAV_END) + r"[ \t]*\n*", re.S)
_README_RE = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
_DETAILS_RE = re.compile(r"[ \t]*<details\b[^>]*>.*?</details>[ \t]*", re.S | re.I)
_SLUG_RE = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")
_NUMBER_PREFIX = re.compile(r"^(\d{2})\s*[·.:\-–—]\s*")
_RUNTIME_RE = re.compile(r"\*\*\s*(?:cpu\s+)?runtime\s*:?\s*\*\*\s*:?\s*"  # **Runtime:** about 2 minutes on ...
                         r"(?P<text>.+?)(?:\s+on\s|\.(?:\s|$)|[(\n]|$)", re.I)


# --------------------------------------------------------------------------------------------
# configuration and the course's table of contents


@dataclass(frozen=True)
class KitConfig:
    """The ``[tool.nine]`` table of ``pyproject.toml``.

    Attributes
    ----------
    repository : str
        GitHub ``owner/name`` of the course; the badges and the Colab cell point at it.
    branch : str
        Branch the badges and the Colab cell use.
    colab_packages : tuple of str
        Requirements that Google Colab lacks, installed there with ``--no-deps`` (never torch).
    """

    repository: str
    branch: str = "main"
    colab_packages: tuple[str, ...] = ()

    @property
    def repository_name(self) -> str:
        """The ``name`` part of ``owner/name``."""
        return self.repository.split("/", 1)[1]


def load_config(root: str | Path | None = None) -> KitConfig:
    """Read ``[tool.nine]`` from ``<root>/pyproject.toml``.

    Parameters
    ----------
    root : path, optional
        Repository root (default :func:`nine_utils.repo_root`).

    Returns
    -------
    KitConfig

    Raises
    ------
    ValueError
        If the table or its ``repository`` key is missing or not ``owner/name``.
    """
    root = Path(root) if root is not None else repo_root()
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("nine")
    if not isinstance(table, dict) or "repository" not in table:
        raise ValueError("pyproject.toml needs a [tool.nine] table with repository = \"owner/name\"")
    repository = str(table["repository"])
    if not _SLUG_RE.match(repository):
        raise ValueError(f"[tool.nine] repository must be a GitHub owner/name, got {repository!r}")
    packages = table.get("colab_packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ValueError("[tool.nine] colab_packages must be a list of requirement strings")
    return KitConfig(repository=repository, branch=str(table.get("branch", "main")), colab_packages=tuple(packages))


@dataclass(frozen=True)
class NotebookInfo:
    """What the navigation, the README table and the site index say about one notebook.

    Attributes
    ----------
    path : Path
        The course notebook.
    number : str
        Its two-digit number, e.g. ``"01"``.
    title : str
        Short title: the heading without its number, up to the first colon or dash.
    subtitle : str
        The rest of the heading (may be empty).
    goals : tuple of str
        The learning-goal bullets of the title cell.
    runtime : str
        Estimated CPU runtime, e.g. ``"~1.5 min"``.
    """

    path: Path
    number: str
    title: str
    subtitle: str
    goals: tuple[str, ...]
    runtime: str

    @property
    def name(self) -> str:
        """File name, e.g. ``01_deep_infomax.ipynb``."""
        return self.path.name

    @property
    def stem(self) -> str:
        """File name without ``.ipynb``."""
        return self.path.stem

    @property
    def label(self) -> str:
        """``"01 · Deep InfoMax"``."""
        return f"{self.number} · {self.title}"


def strip_nav(text: str) -> str:
    """Remove the generated navigation block (and the blank lines after it) from markdown ``text``."""
    return _NAV_RE.sub("", text, count=1) if NAV_START in text else text


def _format_runtime(minutes: float) -> str:
    if minutes < 1:
        return f"~{max(1, round(minutes * 60))} s"
    return f"~{minutes:g} min"


def _parse_goals(text: str) -> tuple[str, ...]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "learning goals" in line.lower()), None)
    if start is None:
        return ()
    goals: list[str] = []
    for line in lines[start + 1:]:
        bullet = re.match(r"^\s*[-*+]\s+(.*)$", line)
        if bullet:
            goals.append(bullet.group(1).strip())
        elif not line.strip():
            continue
        elif goals and line.startswith((" ", "\t")):
            goals[-1] += " " + line.strip()  # a bullet wrapped onto an indented line
        elif goals:
            break
    return tuple(g.rstrip(" ;.,") for g in goals)


def notebook_info(path: str | Path, nb: NotebookNode | None = None) -> NotebookInfo:
    """Read the title, learning goals and runtime of one notebook from its title cell and metadata.

    Parameters
    ----------
    path : path
        The notebook, ``NN_topic.ipynb``.
    nb : NotebookNode, optional
        Its content, if already read.

    Returns
    -------
    NotebookInfo

    Raises
    ------
    ValueError
        If the first cell is not a markdown cell with a ``# `` heading and learning-goal bullets.
    """
    path = Path(path)
    nb = nb if nb is not None else nbformat.read(str(path), as_version=4)
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{path.name}: the first cell must be the markdown title cell")
    text = strip_nav(nb.cells[0].source)
    heading = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), None)
    if heading is None:
        raise ValueError(f"{path.name}: the title cell has no '# ' heading")
    number = path.name[:2]
    m = _NUMBER_PREFIX.match(heading)
    if m:
        heading = heading[m.end():]
    parts = re.split(r"\s*(?::|\s[—–-])\s+", heading, maxsplit=1)
    title, subtitle = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
    goals = _parse_goals(text)
    if not goals:
        raise ValueError(f"{path.name}: the title cell has no bullet list after 'Learning goals'")
    minutes = nb.metadata.get("nine", {}).get("runtime_minutes_cpu")
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0:
        runtime = _format_runtime(float(minutes))
    else:
        r = _RUNTIME_RE.search(text)
        runtime = r.group("text").strip() if r else "?"
    return NotebookInfo(path=path, number=number, title=title, subtitle=subtitle, goals=goals, runtime=runtime)


def course(root: str | Path | None = None) -> list[NotebookInfo]:
    """:func:`notebook_info` of every course notebook under ``<root>/notebooks``, in course order."""
    root = Path(root) if root is not None else repo_root()
    return [notebook_info(p) for p in notebook_paths(root / "notebooks")]


# --------------------------------------------------------------------------------------------
# links, the navigation block and the Colab cell


def colab_url(config: KitConfig, repo_path: str) -> str:
    """Open-in-Colab URL of the file ``repo_path`` (relative to the repository root)."""
    return f"https://colab.research.google.com/github/{config.repository}/blob/{config.branch}/{repo_path}"


def binder_url(config: KitConfig, repo_path: str) -> str:
    """mybinder.org URL that opens ``repo_path`` in JupyterLab (Binder builds ``environment.yml``)."""
    return f"https://mybinder.org/v2/gh/{config.repository}/{config.branch}?labpath={quote(repo_path, safe='')}"


def github_url(config: KitConfig, repo_path: str) -> str:
    """URL of ``repo_path`` on GitHub."""
    return f"https://github.com/{config.repository}/blob/{config.branch}/{repo_path}"


def badges(config: KitConfig, repo_path: str) -> str:
    """Markdown for the "Open in Colab" and Binder badges of ``repo_path``."""
    return (f"[![Open In Colab]({COLAB_BADGE})]({colab_url(config, repo_path)}) "
            f"[![Binder]({BINDER_BADGE})]({binder_url(config, repo_path)})")


def nav_block(entries: list[NotebookInfo], index: int, config: KitConfig, variant: Variant = "course") -> str:
    """The navigation block that heads the title cell of ``entries[index]``.

    Parameters
    ----------
    entries : list of NotebookInfo
        The whole course, in order (:func:`course`).
    index : int
        Position of the notebook in ``entries``.
    config : KitConfig
        Repository and branch for the badges.
    variant : {"course", "student", "site"}
        ``"course"``: links to the neighbouring ``.ipynb`` and to ``../README.md``;
        ``"student"``: the same from ``notebooks/student/``, badges opening the student copy, and a
        link back to the full notebook; ``"site"``: links to the neighbouring ``.html`` pages and
        to ``index.html``.

    Returns
    -------
    str
        Markdown between :data:`NAV_START` and :data:`NAV_END`, no trailing newline.
    """
    if not 0 <= index < len(entries):
        raise ValueError(f"index {index} is outside the course of {len(entries)} notebooks")
    ext = ".html" if variant == "site" else ".ipynb"
    home = {"course": "../README.md", "student": "../../README.md", "site": "index.html"}[variant]
    folder = "notebooks/student" if variant == "student" else "notebooks"
    me = entries[index]
    prev_ = (f"[← previous: {entries[index - 1].label}]({entries[index - 1].stem}{ext})" if index > 0
             else "*first notebook*")
    next_ = (f"[next: {entries[index + 1].label} →]({entries[index + 1].stem}{ext})" if index + 1 < len(entries)
             else "*last notebook*")
    lines = [NAV_START, f"{prev_} · [course index]({home}) · {next_}", "", badges(config, f"{folder}/{me.name}")]
    if variant == "student":
        lines += ["", f"*Student copy: the exercises' solutions are removed. [The full notebook](../{me.name}) "
                      "has them, with the outputs of a full run.*"]
    lines.append(NAV_END)
    return "\n".join(lines)


def with_nav(text: str, block: str) -> str:
    """``text`` with its navigation block replaced by (or headed with) ``block``."""
    return block + "\n\n" + strip_nav(text).lstrip("\n")


def colab_cell_source(config: KitConfig) -> str:
    """Source of the Colab set-up cell: a no-op unless ``google.colab`` is imported.

    On Colab it clones the repository into ``/content/<name>``, installs it with
    ``pip install --no-deps`` together with ``config.colab_packages`` (so Colab's torch is never
    touched), and sets ``NINE_ROOT`` so :func:`nine_utils.repo_root` finds the clone. The install is
    a regular (not editable) one: an editable install's path hook is only read when a new
    interpreter starts, whereas a regular install is importable in the running kernel.
    """
    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    url = f"https://github.com/{config.repository}.git"
    extra = "".join(f", {q(p)}" for p in config.colab_packages)
    return "\n".join([
        "# Colab set-up, generated by `make nav` (the same cell in every notebook). On Google Colab it",
        "# installs the course library nine_utils from the repository, keeping Colab's own torch;",
        "# anywhere else it does nothing.",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
        "    import importlib",
        "    import os",
        "    import subprocess",
        "",
        f"    _NINE_CLONE = {q('/content/' + config.repository_name)}",
        "    if not os.path.isdir(_NINE_CLONE):",
        f'        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", {q(config.branch)},',
        f"                        {q(url)}, _NINE_CLONE], check=True)",
        "    # --no-deps: torch, numpy, scipy, ... stay Colab's own; add only what Colab lacks",
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", _NINE_CLONE{extra}],',
        "                   check=True)",
        "    importlib.invalidate_caches()",
        '    os.environ["NINE_ROOT"] = _NINE_CLONE  # nine_utils.repo_root(): results/ lives in the clone',
    ])


def _new_colab_cell(config: KitConfig) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(colab_cell_source(config))
    cell.id = COLAB_CELL_ID
    cell.metadata = nbformat.from_dict({"tags": [COLAB_TAG]})
    return cell


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def apply_nav(nb: NotebookNode, entries: list[NotebookInfo], index: int, config: KitConfig,
              variant: Variant = "course", colab_cell: bool = True) -> NotebookNode:
    """A copy of ``nb`` with its navigation block and (optionally) its Colab cell made current.

    Parameters
    ----------
    nb : NotebookNode
        The notebook ``entries[index]``.
    entries, index, config, variant
        As in :func:`nav_block`.
    colab_cell : bool
        Also put the Colab set-up cell (tag ``colab-setup``) right after the title cell. An existing
        one keeps its outputs and execution count; a new one has none until the next run.

    Returns
    -------
    NotebookNode
    """
    nb = copy.deepcopy(nb)
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{entries[index].name}: the first cell must be the markdown title cell")
    nb.cells[0].source = with_nav(nb.cells[0].source, nav_block(entries, index, config, variant))
    if colab_cell:
        found = [i for i, c in enumerate(nb.cells) if COLAB_TAG in _tags(c)]
        cell = nb.cells[found[0]] if found else _new_colab_cell(config)
        if nb.get("nbformat_minor", 5) < 5:  # cell ids exist from nbformat 4.5 on
            cell.pop("id", None)
        for i in reversed(found):
            del nb.cells[i]
        cell.source = colab_cell_source(config)
        nb.cells.insert(1, cell)
    return nb


# --------------------------------------------------------------------------------------------
# README table


def readme_table(entries: list[NotebookInfo], config: KitConfig) -> str:
    """The README's notebook table (columns: #, notebook, learning goals, CPU runtime)."""
    rows = ["| # | notebook | learning goals | CPU runtime |", "|---|---|---|---|"]
    for e in entries:
        path = f"notebooks/{e.name}"
        cell = (f"[{e.title}]({path})<br>{badges(config, path)}<br>"
                f"[student copy](notebooks/{STUDENT_FOLDER}/{e.name})")
        goals = "<br>".join(f"• {g}" for g in e.goals).replace("|", "\\|")
        rows.append(f"| {e.number} | {cell} | {goals} | {e.runtime} |")
    return "\n".join(rows)


def update_readme(text: str, table: str) -> str:
    """``text`` with the part between :data:`README_START` and :data:`README_END` set to ``table``.

    Raises
    ------
    ValueError
        If the README lacks the markers.
    """
    if README_START not in text or README_END not in text:
        raise ValueError(f"README.md needs the markers {README_START} and {README_END} around the notebook table")
    block = f"{README_START}\n{table}\n{README_END}"
    return _README_RE.sub(lambda _: block, text, count=1)


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
        tags = _tags(cell)
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


def dumps(nb: NotebookNode) -> str:
    """Serialize ``nb`` exactly as :func:`nbformat.write` (and papermill) do."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


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
        if SOLUTION_TAG not in _tags(c):
            bound_elsewhere |= parsed[i][0]
    seen_solution = False
    for i, c in code:
        bound, loaded = parsed[i]
        if SOLUTION_TAG in _tags(c):
            seen_solution = True
            if not exercise_prompt(c.source):
                problems.append(f"{name}: solution cell {i} has no leading comment to serve as the exercise prompt")
            if "parameters" in _tags(c):
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
        if errors and "raises-exception" not in _tags(c):
            raise RuntimeError(f"{Path(path).name}: cell {i} raised {errors[0].ename}: {errors[0].evalue}")
    return nb


# --------------------------------------------------------------------------------------------
# writing and checking the generated parts


def _read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _select(entries: list[NotebookInfo], only: list[str] | None) -> list[int]:
    if not only:
        return list(range(len(entries)))
    wanted = {Path(n).stem for n in only}
    unknown = wanted - {e.stem for e in entries}
    if unknown:
        raise ValueError(f"unknown notebooks {sorted(unknown)}; known: {[e.stem for e in entries]}")
    return [i for i, e in enumerate(entries) if e.stem in wanted]


def write_nav(root: str | Path | None = None, only: list[str] | None = None, readme: bool = True) -> list[Path]:
    """Make the navigation blocks, Colab cells and README table current; return the files changed.

    Parameters
    ----------
    root : path, optional
        Repository root (default :func:`nine_utils.repo_root`).
    only : list of str, optional
        Notebook stems to rewrite (the links always come from the whole course).
    readme : bool
        Also rewrite the README table.
    """
    root = Path(root) if root is not None else repo_root()
    config, entries = load_config(root), course(root)
    changed = []
    for i in _select(entries, only):
        nb = apply_nav(_read(entries[i].path), entries, i, config)
        if _write_if_changed(entries[i].path, dumps(nb)):
            changed.append(entries[i].path)
    if readme:
        path = root / "README.md"
        if _write_if_changed(path, update_readme(path.read_text(encoding="utf-8"), readme_table(entries, config))):
            changed.append(path)
    return changed


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
    for i in _select(entries, only):
        text = dumps(student_notebook(_read(entries[i].path), entries, i, config))
        if _write_if_changed(student_path(entries[i].path), text):
            changed.append(student_path(entries[i].path))
    if not only:
        for orphan in _orphans(root, entries):
            orphan.unlink()
            changed.append(orphan)
    return changed


def _orphans(root: Path, entries: list[NotebookInfo]) -> list[Path]:
    names = {e.name for e in entries}
    return sorted(p for p in (root / "notebooks" / STUDENT_FOLDER).glob("*.ipynb") if p.name not in names)


def check(root: str | Path | None = None) -> list[str]:
    """Everything generated that is out of date, and every breach of the solution convention.

    Returns
    -------
    list of str
        One message per problem, each naming the command that fixes it; empty when all is current.
    """
    root = Path(root) if root is not None else repo_root()
    config, entries = load_config(root), course(root)
    problems = []
    for i, e in enumerate(entries):
        nb = _read(e.path)
        rel = e.path.relative_to(root)
        if dumps(apply_nav(nb, entries, i, config)) != dumps(nb):
            problems.append(f"{rel}: navigation block or Colab cell out of date (run `make nav`)")
        problems += solution_problems(nb, str(rel))
        student = student_path(e.path)
        try:
            expected = dumps(student_notebook(nb, entries, i, config))
        except ValueError as err:
            problems.append(str(err))
            continue
        if not student.exists():
            problems.append(f"{student.relative_to(root)}: missing (run `make student`)")
        elif student.read_text(encoding="utf-8") != expected:
            problems.append(f"{student.relative_to(root)}: out of date (run `make student`)")
    for orphan in _orphans(root, entries):
        problems.append(f"{orphan.relative_to(root)}: no such course notebook (run `make student`)")
    readme = root / "README.md"
    try:
        current = update_readme(readme.read_text(encoding="utf-8"), readme_table(entries, config))
    except ValueError as err:
        problems.append(str(err))
    else:
        if current != readme.read_text(encoding="utf-8"):
            problems.append("README.md: notebook table out of date (run `make nav`)")
    return problems


# --------------------------------------------------------------------------------------------
# the static site

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.55; max-width: 52rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.25rem; margin-bottom: 0.2rem; }
ol.course { list-style: none; padding: 0; }
ol.course > li { border-top: 1px solid #ddd; padding: 0.8rem 0; }
.subtitle { color: #555; margin-top: 0; }
.links { font-size: 0.9rem; }
.links img { vertical-align: middle; }
"""

_MATHJAX = """<script>window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]]}};</script>
<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>"""


def _inline_markdown(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    out = markdown2html_mistune(text).strip()
    m = re.fullmatch(r"<p>(.*)</p>", out, re.S)
    return m.group(1) if m else out


def site_index(entries: list[NotebookInfo], config: KitConfig, title: str = "NINE course", intro: str = "") -> str:
    """HTML of the site's ``index.html``: the notebooks in course order with their learning goals.

    Parameters
    ----------
    entries : list of NotebookInfo
        The notebooks with a page, in order; page ``k`` is ``<stem>.html``.
    config : KitConfig
        Repository and branch for the Colab, Binder and source links.
    title : str
        Page heading.
    intro : str
        Markdown paragraph under the heading.
    """
    items = []
    for e in entries:
        path = f"notebooks/{e.name}"
        goals = "\n".join(f"      <li>{_inline_markdown(g)}</li>" for g in e.goals)
        items.append(f"""  <li id="nb-{e.number}">
    <h2><a href="{e.stem}.html">{html.escape(e.label)}</a></h2>
    <p class="subtitle">{_inline_markdown(e.subtitle) if e.subtitle else ""}</p>
    <p>Learning goals:</p>
    <ul>
{goals}
    </ul>
    <p class="links">CPU runtime: {html.escape(e.runtime)} ·
      <a href="{html.escape(colab_url(config, path))}"><img src="{COLAB_BADGE}" alt="Open In Colab"></a>
      <a href="{html.escape(binder_url(config, path))}"><img src="{BINDER_BADGE}" alt="Binder"></a> ·
      <a href="{html.escape(github_url(config, path))}">notebook</a> ·
      <a href="{html.escape(github_url(config, f'notebooks/{STUDENT_FOLDER}/{e.name}'))}">student copy</a></p>
  </li>""")
    body = "\n".join(items)
    intro_html = f"<p>{_inline_markdown(intro)}</p>" if intro else ""
    home = f"https://github.com/{config.repository}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_INDEX_CSS}</style>
{_MATHJAX}
</head>
<body>
<h1>{html.escape(title)}</h1>
{intro_html}
<ol class="course">
{body}
</ol>
<p class="links">Source: <a href="{home}">{html.escape(home)}</a></p>
</body>
</html>
"""


def _readme_heading(root: Path) -> tuple[str, str]:
    readme = root / "README.md"
    if not readme.exists():
        return "NINE course", ""
    blocks = readme.read_text(encoding="utf-8").split("\n\n")
    title = blocks[0].lstrip("# ").strip() if blocks and blocks[0].startswith("# ") else "NINE course"
    intro = " ".join(blocks[1].split()) if len(blocks) > 1 and not blocks[1].startswith(("|", "<!--")) else ""
    return title, intro


def build_site(out: str | Path, root: str | Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Render the course notebooks, with their committed outputs, to HTML and write an index.

    Each page is nbconvert's ``lab`` HTML, which embeds every figure as a ``data:`` URI, so
    ``out`` is self-contained (MathJax and the badges load from the web when online). The
    navigation block of each page links the neighbouring pages and ``index.html``.

    Parameters
    ----------
    out : path
        Output folder (created).
    root : path, optional
        Repository root (default :func:`nine_utils.repo_root`).
    only : list of str, optional
        Notebook stems to render; the index lists exactly the pages rendered.

    Returns
    -------
    list of Path
        The pages written, ``index.html`` last.

    Raises
    ------
    ValueError
        If a notebook was never executed (no outputs to show).
    """
    from nbconvert import HTMLExporter

    root = Path(root) if root is not None else repo_root()
    out = Path(out)
    config, entries = load_config(root), course(root)
    chosen = _select(entries, only)
    exporter = HTMLExporter(template_name="lab")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i in chosen:
        e = entries[i]
        nb = _read(e.path)
        if not any(c.cell_type == "code" and c.execution_count for c in nb.cells):
            raise ValueError(f"{e.name} has no executed cells; run `make refresh` first")
        nb = apply_nav(nb, entries, i, config, variant="site", colab_cell=False)
        if not any(o.get("data", {}).get("application/vnd.jupyter.widget-view+json")
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs):
            nb.metadata.pop("widgets", None)  # stale widget state from a run with progress bars
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": e.label}})
        page = out / f"{e.stem}.html"
        page.write_text(body, encoding="utf-8")
        written.append(page)
    title, intro = _readme_heading(root)
    index = out / "index.html"
    index.write_text(site_index([entries[i] for i in chosen], config, title, intro), encoding="utf-8")
    written.append(index)
    return written


# --------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m nine_utils.course.teaching {nav,student,site,check}``."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.teaching", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_nav = sub.add_parser("nav", help="navigation blocks, Colab cells and the README table")
    p_nav.add_argument("--only", nargs="*", default=None, help="notebook stems to rewrite (README always)")
    p_student = sub.add_parser("student", help="write notebooks/student/")
    p_student.add_argument("--only", nargs="*", default=None, help="notebook stems to write")
    p_site = sub.add_parser("site", help="render the notebooks to HTML with an index")
    p_site.add_argument("--out", default="site", help="output folder, relative to the repository root")
    p_site.add_argument("--only", nargs="*", default=None, help="notebook stems to render")
    sub.add_parser("check", help="exit 1 if anything generated is out of date")
    args = parser.parse_args(argv)

    root = repo_root()
    try:
        if args.command == "nav":
            changed = write_nav(root, args.only)
        elif args.command == "student":
            changed = write_students(root, args.only)
        elif args.command == "site":
            out = Path(args.out) if Path(args.out).is_absolute() else root / args.out
            changed = build_site(out, root, args.only)
        else:
            problems = check(root)
            for p in problems:
                print(p)
            if not problems:
                print("teaching kit: everything is current")
            return 1 if problems else 0
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for p in changed:
        print(f"wrote {p.relative_to(root) if p.is_relative_to(root) else p}")
    if not changed:
        print(f"{args.command}: nothing to change")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(main())
