"""The course's synthesis agrees with the numbers behind it.

* The README section "What the course finds" exists, stays short, and every number in its table is
  one of the numbers in the results file of the notebook its row names (rounded as printed).
* The closing notebook exists and is short to run.
* A sentence in a notebook's markdown that cites another notebook ("notebook 03 ...") with a decimal
  number must find that number in the cited notebook's committed results file or printed outputs, or
  in the citing notebook's own printed outputs: a cross-reference cannot quote a number no run printed.
* Every main notebook keeps its reading budget of markdown words.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

from nine_utils.course.results import source_hash
from nine_utils.course.runner import COMMITTED_RESULTS_DIR as COMMITTED
from nine_utils.course.runner import nine_metadata, notebook_paths

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebook_paths()
APPENDIX = "appendix"  # an appendix notebook holds the detail the budget keeps out of the main line
MAIN = [p for p in NOTEBOOKS if APPENDIX not in p.stem]
WORD_BUDGET = 3000
SECTION = "## What the course finds"
DECIMAL = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\w)")


def _flatten(obj):
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, (int, float)):
        yield float(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _flatten(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _flatten(v)


def _results_numbers(stem_prefix: str) -> list[float]:
    files = sorted((ROOT / COMMITTED).glob(f"{stem_prefix}_*.json"))
    assert files, f"no committed results file {COMMITTED}/{stem_prefix}_*.json"
    data = json.loads(files[0].read_text())
    return list(_flatten(data["metrics"])) + list(_flatten(data["parameters"]))


def _printed_numbers(nb) -> list[float]:
    text = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            text.append(o.get("text", ""))
            text.extend(str(v) for k, v in o.get("data", {}).items() if k.startswith("text/"))
    return [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+", " ".join(text))]


def found(shown: str, values) -> bool:
    """Whether the number as printed (``"0.044"``, ``"15"``) is one of ``values`` rounded the same way."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    x = float(shown)
    return any(round(v, decimals) == x or abs(v - x) < 0.5 * 10 ** -decimals + 1e-12 for v in values)


def readme_findings() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [r for r in body.splitlines() if r.startswith("|") and not set(r) <= set("|- ")]
    return body, [(cells[1], cells[2]) for cells in ([c.strip() for c in r.strip("|").split("|")] for r in rows[1:])]


def test_readme_section_is_short_and_agrees_with_the_results_files():
    body, rows = readme_findings()
    assert len(body.split()) <= 300, f"'What the course finds' has {len(body.split())} words (at most 300)"
    assert len(rows) >= 6, "the section's table lists the course's findings, one row each"
    assert "when to reach for nine" in body.lower()
    for notebook, numbers in rows:
        assert re.fullmatch(r"\d\d", notebook), f"the notebook column names a notebook number, not {notebook!r}"
        values = _results_numbers(notebook)
        for shown in DECIMAL.findall(numbers):
            assert found(shown, values), f"README: {shown} is not in {COMMITTED}/{notebook}_*.json (row {numbers!r})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_results_come_from_the_committed_notebook(path):
    """`make refresh` writes results/committed/NN.json beside the outputs it stores: same code, default parameters."""
    import papermill as pm

    file = ROOT / COMMITTED / f"{path.stem}.json"
    assert file.exists(), f"{file.relative_to(ROOT)} is missing: run `make refresh` for {path.stem}"
    data = json.loads(file.read_text())
    assert data["source_sha256"] == source_hash(path), (
        f"{file.relative_to(ROOT)} came from other code than the committed {path.name}: run `make refresh`")
    defaults = {k: v["default"] for k, v in pm.inspect_notebook(str(path)).items()}
    for name, text in defaults.items():
        try:
            value = eval(text, {})  # the parameters cell's literal
        except Exception:  # noqa: BLE001 - an expression papermill cannot evaluate: not comparable here
            continue
        assert data["parameters"].get(name) == value, f"{file.name} ran with {name}={data['parameters'].get(name)!r}, not the default"


def test_a_number_not_in_the_results_file_is_caught():
    assert found("0.044", [0.04444]) and found("15", [15.078]) and not found("0.045", [0.04444])


def test_closing_notebook_exists_and_is_quick():
    closing = [p for p in MAIN if "in_practice" in p.stem]
    assert closing, "the closing notebook 'NINE in practice' is missing"
    assert closing[0] == MAIN[-1], "it closes the course"
    assert nine_metadata(closing[0])["runtime_minutes_cpu"] <= 1
    text = " ".join(c.source for c in nbformat.read(str(closing[0]), as_version=4).cells if c.cell_type == "markdown")
    for needed in ("the paper", "recipe", "post-hoc"):
        assert needed in text.lower(), f"the closing notebook never mentions {needed!r}"


def _citing_sentences(nb):
    for c in nb.cells:
        if c.cell_type != "markdown":
            continue
        src = re.sub(r"\]\([^)]*\)|arXiv:\S+|`[^`]*`|\$[^$]*\$", " ", c.source)  # links, code, math
        for sentence in re.split(r"(?<=[.!?])\s+", src):
            cited = re.findall(r"[Nn]otebooks? (0\d)\b", sentence)
            numbers = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.]*\w)", sentence)
            if len(set(cited)) == 1 and numbers:
                yield cited[0], numbers, sentence


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_number_cited_from_another_notebook_was_printed_by_a_run(path):
    nb = nbformat.read(str(path), as_version=4)
    own = _printed_numbers(nb)
    by_number = {p.stem[:2]: p for p in NOTEBOOKS}
    for cited, numbers, sentence in _citing_sentences(nb):
        if cited == path.stem[:2]:
            continue
        assert cited in by_number, f"{path.stem} cites notebook {cited}, which does not exist"
        values = _results_numbers(cited) + _printed_numbers(nbformat.read(str(by_number[cited]), as_version=4)) + own
        for shown in numbers:
            assert found(shown, values), (f"{path.stem} cites notebook {cited} with {shown}, which is neither in "
                                          f"{COMMITTED}/{cited}_*.json nor printed by either notebook: {sentence.strip()[:200]!r}")


@pytest.mark.parametrize("path", MAIN, ids=lambda p: p.stem)
def test_reading_budget(path):
    nb = nbformat.read(str(path), as_version=4)
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert words <= WORD_BUDGET, f"{path.stem} has {words} words of markdown (budget {WORD_BUDGET})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_plumbing_cells_are_folded(path):
    """The Colab set-up, the parameter check and the results cell are folded: on the site (the book theme's
    `hide-input` tag) and in JupyterLab (`jupyter.source_hidden`), so the story reads without them."""
    nb = nbformat.read(str(path), as_version=4)
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and ("check_parameters(" in c.source or "save_results(" in c.source
                                      or "colab-setup" in c.metadata.get("tags", [])):
            assert "hide-input" in c.metadata.get("tags", []), f"{path.stem}: plumbing cell {i} is not tagged hide-input"
            assert c.metadata.get("jupyter", {}).get("source_hidden"), f"{path.stem}: plumbing cell {i} is not collapsed"


def _anchor(heading: str) -> str:
    """GitHub's and myst's slug of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_notebooks_reach_a_heading():
    """A link such as ``09_appendix.ipynb#generator-draw-order`` names a notebook and a heading that exist."""
    by_name = {p.name: p for p in NOTEBOOKS}
    anchors = {}
    for name, p in by_name.items():
        nb = nbformat.read(str(p), as_version=4)
        anchors[name] = {_anchor(line.lstrip("#")) for c in nb.cells if c.cell_type == "markdown"
                         for line in c.source.splitlines() if line.startswith("#")}
    links = 0
    for p in NOTEBOOKS:
        for c in nbformat.read(str(p), as_version=4).cells:
            if c.cell_type != "markdown":
                continue
            for target, anchor in re.findall(r"\]\((\d\d_\w+\.ipynb)#([\w\-]+)\)", c.source):
                links += 1
                assert target in by_name, f"{p.stem} links to {target}, which does not exist"
                assert anchor in anchors[target], f"{p.stem} links to {target}#{anchor}, which has no such heading"
    assert links, "no link between notebooks was found: the pattern is wrong"
