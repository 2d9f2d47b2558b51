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

from nine_utils.course import kit, site
from nine_utils.course.paths import repo_root
from nine_utils.course.runner import notebook_paths

pytest.importorskip("sphinx", reason="the site's tools are not installed: pip install -e '.[docs]'")
pytest.importorskip("myst_nb", reason="the site's tools are not installed: pip install -e '.[docs]'")

pytestmark = pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications")  # the themes'

ROOT = repo_root()
NOTEBOOKS = notebook_paths()
CONFIG = kit.load_config(ROOT)
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

    def do_GET(self):
        if self.path.startswith(PROBE_PATH):  # the layout probe (not part of the site)
            body = PROBE_HTML.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


# Loads each of ?pages= (comma-separated) in turn in a same-origin iframe ?width= pixels wide and
# writes, once its scripts ran, what the reader sees into <pre id="probe"> (a JSON list, one entry a
# page): the article's width, the figures' shown and natural widths, whether the page or a printed
# output scrolls sideways.
PROBE_PATH = "/__layout-probe.html"
PROBE_HTML = """<!doctype html><html><body style="margin:0"><script>
const q = new URLSearchParams(location.search), pages = q.get('pages').split(','), results = [];
const f = document.createElement('iframe');
f.style.cssText = 'border:0;height:900px;width:' + q.get('width') + 'px';
f.addEventListener('load', () => setTimeout(() => {
  const d = f.contentDocument, w = d.defaultView, art = d.querySelector('.bd-article');
  const outputs = [...d.querySelectorAll('div.cell_output pre')].filter(p => p.clientWidth > 0);
  results.push({page: pages[results.length], viewport: w.innerWidth, page_width: d.documentElement.scrollWidth,
                article: art.getBoundingClientRect().width,
                figures: [...d.querySelectorAll('div.cell_output img')].map(i => [i.getBoundingClientRect().width, i.naturalWidth]),
                outputs: outputs.length, outputs_scrolling: outputs.filter(p => p.scrollWidth > p.clientWidth + 1).length});
  if (results.length < pages.length) { f.src = pages[results.length]; return; }
  const out = document.createElement('pre'); out.id = 'probe'; out.textContent = JSON.stringify(results);
  document.body.appendChild(out);
}, 1000));
f.src = pages[0]; document.body.appendChild(f);
</script></body></html>"""


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
    assert not {n for n in first if n.startswith((".buildinfo", ".doctrees"))}
    # _sources/ holds only the downloads: the notebooks and the landing page's markdown
    assert {n for n in first if n.startswith("_sources")} == {"_sources/index.md", *(
        f"_sources/notebooks/{p.name}" for p in NOTEBOOKS)}


def test_sidebar_lists_the_notebooks_in_order(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    nav = re.search(r'<ul class="[^"]*bd-sidenav">(.*?)</ul>', index, re.S).group(1)
    links = re.findall(r'<a class="reference internal" href="([^"]+)">([^<]+)</a>', nav)
    assert links == [(f"notebooks/{p.stem}.html", html.escape(e.label, quote=False))
                     for p, e in zip(NOTEBOOKS, kit.course(ROOT))]
    for p in NOTEBOOKS:
        assert (built / "notebooks" / f"{p.stem}.html").exists()
    assert not (built / "notebooks" / "student").exists()  # the student copies are not pages


def test_index_is_the_readme_table_with_math(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    for e in kit.course(ROOT):
        assert f'href="notebooks/{e.stem}.html"' in index
        plain = re.split(r"[^\w\s(),.;:]", e.goals[0])[0].strip()[:30]  # before any markup, math or quote
        assert plain in index, plain  # the learning goals
        assert kit.colab_url(CONFIG, f"notebooks/{e.name}") in index
    assert r"$\log N$" not in index and r"\(\log N\)" in index  # math, for MathJax, not raw dollars
    assert kit.github_url(CONFIG, "notebooks/student/") in index  # student copies link GitHub


def test_pages_show_stored_outputs_with_math_and_launch_buttons(built):
    for path in NOTEBOOKS:
        page = (built / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        nb = nbformat.read(str(path), as_version=4)
        n_figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                        for o in c.outputs)
        assert len(re.findall(r'<img [^>]*src="\.\./_images/[0-9a-f]+\.png"', page)) == n_figures, path.name
        assert '<span class="math notranslate nohighlight">' in page, path.name  # learning goals' math
        assert 'src="../_static/mathjax/tex-chtml.js' in page
        assert kit.colab_url(CONFIG, f"notebooks/{path.name}") in page  # launch buttons
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
# what a learner reads: math, folded solutions, figures, links, downloads (issue 31)

_MATH_OR_CODE = re.compile(
    r'<(script|style|pre|code|textarea)\b.*?</\1>'  # code, printed output, scripts
    r'|<span class="math notranslate nohighlight">.*?</span>'  # inline math, for MathJax
    r'|<div class="math notranslate nohighlight">.*?</div>', re.S)  # display math
_RAW_TEX = re.compile(r"\$|\\(?:[A-Za-z]+|[()\[\]{}])")


def stray_tex(page_html: str) -> list[str]:
    """Places in a page's text, outside math, code and output, with a ``$`` or a TeX command left raw.

    Each place is given with the text around it. A ``$$`` formula that markdown-it did not take for a
    display block shows up as ``$`` beside a math span, or as raw TeX between the dollars.
    """
    body = page_html.split('<article class="bd-article">', 1)[-1]  # the page's content, not the theme's
    text = html.unescape(re.sub(r"<[^>]+>", " ", _MATH_OR_CODE.sub(" \N{WHITE SQUARE} ", body)))
    return [re.sub(r"\s+", " ", text[max(0, m.start() - 80):m.end() + 40]).strip() for m in _RAW_TEX.finditer(text)]


def test_every_formula_is_math_no_stray_dollars(built):
    bad = {}
    for page in [built / "index.html", *sorted((built / "notebooks").glob("*.html"))]:
        places = stray_tex(page.read_text(encoding="utf-8"))
        if places:
            bad[str(page.relative_to(built))] = places
    assert not bad, "raw TeX or a stray $ beside rendered math (a `$$` block the parser did not take):\n" + "\n".join(
        f"  {name}: ... {place} ..." for name, places in bad.items() for place in places)


def _code_cells_on_page(page_html: str) -> list[str]:
    """The page's code cells (``div.cell``), in order: myst-nb renders every code cell as one."""
    return re.split(r'<div class="cell(?: [^"]*)? docutils container">', page_html)[1:]


def test_solutions_and_plumbing_cells_are_folded(built):
    solutions = 0
    for path in NOTEBOOKS:
        page = (built / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        code = [c for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]
        cells = _code_cells_on_page(page)
        assert len(cells) == len(code), path.name
        for i, (cell, shown) in enumerate(zip(code, cells)):
            tags = cell.metadata.get("tags", [])
            plumbing = ("colab-setup" in tags or "hide-input" in tags
                        or re.search(r"\b(check_parameters|save_results)\(", cell.source))
            folded = re.search(r'<details class="[^"]*\bhide above-input', shown.split('<div class="cell_output', 1)[0])
            assert bool(folded) == bool(plumbing or "solution" in tags), f"{path.name}, code cell {i}: {cell.source[:80]!r}"
            if "solution" in tags:
                assert "Show the solution" in shown, f"{path.name}, code cell {i}"
        solutions += sum("solution" in c.metadata.get("tags", []) for c in code)
    assert solutions, "no solution cell was found on any page"


def test_pages_link_the_student_copy_in_colab_the_source_and_a_download(built):
    for path in NOTEBOOKS:
        page = (built / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        assert (ROOT / "notebooks" / "student" / path.name).exists()
        assert html.escape(kit.colab_url(CONFIG, f"notebooks/student/{path.name}")) in page, path.name
        assert html.escape(kit.github_url(CONFIG, f"notebooks/{path.name}")) in page, path.name  # the source
        assert f'href="../_sources/notebooks/{path.name}"' in page, path.name  # the download button
        assert (built / "_sources" / "notebooks" / path.name).read_bytes() == path.read_bytes()  # the committed file
        assert 'src="../_static/copybutton.js' in page and (built / "_static" / "copybutton.js").exists()


def test_figures_have_alt_text_and_open_full_size(built):
    for path in NOTEBOOKS:
        page = (built / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        figures = re.findall(r'(<a [^>]*href="([^"]+)"[^>]*>)?<img alt="([^"]*)" src="(\.\./_images/[0-9a-f]+\.png)"', page)
        pngs = sum("image/png" in o.get("data", {}) for c in nbformat.read(str(path), as_version=4).cells
                   for o in c.get("outputs", []))
        assert len(figures) == pngs, f"{path.name}: {len(figures)} figures on the page, {pngs} in the notebook"
        for k, (link, href, alt, src) in enumerate(figures, start=1):
            assert href == src, f"{path.name}: figure {k} is not a link to its full-size image"
            assert alt.startswith(f"Figure {k} of {path.stem[:2]}") and not alt.endswith(".png"), (path.name, alt)
            assert len(alt) > 40, (path.name, alt)  # with the first sentence of the text after the figure


def test_landing_page_has_the_readmes_running_teaching_and_citing_sections(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    wanted = [h for h in re.findall(r"^## (.+)$", readme, re.M) if site.LANDING_SECTIONS.match(h)]
    assert any(re.match(r"(?i)the two commands|running", h) for h in wanted), wanted
    assert any(re.match(r"(?i)teaching", h) for h in wanted), wanted
    assert any(re.match(r"(?i)citing|how to cite", h) for h in wanted), wanted
    for heading in wanted:
        assert re.search(r"<h2>" + re.escape(html.escape(heading, quote=False)) + r"<a class=\"headerlink\"", index), heading
    assert "@inproceedings{butakov2025nine" in re.sub(r"<[^>]+>", "", index)  # the citation itself


def test_landing_sections_and_links_are_taken_from_the_readme():
    readme = textwrap.dedent("""\
        ## Larger data
        skipped
        ## The two commands
        ```bash
        ## not a heading: inside a code block
        make run
        ```
        See [the notes](CONTRIBUTING.md#checks), [notebook 01](notebooks/01_a.ipynb), [a site](https://x.org/a).

        ![a screenshot
        of the site](docs/screenshot.png)
        ## Teaching with the course
        teach
        ## Citing
        cite
        """)
    sections = site._readme_sections(readme)
    assert [s.splitlines()[0] for s in sections] == ["## The two commands", "## Teaching with the course", "## Citing"]
    assert "## not a heading" in sections[0] and "skipped" not in "".join(sections)
    linked = site._relink(sections[0], CONFIG, {"notebooks/01_a.ipynb"})
    assert f"[the notes]({kit.github_url(CONFIG, 'CONTRIBUTING.md')})" in linked  # other files: on GitHub
    assert "[notebook 01](notebooks/01_a.ipynb)" in linked and "[a site](https://x.org/a)" in linked
    assert "screenshot" not in linked  # a picture of the repository is left out


def test_figure_alt_text_is_the_caption_sentence():
    caption = site._first_sentence("**What the figure shows.** Left: the $\\chi^2_d$ law of [the radius](#r). More.")
    assert caption == "Left: the \\chi^2_d law of the radius."
    assert site._figure_alt("03 · Title", 2, 1, caption) == "Figure 2 of 03 · Title: " + caption
    assert site._figure_alt("03 · Title", 2, 2, "").startswith("Figures 2–3 of 03 · Title")
    assert len(site._first_sentence("word " * 100)) <= 242


def test_license_is_mit_by_the_course_authors():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "the NINE course authors" in text
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_site_ships_no_source_maps_or_unrendered_templates(built):
    files = [p for p in built.rglob("*") if p.is_file()]
    names = [str(p.relative_to(built)) for p in files]
    assert not [n for n in names if n.endswith((".map", "_t", ".po", ".mo"))], names
    assert not [n for n in names if n.startswith("_static/") and n.endswith(".html")]  # template fragments
    assert not [p.name for p in files if p.suffix in {".js", ".css"} and b"sourceMappingURL=" in p.read_bytes()]
    assert not [p.name for p in files if p.suffix == ".html" and re.search(rb"\{%-? ", p.read_bytes())]  # Jinja


# --------------------------------------------------------------------------------------------
# a one-notebook course: never executed, refused without outputs


# The two shapes of display math that rendered as raw TeX between stray dollars (issue 31): a `$$`
# block right under a list item's text, with no blank line before it (notebook 03's "Which critic
# for NINE" before 12b3135, and notebook 07's recipe, step 2).
LIST_ITEM_FORMULAS = r"""Two critics:

- the **channel critic**, the channel's own log density ratio,
$$
T(a, b) = -\frac{\lVert b - a\rVert^2}{2\sigma^2} + \frac d2\log\Big(1+\frac1{\sigma^2}\Big).
$$
It has no parameters.
- DIM's critic, unchanged.

The recipe:

1. train an encoder;
2. **freeze** it and train a decoder $g$,
$$
\min_g\; \frac1N \sum_{i=1}^N \sum_{p=1}^{64} \mathrm{BCE}\big(g(f(x_i))_p,\; x_{i,p}\big);
$$
3. sample $z \sim \mathcal N(0, I)$.
"""


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
                    "- bound $I(X;Y) \\le \\log N$.\n\n" + LIST_ITEM_FORMULAS),
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
    # a `$$` formula under a list item is display math, with no dollar or raw TeX left beside it
    assert page.count('<div class="math notranslate nohighlight">') == 2 and "x_{i,p}" in page
    assert not stray_tex(page), stray_tex(page)
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
    assert re.search(r'<button class="copybtn', dom), "no copy button on the code cells"


def _probe(served: str, pages: list[str], width: int, tmp: Path) -> list[dict]:
    import json
    from urllib.parse import quote

    dom, console = _render(f"{served}{PROBE_PATH}?width={width}&pages={quote(','.join(pages))}", tmp)
    assert not _errors(console), console
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the layout probe wrote nothing"
    return json.loads(html.unescape(found.group(1)))


def _widest_figure_notebook() -> Path:
    """The notebook with the most multi-panel figures (width / height >= 2.5), whose page this checks."""
    import base64
    import struct

    def wide(path: Path) -> int:
        n = 0
        for cell in nbformat.read(str(path), as_version=4).cells:
            for o in cell.get("outputs", []):
                if "image/png" in o.get("data", {}):
                    w, h = struct.unpack(">II", base64.b64decode(o["data"]["image/png"])[16:24])  # the PNG's IHDR
                    n += w / h >= 2.5
        return n
    return max(NOTEBOOKS, key=wide)


def test_figures_and_output_are_readable_at_desktop_and_phone_widths(served, tmp_path):
    widest = f"/notebooks/{_widest_figure_notebook().stem}.html"
    [desktop] = _probe(served, [widest], 1400, tmp_path / "desktop")
    # the theme's column was 848 px (figures 783 px) at every width >= 1200; the figures now get more
    assert desktop["article"] >= 940, desktop
    assert all(shown >= min(natural, 870) - 1 for shown, natural in desktop["figures"]), desktop
    assert desktop["page_width"] <= 1400 and desktop["outputs"] and desktop["outputs_scrolling"] == 0, desktop
    # at phone width nothing makes a page scroll sideways (README tables and long names included), and
    # printed lines wrap in their box
    pages = ["/index.html", *(f"/notebooks/{p.stem}.html" for p in NOTEBOOKS)]
    phone = _probe(served, pages, 390, tmp_path / "phone")
    assert [r["page"] for r in phone] == pages
    for r in phone:
        assert r["page_width"] <= 390, r
        assert r["outputs_scrolling"] == 0 and all(shown <= 390 for shown, _ in r["figures"]), r
    assert all(r["outputs"] for r in phone[1:])


def test_full_text_search_in_chromium(served, tmp_path):
    dom, console = _render(f"{served}/search.html?q=InfoNCE", tmp_path)
    assert not _errors(console), console
    hits = re.findall(r'<li class="kind-\w+"><a href="(notebooks/[^"]+)\.html', dom)
    assert f"notebooks/{NOTEBOOKS[0].stem}" in hits, "search for InfoNCE did not find notebook 01"
