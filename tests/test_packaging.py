"""Packaging of the science library: what `import nine_utils` loads, and the pins behind the outputs."""

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light_no_plotting_table_or_sklearn_until_used():
    # `import nine_utils` loaded pyplot, seaborn, pandas and scikit-learn (about 2.4 s on top of torch)
    heavy = ["matplotlib", "matplotlib.pyplot", "seaborn", "pandas", "sklearn"]
    code = f"import sys, nine_utils; print([m for m in {heavy!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]", f"`import nine_utils` loads {proc.stdout.strip()}"
    # ... and they load when a function that needs them is called
    code = ("import sys, nine_utils as nu; nu.set_theme(); import numpy as np; "
            "nu.linear_probe_accuracy(np.eye(4), [0, 1, 0, 1], np.eye(4), [0, 1, 0, 1]); "
            f"print([m for m in {heavy!r} if m not in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_numeric_stack_is_pinned_for_setup_at_the_installed_versions():
    pins = {}
    for line in (ROOT / "constraints-numeric.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    assert set(pins) == {"numpy", "scipy", "scikit-learn"}
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, f"{name}: installed {importlib.metadata.version(name)}"
    makefile = (ROOT / "Makefile").read_text()
    assert "NUMERIC_CONSTRAINT ?= constraints-numeric.txt" in makefile
    assert "$(if $(NUMERIC_CONSTRAINT),-c $(NUMERIC_CONSTRAINT))" in makefile


def test_no_declared_dependency_goes_unused_and_the_torch_pin_claims_no_cpu_build():
    # nbconvert was declared and never imported anywhere: declared only while some code imports it
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    imported = any(re.search(r"^\s*(import nbconvert|from nbconvert\b)", path.read_text(), re.M)
                   for folder in ("nine_utils", "tests", "benchmarks") for path in (ROOT / folder).rglob("*.py"))
    assert any(re.match(r"nbconvert\b", r) for r in declared) == imported
    text = (ROOT / "constraints.txt").read_text() + (ROOT / "README.md").read_text()
    assert "https://download.pytorch.org/whl/cpu" in text
    assert "several GB of CUDA packages);" not in (ROOT / "README.md").read_text()
