"""The course's book site: Sphinx + myst-nb + sphinx-book-theme, configured in ``docs/conf.py``.

``python -m nine_utils.course.site --out site`` (``make site``) stages the sources in a temporary
folder — an ``index.md`` made of the README's title, introduction and notebook table, and a copy of
every course notebook ``notebooks/NN_*.ipynb`` with its committed outputs (never executed) — builds
them with Sphinx and writes the HTML to ``site/``. Two builds of the same commit are byte-identical.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .catalog import BINDER_BADGE, COLAB_BADGE, STUDENT_FOLDER, github_url, load_config, read_notebook, select
from .catalog import course as _course
from .nav import COLAB_TAG, README_END, README_START
from .paths import repo_root

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SITE_MARK = "index.html"  # a folder holding this is a previous site (this one or the old nbconvert one)
# the Colab and Binder badges are images on other sites: the book shows them as plain links
_BADGE_RE = re.compile(rf"\[!\[([^\]]*)\]\((?:{re.escape(COLAB_BADGE)}|{re.escape(BINDER_BADGE)})\)\]\(")


def _unbadge(markdown: str) -> str:
    return _BADGE_RE.sub(r"[\1](", markdown)


def _index_md(root: Path, toc: list[str]) -> str:
    """The landing page: the README up to the end of its notebook table, and the (hidden) toctree."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    if README_START not in readme or README_END not in readme:
        raise ValueError(f"README.md needs the markers {README_START} and {README_END} around the notebook table")
    text = readme.split(README_END, 1)[0] + README_END
    student = f"](notebooks/{STUDENT_FOLDER}/"  # the student copies are not pages: link them on GitHub
    text = text.replace(student, "](" + github_url(load_config(root), f"notebooks/{STUDENT_FOLDER}/"))
    return f"{_unbadge(text)}\n\n```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n" + "\n".join(toc) + "\n```\n"


def _page_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook as its page shows it: the stored outputs less the progress-bar widgets.

    A stored widget renders as its frozen text ("0%") and would make the page load the widget
    manager from a CDN, so widget views and the notebook's widget state are dropped. The nav
    block's badges become plain links, and the Colab set-up cell is folded.
    """
    nb = read_notebook(path)
    if not any(c.cell_type == "code" and c.execution_count for c in nb.cells):
        raise ValueError(f"{path.name} has no executed cells; run `make refresh` first")
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # the nav block's "course index" link
            cell.source = _unbadge(cell.source.replace("](../README.md)", "](../index.md)"))
        elif cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
            if COLAB_TAG in cell.metadata.get("tags", []):  # a no-op off Colab: folded on the page
                cell.metadata["tags"] = [*cell.metadata["tags"], "hide-input"]
    return nb


def build_site(out: str | Path, root: str | Path | None = None, only: list[str] | None = None,
               quiet: bool = True) -> Path:
    """Build the book into ``out`` (replaced) and return ``out / "index.html"``.

    Parameters
    ----------
    out : path
        Output folder; it must not exist, be empty, or hold a previous build.
    root : path, optional
        Repository root (default :func:`nine_utils.repo_root`); its ``docs/conf.py`` is used.
    only : list of str, optional
        Notebook stems to include (default: every course notebook); links to the others are left dangling.
    quiet : bool
        Print Sphinx's warnings only.

    Raises
    ------
    ValueError
        If a notebook was never executed, or ``out`` holds something that is not a site.
    RuntimeError
        If Sphinx fails or warns.
    """
    from sphinx.cmd.build import build_main

    root = Path(root).resolve() if root is not None else repo_root()
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / SITE_MARK).exists():
        raise ValueError(f"{out} is not empty and holds no previous site; refusing to replace it")
    entries = _course(root)
    chosen = [entries[i] for i in select(entries, only)]
    with tempfile.TemporaryDirectory(prefix="nine-site-") as tmp:
        src, html = Path(tmp, "src"), Path(tmp, "html")
        (src / "notebooks").mkdir(parents=True)
        for e in chosen:
            nbformat.write(_page_notebook(e.path), str(src / "notebooks" / e.name))
        toc = [f"{e.label} <notebooks/{e.stem}>" for e in chosen]
        (src / "index.md").write_text(_index_md(root, toc), encoding="utf-8")
        args = ["-b", "html", "-c", str(root / "docs"), "-d", str(Path(tmp, "doctrees")), "-W", "--keep-going",
                "-j", "1", "-E", str(src), str(html)]
        if only:  # links to the notebooks left out are expected
            args[:0] = ["-D", "suppress_warnings=myst.xref_missing"]
        env = {"SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "0")}
        with _environ(env), contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            status = build_main(args)
        if status:
            raise RuntimeError(f"sphinx-build failed (exit status {status}); see the warnings above")
        (html / ".buildinfo").unlink(missing_ok=True)  # build metadata, not part of the site
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(html, out)
    return out / "index.html"


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m nine_utils.course.site [--out site] [--only STEM ...]``."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="site", help="output folder, relative to the repository root")
    parser.add_argument("--only", nargs="*", default=None, help="notebook stems to include")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    root = repo_root()
    out = Path(args.out) if Path(args.out).is_absolute() else root / args.out
    try:
        index = build_site(out, root, args.only, quiet=not args.verbose)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {index.parent}/ (open {index})")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(main())
