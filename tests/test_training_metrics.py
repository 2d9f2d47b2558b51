"""The training loop, the probes and the results file."""

import json
import math

import numpy as np
import pytest
import torch

import nine_utils as nu


def _train(seed=0, objective="infonce", epochs=2, n=640):
    nu.seed_everything(seed)
    split = nu.digits_split(seed=0)
    enc = nu.MLPEncoder(64, 8, hidden=32)
    critic = nu.SeparableCritic(8, normalize=True, temperature=0.2)
    hist = nu.train_infomax(enc, critic, split.x_train[:n], nu.TwoViewAugment(), objective=objective,
                            epochs=epochs, batch_size=64, seed=seed, device="cpu", progress=False)
    return enc, hist


def test_training_is_deterministic_for_a_seed():
    enc_a, a = _train(seed=3)
    enc_b, b = _train(seed=3)
    _, c = _train(seed=4)
    assert a.loss == b.loss and a.mi == b.mi
    assert a.loss != c.loss
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(nu.embed(enc_a, x), nu.embed(enc_b, x))


def test_history_contents_and_infonce_ceiling():
    _, h = _train(epochs=4)
    assert len(h.loss) == len(h.mi) == 4
    assert h.steps == 4 * (640 // 64) and h.batch_size == 64
    assert h.seconds > 0
    assert all(m <= math.log(64) + 1e-6 for m in h.mi)
    assert h.mi[-1] > h.mi[0] + 0.3  # it learns something
    assert h.infonce_ceiling == pytest.approx(math.log(64))
    json.dumps(h.as_dict())


def test_jsd_history_reports_a_bound_in_nats():
    _, h = _train(objective="jsd", epochs=3)
    assert h.objective == "jsd"
    assert all(math.isfinite(m) and m <= math.log(64) + 1e-6 for m in h.mi)  # InfoNCE on the same scores
    assert h.loss[-1] < h.loss[0]
    assert all(l >= 0 for l in h.loss)  # -J >= 0 since J <= 0


def test_channel_is_applied_to_the_second_branch_only():
    seen = []

    def channel(z, generator):
        seen.append(z.shape)
        return z + torch.randn(z.shape, generator=generator)

    nu.seed_everything(0)
    enc = nu.MLPEncoder(64, 4, hidden=8)
    nu.train_infomax(enc, nu.SeparableCritic(4), nu.load_digits()[0][:64], epochs=1, batch_size=32,
                     channel=channel, progress=False, device="cpu")
    assert seen == [torch.Size([32, 4])] * 2


@pytest.mark.parametrize("kwargs, match", [
    ({"objective": "mine"}, "allowed values"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 1}, "batch_size"),
    ({"lr": -1.0}, "lr"),
    ({"device": "tpu"}, "device"),
])
def test_bad_arguments_fail_before_training(kwargs, match):
    enc = nu.MLPEncoder(64, 4, hidden=8)
    before = [p.clone() for p in enc.parameters()]
    with pytest.raises(ValueError, match=match):
        nu.train_infomax(enc, nu.SeparableCritic(4), torch.rand(10, 1, 8, 8), progress=False, **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(before, enc.parameters()))


def test_probes_score_separable_data_high_and_noise_at_chance():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 100)
    centers = rng.normal(size=(4, 5)) * 10
    z = centers[y] + rng.normal(size=(400, 5))
    tr, te = np.arange(400) % 2 == 0, np.arange(400) % 2 == 1
    assert nu.linear_probe_accuracy(z[tr], y[tr], z[te], y[te]) > 0.98
    assert nu.knn_accuracy(z[tr], y[tr], z[te], y[te]) > 0.98
    noise = rng.normal(size=(400, 5))
    assert nu.linear_probe_accuracy(noise[tr], y[tr], noise[te], y[te]) < 0.45
    with pytest.raises(ValueError, match="rows"):
        nu.linear_probe_accuracy(z[:10], y[:9], z, y)
    with pytest.raises(ValueError, match="k"):
        nu.knn_accuracy(z, y, z, y, k=0)


def test_save_results_writes_the_contract(tmp_path):
    path = nu.save_results("01_deep_infomax.ipynb", {"seed": 0, "sigmas": np.array([0.1, 0.2])},
                           {"acc": np.float32(0.5), "curve": [{"x": torch.tensor(1.0)}]}, 1.5,
                           results_dir=tmp_path)
    assert path == tmp_path / "01_deep_infomax.json"
    res = json.loads(path.read_text())
    assert set(res) == {"notebook", "parameters", "metrics", "runtime_seconds", "versions"}
    assert res["notebook"] == "01_deep_infomax" and res["metrics"]["acc"] == 0.5
    assert res["parameters"]["sigmas"] == [0.1, 0.2]
    assert "torch" in res["versions"]
    table = nu.summary_table(nu.load_results(tmp_path))
    assert "01_deep_infomax" in table and "acc" in table
    with pytest.raises(ValueError):
        nu.save_results("x", {}, {"bad": float("nan")}, 0.0, results_dir=tmp_path)


def test_relative_results_dir_is_taken_from_the_repo_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert nu.resolve_from_root("results") == nu.repo_root() / "results"


def test_device_auto_and_errors():
    assert nu.resolve_device("cpu") == torch.device("cpu")
    assert nu.resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda', 'mps'"):
        nu.resolve_device("gpu")
