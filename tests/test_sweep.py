"""The sweep command, end to end on a tiny notebook written by the test."""

import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nine_utils.course.sweep import collect, parse_grid, plot_metric, run_sweep, save_figure


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A notebook that needs no training: it writes a score computed from its parameters."""
    folder = tmp_path_factory.mktemp("tiny")
    nb = new_notebook()
    params = new_code_cell('seed = 0\nsigma = 1.0\nfail = False\nresults_dir = "results"')
    params.metadata["tags"] = ["parameters"]
    # it writes the results file's layout with json alone, so a run costs a kernel start and no torch import
    nb.cells = [params, new_code_cell(
        "import json, pathlib\n"
        "if fail:\n    raise RuntimeError('asked to fail')\n"
        "out = pathlib.Path(results_dir) / '00_tiny.json'\n"
        "out.write_text(json.dumps({'notebook': '00_tiny', 'parameters': dict(seed=seed, sigma=sigma), "
        "'metrics': {'score': 10 * sigma + seed, 'curve': [{'x': 1, 'y': sigma}, {'x': 2, 'y': 2 * sigma}]}, "
        "'runtime_seconds': 0.0, 'versions': {}}))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "00_tiny.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_grid_of_four_with_two_jobs_then_resume_then_force(tiny, tmp_path):
    grid = {"sigma": [0.1, 0.3], "seed": [0, 1]}
    report = run_sweep(tiny, grid, name="g", jobs=2, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in report.outcomes] == ["ok"] * 4
    run_dirs = sorted(p.name for p in (tmp_path / "g").iterdir() if p.is_dir())
    assert run_dirs == ["sigma=0.1,seed=0", "sigma=0.1,seed=1", "sigma=0.3,seed=0", "sigma=0.3,seed=1"]
    for d in run_dirs:
        assert (tmp_path / "g" / d / "00_tiny.ipynb").is_file()
        res = json.loads((tmp_path / "g" / d / "00_tiny.json").read_text())
        assert res["metrics"]["score"] == pytest.approx(10 * res["parameters"]["sigma"] + res["parameters"]["seed"])

    again = run_sweep(tiny, grid, name="g", jobs=2, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in again.outcomes] == ["skipped"] * 4
    forced = run_sweep(tiny, {"sigma": [0.1], "seed": [0]}, name="g", force=True, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in forced.outcomes] == ["ok"]

    df = collect(tmp_path / "g")
    assert len(df) == 4 and {"sigma", "seed", "score", "runtime_seconds"} <= set(df.columns)
    long = collect(tmp_path / "g", explode="curve")
    assert len(long) == 8 and {"x", "y", "seed"} <= set(long.columns)
    ax = plot_metric(df, "sigma", "score")
    assert ax.get_xlabel() == "sigma" and ax.get_ylabel() == "score"
    assert save_figure(tmp_path / "g", "x", "y", explode="curve").is_file()
    with pytest.raises(ValueError, match="column 'nope'"):
        plot_metric(df, "sigma", "nope")


def test_a_failed_run_does_not_stop_the_others(tiny, tmp_path):
    report = run_sweep(tiny, {"fail": [False, True]}, name="f", jobs=2, sweeps_dir=tmp_path, progress=False)
    status = {o.run_id: o.status for o in report.outcomes}
    assert status == {"fail=false": "ok", "fail=true": "failed"}
    assert "asked to fail" in report.failed[0].error
    assert (tmp_path / "f" / "fail=true" / "00_tiny.ipynb").is_file()  # kept for debugging
    assert "FAILED fail=true" in report.summary()


@pytest.mark.parametrize("grid, match", [
    ({"sigmaa": [0.1]}, "unknown parameter 'sigmaa'.*sigma"),
    ({"results_dir": ["x"]}, "results_dir"),
])
def test_bad_grid_names_fail_before_any_run(tiny, tmp_path, grid, match):
    with pytest.raises(ValueError, match=match):
        run_sweep(tiny, grid, name="bad", sweeps_dir=tmp_path, progress=False)
    assert not (tmp_path / "bad").exists()


def test_malformed_grids_and_missing_notebook(tmp_path):
    with pytest.raises(ValueError, match="'sigma'.*at least one value"):
        parse_grid([["sigma"]])
    with pytest.raises(ValueError, match="empty"):
        parse_grid([])
    bad = tmp_path / "grid.yaml"
    bad.write_text("sigma: 0.1\n")
    with pytest.raises(ValueError, match="'sigma'.*non-empty list"):
        parse_grid(None, bad)
    assert parse_grid([["sigma", "0.1", "1"], ["flag", "true"]]) == {"sigma": [0.1, 1], "flag": [True]}
    with pytest.raises(ValueError, match="not found"):
        run_sweep(tmp_path / "nope.ipynb", {"seed": [0]}, sweeps_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="'local', 'dask'"):
        run_sweep(tmp_path / "nope.ipynb", {"seed": [0]}, executor="ray", sweeps_dir=tmp_path)


def test_cli_reports_failures_with_exit_status(tiny, tmp_path):
    cmd = [sys.executable, "-m", "nine_utils.course.sweep", str(tiny), "-p", "fail", "false", "true", "--name", "cli",
           "--jobs", "2"]
    proc = subprocess.run(cmd + ["--set", "sigma", "2", "--sweeps-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "1 ran, 0 skipped (results exist), 1 failed" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "nine_utils.course.sweep", str(tiny), "-p", "nosuch", "1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown parameter 'nosuch'" in bad.stderr


def test_dask_local_cluster_executor(tiny, tmp_path):
    # distributed's nanny writes OMP_NUM_THREADS=1 (and MKL_, OPENBLAS_) into this process's environment
    # for its workers; left there, every later kernel of the test session (nbval's notebook runs) inherits
    # it, and notebook 04's digits cell ran 3-4x slower. Put the environment back as it was.
    saved = dict(os.environ)
    try:
        import distributed

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster:
            report = run_sweep(tiny, {"seed": [0, 1]}, name="d", executor="dask",
                               scheduler=cluster.scheduler_address, sweeps_dir=tmp_path, progress=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert [o.status for o in report.outcomes] == ["ok", "ok"]
    assert len(collect(tmp_path / "d")) == 2
