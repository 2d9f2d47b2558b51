"""The teaching kit (nine_utils.course: catalog, nav, student, kit): student copies, navigation, the Colab cell.

Two kinds of test. Tests on a tiny synthetic course in a temporary folder show that each tool
does what it says, and that ``check`` catches what goes stale. Tests on the committed course fail
when something generated (the navigation blocks, the README table, the student copies) is out of
date, or when a solution cell breaks the student copy's top-to-bottom run.
"""

import functools
import json
import re
import os
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest

from nine_utils.course import kit
from nine_utils.course.runner import notebook_paths
from nine_utils.course.paths import repo_root

ROOT = repo_root()
NOTEBOOKS = notebook_paths()
CONFIG = kit.load_config(ROOT)


@functools.cache
def _course() -> tuple:
    """The committed course, read once (inside the tests, so a broken title cell fails them, not collection)."""
    return tuple(kit.course(ROOT))

# --------------------------------------------------------------------------------------------
# a tiny synthetic course

TINY_PYPROJECT = """[project]
name = "tiny"

[tool.nine]
repository = "someone/tiny-course"
branch = "dev"
colab_packages = ["zuko>=1.2"]
"""
TINY_README = "# Tiny course\n\nA course for *tests*.\n\n<!-- notebooks:start -->\n<!-- notebooks:end -->\n\nMore.\n"


def _code(source, tags=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def _tiny_notebook(number: str, title: str, results_use_solution: bool = False) -> nbformat.NotebookNode:
    stem = f"{number}_{title.lower()}"
    result = "base" if not results_use_solution else "answer"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {number} · {title}: a subtitle\n\n**Learning goals.** After this notebook you can\n\n"
            "- do one thing;\n- do another | with a pipe.\n\n**Runtime:** about 2 seconds on a laptop CPU."),
        _code("import json\nfrom pathlib import Path"),
        _code('# Parameters\nseed = 0\ndevice = "auto"\nresults_dir = "."', tags=["parameters"]),
        _code("base = seed + 1\nprint(base)"),
        nbformat.v4.new_markdown_cell(
            "## Exercises\n\n**1. Double it.** Store twice `base` in `answer`.\n\n<details>\n<summary>Solution"
            "</summary>\n\n```python\nanswer = base * 2  # in prose\n```\n</details>\n\n**2. Think.** Why?"),
        _code("# Exercise 1: store twice `base` in `answer`.\nanswer = base + base\nprint(answer)", tags=["solution"]),
        nbformat.v4.new_markdown_cell("The answer, for the instructor only.", metadata={"tags": ["solution"]}),
        _code(f'Path(results_dir, "{stem}.json").write_text(json.dumps({{"value": {result}}}))'),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
        if cell.cell_type == "code":  # as if executed
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", text="out\n")]
    nb.metadata = nbformat.from_dict({
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7"},
        "nine": {"smoke_parameters": {"seed": 1}, "metric_keys": ["value"], "runtime_minutes_cpu": 0.05},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
    })
    return nb


@pytest.fixture
def tiny(tmp_path):
    """A repository root holding pyproject.toml, README.md and notebooks 01_alpha and 02_beta."""
    (tmp_path / "pyproject.toml").write_text(TINY_PYPROJECT)
    (tmp_path / "README.md").write_text(TINY_README)
    (tmp_path / "notebooks").mkdir()
    for number, title in (("01", "Alpha"), ("02", "Beta")):
        nbformat.write(_tiny_notebook(number, title), str(tmp_path / "notebooks" / f"{number}_{title.lower()}.ipynb"))
    return tmp_path


def _read(path):
    return nbformat.read(str(path), as_version=4)


# --------------------------------------------------------------------------------------------
# navigation, badges, README table


def test_title_cell_is_parsed(tiny):
    info = kit.course(tiny)
    assert [e.label for e in info] == ["01 · Alpha", "02 · Beta"]
    assert info[0].subtitle == "a subtitle"
    assert info[0].goals == ("do one thing", "do another | with a pipe")
    assert info[0].runtime == "~3 s"  # metadata runtime_minutes_cpu = 0.05 wins over the text
    nb = _read(info[0].path)
    del nb.metadata["nine"]["runtime_minutes_cpu"]
    assert kit.notebook_info(info[0].path, nb).runtime == "about 2 seconds"
    nb.cells[0].source = "# 01 · Alpha\n\nNo goals here."
    with pytest.raises(ValueError, match="Learning goals"):
        kit.notebook_info(info[0].path, nb)


def test_nav_links_neighbours_and_badges(tiny):
    changed = kit.write("nav", tiny)
    assert {p.name for p in changed} == {"01_alpha.ipynb", "02_beta.ipynb", "README.md"}
    first, second = (_read(tiny / "notebooks" / n) for n in ("01_alpha.ipynb", "02_beta.ipynb"))

    title = first.cells[0].source
    assert title.startswith(kit.NAV_START)
    assert "*first notebook*" in title and "[next: 02 · Beta →](02_beta.ipynb)" in title
    assert "[course index](../README.md)" in title
    assert "(https://colab.research.google.com/github/someone/tiny-course/blob/dev/notebooks/01_alpha.ipynb)" in title
    assert "(https://mybinder.org/v2/gh/someone/tiny-course/dev?labpath=notebooks%2F01_alpha.ipynb)" in title
    assert kit.strip_nav(title).startswith("# 01 · Alpha: a subtitle")
    assert "[← previous: 01 · Alpha](01_alpha.ipynb)" in second.cells[0].source
    assert "*last notebook*" in second.cells[0].source

    # the Colab cell comes right after the title cell; every other cell is untouched
    assert first.cells[1].metadata == kit.COLAB_METADATA  # tagged colab-setup and hide-input, collapsed
    assert first.cells[1].source == kit.colab_cell_source(kit.load_config(tiny))
    assert [c.source for c in first.cells[2:]] == [c.source for c in _tiny_notebook("01", "Alpha").cells[1:]]

    readme = (tiny / "README.md").read_text()
    assert readme.startswith("# Tiny course") and readme.endswith("\n\nMore.\n")
    row = next(line for line in readme.splitlines() if line.startswith("| 02 |"))
    assert "[Beta](notebooks/02_beta.ipynb)" in row and "notebooks%2F02_beta.ipynb" in row
    assert "[student copy](notebooks/student/02_beta.ipynb)" in row
    assert row.endswith("| • do one thing<br>• do another \\| with a pipe | ~3 s |")

    assert kit.write("nav", tiny) == []  # idempotent: a second run changes nothing


def test_check_reports_what_is_stale(tiny):
    kit.write("nav", tiny)
    kit.write("student", tiny)
    assert kit.check(tiny) == []

    # retitling 02 makes 01's "next" link, the README, and 02's student copy stale
    path2 = tiny / "notebooks" / "02_beta.ipynb"
    nb = _read(path2)
    nb.cells[0].source = nb.cells[0].source.replace("# 02 · Beta", "# 02 · Gamma")
    nbformat.write(nb, str(path2))
    problems = "\n".join(kit.check(tiny))
    assert "notebooks/01_alpha.ipynb: navigation block" in problems
    assert "README.md: notebook table out of date" in problems
    assert "notebooks/student/02_beta.ipynb: out of date" in problems
    assert "notebooks/02_beta.ipynb: navigation" not in problems  # its own block is still right
    kit.write("nav", tiny)
    kit.write("student", tiny)
    assert kit.check(tiny) == []

    # a missing nav block, a missing student copy, an orphan student copy
    path1 = tiny / "notebooks" / "01_alpha.ipynb"
    nb = _read(path1)
    nb.cells[0].source = kit.strip_nav(nb.cells[0].source)
    nbformat.write(nb, str(path1))
    (tiny / "notebooks" / "student" / "02_beta.ipynb").rename(tiny / "notebooks" / "student" / "03_old.ipynb")
    problems = "\n".join(kit.check(tiny))
    assert "notebooks/01_alpha.ipynb: navigation block" in problems
    assert "notebooks/student/02_beta.ipynb: missing" in problems
    assert "notebooks/student/03_old.ipynb: no such course notebook" in problems
    kit.write("nav", tiny)
    assert {p.name for p in kit.write("student", tiny)} == {"02_beta.ipynb", "03_old.ipynb"}
    assert kit.check(tiny) == []

    (tiny / "README.md").write_text("# Tiny course\n\nno markers\n")
    assert any("needs the markers" in p for p in kit.check(tiny))
    with pytest.raises(ValueError, match="'nav' or 'student'"):
        kit.write("site", tiny)


def test_repository_slug_lives_only_in_pyproject():
    assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", CONFIG.repository)
    for path in [*(ROOT / "nine_utils").rglob("*.py"), ROOT / "Makefile", ROOT / "tests" / "test_teaching.py"]:
        assert CONFIG.repository not in path.read_text(), f"{path.name} hard-codes the repository"
    # the Colab cell installs exactly the pyproject requirement of what Colab lacks
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert CONFIG.colab_packages and set(CONFIG.colab_packages) <= set(deps)
    assert not any(p.lower().startswith("torch") for p in CONFIG.colab_packages)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nav_block_and_colab_cell_are_current(path):
    entries = list(_course())
    i = [e.path for e in entries].index(path)
    nb = _read(path)
    assert kit.dumps(kit.apply_nav(nb, entries, i, CONFIG)) == path.read_text(), (
        f"{path.name}: links, badges or Colab cell out of date; run `make nav`")
    assert nb.cells[1].metadata == kit.COLAB_METADATA


def test_readme_table_is_current():
    readme = (ROOT / "README.md").read_text()
    assert kit.update_readme(readme, kit.readme_table(list(_course()), CONFIG)) == readme, "run `make nav`"
    for e in _course():
        assert f"(notebooks/{e.name})" in readme


# --------------------------------------------------------------------------------------------
# the Colab cell


def test_colab_cell_does_nothing_off_colab(monkeypatch, capsys):
    import subprocess

    def forbidden(*args, **kwargs):
        raise AssertionError("the Colab cell ran a command outside Colab")

    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv("NINE_ROOT", str(ROOT))
    exec(compile(kit.colab_cell_source(CONFIG), "colab-cell", "exec"), {})
    assert capsys.readouterr() == ("", "")
    assert repo_root() == ROOT


def test_colab_cell_on_colab_installs_the_course_but_not_torch(monkeypatch, tmp_path):
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(list(cmd)))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("NINE_ROOT", str(ROOT))  # restored after the test
    exec(compile(kit.colab_cell_source(CONFIG), "colab-cell", "exec"), {})

    clone = f"/content/{CONFIG.repository_name}"
    git, pip = calls
    assert git[:2] == ["git", "clone"] and f"https://github.com/{CONFIG.repository}.git" in git
    assert git[git.index("--branch") + 1] == CONFIG.branch and git[-1] == clone
    assert pip[:3] == [sys.executable, "-m", "pip"] and "--no-deps" in pip and clone in pip
    assert not any("torch" in arg for arg in pip)
    assert os.environ["NINE_ROOT"] == clone  # repo_root() then finds the clone (a checkout; here not made)


# --------------------------------------------------------------------------------------------
# student copies


def test_student_copy_strips_solutions_and_outputs(tiny):
    config, entries = kit.load_config(tiny), kit.course(tiny)
    full = _read(entries[0].path)
    student = kit.student_notebook(full, entries, 0, config)
    text = kit.dumps(student)

    assert "base + base" not in text and "answer = base * 2" not in text and "<details>" not in text
    assert "for the instructor only" not in text  # markdown cell tagged solution: dropped
    assert "**1. Double it.** Store twice `base` in `answer`." in text and "**2. Think.** Why?" in text
    stub = next(c for c in student.cells if "NotImplementedError" in c.source)
    assert stub.source == ("# Exercise 1: store twice `base` in `answer`.\n"
                           "# TODO: write your solution here, then run the cell.\n"
                           'raise NotImplementedError("Exercise 1: store twice `base` in `answer`.")')
    assert stub.metadata["tags"] == ["exercise", "raises-exception"]
    code = [c for c in student.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and params[0].source == full.cells[2].source
    assert student.metadata["nine"] == full.metadata["nine"]
    assert "widgets" not in student.metadata and "version" not in student.metadata["language_info"]
    title = student.cells[0].source
    assert "[The full notebook](../01_alpha.ipynb)" in title and "(../../README.md)" in title
    assert "blob/dev/notebooks/student/01_alpha.ipynb" in title
    assert student.cells[1].source == kit.colab_cell_source(config)
    nbformat.validate(student)


def test_details_must_be_closed():
    assert kit.strip_details("Q?\n\n<details>\n<summary>Solution</summary>\nA\n</details>\n\nNext.") == "Q?\n\nNext."
    with pytest.raises(ValueError, match="not closed"):
        kit.strip_details("Q?\n<details><summary>Solution</summary>\nA")


def test_student_copy_runs_top_to_bottom(tiny, tmp_path):
    """The stub raises inside its cell only; the rest, the results cell included, still runs."""
    kit.write("student", tiny)
    results = tmp_path / "results"
    results.mkdir()
    nb = kit.execute_student(tiny / "notebooks" / "student" / "01_alpha.ipynb", tmp_path / "run.ipynb",
                            {"results_dir": str(results)}, cwd=tmp_path)
    errors = [(c.metadata["tags"], o.ename) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == [(["exercise", "raises-exception"], "NotImplementedError")]
    assert json.loads((results / "01_alpha.json").read_text()) == {"value": 1}


def test_results_cell_must_not_depend_on_a_solution(tiny, tmp_path):
    nb = _tiny_notebook("01", "Alpha", results_use_solution=True)
    assert kit.solution_problems(nb, "x") == ["x: cell 7 uses answer, defined only in a solution cell"]
    assert kit.solution_problems(_tiny_notebook("01", "Alpha"), "x") == []
    # ... and the run confirms it: the results cell fails in the student copy
    path = tiny / "notebooks" / "01_alpha.ipynb"
    nbformat.write(nb, str(path))
    kit.write("student", tiny)
    with pytest.raises(RuntimeError, match="NameError"):
        kit.execute_student(tiny / "notebooks" / "student" / "01_alpha.ipynb", tmp_path / "run.ipynb",
                           {"results_dir": str(tmp_path)}, cwd=tmp_path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_cells_follow_the_convention(path):
    assert kit.solution_problems(_read(path), path.name) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_student_copy_is_current(path):
    entries = list(_course())
    i = [e.path for e in entries].index(path)
    expected = kit.dumps(kit.student_notebook(_read(path), entries, i, CONFIG))
    student = kit.student_path(path)
    assert student.exists(), f"{student.relative_to(ROOT)} missing; run `make student`"
    assert student.read_text() == expected, f"{student.relative_to(ROOT)} out of date; run `make student`"


def test_no_orphan_student_copies():
    names = {p.name for p in NOTEBOOKS}
    orphans = [p.name for p in (ROOT / "notebooks" / "student").glob("*.ipynb") if p.name not in names]
    assert not orphans, f"student copies without a notebook: {orphans}; run `make student`"


def test_student_copies_are_not_course_notebooks(tmp_path):
    (tmp_path / "student").mkdir()
    for p in (tmp_path / "01_a.ipynb", tmp_path / "student" / "01_a.ipynb"):
        p.write_text("{}")
    assert notebook_paths(tmp_path) == [tmp_path / "01_a.ipynb"]
    assert not any("student" in str(p) for p in NOTEBOOKS)
    # `make test` runs nbval over $(NOTEBOOKS); its wildcard must not reach notebooks/student/
    makefile = (ROOT / "Makefile").read_text()
    pattern = re.search(r"^NOTEBOOKS\s*:=.*\$\(wildcard ([^)\s]+)\)", makefile, re.M).group(1)
    assert sorted(ROOT.glob(pattern)) == NOTEBOOKS  # Path.glob, like make's wildcard, does not recurse


# --------------------------------------------------------------------------------------------
# Makefile, .gitignore, CONTRIBUTING.md


def test_make_targets_and_docs():
    makefile = (ROOT / "Makefile").read_text()
    help_text = makefile.split("\nhelp:", 1)[1].split("\n\n", 1)[0]
    for target, command in (("student", "kit student"), ("nav", "kit nav"), ("site", "site --out site")):
        assert re.search(rf"^{target}: setup\n\t\$\(BIN\)/python -m nine_utils.course.{command}\b",
                         makefile, re.M), target
        assert f"make {target} " in help_text
    assert "site/" in (ROOT / ".gitignore").read_text().split()
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    for needle in (f"`{kit.SOLUTION_TAG}`", "raises-exception", "<details>", kit.NAV_START, kit.README_START,
                   "make nav", "make student", "make refresh", "make test", "smoke_parameters", "metric_keys",
                   "save_results", "runtime_minutes_cpu", "[tool.nine]"):
        assert needle in contributing, needle


def test_cli_check_exit_code(tiny, monkeypatch, capsys):
    monkeypatch.setenv("NINE_ROOT", str(tiny))
    assert kit.main(["check"]) == 1
    assert "run `make nav`" in capsys.readouterr().out
    assert kit.main(["nav"]) == 0 and kit.main(["student"]) == 0
    capsys.readouterr()
    assert kit.main(["check"]) == 0
    assert "everything is current" in capsys.readouterr().out
    assert kit.main(["check", "--only", "02_beta"]) == 0 and kit.main(["check", "--only", "03_gamma"]) == 2
