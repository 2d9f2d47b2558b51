"""The project's set-up and the structure of every committed notebook (no kernel needed)."""

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from nine_utils.course.runner import nine_metadata, notebook_paths
from nine_utils.course.paths import repo_root
from nine_utils.course.teaching import strip_nav

ROOT = repo_root()
NOTEBOOKS = notebook_paths()
REQUIRED_PARAMETERS = {"seed", "device", "results_dir"}
CONDA_TO_PIP = {"pytorch": "torch"}


def _name_and_spec(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = dict(_name_and_spec(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _name_and_spec(dep)
            if name not in {"python", "pip"}:
                conda[CONDA_TO_PIP.get(name, name)] = spec
    assert conda == pip_deps
    assert {"torch", "numpy", "scipy", "scikit-learn", "matplotlib", "seaborn", "tqdm", "papermill", "nbval",
            "jupyterlab", "ipykernel"} <= set(pip_deps)
    assert "torchvision" not in pip_deps


def test_torch_is_pinned_for_setup_and_ci_calls_make_test():
    assert re.search(r"^torch==\d+\.\d+\.\d+$", (ROOT / "constraints.txt").read_text(), re.M)
    assert "TORCH_CONSTRAINT" in (ROOT / "Makefile").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


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

    # the story: title and goals first, learned / exercises with collapsed solutions, results last
    assert cells[0]["cell_type"] == "markdown", "the first cell is the title cell"
    text = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    title = strip_nav(text[0])  # the generated previous/next block (make nav) heads the title cell
    assert title.startswith("# ") and "learning goals" in title.lower()
    assert any("## What we learned" in t for t in text)
    assert any("<details>" in t for t in text)
    assert "save_results(" in "".join(code[-1]["source"])
    # every figure is followed by a markdown cell saying what it shows
    for i, c in enumerate(cells[:-1]):
        if c["cell_type"] == "code" and any("image/png" in o.get("data", {}) for o in c["outputs"]):
            assert cells[i + 1]["cell_type"] == "markdown", f"cell {i} draws a figure with no text after it"
