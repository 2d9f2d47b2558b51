"""The course's book site: Sphinx + myst-nb + sphinx-book-theme, configured in ``docs/conf.py``.

``python -m nine_utils.course.site --out site`` (``make site``) stages the sources in a temporary
folder — an ``index.md`` made of the README's title, introduction and notebook table and its
findings, running, teaching and citing sections, and a copy of every course notebook ``notebooks/NN_*.ipynb``
with its committed outputs (never executed) — builds them with Sphinx and writes the HTML to
``site/``. On the pages, solutions and plumbing cells are folded, figures have alt text and open in
full size, and each page links its source on GitHub and its student copy in Colab; the download
button serves the committed notebook. Two builds of the same commit are byte-identical.
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

from .catalog import (BINDER_BADGE, COLAB_BADGE, NAV_END, STUDENT_FOLDER, KitConfig, colab_url,
                      github_url, load_config, read_notebook, select)
from .catalog import course as _course
from .nav import COLAB_TAG, README_END, README_START
from .paths import repo_root

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SITE_MARK = "index.html"  # a folder holding this is a previous site (this one or the old nbconvert one)
# the Colab and Binder badges are images on other sites: the book shows them as plain links
_BADGE_RE = re.compile(rf"\[!\[([^\]]*)\]\((?:{re.escape(COLAB_BADGE)}|{re.escape(BINDER_BADGE)})\)\]\(")


# the README's sections (level-2 headings) that follow the notebook table on the landing page: what the
# course finds, how to run it, work with and teach from the notebooks, and how to cite it
LANDING_SECTIONS = re.compile(r"(what the course finds|the two commands|running|working with the notebooks|teaching"
                              r"|citing|how to cite)\b", re.I)
# cells folded on a page ("Show code cell source"): the exercises' solutions, and plumbing (the Colab
# set-up, the parameter check, the results file)
SOLUTION_TAG = "solution"
HIDE_INPUT = "hide-input"
_PLUMBING_RE = re.compile(r"\b(?:check_parameters|save_results)\(")
_LINK_RE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]+)\)")
_HEADING_RE = re.compile(r"^## (.+)$", re.M)
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[ \t]*$", re.M | re.S)


def _unbadge(markdown: str) -> str:
    return _BADGE_RE.sub(r"[\1](", markdown)


def _relink(markdown: str, config: KitConfig, pages: set[str]) -> str:
    """README markdown as the landing page shows it: links to the site's pages stay, other files of
    the repository link to GitHub, and pictures of the repository (a screenshot of this site) go."""
    def sub(m: re.Match) -> str:
        bang, text, target = m.groups()
        if re.match(r"^[a-z][a-z0-9+.\-]*:|^#", target, re.I):
            return m.group(0)  # https:, mailto:, an anchor on the page
        path = target.split("#", 1)[0]
        if bang:
            return ""
        if path in pages:
            return m.group(0)
        return f"[{text}]({github_url(config, path)})"
    return _LINK_RE.sub(sub, markdown)


def _readme_sections(text: str) -> list[str]:
    """The README's level-2 sections (heading included) whose heading matches :data:`LANDING_SECTIONS`."""
    masked = _FENCE_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)  # no headings inside code
    starts = [m for m in _HEADING_RE.finditer(masked)]
    sections = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        if LANDING_SECTIONS.match(m.group(1).strip()):
            sections.append(text[m.start():end].rstrip() + "\n")
    return sections


def _index_md(root: Path, toc: list[str], pages: set[str] | None = None) -> str:
    """The landing page: the README up to the end of its notebook table, its running, teaching and
    citing sections, and the (hidden) toctree."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    if README_START not in readme or README_END not in readme:
        raise ValueError(f"README.md needs the markers {README_START} and {README_END} around the notebook table")
    config = load_config(root)
    head, tail = readme.split(README_END, 1)
    text = head + README_END
    student = f"](notebooks/{STUDENT_FOLDER}/"  # the student copies are not pages: link them on GitHub
    text = text.replace(student, "](" + github_url(config, f"notebooks/{STUDENT_FOLDER}/"))
    sections = "\n".join(_relink(section, config, pages or set()) for section in _readme_sections(tail))
    return (f"{_unbadge(text)}\n\n{sections}\n```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n" + "\n".join(toc)
            + "\n```\n")


def _plain(markdown: str) -> str:
    """Markdown as plain text, for an image's alt text: no markup, links by their text, TeX kept bare."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[*`$]+|\\[()\[\]]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _first_sentence(markdown: str, limit: int = 240) -> str:
    text = _plain(markdown)
    text = re.sub(r"^What the (?:full )?\w* ?(?:figure|map) shows\.\s*", "", text)
    m = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = m.group(1) if m else text
    if len(sentence) > limit:
        sentence = sentence[:limit].rsplit(" ", 1)[0] + " …"
    return sentence


def _figure_alt(title: str, number: int, count: int, caption: str) -> str:
    which = f"Figure {number}" if count == 1 else f"Figures {number}–{number + count - 1}"
    return f"{which} of {title}" + (f": {caption}" if caption else "")


def _fold(cell: nbformat.NotebookNode) -> None:
    """Fold a solution or plumbing code cell's source on its page (myst-nb's ``hide-input`` tag)."""
    tags = list(cell.metadata.get("tags", []))
    solution = SOLUTION_TAG in tags
    if not (solution or COLAB_TAG in tags or HIDE_INPUT in tags or _PLUMBING_RE.search(cell.source)):
        return
    if HIDE_INPUT not in tags:
        cell.metadata["tags"] = [*tags, HIDE_INPUT]
    if solution:
        cell.metadata.setdefault("mystnb", {}).update(code_prompt_show="Show the solution",
                                                      code_prompt_hide="Hide the solution")


def _page_links(config: KitConfig, name: str) -> str:
    return (f"[Open the student copy in Colab]({colab_url(config, f'notebooks/{STUDENT_FOLDER}/{name}')}) "
            f"(the exercises without their solutions) · "
            f"[This notebook on GitHub]({github_url(config, f'notebooks/{name}')})")


def _page_notebook(path: Path, config: KitConfig | None = None, title: str | None = None) -> nbformat.NotebookNode:
    """The notebook as its page shows it: the stored outputs less the progress-bar widgets.

    A stored widget renders as its frozen text ("0%") and would make the page load the widget
    manager from a CDN, so widget views and the notebook's widget state are dropped. The nav
    block's badges become plain links, followed by links to the student copy in Colab and to the
    notebook on GitHub (with ``config``). Solutions and plumbing cells (the Colab set-up, the
    parameter check, the results file) are folded. Each figure's alt text names the notebook
    (``title``) and the figure's number, with the first sentence of the markdown cell after it.
    """
    nb = read_notebook(path)
    if not any(c.cell_type == "code" and c.execution_count for c in nb.cells):
        raise ValueError(f"{path.name} has no executed cells; run `make refresh` first")
    nb.metadata.pop("widgets", None)
    title = title or path.stem
    figures = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":  # the nav block's "course index" link
            cell.source = _unbadge(cell.source.replace("](../README.md)", "](../index.md)"))
        elif cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
            _fold(cell)
            images = sum(any(k.startswith("image/") for k in o.get("data", {})) for o in cell.outputs)
            if images:
                after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
                caption = _first_sentence(after.source) if after is not None and after.cell_type == "markdown" else ""
                alt = _figure_alt(title, figures + 1, images, caption)
                cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt
                figures += images
    if config is not None:
        links = _page_links(config, path.name)
        first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if first is not None and NAV_END in first.source:
            first.source = first.source.replace(NAV_END, f"\n{links}\n{NAV_END}", 1)
        else:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(links))
    return nb


# what the theme ships that a reader never loads: source maps, unrendered template fragments, and
# the theme's message catalogues (used while building, not by the browser)
_UNSHIPPED = ("**/*.map", "_static/webpack-macros.html", "_static/sbt-webpack-macros.html", "**/*_t")
_SOURCE_MAP_RE = re.compile(rb"\n?/[/*][#@] sourceMappingURL=[^\n]*?(?:\*/)?[ \t]*(?=\n|$)")


def _prune(html: Path) -> None:
    """Drop from the built site what a reader never loads (see :data:`_UNSHIPPED`, ``_static/locales``)
    and the ``sourceMappingURL`` comments that point at the dropped maps."""
    for pattern in _UNSHIPPED:
        for p in sorted(html.glob(pattern)):
            if p.is_file():
                p.unlink()
    shutil.rmtree(html / "_static" / "locales", ignore_errors=True)
    for p in sorted([*html.glob("_static/**/*.js"), *html.glob("_static/**/*.css")]):
        data = p.read_bytes()
        if b"sourceMappingURL=" in data:
            p.write_bytes(_SOURCE_MAP_RE.sub(b"", data))


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
        config = load_config(root)
        for e in chosen:
            nbformat.write(_page_notebook(e.path, config, e.label), str(src / "notebooks" / e.name))
        toc = [f"{e.label} <notebooks/{e.stem}>" for e in chosen]
        pages = {f"notebooks/{e.name}" for e in chosen}
        (src / "index.md").write_text(_index_md(root, toc, pages), encoding="utf-8")
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
        _prune(html)
        for e in chosen:  # the download button serves the committed notebook, not the staged copy
            shutil.copyfile(e.path, html / "_sources" / "notebooks" / e.name)
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
