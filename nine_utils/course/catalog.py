"""The course's table of contents: ``[tool.nine]``, the notebooks' titles and goals, the links.

Everything here is read from the course notebooks ``notebooks/NN_topic.ipynb`` (as found by
:func:`nine_utils.course.runner.notebook_paths`), so a notebook added later is covered without any
change to this module.

* The title cell's learning goals (its bullet list after "Learning goals") and the heading are the
  source of the README table and of the site's index; the CPU runtime comes from
  ``metadata["nine"]["runtime_minutes_cpu"]``, or else from the title cell's "Runtime" sentence.
* The GitHub repository used by the badges and the Colab cell is ``[tool.nine] repository`` in
  ``pyproject.toml``, and nowhere else.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbformat import NotebookNode

from .paths import repo_root
from .runner import notebook_paths

NAV_START = "<!-- nav:start -->"
NAV_END = "<!-- nav:end -->"
STUDENT_FOLDER = "student"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"

_NAV_RE = re.compile(re.escape(NAV_START) + r".*?" + re.escape(NAV_END) + r"[ \t]*\n*", re.S)
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
        Repository root (default :func:`nine_utils.course.repo_root`).

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
# links


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



# --------------------------------------------------------------------------------------------
# reading and writing notebooks


def read_notebook(path: str | Path) -> NotebookNode:
    """Read a notebook as nbformat 4."""
    return nbformat.read(str(path), as_version=4)


def dumps(nb: NotebookNode) -> str:
    """Serialize ``nb`` exactly as :func:`nbformat.write` (and papermill) do."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds exactly that; return whether it wrote."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def select(entries: list[NotebookInfo], only: list[str] | None) -> list[int]:
    """Positions in ``entries`` of the notebook stems ``only`` (all of them when ``only`` is empty).

    Raises
    ------
    ValueError
        If a stem is not a course notebook.
    """
    if not only:
        return list(range(len(entries)))
    wanted = {Path(n).stem for n in only}
    unknown = wanted - {e.stem for e in entries}
    if unknown:
        raise ValueError(f"unknown notebooks {sorted(unknown)}; known: {[e.stem for e in entries]}")
    return [i for i, e in enumerate(entries) if e.stem in wanted]


def cell_tags(cell: NotebookNode) -> list[str]:
    """The cell's tags."""
    return list(cell.get("metadata", {}).get("tags", []))
