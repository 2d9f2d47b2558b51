"""The project's set-up and the structure of every committed notebook (no kernel needed)."""

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from nine_utils.course.runner import nine_metadata, notebook_paths
from nine_utils.course.paths import repo_root
from nine_utils.course.kit import strip_nav

ROOT = repo_root()
NOTEBOOKS = notebook_paths()
REQUIRED_PARAMETERS = {"seed", "device", "results_dir"}
CONDA_TO_PIP = {"pytorch": "torch"}


def _name_and_spec(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _requirements(*extras: str) -> dict[str, str]:
    """Name -> version spec of the core dependencies and the given extras of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return dict(_name_and_spec(r) for r in reqs)


def _pins() -> dict[str, str]:
    """Name -> ``==version`` of the constraints files that `make setup` uses."""
    out = {}
    for name in ("constraints.txt", "constraints-numeric.txt"):
        for line in (ROOT / name).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                pkg, spec = _name_and_spec(line)
                out[pkg] = spec
    return out


def test_environment_yml_agrees_with_pyproject():
    pip_deps = _requirements("course", "dev")  # the [docs] extra (the site's tools) is left to pip
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _name_and_spec(dep)
            if name not in {"python", "pip"}:
                conda[CONDA_TO_PIP.get(name, name)] = spec
    pins = _pins()  # what make setup pins, conda pins alike; every other dependency has pyproject's range
    assert set(conda) == set(pip_deps)
    assert conda == {name: pins.get(name, spec) for name, spec in pip_deps.items()}
    assert {"torch", "numpy", "scipy", "scikit-learn", "matplotlib", "seaborn", "tqdm", "papermill", "nbval",
            "jupyterlab", "ipykernel"} <= set(pip_deps)
    assert "torchvision" not in pip_deps
    assert not {"papermill", "pandas", "pyyaml", "nbformat", "nbval", "pytest"} & set(_requirements()), (
        "course and test tools belong in the [course] and [dev] extras, not the core dependencies")
    assert re.search(r"^\s*-\s*python>=3\.11$", (ROOT / "environment.yml").read_text(), re.M)


# import name -> distribution, where they differ
# (IPython is ipykernel's own shell: what the kit uses of it comes with the kernel)
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "zmq": "pyzmq", "jupyter_client": "jupyter-client",
                "IPython": "ipykernel"}
# seaborn (a core dependency) requires pandas, so the science package may use pandas lazily
IMPLIED_BY_CORE = {"pandas"}


def _imported_distributions(path: Path) -> set[str]:
    """Distributions of the third-party modules ``path`` imports (at the top or inside a function)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    third_party = {n for n in names if n not in sys.stdlib_module_names and n != "nine_utils"}
    return {DISTRIBUTION.get(n, n).lower() for n in third_party}


def test_every_import_is_declared_where_it_belongs():
    core, course = set(_requirements()) | IMPLIED_BY_CORE, set(_requirements("course"))
    for path in sorted((ROOT / "nine_utils").rglob("*.py")):
        rel = path.relative_to(ROOT)
        in_course = "course" in path.relative_to(ROOT / "nine_utils").parts[:-1]
        allowed = (set(_requirements("course", "docs")) if path.name == "site.py" else course) if in_course else core
        missing = _imported_distributions(path) - allowed
        assert not missing, f"{rel} imports {sorted(missing)}, not declared for it in pyproject.toml"


def test_science_package_does_not_import_the_course_tooling():
    # The science package imports neither nine_utils.course nor the course-only packages. pandas is
    # left out of this list: seaborn (a core dependency, imported by nine_utils.plotting) imports it.
    forbidden = ["nine_utils.course", "papermill", "yaml", "nbformat", "nbconvert", "distributed"]
    code = ("import sys, nine_utils; "
            f"print([m for m in {forbidden!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]", f"`import nine_utils` loads course tooling: {proc.stdout.strip()}"
    for path in sorted((ROOT / "nine_utils").glob("*.py")):  # also the lazy imports inside functions
        tree = ast.parse(path.read_text())
        relative = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level and n.module}
        assert not {m for m in relative if m.split(".")[0] == "course"}, f"{path.name} imports .course"
        assert not _imported_distributions(path) & {"papermill", "pyyaml", "nbformat", "nbconvert"}, path.name


def test_torch_is_pinned_for_setup_and_ci_calls_make_test():
    assert re.search(r"^torch==\d+\.\d+\.\d+$", (ROOT / "constraints.txt").read_text(), re.M)
    assert "TORCH_CONSTRAINT" in (ROOT / "Makefile").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_make_test_hands_out_the_files_in_the_order_it_names_them():
    """`make test` names the committed notebooks, then the kernel-running test files (KERNEL_TESTS), then every
    other test file once, and pytest collects them in that order, which pytest-xdist (`--no-loadscope-reorder`)
    keeps when it hands the files out. A folder on the command line would be collected in alphabetical order,
    the files named before it included (pytest 8 and later): the long sweep tests then ran last, alone."""
    dry = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "test"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    command = shlex.split(next(line for line in dry.splitlines() if " -m pytest " in line))
    paths = [a for a in command[command.index("pytest") + 1:] if (ROOT / a).exists()]
    assert all((ROOT / p).is_file() for p in paths), f"make test names a folder: {paths}"
    kernel_tests = re.search(r"^KERNEL_TESTS := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    notebooks = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
    test_files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py"))
    assert paths[:len(notebooks) + len(kernel_tests)] == notebooks + kernel_tests
    assert sorted(paths[len(notebooks):]) == test_files, "every test file is named once"

    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # e.g. a --junitxml of the outer run
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                          *paths], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    collected = list(dict.fromkeys(line.split("::")[0] for line in out.stdout.splitlines() if "::" in line))
    assert collected == paths, f"pytest collects the files in another order: {collected}"


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    assert NOTEBOOKS[0].name == "01_deep_infomax.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(path: Path):
    import papermill as pm

    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    params = pm.inspect_notebook(str(path))
    assert REQUIRED_PARAMETERS <= set(params), f"parameters cell lacks {REQUIRED_PARAMETERS - set(params)}"
    # papermill silently drops a parameter whose line it cannot parse (e.g. '=' in a comment)
    assigned = set(re.findall(r"^([A-Za-z_]\w*)\s*=", "".join(cells[tagged[0]]["source"]), re.M))
    assert assigned == set(params), f"papermill cannot see the parameters {sorted(assigned - set(params))}"

    meta = nine_metadata(path)
    assert set(meta["smoke_parameters"]) <= set(params), "smoke parameters must be parameters"
    assert meta["metric_keys"], "metadata.nine.metric_keys lists the results keys"

    # committed with the outputs of one fresh top-to-bottom run, with no errors
    counts = [c["execution_count"] for c in code if "".join(c["source"]).strip()]
    assert counts == list(range(1, len(counts) + 1))
    assert not any(o["output_type"] == "error" for c in code for o in c["outputs"])
    assert "injected-parameters" not in json.dumps([c["metadata"] for c in cells])
    assert "widgets" not in nb["metadata"], "stale widget state from an interactive run; make refresh drops it"

    # the story: title and goals first, learned / exercises with collapsed solutions, results last
    assert cells[0]["cell_type"] == "markdown", "the first cell is the title cell"
    text = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    title = strip_nav(text[0])  # the generated previous/next block (make nav) heads the title cell
    assert title.startswith("# ") and "learning goals" in title.lower()
    # the runtime a learner reads in the title is the one the README table shows (metadata, via make nav)
    said = re.search(r"\*\*Runtime:\*\* about ([\d.]+) minutes?\b", title)
    assert said, "the title cell says '**Runtime:** about N minutes ...'"
    assert float(said.group(1)) == meta["runtime_minutes_cpu"], (
        f"the title says about {said.group(1)} minutes, metadata.nine.runtime_minutes_cpu (the README table) "
        f"{meta['runtime_minutes_cpu']}")
    assert any("## What we learned" in t for t in text)
    assert any("<details>" in t for t in text)
    assert "save_results(" in "".join(code[-1]["source"])
    # every figure is followed by a markdown cell saying what it shows
    for i, c in enumerate(cells[:-1]):
        if c["cell_type"] == "code" and any("image/png" in o.get("data", {}) for o in c["outputs"]):
            assert cells[i + 1]["cell_type"] == "markdown", f"cell {i} draws a figure with no text after it"


def test_make_lab_passes_jupyter_arguments_and_make_run_ends_with_the_headlines():
    def dry(*args):
        return subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed", *args], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip().splitlines()

    assert dry("lab", "LAB_ARGS=--allow-root --port=9999")[-1].endswith("jupyter lab notebooks --allow-root --port=9999")
    last = dry("run")[-1]
    assert "-m nine_utils.course.results" in last and "--all" not in last  # the one-screen headline table
