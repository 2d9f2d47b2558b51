"""The book site: ``python -m nine_utils.course.site --out site`` (``make site``), Sphinx with ``docs/conf.py``.

It stages an ``index.md`` (the README up to its notebook table, and its sections named in ``LANDING_SECTIONS``)
and the course notebooks with their committed outputs (never executed), and builds them; two builds of the same
commit are byte-identical.
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
from unittest import mock

import nbformat

from .kit import (BINDER_BADGE, COLAB_BADGE, COLAB_TAG, NAV_END, README_END, README_START, SOLUTION_TAG,
                  STUDENT_FOLDER, KitConfig, colab_url, course, github_url, load_config, select)
from .paths import repo_root

# the README's level-2 sections that follow the table on the landing page
LANDING_SECTIONS = re.compile(r"(what the course finds|the two commands|running|working with the notebooks|teaching"
                              r"|citing|how to cite)\b", re.I)
# the Colab and Binder badges are images on other sites: the book shows them as plain links
_BADGE_RE = re.compile(rf"\[!\[([^\]]*)\]\((?:{re.escape(COLAB_BADGE)}|{re.escape(BINDER_BADGE)})\)\]\(")
_PLUMBING_RE = re.compile(r"\b(?:check_parameters|save_results)\(")
_LINK_RE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]+)\)")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[ \t]*$", re.M | re.S)
# what a reader never loads: source maps, unrendered template fragments, the theme's message catalogues
_UNSHIPPED = ("**/*.map", "_static/webpack-macros.html", "_static/sbt-webpack-macros.html", "**/*_t")
_SOURCE_MAP_RE = re.compile(rb"\n?/[/*][#@] sourceMappingURL=[^\n]*?(?:\*/)?[ \t]*(?=\n|$)")


def _relink(markdown: str, config: KitConfig, pages: set[str]) -> str:
    """README markdown for the landing page: links to its pages stay, other files of the repository link to
    GitHub, and pictures of the repository (a screenshot of this site) go."""
    def sub(m: re.Match) -> str:
        bang, text, target = m.groups()
        if re.match(r"^[a-z][a-z0-9+.\-]*:|^#", target, re.I) or target.split("#", 1)[0] in pages and not bang:
            return m.group(0)  # https:, mailto:, an anchor on the page, a page of the site
        return "" if bang else f"[{text}]({github_url(config, target.split('#', 1)[0])})"
    return _LINK_RE.sub(sub, markdown)


def _readme_sections(text: str) -> list[str]:
    """The README's level-2 sections (heading included) whose heading matches :data:`LANDING_SECTIONS`."""
    masked = _FENCE_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)  # no headings inside code
    starts = [*re.finditer(r"^## (.+)$", masked, re.M), None]
    return [text[m.start():end.start() if end else len(text)].rstrip() + "\n" for m, end in zip(starts, starts[1:])
            if LANDING_SECTIONS.match(m.group(1).strip())]


def _index_md(root: Path, config: KitConfig, toc: list[str], pages: set[str]) -> str:
    """The landing page: the README up to its table (student copies linked on GitHub), its sections, the toctree."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    if README_START not in readme or README_END not in readme:
        raise ValueError(f"README.md needs the markers {README_START} and {README_END} around the notebook table")
    head, tail = readme.split(README_END, 1)
    head = head.replace(f"](notebooks/{STUDENT_FOLDER}/", "](" + github_url(config, f"notebooks/{STUDENT_FOLDER}/"))
    head = _BADGE_RE.sub(r"[\1](", head + README_END)
    sections = "\n".join(_relink(section, config, pages) for section in _readme_sections(tail))
    return f"{head}\n\n{sections}\n```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n" + "\n".join(toc) + "\n```\n"


def _first_sentence(markdown: str, limit: int = 240) -> str:
    """The first sentence of ``markdown`` as plain text (links by their text, TeX bare), for a figure's alt text."""
    text = markdown
    for pattern, plain in ((r"!?\[([^\]]*)\]\([^)]*\)", r"\1"), (r"<[^>]+>", ""), (r"[*`$]+|\\[()\[\]]", ""),
                           (r"\s+", " ")):
        text = re.sub(pattern, plain, text)
    text = re.sub(r"^What the (?:full )?\w* ?(?:figure|map) shows\.\s*", "", text.strip())
    sentence = m.group(1) if (m := re.match(r"(.+?[.!?])(?:\s|$)", text)) else text
    return sentence[:limit].rsplit(" ", 1)[0] + " …" if len(sentence) > limit else sentence


def _figure_alt(title: str, number: int, count: int, caption: str) -> str:
    which = f"Figure {number}" if count == 1 else f"Figures {number}–{number + count - 1}"
    return f"{which} of {title}" + (f": {caption}" if caption else "")


def _page_notebook(path: Path, config: KitConfig, title: str) -> nbformat.NotebookNode:
    """The notebook as its page shows it: no widgets (frozen text, and a CDN), badges as links, the student copy
    and the source linked, solutions and plumbing folded (``hide-input``), figures with alt text."""
    nb = nbformat.read(str(path), as_version=4)
    if not any(c.cell_type == "code" and c.execution_count for c in nb.cells):
        raise ValueError(f"{path.name} has no executed cells; run `make refresh` first")
    nb.metadata.pop("widgets", None)
    figures = 0
    for cell, after in zip(nb.cells, [*nb.cells[1:], None]):
        if cell.cell_type == "markdown":  # the nav block's "course index" link
            cell.source = _BADGE_RE.sub(r"[\1](", cell.source.replace("](../README.md)", "](../index.md)"))
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
        tags = list(cell.metadata.get("tags", []))
        if "hide-input" not in tags and ({SOLUTION_TAG, COLAB_TAG} & set(tags) or _PLUMBING_RE.search(cell.source)):
            cell.metadata["tags"] = [*tags, "hide-input"]
        if SOLUTION_TAG in tags:
            cell.metadata.setdefault("mystnb", {}).update(code_prompt_show="Show the solution",
                                                          code_prompt_hide="Hide the solution")
        if images := sum(any(k.startswith("image/") for k in o.get("data", {})) for o in cell.outputs):
            caption = _first_sentence(after.source) if after and after.cell_type == "markdown" else ""
            alt = _figure_alt(title, figures + 1, images, caption)
            cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt
            figures += images
    links = (f"[Open the student copy in Colab]({colab_url(config, f'notebooks/{STUDENT_FOLDER}/{path.name}')}) "
             f"(the exercises without their solutions) · "
             f"[This notebook on GitHub]({github_url(config, f'notebooks/{path.name}')})")
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is not None and NAV_END in first.source:
        first.source = first.source.replace(NAV_END, f"\n{links}\n{NAV_END}", 1)
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(links))
    return nb


def _prune(html: Path) -> None:
    """Drop what a reader never loads (:data:`_UNSHIPPED`, ``_static/locales``) and the comments naming maps."""
    for p in sorted(p for pattern in _UNSHIPPED for p in html.glob(pattern) if p.is_file()):
        p.unlink()
    shutil.rmtree(html / "_static" / "locales", ignore_errors=True)
    for p in sorted([*html.glob("_static/**/*.js"), *html.glob("_static/**/*.css")]):
        if b"sourceMappingURL=" in (data := p.read_bytes()):
            p.write_bytes(_SOURCE_MAP_RE.sub(b"", data))


def build_site(out: str | Path, root: str | Path | None = None, only: list[str] | None = None,
               quiet: bool = True) -> Path:
    """Build the book of ``only`` (default all notebooks) into ``out`` and return ``out / "index.html"``.

    ``out`` must not exist, be empty or hold a previous build; ``root``'s ``docs/conf.py`` configures Sphinx.
    ValueError if a notebook was never executed or ``out`` holds something else, RuntimeError if Sphinx warns.
    """
    from sphinx.cmd.build import build_main

    root, out = Path(root or repo_root()).resolve(), Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / "index.html").exists():
        raise ValueError(f"{out} is not empty and holds no previous site; refusing to replace it")
    config, entries = load_config(root), course(root)
    chosen = [entries[i] for i in select(entries, only)]
    with tempfile.TemporaryDirectory(prefix="nine-site-") as tmp:
        src, html = Path(tmp, "src"), Path(tmp, "html")
        (src / "notebooks").mkdir(parents=True)
        for e in chosen:
            nbformat.write(_page_notebook(e.path, config, e.label), str(src / "notebooks" / e.name))
        toc, pages = [f"{e.label} <notebooks/{e.stem}>" for e in chosen], {f"notebooks/{e.name}" for e in chosen}
        (src / "index.md").write_text(_index_md(root, config, toc, pages), encoding="utf-8")
        args = ["-b", "html", "-c", str(root / "docs"), "-d", str(Path(tmp, "doctrees")), "-W", "--keep-going",
                "-j", "1", "-E", str(src), str(html)]
        if only:  # links to the notebooks left out are expected
            args[:0] = ["-D", "suppress_warnings=myst.xref_missing"]
        with mock.patch.dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "0")), (
                contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext()):
            if status := build_main(args):
                raise RuntimeError(f"sphinx-build failed (exit status {status}); see the warnings above")
        (html / ".buildinfo").unlink(missing_ok=True)  # build metadata, not part of the site
        _prune(html)
        for e in chosen:  # the download button serves the committed notebook, not the staged copy
            shutil.copyfile(e.path, html / "_sources" / "notebooks" / e.name)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(html, out)
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m nine_utils.course.site [--out site] [--only STEM ...]``."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="site", help="output folder, relative to the repository root")
    parser.add_argument("--only", nargs="*", default=None, help="notebook stems to include")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args, root = parser.parse_args(argv), repo_root()
    try:
        index = build_site(root / args.out, root, args.only, quiet=not args.verbose)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {index.parent}/ (open {index})")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(main())
