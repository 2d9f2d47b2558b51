"""The notebooks' parameter check (nine_utils.course.params) and the thread policy."""

import math

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from nine_utils import course
from nine_utils.course.runner import execute

P = course.params


def _spec():
    return {
        "seed": P.Int(min=0), "epochs": P.Int(min=1), "sigma": P.Float(gt=0), "momentum": P.Float(gt=0, le=1),
        "dataset": P.Choice("digits", "mnist"), "device": P.Device(), "results_dir": P.ResultsDir(),
        "max_train": P.Optional(P.Int(min=1)), "sweep_sigmas": P.ListOf(P.Float(gt=0), min_len=1),
        "recalibrate_head": P.Bool(), "encoder": P.Str(), "latent_dim": P.Int(min=2), "pair_coords": P.Int(min=2),
    }


RULES = [("pair_coords <= latent_dim", lambda p: p["pair_coords"] <= p["latent_dim"])]


@pytest.fixture
def ns(tmp_path):
    """A valid namespace, as a notebook's globals() after its parameters cell."""
    return dict(seed=0, epochs=3, sigma=1.0, momentum=0.1, dataset="digits", device="cpu",
                results_dir=str(tmp_path / "results"), max_train=None, sweep_sigmas=[0.5, 1], recalibrate_head=True,
                encoder="mlp", latent_dim=4, pair_coords=2, torch=torch, math=math, __name__="__main__")


def _check(ns, **changes):
    return course.check_parameters({**ns, **changes}, _spec(), rules=RULES)


def test_a_valid_namespace_returns_the_checked_values(ns, tmp_path):
    run = _check(ns)
    assert run.device == torch.device("cpu") and run.results_dir == tmp_path / "results"
    assert run.results_dir.is_dir() and not list(run.results_dir.iterdir())  # created, the probe removed
    assert run["sigma"] == 1.0 and run.values["sweep_sigmas"] == [0.5, 1] and run["max_train"] is None
    assert run.torch_threads == 1 and run["torch_threads"] == 1


@pytest.mark.parametrize("changes, message", [
    ({"seed": True}, "seed must be an integer >= 0, got True"),  # bool is not an int
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"epochs": 2.0}, "epochs must be an integer >= 1, got 2.0"),
    ({"sigma": 0}, "sigma must be a finite number > 0, got 0"),
    ({"sigma": float("inf")}, "sigma must be a finite number > 0, got inf"),
    ({"sigma": "1"}, "sigma must be a finite number > 0, got '1'"),
    ({"sigma": False}, "sigma must be a finite number > 0, got False"),
    ({"sigma": 10**400}, "sigma must be a finite number > 0, got 1000"),  # too big for a float (was an OverflowError)
    ({"momentum": 1.5}, r"momentum must be a finite number in \(0, 1\], got 1.5"),
    ({"dataset": "cifar"}, "dataset must be one of 'digits', 'mnist', got 'cifar'"),
    ({"max_train": 0}, "max_train must be None or an integer >= 1, got 0"),
    ({"sweep_sigmas": []}, "sweep_sigmas must be a non-empty list, each item a finite number > 0, got"),
    ({"sweep_sigmas": [1, -1]}, r"sweep_sigmas\[1\] must be a finite number > 0, got -1"),
    ({"sweep_sigmas": 0.5}, "sweep_sigmas must be a non-empty list"),
    ({"recalibrate_head": 1}, "recalibrate_head must be True or False, got 1"),
    ({"encoder": ""}, "encoder must be a non-empty string"),
    ({"device": "tpu"}, "unknown device 'tpu'; allowed values are: 'auto', 'cpu', 'cuda', 'mps'"),
    ({"device": 0}, "device must be one of 'auto', 'cpu', 'cuda', 'mps' or 'cuda:N'"),
    ({"results_dir": 3}, "results_dir must be a path"),
    ({"torch_threads": 0}, "torch_threads must be None or an integer >= 1, got 0"),
])
def test_types_and_ranges_name_the_parameter_and_what_it_allows(ns, changes, message):
    with pytest.raises(ValueError, match=message):
        _check(ns, **changes)


def test_every_problem_is_reported_at_once(ns):
    with pytest.raises(ValueError) as err:
        _check(ns, sigma=-1.0, epochs=0)
    assert str(err.value).splitlines() == ["2 problems with the parameters:",
                                           "- epochs must be an integer >= 1, got 0",
                                           "- sigma must be a finite number > 0, got -1.0"]


def test_a_device_the_machine_lacks_is_refused(ns, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda' was asked for, but CUDA is not available"):
        _check(ns, device="cuda")
    assert _check(ns, device="auto").device.type in {"cpu", "mps"}


def test_results_dir_is_taken_from_the_repository_root_and_created(ns, tmp_path, monkeypatch):
    root = tmp_path / "checkout"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setenv("NINE_ROOT", str(root))
    run = _check(ns, results_dir="results/deep/er")
    assert run.results_dir == root / "results" / "deep" / "er" and run.results_dir.is_dir()


def test_an_unwritable_results_dir_is_refused(ns, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=r"results_dir = '.*a_file/results': cannot write to"):
        _check(ns, results_dir=str(blocker / "results"))


def test_results_dir_is_not_created_when_another_parameter_is_wrong(ns, tmp_path):
    with pytest.raises(ValueError, match="sigma"):
        _check(ns, sigma=-1.0)
    assert not (tmp_path / "results").exists()


def test_a_declared_parameter_must_exist(ns):
    del ns["epochs"]
    with pytest.raises(ValueError, match="parameter 'epochs' is declared but not defined"):
        _check(ns)


def test_an_undeclared_parameter_is_named_with_the_allowed_names(ns):
    with pytest.raises(ValueError, match=r"unknown parameter 'sigmaa' \(misspelled\?\); the parameters are: "
                                         r"dataset, device, .*, sigma, sweep_sigmas, torch_threads$"):
        _check(ns, sigmaa=0.5)
    # private names, IPython's own names, modules and functions are not parameters
    _check(ns, _private=1, In=["x = 1"], Out={}, get_ipython=lambda: None, np=math, f=len)
    # a constant of the imports cell is allowed by name
    with pytest.raises(ValueError, match="unknown parameter 'CUT'"):
        _check(ns, CUT=(2000, 1000))
    course.check_parameters({**ns, "CUT": (2000, 1000)}, _spec(), rules=RULES, allow=["CUT"])


def test_in_a_kernel_only_assignment_cells_can_inject(ns):
    """With IPython's input history, a variable computed by an earlier run is not a parameter."""
    history = ["", "import math", "seed = 0\nsigma = 1.0  # noise", "acc = round(0.91, 2)\nscores = [acc]"]
    _check(ns, In=history, acc=0.91, scores=[0.91])  # a full run's variables, then the check rerun by hand
    with pytest.raises(ValueError, match="unknown parameter 'sigmaa'"):
        _check(ns, In=history + ["# Parameters\nsigmaa = 0.5\n"], sigmaa=0.5, acc=0.91)


def test_rules_are_checked_after_the_values(ns):
    with pytest.raises(ValueError, match=r"need pair_coords <= latent_dim, got latent_dim=4, pair_coords=5"):
        _check(ns, pair_coords=5)
    with pytest.raises(ValueError, match="pair_coords must be an integer >= 2") as err:
        _check(ns, pair_coords="5")  # a wrong type is reported as such; the rule does not run
    assert str(err.value) == "pair_coords must be an integer >= 2, got '5'"
    broken = [("epochs / 0 > 1", lambda p: p["epochs"] / 0 > 1)]
    with pytest.raises(ValueError, match=r"rule 'epochs / 0 > 1' could not be evaluated: ZeroDivisionError"):
        course.check_parameters(ns, _spec(), rules=broken)


def test_thread_policy():
    torch.set_num_threads(2)
    assert course.check_parameters({}, {}).torch_threads == 1 and torch.get_num_threads() == 1  # the default
    assert course.check_parameters({"torch_threads": 2}, {}).torch_threads == 2 and torch.get_num_threads() == 2
    torch.set_num_threads(2)
    assert course.check_parameters({"torch_threads": None}, {}).torch_threads is None
    assert torch.get_num_threads() == 2  # None leaves torch's setting alone
    assert course.apply_thread_policy(1) == 1 and torch.get_num_threads() == 1
    assert course.params.DEFAULT_TORCH_THREADS == 1


def test_thread_policy_limits_numpy_and_sklearn_pools_too():
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=2)  # as a fresh process on two cores starts
    try:
        course.check_parameters({}, {})
        pools = threadpool_info()
        assert {p["user_api"] for p in pools} >= {"blas", "openmp"}
        assert all(p["num_threads"] == 1 for p in pools), [(p["internal_api"], p["num_threads"]) for p in pools]
        threadpool_limits(limits=2)
        course.check_parameters({"torch_threads": None}, {})  # None leaves the pools as they are
        assert all(p["num_threads"] == 2 for p in threadpool_info())
    finally:
        threadpool_limits(limits=1)  # the course's policy, as conftest sets torch's


def _checked_notebook(path):
    nb = new_notebook()
    params = new_code_cell('seed = 0\nsigma = 1.0\ndevice = "cpu"\nresults_dir = "results"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_code_cell("import json\nfrom nine_utils import course\nP = course.params"),
        params,
        new_code_cell('run = course.check_parameters(globals(), {"seed": P.Int(min=0), "sigma": P.Float(gt=0), '
                      '"device": P.Device(), "results_dir": P.ResultsDir()})'),
        new_code_cell('import torch\n(run.results_dir / "out.json").write_text(json.dumps('
                      '{"sigma": sigma, "threads": torch.get_num_threads()}))'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.mark.notebook
def test_a_misspelled_papermill_parameter_fails_in_the_checker_cell(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    path = _checked_notebook(tmp_path / "checked.ipynb")
    out = tmp_path / "results"
    execute(path, tmp_path / "ok.ipynb", {"sigma": 0.5, "results_dir": str(out)}, cwd=tmp_path)
    assert (out / "out.json").read_text() == '{"sigma": 0.5, "threads": 1}'  # the thread policy applied

    with pytest.raises(PapermillExecutionError) as err:
        execute(path, tmp_path / "typo.ipynb", {"sigmaa": 0.5, "results_dir": str(out)}, cwd=tmp_path)
    assert err.value.ename == "ValueError"
    assert "unknown parameter 'sigmaa'" in err.value.evalue
    assert "the parameters are: device, results_dir, seed, sigma, torch_threads" in err.value.evalue
    failed = nbformat.read(str(tmp_path / "typo.ipynb"), as_version=4)
    errors = [c for c in failed.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
    assert len(errors) == 1 and "check_parameters" in errors[0].source


@pytest.mark.parametrize("seed", [2**63, 2**64, -(2**63) - 1])
def test_an_integer_beyond_64_bits_is_refused(ns, seed):
    """A seed of 2**64 passed the check and failed later in torch ("Overflow when unpacking long long")."""
    with pytest.raises(ValueError, match=rf"seed must be an integer >= 0 and below 2\*\*63 in size, got {seed}"
                       if seed > 0 else "seed must be an integer >= 0, got"):
        _check(ns, seed=seed)
    assert _check(ns, seed=2**63 - 1)["seed"] == 2**63 - 1


def test_a_tuple_checks_each_place_and_refuses_a_bool_for_an_integer(ns):
    """Notebook 02's stages [epochs, batch size, lr]: a `true` epoch count passed `isinstance(x, int)`."""
    stage = P.Tuple(P.Int(min=1), P.Int(min=2), P.Float(gt=0))
    spec = {**_spec(), "stages": P.ListOf(stage, min_len=1)}
    run = course.check_parameters({**ns, "stages": [[12, 512, 3e-3], (4, 2048, 1e-4)]}, spec)
    assert run["stages"] == [[12, 512, 3e-3], [4, 2048, 1e-4]]
    for bad, where in [([[True, 512, 3e-3]], r"stages\[0\]\[0\] must be an integer >= 1, got True"),
                       ([[12, 512]], r"stages\[0\] must be a list \[an integer >= 1, an integer >= 2, a finite number"),
                       ([[12, 512, 0.0]], r"stages\[0\]\[2\] must be a finite number > 0, got 0.0")]:
        with pytest.raises(ValueError, match=where):
            course.check_parameters({**ns, "stages": bad}, spec)


def test_the_parameters_as_set_are_kept_for_the_results_file(ns):
    run = _check(ns, device="auto")
    assert run.parameters["device"] == "auto" and run.parameters["results_dir"] == ns["results_dir"]
    assert run.parameters["torch_threads"] == 1 and set(run.parameters) == set(_spec()) | {"torch_threads"}


def _run_up_to_the_check_cell(stem, changes, tmp_path):
    """The notebook's code cells up to and including its check cell, run here (no kernel), with ``changes``
    injected after the parameters cell as papermill does, and results_dir in ``tmp_path``."""
    from nine_utils.course.paths import repo_root
    from test_notebook_settings import _run_to_the_cell_after_the_parameters

    path = repo_root() / "notebooks" / f"{stem}.ipynb"
    source, err, ns = _run_to_the_cell_after_the_parameters(path, {"results_dir": str(tmp_path / "results"), **changes})
    assert "check_parameters(" in source, f"{stem}: the cell after the parameters is not the check"
    if err is not None:
        raise err
    return ns


@pytest.mark.parametrize("stem, changes, message", [
    ("01_deep_infomax", {"test_fraction": 0.999}, "test_fraction holds out 31 to 1,787 of the 1,797 digits"),
    ("01_deep_infomax", {"test_fraction": 0.01}, "test_fraction holds out 31 to 1,787"),
    ("02_noise_injection", {"stages_1d": [[True, 512, 3e-3]]}, r"stages_1d\[0\]\[0\] must be an integer >= 1, got True"),
    ("02_noise_injection", {"stages_1d": [[2, 512]]}, r"stages_1d\[0\] must be a list \[an integer >= 1"),
    ("03_gaussian_matching", {"seed": 2**64}, r"seed must be an integer >= 0 and below 2\*\*63"),
    ("05_disentanglement", {"seed": 2**63}, r"seed must be an integer >= 0 and below 2\*\*63"),
])
def test_values_that_crash_later_fail_in_the_notebooks_check_cell(stem, changes, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        _run_up_to_the_check_cell(stem, changes, tmp_path)


@pytest.mark.parametrize("stem", ["01_deep_infomax", "02_noise_injection", "05_disentanglement"])
def test_the_notebooks_defaults_pass_their_check_cell(stem, tmp_path):
    ns = _run_up_to_the_check_cell(stem, {}, tmp_path)
    assert ns["run"].parameters["results_dir"] == str(tmp_path / "results")


def test_a_relative_results_dir_under_a_mistyped_nine_root_is_a_checked_error(ns, tmp_path, monkeypatch):
    """A notebook run created $NINE_ROOT/results wherever NINE_ROOT pointed."""
    monkeypatch.setenv("NINE_ROOT", str(tmp_path / "no" / "such"))
    with pytest.raises(ValueError, match=r"results_dir = 'results': NINE_ROOT=.* is not a course checkout"):
        _check(ns, results_dir="results")
    assert not (tmp_path / "no").exists()
    assert _check(ns).results_dir == tmp_path / "results"  # an absolute path needs no checkout


def test_the_package_loads_the_results_functions_on_first_use():
    """``python -m nine_utils.course.results`` would make runpy warn if the package had imported the module."""
    import subprocess
    import sys

    code = ("import sys; from nine_utils import course; loaded = 'nine_utils.course.results' in sys.modules; "
            "print(loaded, 'save_results' in dir(course), course.save_results.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "nine_utils.course.results"]
