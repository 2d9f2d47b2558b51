"""Notebooks 03 and 06 with ``dataset = "mnist"``, run offline through papermill.

The notebooks download MNIST and check its files against the official SHA-256 sums. Here there
is no network, and the test's small random IDX files cannot have those sums. The library's check
stays as it is; instead the test tells the notebook's kernel, a separate Python process, about the
fake files' sums: it writes a ``sitecustomize.py`` into a temporary folder put first on
``PYTHONPATH``, and Python runs that file at start-up in every process that inherits the variable.
The file replaces the entry ``nine_utils.mnist.DATASETS["mnist"]``: the fake files' sums, and a
closed local port as the only mirror, so nothing is ever downloaded. The default cut of a 28x28 set
and the message a learner offline sees are checked without a kernel: the notebooks' code up to their
data cell runs in the test's process, with the same entry replaced there.
"""

import gzip
import hashlib
import importlib.util
import json
import math
import os

import nbformat
import numpy as np
import pytest

import nine_utils.mnist as mn
from nine_utils.course.runner import execute, nine_metadata
from nine_utils.course.paths import repo_root
from test_notebook_settings import _run_to_the_cell_after_the_parameters
from test_notebooks import _numbers  # the tests folder is on sys.path (pytest's default import mode)

STEMS = ["03_gaussian_matching", "06_anomaly_detection"]
CLOSED_PORT = "http://127.0.0.1:9/"  # the discard port: nothing listens, the connection is refused at once
# more images than the notebooks keep of a 28x28 set by default (2000 train, 1000 test): the default cut is
# checked by running each notebook's code up to its data cell in the test's process; the whole notebooks run
# in a kernel on smaller sizes, which tests those (the statistics' floors cost much more at 1000 held-out points)
FAKE_TRAIN, FAKE_TEST = 2100, 1100
DEFAULT_CUT = (2000, 1000)
SIZES = {"03_gaussian_matching": ({"max_train": 400, "max_test": 200}, (400, 200)),
         "06_anomaly_detection": ({"max_train": 400, "max_test": 200}, (400, 200))}


def _path(stem):
    return repo_root() / "notebooks" / f"{stem}.ipynb"


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fake_mnist(folder, n_train, n_test, seed=0):
    """Random 28x28 uint8 images with labels 0..9, as the four gzipped IDX files; returns their sums."""
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train),
              rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test)]
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for file, arr in zip(mn._FILES, arrays):
        blob = gzip.compress(_idx(arr), compresslevel=1)
        (folder / file).write_bytes(blob)
        sums[file] = hashlib.sha256(blob).hexdigest()
    return sums


def patch_kernel_mnist(monkeypatch, folder, sums):
    """Make every Python started from now on (the papermill kernel) see ``DATASETS["mnist"]`` with ``sums``."""
    shadowed = importlib.util.find_spec("sitecustomize")
    chain = ""
    if shadowed is not None and shadowed.origin:  # keep the environment's own start-up file working
        chain = f"import runpy\nrunpy.run_path({shadowed.origin!r})\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "# written by tests/test_notebooks_larger_data.py for one test run\n" + chain
        + "import nine_utils.mnist as _mn\n"
        + f"_mn.DATASETS['mnist'] = _mn.IdxDataset('mnist', ({CLOSED_PORT!r},), {dict(sums)!r})\n"
    )
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(folder) + (os.pathsep + old if old else ""))


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return root, write_fake_mnist(root / "mnist", FAKE_TRAIN, FAKE_TEST)


@pytest.mark.parametrize("stem", STEMS)
def test_28x28_sets_are_cut_by_default(stem, fake_mnist, tmp_path, monkeypatch):
    root, sums = fake_mnist
    monkeypatch.setitem(mn.DATASETS, "mnist", mn.IdxDataset("mnist", (CLOSED_PORT,), dict(sums)))
    params = dict(nine_metadata(_path(stem))["smoke_parameters"], dataset="mnist", data_root=str(root),
                  results_dir=str(tmp_path / "results"), max_train=None, max_test=None)  # the defaults
    source, err, ns = _run_to_the_cell_after_the_parameters(_path(stem), params)
    assert err is None and "check_parameters(" in source
    split = ns["split"]
    assert (len(split.x_train), len(split.x_test)) == DEFAULT_CUT
    assert tuple(split.x_train.shape[1:]) == (1, 28, 28)


@pytest.mark.notebook
@pytest.mark.parametrize("stem", STEMS)
def test_notebook_runs_on_28x28_mnist(stem, fake_mnist, tmp_path, monkeypatch):
    root, sums = fake_mnist
    patch_kernel_mnist(monkeypatch, tmp_path / "site", sums)
    path = _path(stem)
    meta = nine_metadata(path)
    sizes, (n_train, n_test) = SIZES[stem]
    params = dict(meta["smoke_parameters"], dataset="mnist", data_root=str(root),
                  results_dir=str(tmp_path / "results"), **sizes)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    execute(path, tmp_path / f"{stem}.ipynb", params, cwd=workdir)

    res = json.loads((tmp_path / "results" / f"{stem}.json").read_text())
    assert res["parameters"]["dataset"] == "mnist"
    assert res["parameters"]["data_root"] == str(root)
    assert res["parameters"]["max_train"] == sizes.get("max_train")
    assert res["parameters"]["max_test"] == sizes.get("max_test")
    assert all(res["parameters"][k] == v for k, v in sizes.items())
    metrics = res["metrics"]
    assert metrics["image_size"] == 28, "the notebook did not use the 28x28 images"
    assert (metrics["n_train"], metrics["n_test"]) == (n_train, n_test), "images kept of the 28x28 set"
    missing = [k for k in meta["metric_keys"] if k not in metrics]
    assert not missing, f"results file lacks {missing}"
    assert all(math.isfinite(x) for x in _numbers(metrics))
    for k, v in metrics.items():
        if k.startswith(("probe_acc", "auroc")):  # with their _std and _by_seed companions
            assert all(0.0 <= x <= 1.0 for x in _numbers(v)), k
    # the printed shapes of the data cell: MNIST-sized images, not digits
    nb = nbformat.read(str(tmp_path / f"{stem}.ipynb"), as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"mnist: train ({n_train}, 1, 28, 28)" in printed


@pytest.mark.parametrize("stem", STEMS)
def test_offline_mnist_fails_first_saying_where_to_put_the_files(stem, tmp_path, monkeypatch):
    # the real sums, no files, and a mirror that refuses the connection: what a learner offline sees. The
    # notebook's code runs here up to its data cell, the cell after the parameters (nothing is trained before)
    real = mn.DATASETS["mnist"]
    monkeypatch.setitem(mn.DATASETS, "mnist", mn.IdxDataset("mnist", (CLOSED_PORT,), dict(real.sha256)))
    root = tmp_path / "data"
    params = dict(nine_metadata(_path(stem))["smoke_parameters"], dataset="mnist", data_root=str(root),
                  results_dir=str(tmp_path / "results"))
    source, err, _ = _run_to_the_cell_after_the_parameters(_path(stem), params)
    assert "check_parameters(" in source and isinstance(err, ConnectionError), err
    assert "no network?" in str(err) and f"put them in {root / 'mnist'}/" in str(err)
    assert not list((tmp_path / "results").glob("*.json"))
