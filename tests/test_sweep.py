"""The sweep command, end to end on a tiny notebook written by the test."""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nine_utils.course.sweep import collect, main, parse_grid, parse_value, plot_metric, run_sweep, save_figure


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A notebook that needs no training: it writes a score computed from its parameters."""
    folder = tmp_path_factory.mktemp("tiny")
    nb = new_notebook()
    params = new_code_cell('seed = 0\nsigma = 1.0\nfail = False\nwait = 0\nresults_dir = "results"')
    params.metadata["tags"] = ["parameters"]
    # it writes the results file's layout with json alone, so a run costs a kernel start and no torch import;
    # with wait > 0 it first leaves its kernel's pid in started.txt and sleeps (the Ctrl-C test);
    # a file FAIL in its working directory (the run's folder) makes it fail whatever its parameters, a file SKIP
    # makes it end without writing its results file;
    # it writes a line to its process's own stderr, as a kernel does when it starts or is shut down
    nb.cells = [params, new_code_cell(
        "import json, os, pathlib, time\n"
        "os.write(2, b'a message of the kernel process\\n')\n"
        "if wait:\n    (pathlib.Path(results_dir) / 'started.txt').write_text(str(os.getpid()))\n    time.sleep(wait)\n"
        "if fail or pathlib.Path('FAIL').exists():\n    raise RuntimeError('asked to fail')\n"
        "out = pathlib.Path(results_dir) / ('00_tiny.json' if not pathlib.Path('SKIP').exists() else 'other.json')\n"
        "out.write_text(json.dumps({'notebook': '00_tiny', "
        "'parameters': dict(seed=seed, sigma=sigma, fail=fail, wait=wait, results_dir=results_dir), "
        "'metrics': {'score': 10 * sigma + seed, 'curve': [{'x': 1, 'y': sigma}, {'x': 2, 'y': 2 * sigma}]}, "
        "'runtime_seconds': 0.0, 'source_sha256': os.environ['NINE_SOURCE_SHA256'], 'versions': {}}))")]
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
    df = collect(tmp_path / "g")
    assert len(df) == 4 and {"sigma", "seed", "score", "runtime_seconds"} <= set(df.columns)
    long = collect(tmp_path / "g", explode="curve")
    assert len(long) == 8 and {"x", "y", "seed"} <= set(long.columns)
    ax = plot_metric(df, "sigma", "score")
    assert ax.get_xlabel() == "sigma" and ax.get_ylabel() == "score"
    assert save_figure(tmp_path / "g", "x", "y", explode="curve").is_file()
    with pytest.raises(ValueError, match="column 'nope'"):
        plot_metric(df, "sigma", "nope")

    forced = run_sweep(tiny, {"sigma": [0.1], "seed": [0]}, name="g", force=True, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in forced.outcomes] == ["ok"] and "rerun sigma=0.1,seed=0: --force" in forced.summary()
    assert len(collect(tmp_path / "g")) == 1 and len(collect(tmp_path / "g", all_runs=True)) == 4


def test_a_failed_run_does_not_stop_the_others(tiny, tmp_path):
    report = run_sweep(tiny, {"fail": [False, True]}, name="f", jobs=2, sweeps_dir=tmp_path, progress=False)
    status = {o.run_id: o.status for o in report.outcomes}
    assert status == {"fail=false": "ok", "fail=true": "failed"}
    assert "asked to fail" in report.failed[0].error
    assert (tmp_path / "f" / "fail=true" / "00_tiny.ipynb").is_file()  # kept for debugging
    assert "FAILED fail=true" in report.summary()


def _manifest(folder):
    return json.loads((folder / "sweep.json").read_text())


def test_corrupt_or_foreign_results_are_rerun_and_said(tiny, tmp_path):
    grid = {"seed": [0, 1, 2]}
    run_sweep(tiny, grid, name="c", jobs=2, sweeps_dir=tmp_path, progress=False)
    (tmp_path / "c" / "seed=0" / "00_tiny.json").write_text('{"notebook": "00_ti')  # killed while writing
    other = tmp_path / "c" / "seed=1" / "00_tiny.json"
    res = json.loads(other.read_text())
    res["parameters"]["sigma"] = 5.0  # the results of another run copied here
    other.write_text(json.dumps(res))

    again = run_sweep(tiny, grid, name="c", jobs=2, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in again.outcomes] == ["ok", "ok", "skipped"]
    summary = again.summary()
    assert "rerun seed=0: its results file cannot be read" in summary
    assert "rerun seed=1: it records sigma=5.0, not the default 1.0" in summary
    assert json.loads(other.read_text())["parameters"]["sigma"] == 1.0


def _force_rerun_after_a_good_run(tiny, tmp_path, marker):
    """A run that succeeds, then its forced rerun with the file ``marker`` (FAIL or SKIP) in its folder."""
    run_sweep(tiny, {"seed": [0]}, name="s", sweeps_dir=tmp_path, progress=False)
    run = tmp_path / "s" / "seed=0"
    (run / marker).write_text("")
    report = run_sweep(tiny, {"seed": [0]}, name="s", force=True, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in report.outcomes] == ["failed"]
    assert not (run / "00_tiny.json").exists()
    return report, run


def test_a_failed_force_rerun_leaves_no_stale_results(tiny, tmp_path):
    _, run = _force_rerun_after_a_good_run(tiny, tmp_path, "FAIL")
    assert (run / "error.txt").is_file()
    assert [r["status"] for r in _manifest(tmp_path / "s")["runs"]] == ["failed"]
    assert collect(tmp_path / "s").empty
    (run / "FAIL").unlink()
    assert [o.status for o in run_sweep(tiny, {"seed": [0]}, name="s", sweeps_dir=tmp_path,
                                        progress=False).outcomes] == ["ok"]
    assert not (run / "error.txt").exists()  # the old error goes with the run that succeeds


def test_a_rerun_that_writes_no_results_fails_though_old_ones_were_there(tiny, tmp_path):
    report, _ = _force_rerun_after_a_good_run(tiny, tmp_path, "SKIP")
    assert "finished without writing 00_tiny.json" in report.outcomes[0].error


def test_other_fixed_values_rerun_and_the_manifest_says_what_ran(tiny, tmp_path):
    grid = {"seed": [1]}
    run_sweep(tiny, grid, name="x", fixed={"sigma": 2.0}, sweeps_dir=tmp_path, progress=False)
    report = run_sweep(tiny, grid, name="x", fixed={"sigma": 3.0}, sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in report.outcomes] == ["ok"]  # not skipped: it ran with sigma=2
    assert "it records sigma=2.0, not 3.0" in report.summary()
    manifest = _manifest(tmp_path / "x")
    assert manifest["fixed"] == {"sigma": 3.0} and manifest["grid"] == grid
    assert [(r["run_id"], r["parameters"], r["status"]) for r in manifest["runs"]] == [("seed=1", {"seed": 1}, "ok")]
    assert list(collect(tmp_path / "x")["score"]) == [31.0]

    # without the fixed value (like dropping --smoke): the notebook's default, so it reruns
    report = run_sweep(tiny, grid, name="x", sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert "not the default 1.0" in report.summary()
    assert _manifest(tmp_path / "x")["fixed"] == {}
    assert list(collect(tmp_path / "x")["score"]) == [11.0]


def test_collect_reads_the_current_manifest_unless_asked(tiny, tmp_path):
    run_sweep(tiny, {"seed": [0]}, name="m", sweeps_dir=tmp_path, progress=False)
    run_sweep(tiny, {"seed": [2]}, name="m", sweeps_dir=tmp_path, progress=False)
    assert list(collect(tmp_path / "m")["seed"]) == [2]
    assert sorted(collect(tmp_path / "m", all_runs=True)["seed"]) == [0, 2]

    corrupt = tmp_path / "m" / "seed=2" / "00_tiny.json"
    corrupt.write_text("{")
    with pytest.raises(ValueError, match=f"cannot read the results file {corrupt}"):
        collect(tmp_path / "m")
    with pytest.raises(ValueError, match="seed=2/00_tiny.json"):
        save_figure(tmp_path / "m", "seed", "score")


def test_a_yaml_syntax_error_is_one_line_naming_the_file(tiny, tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text("seed: [0, 1]\nsigma: [0.1, 0.2\n")
    assert main([str(tiny), "--grid", str(grid), "--sweeps-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{grid}:3:1: YAML syntax error" in err and "Traceback" not in err
    assert parse_grid(None, _write(tmp_path / "g2.yaml", "lr: [1e-3, 0.1]\n")) == {"lr": [0.001, 0.1]}
    assert parse_grid([["lr", "1e-3"]]) == {"lr": [0.001]}  # YAML 1.1 alone reads "1e-3" as a string


def _write(path, text):
    path.write_text(text)
    return path


# SIGHUP takes SIGTERM's path (test_sighup_is_handled_as_sigterm_is checks that in-process, without a sweep)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_ctrl_c_stops_the_queue_ends_the_notebook_and_exits_130(tiny, tmp_path, sig):
    """Ctrl-C, and SIGTERM (kill, timeout, a cancelled CI job) or SIGHUP (a closed terminal) the same way:
    summary, manifest, exit status 128 + the signal, no kernel or other child process left behind."""
    cmd = [sys.executable, "-m", "nine_utils.course.sweep", str(tiny), "-p", "seed", "0", "1", "2", "--set", "wait",
           "120", "--name", "int", "--sweeps-dir", str(tmp_path)]
    # as from a terminal: SIGINT at its default (a pytest-xdist worker ignores SIGINT, and a child inherits that)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = tmp_path / "int" / "seed=0" / "started.txt"
    deadline = time.monotonic() + 240
    while not (started.is_file() and started.read_text()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert started.is_file(), "the first run never started"
    kernel = int(started.read_text())
    t0 = time.monotonic()
    workers = _children(proc.pid)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert time.monotonic() - t0 < 60  # it did not wait for the 120 s notebook
    assert "INTERRUPTED: 1 stopped while running, 2 not run" in out
    assert "Traceback" not in err
    for _ in range(40):  # the sweep kills the running kernels
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.kill(kernel, signal.SIGKILL)
        pytest.fail("the interrupted notebook's kernel is still running")
    assert [r["status"] for r in _manifest(tmp_path / "int")["runs"]] == ["interrupted", "not run", "not run"]
    assert not (tmp_path / "int" / "seed=1").exists()
    deadline = time.monotonic() + 15
    while [p for p in workers if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [_describe(p) for p in workers if _alive(p)]
    assert workers and not left, f"processes of the sweep still running: {left}"


def test_execute_reports_the_kernels_pid_which_is_what_a_stopped_sweep_kills(tiny, tmp_path):
    from nine_utils.course.runner import execute

    pids = []
    execute(tiny, tmp_path / "out.ipynb", {"wait": 0.1, "results_dir": str(tmp_path)}, cwd=tmp_path,
            on_kernel=pids.append)
    assert pids == [int((tmp_path / "started.txt").read_text())]


def test_sighup_is_handled_as_sigterm_is():
    """Inside a sweep's run loop SIGHUP (a closed terminal) raises the same Stopped as SIGTERM, carrying its own
    number (exit 129); outside it the handlers are back as they were."""
    from nine_utils.course import sweep

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    with sweep._signals_as_interrupt():
        assert signal.getsignal(signal.SIGHUP) is signal.getsignal(signal.SIGTERM) is sweep._raise_stopped
        with pytest.raises(sweep.Stopped) as stop:
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1)  # the handler runs at the next bytecode boundary
        assert stop.value.args[0] == signal.SIGHUP
    assert {s: signal.getsignal(s) for s in before} == before


def _children(pid):
    import psutil

    return [p.pid for p in psutil.Process(pid).children(recursive=True)]


def _describe(pid):
    import psutil

    try:
        return " ".join(psutil.Process(pid).cmdline())[:200]
    except psutil.NoSuchProcess:
        return str(pid)


def _alive(pid):
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


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
    assert parse_grid([["sigma", "0.1", "1"], ["flag", "True"]]) == {"sigma": [0.1, 1], "flag": [True]}
    with pytest.raises(ValueError, match="not found"):
        run_sweep(tmp_path / "nope.ipynb", {"seed": [0]}, sweeps_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="'local', 'dask'"):
        run_sweep(tmp_path / "nope.ipynb", {"seed": [0]}, executor="ray", sweeps_dir=tmp_path)


def test_cli_reports_failures_with_exit_status(tiny, tmp_path):
    cmd = [sys.executable, "-m", "nine_utils.course.sweep", str(tiny), "-p", "fail", "False", "True", "--name", "cli",
           "--jobs", "2"]
    proc = subprocess.run(cmd + ["--set", "sigma", "2", "--sweeps-dir", str(tmp_path), "--plot", "fail", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "1 ran, 0 skipped (valid results exist), 1 failed" in proc.stdout
    assert "error: cannot plot nope against fail: column 'nope'" in proc.stderr  # one line, no traceback
    assert "Traceback" not in proc.stderr and "RuntimeWarning" not in proc.stderr, proc.stderr
    # the kernels' own messages (a shutdown's KeyboardInterrupt and ZMQ tracebacks among them) go to each run's log
    assert "a message of the kernel process" not in proc.stderr + proc.stdout
    logs = sorted((tmp_path / "cli").glob("*/kernel.log"))
    assert len(logs) == 2 and all("a message of the kernel process" in p.read_text() for p in logs)


def test_cli_refuses_a_bad_grid_before_running(tiny, tmp_path, capsys):
    assert main([str(tiny), "-p", "nosuch", "1", "--sweeps-dir", str(tmp_path)]) == 2
    assert "unknown parameter 'nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "00_tiny").exists()


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


@pytest.mark.parametrize("text, value", [("010", 10), ("1:30", "1:30"), ("off", "off"), ("None", None),
                                         ("True", True), ("true", "true"), ("1e-3", 0.001), ("0.5", 0.5),
                                         ("2024-01-01", "2024-01-01"), ("[2, 4]", [2, 4]), ("{'a': 1}", {"a": 1})])
def test_command_line_values_are_read_as_papermill_reads_them(text, value):
    from papermill.cli import _resolve_type

    assert parse_value(text) == value and type(parse_value(text)) is type(value)
    if text[0] not in "[{":
        assert parse_value(text) == _resolve_type(text)  # papermill's own rule for -p NAME VALUE
    with pytest.raises(ValueError, match="cannot read"):
        parse_value("[1, 2,,]")  # in brackets but not a list: said, not passed on as a string


def test_a_date_in_a_grid_file_is_one_line_exit_2(tiny, tmp_path, capsys):
    grid = _write(tmp_path / "grid.yaml", "seed: [2024-01-01]\n")
    assert main([str(tiny), "--grid", str(grid), "--sweeps-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'seed' is a date" in err and "quote it" in err


def test_a_long_value_gets_a_short_run_folder_and_a_run_never_raises(tiny, tmp_path):
    from nine_utils.course.sweep import MAX_RUN_ID, Run, run_id, run_one

    long_a, long_b = run_id({"xs": list(range(300))}), run_id({"xs": list(range(301))})
    assert len(long_a) <= MAX_RUN_ID and long_a != long_b and long_a.startswith("xs=_0,_1,_2")
    too_long = tmp_path / ("x" * 300)  # a folder name the file system refuses
    outcome = run_one(str(tiny), Run("x", {}, too_long, "00_tiny"), {}, {})
    assert outcome.status == "failed" and "File name too long" in outcome.error


@pytest.mark.notebook
def test_a_run_of_older_code_is_rerun(tiny, tmp_path):
    nb = nbformat.read(str(tiny), as_version=4)
    copy = tmp_path / "00_tiny.ipynb"
    nbformat.write(nb, str(copy))
    assert [o.status for o in run_sweep(copy, {"seed": [0]}, name="h", sweeps_dir=tmp_path, progress=False).outcomes] == ["ok"]
    nb.cells.append(new_code_cell("score_is_now_computed_differently = True"))
    nbformat.write(nb, str(copy))
    report = run_sweep(copy, {"seed": [0]}, name="h", sweeps_dir=tmp_path, progress=False)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert "rerun seed=0: the notebook's code changed since it ran" in report.summary()


def test_an_unreachable_dask_scheduler_is_one_line_and_writes_nothing(tiny, tmp_path, capsys):
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler 'tcp://127.0.0.1:9'"):
        run_sweep(tiny, {"seed": [0]}, name="u", executor="dask", scheduler="tcp://127.0.0.1:9", sweeps_dir=tmp_path,
                  progress=False, connect_timeout=2)
    assert not (tmp_path / "u").exists()
    assert main([str(tiny), "-p", "seed", "0", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9",
                 "--connect-timeout", "2", "--sweeps-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler" in err


@pytest.mark.notebook
def test_under_dask_a_run_still_running_is_not_said_to_have_stopped(tiny, tmp_path, monkeypatch):
    import distributed

    started = tmp_path / "left" / "seed=0" / "started.txt"

    def interrupted_once_the_first_run_started(futures):
        deadline = time.monotonic() + 120
        while not started.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        raise KeyboardInterrupt
        yield  # a generator, like distributed.as_completed

    saved = dict(os.environ)
    try:
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster:
            monkeypatch.setattr(distributed, "as_completed", interrupted_once_the_first_run_started)
            report = run_sweep(tiny, {"seed": [0, 1]}, name="left", fixed={"wait": 5}, executor="dask",
                               scheduler=cluster.scheduler_address, sweeps_dir=tmp_path, progress=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert [o.status for o in report.outcomes] == ["left running", "not run"]
    assert "0 stopped while running, 1 not run, 1 left running on Dask workers" in report.summary()


def test_a_mistyped_nine_root_is_refused_by_the_sweep(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NINE_ROOT", str(tmp_path / "no" / "such"))
    assert main([str(tiny), "-p", "seed", "0", "--sweeps-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a course checkout" in err
    assert not (tmp_path / "s").exists() and not (tmp_path / "no").exists()
