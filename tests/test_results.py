"""The results files' table (nine_utils.course.results) and the runner's smoke runs (nine_utils.course.runner)."""

import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nine_utils.course import results as results_cli
from nine_utils.course import runner
from nine_utils.course.results import load_results, read_results, summary_table


def _result(stem, **metrics):
    return {"notebook": stem, "parameters": {"seed": 0}, "metrics": metrics or {"acc": 0.5},
            "runtime_seconds": 1.0, "versions": {}}


def _cli(module, *args, root=None, **kw):
    env = {**os.environ, "NINE_ROOT": str(root)} if root is not None else None
    return subprocess.run([sys.executable, "-m", f"nine_utils.course.{module}", *map(str, args)], capture_output=True,
                          text=True, env=env, **kw)


def test_a_corrupt_results_file_is_named_and_skipped(tmp_path, capsys):
    (tmp_path / "01_good.json").write_text(json.dumps(_result("01_good", acc=0.9)))
    (tmp_path / "02_bad.json").write_text('{"notebook": "02_bad", "metr')  # a run killed while writing
    (tmp_path / "03_list.json").write_text("[1, 2]")

    results, unreadable = read_results(tmp_path)
    assert list(results) == ["01_good"]
    assert sorted(p.name for p in unreadable) == ["02_bad.json", "03_list.json"]
    with pytest.raises(ValueError, match="02_bad.json"):
        load_results(tmp_path)

    assert results_cli.main([str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "01_good" in out and "acc  0.9" in out
    assert "skipped" in err and "02_bad.json" in err and "03_list.json" in err

    # the same as a command, without a traceback and without runpy's RuntimeWarning (the package
    # must not import a module that is run with -m)
    proc = _cli("results", tmp_path)
    assert proc.returncode == 0 and "01_good" in proc.stdout and "02_bad.json" in proc.stderr
    assert "Traceback" not in proc.stderr and "RuntimeWarning" not in proc.stderr, proc.stderr


def test_no_readable_file_or_no_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "02_bad.json").write_text("{")
    assert results_cli.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "02_bad.json" in err and "no readable results files" in err
    missing = tmp_path / "nope"
    assert results_cli.main([str(missing)]) == 2
    assert f"error: no results folder {missing}" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="nope"):
        read_results(missing)


def test_summary_table_marks_smoke_numbers():
    table = summary_table({"01_a": _result("01_a"), "02_b": _result("02_b")}, smoke=["02_b"])
    first, second = table.split("02_b")
    assert "SMOKE" not in first and "SMOKE RUN" in second


@pytest.fixture
def tiny_course(tmp_path):
    """A checkout with one notebook that writes its results file without importing torch."""
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "tiny"\n')
    nb = new_notebook()
    params = new_code_cell('seed = 0\nsize = 100\nresults_dir = "results"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(
        "import json, os, pathlib\n"
        "out = pathlib.Path(os.environ['NINE_ROOT']) / results_dir\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "(out / '01_tiny.json').write_text(json.dumps({'notebook': '01_tiny', "
        "'parameters': {'seed': seed, 'size': size, 'results_dir': results_dir}, 'metrics': {'score': size / 100}, "
        "'runtime_seconds': 0.0, 'versions': {}}))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["nine"] = {"smoke_parameters": {"size": 3}, "metric_keys": ["score"]}
    nbformat.write(nb, str(root / "notebooks" / "01_tiny.ipynb"))
    return root


@pytest.mark.notebook
def test_smoke_run_writes_apart_and_runs_quietly(tiny_course, monkeypatch, capfd):
    monkeypatch.setenv("NINE_ROOT", str(tiny_course))
    full = tiny_course / "results" / "01_tiny.json"
    full.parent.mkdir()
    full.write_text(json.dumps(_result("01_tiny", score=1.0)))

    assert runner.main(["run", "--smoke"]) == 0
    err = capfd.readouterr().err  # file-descriptor level: the kernel's own stderr is in it
    smoke = json.loads((tiny_course / "results" / "smoke" / "01_tiny.json").read_text())
    assert smoke["parameters"]["size"] == 3
    assert json.loads(full.read_text())["metrics"]["score"] == 1.0  # the full run's results are untouched
    assert (tiny_course / "results" / "smoke" / "executed" / "01_tiny.ipynb").is_file()
    assert "without encryption" not in err, err  # the kernel's connection is encrypted, so ipykernel does not warn

    assert results_cli.main(["results/smoke"]) == 0
    assert "01_tiny" in (out := capfd.readouterr().out) and "SMOKE RUN" in out
    assert results_cli.main(["results"]) == 0
    assert "SMOKE" not in capfd.readouterr().out

    proc = _cli("runner", "list", root=tiny_course)  # run as a command: no runpy RuntimeWarning
    assert proc.returncode == 0 and proc.stdout.split() == ["01_tiny.ipynb"]
    assert "RuntimeWarning" not in proc.stderr, proc.stderr


@pytest.mark.notebook
def test_refresh_runs_the_notebooks_in_place_and_keeps_their_results_files(tiny_course, monkeypatch):
    monkeypatch.setenv("NINE_ROOT", str(tiny_course))
    assert runner.main(["refresh"]) == 0
    nb = nbformat.read(str(tiny_course / "notebooks" / "01_tiny.ipynb"), as_version=4)
    assert nb.cells[1].execution_count and "papermill" not in nb.metadata  # run in place, its timings stripped
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in nb.cells)
    written = tiny_course / "results" / "01_tiny.json"
    assert (tiny_course / runner.COMMITTED_RESULTS_DIR / "01_tiny.json").read_text() == written.read_text()
    assert json.loads(written.read_text())["metrics"] == {"score": 1.0}


def test_save_results_writes_the_contract(tmp_path):
    import numpy as np
    import torch

    from nine_utils.course.results import save_results

    path = save_results("01_deep_infomax.ipynb", {"seed": 0, "sigmas": np.array([0.1, 0.2])},
                        {"acc": np.float32(0.5), "curve": [{"x": torch.tensor(1.0)}]}, 1.5, results_dir=tmp_path)
    assert path == tmp_path / "01_deep_infomax.json"
    res = json.loads(path.read_text())
    assert set(res) == {"notebook", "parameters", "metrics", "runtime_seconds", "source_sha256", "versions"}
    assert res["notebook"] == "01_deep_infomax" and res["metrics"]["acc"] == 0.5
    assert res["parameters"]["sigmas"] == [0.1, 0.2]
    assert res["metrics"]["curve"] == [{"x": 1.0}]
    assert "torch" in res["versions"]
    table = summary_table(load_results(tmp_path))
    assert "01_deep_infomax" in table and "acc" in table
    with pytest.raises(TypeError, match="metrics.bad"):
        save_results("x", {}, {"bad": object()}, 0.0, results_dir=tmp_path)


def test_a_non_finite_metric_is_stored_as_null_named_and_the_file_still_written(tmp_path):
    import numpy as np

    from nine_utils.course.results import ResultsWarning, save_results

    with pytest.warns(ResultsWarning, match=r"stored as null: metrics.mi_nwj, metrics.curve\[1\].y"):
        path = save_results("01_x", {"seed": 0}, {"mi_nwj": float("nan"), "ok": 1.5,
                                                   "curve": [{"y": 1.0}, {"y": np.float32("inf")}]}, 1.0, tmp_path)
    res = json.loads(path.read_text())
    assert res["metrics"] == {"mi_nwj": None, "ok": 1.5, "curve": [{"y": 1.0}, {"y": None}]}


def test_numpy_scalars_bools_and_devices_are_stored_as_plain_json(tmp_path):
    import numpy as np
    import torch

    from nine_utils.course.results import save_results

    a, b = np.float64(0.1), np.float64(0.2)
    path = save_results("01_x", {"device": torch.device("cpu"), "n": np.int64(3)},
                        {"better": a < b, "k": np.int32(2), "x": np.float32(0.5)}, 1.0, tmp_path)
    res = json.loads(path.read_text())
    assert res["parameters"] == {"device": "cpu", "n": 3}
    assert res["metrics"] == {"better": True, "k": 2, "x": 0.5}
    assert type(res["metrics"]["better"]) is bool


def test_results_are_written_atomically(tmp_path):
    """A reader polling the file while it is rewritten never sees it empty or half written."""
    import threading

    from nine_utils.course.results import save_results

    big = {"curve": list(range(50_000))}
    path = save_results("01_x", {"seed": 0}, big, 1.0, tmp_path)
    bad, done = [], threading.Event()

    def poll():
        while not done.is_set():
            try:
                json.loads(path.read_text())
            except (ValueError, OSError) as err:
                bad.append(type(err).__name__)

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for _ in range(15):
            save_results("01_x", {"seed": 0}, big, 1.0, tmp_path)
    finally:
        done.set()
        reader.join()
    assert not bad, f"the reader saw a broken file {len(bad)} times"
    assert [p.name for p in tmp_path.iterdir()] == ["01_x.json"]  # no temporary file left behind


def test_two_runs_writing_one_results_file_is_said_plainly(tmp_path):
    from nine_utils.course.results import ResultsWarning, save_results

    save_results("01_x", {"seed": 0, "results_dir": "a"}, {"acc": 0.5}, 1.0, tmp_path)
    with pytest.warns(ResultsWarning, match=r"another run that wrote it while this one ran, with seed=0 \(now 1\)"):
        save_results("01_x", {"seed": 1, "results_dir": "b"}, {"acc": 0.6}, 60.0, tmp_path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_results("01_x", {"seed": 1, "results_dir": "c"}, {"acc": 0.7}, 60.0, tmp_path)  # the same run again


def test_the_results_record_a_hash_of_the_notebooks_code(tmp_path, monkeypatch):
    from nine_utils.course.results import SOURCE_HASH_ENV, save_results, source_hash

    nb = new_notebook()
    nb.cells = [new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("text")]
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    first = source_hash(tmp_path / "a.ipynb")
    nb.cells[1].source = "other text"
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1")]
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    assert source_hash(tmp_path / "a.ipynb") == first  # prose and outputs do not count
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    assert source_hash(tmp_path / "a.ipynb") != first
    monkeypatch.setenv(SOURCE_HASH_ENV, first)
    assert json.loads(save_results("01_x", {}, {}, 0.0, tmp_path).read_text())["source_sha256"] == first


def test_a_relative_results_dir_is_resolved_against_the_checkout_not_the_working_directory(tmp_path, monkeypatch):
    from pathlib import Path

    from nine_utils.course.paths import resolve_from_root

    checkout = Path(__file__).resolve().parents[1]  # this test file lives in <checkout>/tests
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NINE_ROOT", raising=False)
    assert resolve_from_root("results") == checkout / "results"
    assert resolve_from_root(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("NINE_ROOT", str(tmp_path))
    assert resolve_from_root("results") == tmp_path / "results"


def test_a_mistyped_nine_root_is_refused_and_a_run_of_nothing_fails(tmp_path, monkeypatch, capsys):
    from nine_utils.course.paths import repo_root

    monkeypatch.setenv("NINE_ROOT", str(tmp_path / "no" / "such" / "folder"))
    with pytest.raises(FileNotFoundError, match="NINE_ROOT=.*folder is not a course checkout"):
        repo_root()
    assert runner.main(["run", "--smoke"]) == 2
    assert "is not a course checkout" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("NINE_ROOT", str(tmp_path))  # a checkout, but without a notebook
    assert runner.main(["run", "--smoke"]) == 1
    assert "no notebooks" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


@pytest.mark.notebook
def test_execute_from_two_threads_keeps_each_kernel_in_its_folder_and_the_process_unchanged(tmp_path, monkeypatch):
    """papermill's cwd changes the whole process's working directory, and a saved-and-restored TQDM_DISABLE is
    shared by every thread: two runs at once (Dask's threaded workers) once ran a kernel in the other run's folder."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    nb = new_notebook()
    nb.cells = [new_code_cell("import os, pathlib\n"
                              "pathlib.Path('where.txt').write_text(os.getcwd() + '|' + os.environ['TQDM_DISABLE'])")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(tmp_path / "nb.ipynb"))
    folders = [tmp_path / f"run{i}" for i in range(2)]
    for f in folders:
        f.mkdir()
    before = os.getcwd()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: runner.execute(tmp_path / "nb.ipynb", f / "out.ipynb", cwd=f), folders))
    for f in folders:
        assert (f / "where.txt").read_text() == f"{f}|1"
    assert os.getcwd() == before and "TQDM_DISABLE" not in os.environ


def test_a_partial_smoke_run_or_other_parameters_are_marked(tiny_course, monkeypatch, capsys):
    monkeypatch.setenv("NINE_ROOT", str(tiny_course))
    folder = tiny_course / "results"
    folder.mkdir()
    res = _result("01_tiny", score=0.05)
    res["parameters"] = {"seed": 0, "size": 5, "results_dir": "results"}  # the smoke size, then -p size 5
    (folder / "01_tiny.json").write_text(json.dumps(res))
    for argv in (["results"], ["--all", "results"]):
        assert results_cli.main(argv) == 0
        assert "NOT THE DEFAULTS: size=5 (default 100)" in capsys.readouterr().out
    res["parameters"]["size"] = 100
    (folder / "01_tiny.json").write_text(json.dumps(res))
    assert results_cli.main(["results"]) == 0
    assert "NOT THE DEFAULTS" not in capsys.readouterr().out


def test_the_table_is_one_screen_of_headline_numbers_with_their_spread(tmp_path, capsys):
    metrics = {f"m{i}": i / 10 for i in range(40)}
    metrics.update(m0=0.5, m0_by_seed=[0.4, 0.5, 0.6], m1_std=0.02, n_seeds=3, curve=[1, 2, 3])
    (tmp_path / "01_a.json").write_text(json.dumps(_result("01_a", **metrics)))
    assert results_cli.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"01_a  (runtime 1.0 s, {tmp_path / '01_a.json'})")
    assert out[1] == "    m0  0.5 ± 0.1 over 3 seeds" and out[2] == "    m1  0.1 ± 0.02 over 3 seeds"
    assert len(out) == 1 + results_cli.HEADLINE_COUNT + 2
    assert out[-1] == f"every number: python -m nine_utils.course.results --all {tmp_path}"
    assert results_cli.main(["--all", str(tmp_path)]) == 0
    assert "m39" in capsys.readouterr().out
    one_seed = _result("01_a", m0=0.5, m0_std=0.0, m0_by_seed=[0.5], n_seeds=1)
    (tmp_path / "01_a.json").write_text(json.dumps(one_seed))
    assert results_cli.main([str(tmp_path)]) == 0
    assert "    m0  0.5\n" in capsys.readouterr().out  # one seed: no spread to show
