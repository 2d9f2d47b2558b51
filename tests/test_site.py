"""The book site (``make site``, nine_utils.course.site + docs/conf.py): built with Sphinx, checked in Chromium.

The site is built once per session into a temporary folder. The browser tests need headless Chromium
(``.ci/setup-browser`` installs Debian's ``chromium``; ``CHROMIUM=/path`` picks another) and skip,
saying so, when there is none. ``NINE_UPDATE_SCREENSHOT=1`` also writes the index's screenshot to
``docs/screenshot.png``, the picture in the README.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import shutil
import subprocess
import textwrap
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

from nine_utils.course import catalog, site
from nine_utils.course.paths import repo_root
from nine_utils.course.runner import notebook_paths

pytest.importorskip("sphinx", reason="the site's tools are not installed: pip install -e '.[docs]'")
pytest.importorskip("myst_nb", reason="the site's tools are not installed: pip install -e '.[docs]'")

pytestmark = pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications")  # the themes'

ROOT = repo_root()
NOTEBOOKS = notebook_paths()
CONFIG = catalog.load_config(ROOT)
SCREENSHOT = ROOT / "docs" / "screenshot.png"


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def served(built):
    """The built site served over HTTP on the loopback interface, as GitHub Pages would serve it.

    (Sphinx's search page fetches the pages it lists, which a browser refuses for ``file:`` URLs.)
    """
    handler = functools.partial(_QuietHandler, directory=str(built))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The whole course's site, built once."""
    out = tmp_path_factory.mktemp("book") / "site"
    index = site.build_site(out, ROOT)
    assert index == out / "index.html"
    return out


# --------------------------------------------------------------------------------------------
# the build


def test_two_builds_are_byte_identical(built, tmp_path):
    again = site.build_site(tmp_path / "again", ROOT).parent
    first, second = _tree_digest(built), _tree_digest(again)
    assert first.keys() == second.keys()
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"files that differ between two builds: {differ}"
    assert not {n for n in first if n.startswith((".buildinfo", ".doctrees", "_sources"))}


def test_sidebar_lists_the_notebooks_in_order(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    nav = re.search(r'<ul class="[^"]*bd-sidenav">(.*?)</ul>', index, re.S).group(1)
    links = re.findall(r'<a class="reference internal" href="([^"]+)">([^<]+)</a>', nav)
    assert links == [(f"notebooks/{p.stem}.html", html.escape(e.label, quote=False))
                     for p, e in zip(NOTEBOOKS, catalog.course(ROOT))]
    for p in NOTEBOOKS:
        assert (built / "notebooks" / f"{p.stem}.html").exists()
    assert not (built / "notebooks" / "student").exists()  # the student copies are not pages


def test_index_is_the_readme_table_with_math(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    for e in catalog.course(ROOT):
        assert f'href="notebooks/{e.stem}.html"' in index
        plain = re.split(r"[^\w\s(),.;:]", e.goals[0])[0].strip()[:30]  # before any markup, math or quote
        assert plain in index, plain  # the learning goals
        assert catalog.colab_url(CONFIG, f"notebooks/{e.name}") in index
    assert r"$\log N$" not in index and r"\(\log N\)" in index  # math, for MathJax, not raw dollars
    assert catalog.github_url(CONFIG, "notebooks/student/") in index  # student copies link GitHub


def test_pages_show_stored_outputs_with_math_and_launch_buttons(built):
    for path in NOTEBOOKS:
        page = (built / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        nb = nbformat.read(str(path), as_version=4)
        n_figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                        for o in c.outputs)
        assert len(re.findall(r'<img [^>]*src="\.\./_images/[0-9a-f]+\.png"', page)) == n_figures, path.name
        assert '<span class="math notranslate nohighlight">' in page, path.name  # learning goals' math
        assert 'src="../_static/mathjax/tex-chtml.js' in page
        assert catalog.colab_url(CONFIG, f"notebooks/{path.name}") in page  # launch buttons
        assert f"https://mybinder.org/v2/gh/{CONFIG.repository}/{CONFIG.branch}" in page
        assert "widget-view" not in page and "require.js" not in page  # no widget manager from a CDN


def test_site_needs_nothing_from_the_web_and_has_no_broken_local_links(built):
    for page in built.rglob("*.html"):
        if page.relative_to(built).parts[0] == "_static":
            continue  # the theme's template fragments
        text = page.read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="(https?:[^"]*)"', text)
        assert not external, f"{page.name} loads {external}"
        for ref in re.findall(r'(?:src|href)="([^"#?][^"]*)"', text):
            if re.match(r"^[a-z][a-z0-9+.\-]*:", ref):
                continue  # https:, mailto:, data:
            target = (page.parent / ref.split("#")[0].split("?")[0]).resolve()
            assert target.exists(), f"{page.relative_to(built)} links {ref}, which is not in the site"


# --------------------------------------------------------------------------------------------
# a one-notebook course: never executed, refused without outputs


def _tiny_course(root: Path, code: str, output: str | None) -> Path:
    shutil.copytree(ROOT / "docs", root / "docs", ignore=shutil.ignore_patterns("screenshot.png"))
    (root / "pyproject.toml").write_text('[tool.nine]\nrepository = "someone/tiny"\nbranch = "dev"\n')
    (root / "README.md").write_text(textwrap.dedent("""\
        # Tiny course

        A course for *tests*.

        <!-- notebooks:start -->
        | # | notebook |
        |---|---|
        | 01 | [Alpha](notebooks/01_alpha.ipynb) · [student copy](notebooks/student/01_alpha.ipynb) |
        <!-- notebooks:end -->

        Not on the site.
        """))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
                    "# 01 · Alpha: a subtitle\n\n**Learning goals.** After this notebook you can\n\n"
                    "- bound $I(X;Y) \\le \\log N$."),
                nbformat.v4.new_code_cell(code)]
    if output is not None:
        nb.cells[1].execution_count = 1
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", text=output)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "notebooks").mkdir()
    nbformat.write(nb, str(root / "notebooks" / "01_alpha.ipynb"))
    return root


def test_build_shows_stored_outputs_and_never_executes(tmp_path, monkeypatch):
    import nbclient

    def refuse(*args, **kwargs):
        raise AssertionError("the site build executed a notebook")

    monkeypatch.setattr(nbclient.NotebookClient, "execute", refuse)
    monkeypatch.setattr(nbclient.NotebookClient, "async_execute", refuse)
    marker = tmp_path / "executed.txt"
    root = _tiny_course(tmp_path / "course", f"open({str(marker)!r}, 'w').write('ran')\nprint('fresh output')",
                        "stored output 4242\n")
    site.build_site(tmp_path / "site", root)
    page = (tmp_path / "site" / "notebooks" / "01_alpha.html").read_text(encoding="utf-8")
    assert "stored output 4242" in page and "fresh output</" not in page
    assert not marker.exists()
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Not on the site" not in index  # the README up to its table only
    assert "https://github.com/someone/tiny/blob/dev/notebooks/student/01_alpha.ipynb" in index


def test_build_refuses_unexecuted_notebooks_and_foreign_folders(tmp_path):
    root = _tiny_course(tmp_path / "course", "print(1)", None)
    with pytest.raises(ValueError, match="make refresh"):
        site.build_site(tmp_path / "site", root)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="refusing"):
        site.build_site(tmp_path / "mine", root)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# --------------------------------------------------------------------------------------------
# in a real browser


def _chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium found (run .ci/setup-browser, or set CHROMIUM=/path/to/chromium)")


def _render(url: str, tmp: Path, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """The DOM of ``url`` after its scripts ran, and the page's console messages, from headless Chromium."""
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=20000", "--window-size=1400,900"]
    if screenshot is not None:
        cmd.append(f"--screenshot={screenshot}")
    proc = subprocess.run([*cmd, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = [line.split("CONSOLE", 1)[1] for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def _errors(console: list[str]) -> list[str]:
    return [m for m in console if "Uncaught" in m or re.search(r"\berror\b", m, re.I)]


def _check_page(dom: str, console: list[str]) -> None:
    assert not _errors(console), f"JavaScript errors in the console: {_errors(console)}"
    assert re.search(r'class="[^"]*bd-sidenav', dom) and dom.count('class="toctree-l1') >= len(NOTEBOOKS)  # sidebar
    assert re.search(r'<input[^>]*name="q"', dom) and "search-button" in dom  # search box
    assert "<mjx-container" in dom, "MathJax rendered nothing"
    assert "<mjx-merror" not in dom, "MathJax could not typeset some TeX"


def test_index_in_chromium(served, tmp_path):
    shot = tmp_path / "index.png"
    dom, console = _render(f"{served}/index.html", tmp_path, screenshot=shot)
    _check_page(dom, console)
    assert dom.count("<mjx-container") >= 2 * len(NOTEBOOKS)  # the learning goals' math
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1400, 900)
        small = im.convert("RGB").quantize(colors=32)
        assert len(small.getcolors()) > 8  # not a blank page
    if os.environ.get("NINE_UPDATE_SCREENSHOT") == "1":
        small.save(SCREENSHOT, optimize=True)


def test_notebook_page_in_chromium(served, tmp_path):
    dom, console = _render(f"{served}/notebooks/{NOTEBOOKS[0].stem}.html", tmp_path)
    _check_page(dom, console)
    assert "launch-buttons" in dom and "colab.research.google.com" in dom


def test_full_text_search_in_chromium(served, tmp_path):
    dom, console = _render(f"{served}/search.html?q=InfoNCE", tmp_path)
    assert not _errors(console), console
    hits = re.findall(r'<li class="kind-\w+"><a href="(notebooks/[^"]+)\.html', dom)
    assert f"notebooks/{NOTEBOOKS[0].stem}" in hits, "search for InfoNCE did not find notebook 01"
