"""The training loop (pinned against a reference loop), embed, and the probes and results file."""

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import nine_utils as nu  # the probe and results-file tests below
from nine_utils.data import GaussianJitter, TwoViewAugment, digits_split, load_digits
from nine_utils.models import MLPEncoder, SeparableCritic
from nine_utils.objectives import infonce, jsd
from nine_utils.seeds import seed_everything
from nine_utils.training import embed, train_infomax


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


def _train(seed=0, objective="infonce", epochs=2, n=640):
    seed_everything(seed)
    split = digits_split(seed=0)
    enc = MLPEncoder(64, 8, hidden=32)
    critic = SeparableCritic(8, normalize=True, temperature=0.2)
    hist = train_infomax(enc, critic, split.x_train[:n], TwoViewAugment(), objective=objective,
                         epochs=epochs, batch_size=64, seed=seed, device="cpu", progress=False)
    return enc, hist


def test_training_is_deterministic_for_a_seed():
    enc_a, a = _train(seed=3)
    enc_b, b = _train(seed=3)
    _, c = _train(seed=4)
    assert a.loss == b.loss and a.mi == b.mi
    assert a.loss != c.loss
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(embed(enc_a, x), embed(enc_b, x))


def test_history_contents_and_infonce_ceiling():
    _, h = _train(epochs=4)
    assert len(h.loss) == len(h.mi) == 4
    assert h.steps == 4 * (640 // 64) and h.batch_size == 64
    assert all(m <= math.log(64) + 1e-6 for m in h.mi)
    assert h.mi[-1] > h.mi[0] + 0.3  # it learns something
    assert h.infonce_ceiling == pytest.approx(math.log(64))
    assert not h.recalibrated  # no NINE head, nothing to recalibrate
    json.dumps(h.as_dict())


# ------------------------------------------------------------------ the loop, against a reference

def _small_problem(seed=0, n=96, p=4, d=3):
    torch.manual_seed(seed)
    x = torch.randn(n, p, generator=torch.Generator().manual_seed(seed + 100))
    return x, nn.Linear(p, d), SeparableCritic(d, kind="bilinear", temperature=0.5)


def _reference_loop(encoder, critic, x, augment, epochs, batch_size, lr, seed):
    """What train_infomax must do, written out: shuffle every epoch, two views, Adam with zero_grad."""
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(list(encoder.parameters()) + list(critic.parameters()), lr=lr)
    losses = []
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=generator)
        total = 0.0
        for b in range(x.shape[0] // batch_size):
            batch = x[perm[b * batch_size:(b + 1) * batch_size]]
            v1, v2 = augment(batch, generator), augment(batch, generator)
            loss = -infonce(critic(encoder(v1), encoder(v2)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / (x.shape[0] // batch_size))
    return losses


def test_loop_matches_the_reference_loop():
    # fails if the loop stops zeroing the gradients (they accumulate over steps) or stops shuffling
    x, enc, critic = _small_problem()
    ref_enc, ref_critic = copy.deepcopy(enc), copy.deepcopy(critic)
    jitter = GaussianJitter(0.3)
    hist = train_infomax(enc, critic, x, jitter, epochs=3, batch_size=32, lr=0.05, seed=7, device="cpu",
                         progress=False)
    ref_losses = _reference_loop(ref_enc, ref_critic, x, jitter, epochs=3, batch_size=32, lr=0.05, seed=7)
    assert hist.loss == pytest.approx(ref_losses, rel=1e-5, abs=1e-6)
    for p, q in zip(list(enc.parameters()) + list(critic.parameters()),
                    list(ref_enc.parameters()) + list(ref_critic.parameters())):
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-6)


def test_batches_are_reshuffled_every_epoch_from_the_seed():
    n, bs, seed = 40, 10, 11
    seen = []

    def record(batch, generator):
        if len(batch) == bs:  # skip the two-row width probe
            seen.append(batch[:, 0].long().tolist())
        return batch

    x = torch.arange(n, dtype=torch.float32)[:, None]
    torch.manual_seed(0)
    train_infomax(nn.Linear(1, 2), SeparableCritic(2), x, record, epochs=3, batch_size=bs, seed=seed,
                  device="cpu", progress=False)
    batches = seen[::2]  # each batch is seen twice, once per view
    assert seen[1::2] == batches
    epochs = [batches[i:i + n // bs] for i in range(0, len(batches), n // bs)]
    assert len(epochs) == 3
    for epoch in epochs:  # every epoch visits every example once
        assert sorted(i for b in epoch for i in b) == list(range(n))
    assert epochs[0] != epochs[1] != epochs[2]
    # an int seed s means torch.Generator().manual_seed(s): the first permutation is reproducible
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    assert epochs[0][0] == perm[:bs].tolist()


def test_jsd_logs_infonce_on_the_same_scores():
    x, enc, critic = _small_problem(n=32)
    scores = critic(enc(x), enc(x)).detach()  # one batch of all 32 rows; InfoNCE ignores their order
    hist = train_infomax(enc, critic, x, objective="jsd", epochs=1, batch_size=32, lr=1e-3, device="cpu",
                         progress=False)
    assert hist.mi[0] == pytest.approx(infonce(scores).item(), rel=1e-5, abs=1e-6)
    assert hist.loss[0] == pytest.approx(-jsd(scores).item(), rel=1e-5, abs=1e-6)
    assert abs(hist.mi[0] + hist.loss[0]) > 0.1  # the two values differ: the test can tell them apart


def test_jsd_history_reports_a_bound_in_nats():
    _, h = _train(objective="jsd", epochs=3)
    assert h.objective == "jsd"
    assert all(math.isfinite(m) and m <= math.log(64) + 1e-6 for m in h.mi)  # InfoNCE on the same scores
    assert h.loss[-1] < h.loss[0]
    assert all(l >= 0 for l in h.loss)  # -J >= 0 since J <= 0


# ------------------------------------------------------------------ inputs and seeds

def _tabular(seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(128, 2))
    return np.hstack([latent, latent @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(128, 3))])  # float64


def _fit(x, seed=0, **kwargs):
    seed_everything(0)
    enc = MLPEncoder(5, 3, hidden=16)
    hist = train_infomax(enc, SeparableCritic(3), x, GaussianJitter(0.2), epochs=2, batch_size=32, seed=seed,
                         device="cpu", progress=False, **kwargs)
    return enc, hist


def test_numpy_float64_trains_like_the_float32_tensor():
    x64 = _tabular()
    assert x64.dtype == np.float64
    enc_np, from_numpy = _fit(x64)
    enc_t, from_tensor = _fit(torch.as_tensor(x64, dtype=torch.float32))
    _, from_double = _fit(torch.as_tensor(x64))
    assert from_numpy.loss == from_tensor.loss == from_double.loss
    assert from_numpy.mi == from_tensor.mi
    assert torch.equal(embed(enc_np, x64), embed(enc_t, torch.as_tensor(x64, dtype=torch.float32)))
    assert embed(enc_np, x64).dtype == torch.float32


def test_a_numpy_generator_seed_is_reproducible():
    _, a = _fit(_tabular(), seed=np.random.default_rng(5))
    _, b = _fit(_tabular(), seed=np.random.default_rng(5))
    _, c = _fit(_tabular(), seed=np.random.default_rng(6))
    assert a.loss == b.loss and a.loss != c.loss


def test_channel_is_applied_to_the_second_branch_only():
    seen = []

    def channel(z, generator):
        seen.append(z.shape)
        return z + torch.randn(z.shape, generator=generator)

    seed_everything(0)
    enc = MLPEncoder(64, 4, hidden=8)
    train_infomax(enc, SeparableCritic(4), load_digits()[0][:64], epochs=1, batch_size=32,
                  channel=channel, progress=False, device="cpu")
    assert seen == [torch.Size([32, 4])] * 2


@pytest.mark.parametrize("kwargs, match", [
    ({"objective": "mine"}, "allowed values"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 1}, "batch_size"),
    ({"lr": -1.0}, "lr"),
    ({"weight_decay": -1.0}, "weight_decay"),
    ({"device": "tpu"}, "device"),
    ({"seed": "abc"}, "seed must be a non-negative int or a numpy.random.Generator, got 'abc'"),
    ({"seed": -1}, "seed"),
    ({"recalibrate": "yes"}, "recalibrate"),
    ({"channel": "gaussian"}, "channel must be 'auto'"),
    ({"channel": 3}, "channel must be"),
    ({"callback": "every epoch"}, "callback must be a callable"),
])
def test_bad_arguments_fail_before_training(kwargs, match):
    enc = MLPEncoder(64, 4, hidden=8)
    before = [p.clone() for p in enc.parameters()]
    with pytest.raises(ValueError, match=match):
        train_infomax(enc, SeparableCritic(4), torch.rand(10, 1, 8, 8), progress=False, **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(before, enc.parameters()))


def test_callback_sees_every_epoch_and_leaves_the_training_alone():
    # A callback that evaluates the encoder (eval mode, its own random numbers) along training: it is called
    # once per epoch, without gradients and in train mode, its mode change is undone, and the run trains exactly
    # as the same run without it (the same history and weights), so a learning curve costs no reproducibility.
    split = digits_split(seed=0)
    x, held_out = split.x_train[:320], split.x_test[:50]

    def run(callback):
        seed_everything(5)
        enc = nn.Sequential(MLPEncoder(64, 4, hidden=16), nu.GaussianNINEHead(4, 1.0))
        hist = train_infomax(enc, enc[-1].critic(), x, TwoViewAugment(), epochs=3, batch_size=64, seed=5,
                             device="cpu", progress=False, callback=callback)
        return enc, hist

    calls = []

    def look(epoch, encoder):
        calls.append((epoch, encoder.training, encoder[-1].training, torch.is_grad_enabled()))
        encoder.eval()
        torch.randn(3)  # the global generator: not the one training draws from
        calls.append(float(encoder(held_out.flatten(1)).std()))

    enc_a, a = run(look)
    enc_b, b = run(None)
    assert [c for c in calls if isinstance(c, tuple)] == [(1, True, True, False), (2, True, True, False),
                                                          (3, True, True, False)]
    assert a.loss == b.loss and a.mi == b.mi and a.steps == b.steps
    assert all(torch.equal(p, q) for p, q in zip(enc_a.state_dict().values(), enc_b.state_dict().values()))


def test_width_probe_leaves_the_encoder_alone():
    # the probe runs in eval mode without gradients: batch-norm statistics and modes are untouched
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    enc[1].eval()  # a mixed mode, to be kept
    state = copy.deepcopy(enc.state_dict())
    with pytest.raises(ValueError, match="width 5"):
        train_infomax(enc, SeparableCritic(5), torch.randn(20, 3), progress=False, device="cpu")
    assert enc.training and not enc[1].training
    assert all(torch.equal(state[k], v) for k, v in enc.state_dict().items())



def test_probes_score_separable_data_high_and_noise_at_chance():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 100)
    centers = rng.normal(size=(4, 5)) * 10
    z = centers[y] + rng.normal(size=(400, 5))
    tr, te = np.arange(400) % 2 == 0, np.arange(400) % 2 == 1
    assert nu.linear_probe_accuracy(z[tr], y[tr], z[te], y[te]) > 0.98
    assert nu.knn_accuracy(z[tr], y[tr], z[te], y[te]) > 0.98
    noise = rng.normal(size=(400, 5))
    assert nu.linear_probe_accuracy(noise[tr], y[tr], noise[te], y[te]) < 0.4
    assert nu.knn_accuracy(noise[tr], y[tr], noise[te], y[te]) < 0.4
    # tensors and images (n, 1, h, w) are taken as they come, flattened
    zt = torch.as_tensor(z, dtype=torch.float32)
    assert nu.knn_accuracy(zt[tr], torch.as_tensor(y[tr]), zt[te], y[te]) == nu.knn_accuracy(z[tr], y[tr], z[te], y[te])
    img = np.pad(z, ((0, 0), (0, 4))).reshape(400, 1, 3, 3)
    assert nu.linear_probe_accuracy(img[tr], y[tr], img[te], y[te]) == nu.linear_probe_accuracy(
        img[tr].reshape(200, 9), y[tr], img[te].reshape(200, 9), y[te])
    with pytest.raises(ValueError, match="rows"):
        nu.linear_probe_accuracy(z[:10], y[:9], z, y)
    with pytest.raises(ValueError, match="width"):
        nu.knn_accuracy(z, y, z[:, :3], y)
    with pytest.raises(ValueError, match="k"):
        nu.knn_accuracy(z, y, z, y, k=0)
    with pytest.raises(ValueError, match="NaN"):
        nu.knn_accuracy(np.full((4, 2), np.nan), y[:4], z[:4, :2], y[:4])


def test_linear_probe_standardises_with_the_training_set_only():
    # one informative coordinate of tiny scale next to a large noise coordinate: after
    # standardisation (on the training set) the probe finds it at C = 1
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    z = np.column_stack([1e-3 * (2 * y - 1 + 0.3 * rng.standard_normal(400)), 1e3 * rng.standard_normal(400)])
    assert nu.linear_probe_accuracy(z[:200], y[:200], z[200:], y[200:]) > 0.95
    # the test set shifted by a constant is scored with the training statistics, so the probe fails
    shifted = z[200:] + np.array([5e-3, 0.0])
    assert nu.linear_probe_accuracy(z[:200], y[:200], shifted, y[200:]) < 0.7


def test_curve_summary_means_over_seeds_at_each_stage():
    # budget 12, checkpoints every 2 epochs: the middle third is (4, 8], the last third (8, 12]
    epochs = [2, 4, 6, 8, 10, 12]
    per_seed = np.array([[9.0, 7.0, 5.0, 4.0, 3.0, 2.0],
                         [7.0, 5.0, 3.0, 2.0, 1.0, 0.0]])
    out = nu.curve_summary(epochs, per_seed, total_epochs=12)
    assert out == {"first": 8.0, "middle_third": 3.5, "last_third": 1.5, "final": 1.0}
    # float64 numpy, a torch tensor and lists give the same; a third without a checkpoint is NaN
    assert nu.curve_summary(np.array(epochs), torch.tensor(per_seed, dtype=torch.float32), 12) == out
    few = nu.curve_summary([12], [[1.0], [3.0]], total_epochs=12)
    assert math.isnan(few["middle_third"]) and few["last_third"] == few["final"] == few["first"] == 2.0


@pytest.mark.parametrize("epochs, per_seed, total, match", [
    ([1, 2], [[1.0, 2.0, 3.0]], 2, "shape"),
    ([1, 2], [1.0, 2.0], 2, "dimension"),
    ([], np.zeros((1, 0)), 2, "shape"),
    ([1, 2], [[1.0, 2.0]], 0, "total_epochs"),
])
def test_curve_summary_refuses_mismatched_curves(epochs, per_seed, total, match):
    with pytest.raises(ValueError, match=match):
        nu.curve_summary(epochs, per_seed, total_epochs=total)


def test_plot_over_seeds_draws_each_seed_thin_and_the_mean_labelled():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    per_seed = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    mean = nu.plot_over_seeds(ax, [10, 20, 30], per_seed, color="#0072B2", label="NINE")
    np.testing.assert_array_equal(mean, [2.0, 3.0, 4.0])
    thin, bold = ax.lines[:2], ax.lines[2]
    assert len(ax.lines) == 3 and all(line.get_lw() < bold.get_lw() for line in thin)
    np.testing.assert_array_equal(bold.get_ydata(), mean)
    assert [line.get_label().startswith("_") for line in ax.lines] == [True, True, False]  # only the mean in the legend
    assert bold.get_label() == "NINE (mean; thin: each seed)" and bold.get_marker() == "o"
    with pytest.raises(ValueError, match="shape"):
        nu.plot_over_seeds(ax, [10, 20], per_seed, color="k", label="x")
    plt.close(fig)


# ------------------------------------------------------------ bad inputs: one clear error, before any work

def _mlp_pair(p=5, d=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(p, 16), nn.ReLU(), nn.Linear(16, d)), SeparableCritic(d)


@pytest.mark.parametrize("x, match", [
    (torch.full((20, 5), float("nan")), "x contains NaN or infinite values"),
    (np.where(np.arange(100).reshape(20, 5) == 37, np.inf, 1.0), r"x contains NaN or infinite values \(the first in row 7\)"),
    (torch.ones(20, 5, dtype=torch.int64), r"cannot embed x .*dtype torch.int64.*first layer Linear"),
    (torch.ones(20, 7), r"cannot embed x \(a batch of shape \(2, 7\).*takes rows of width 5"),
    (torch.ones(20), r"x must have shape \(N, \.\.\.\) with one example per row.*x\[:, None\]"),
])
def test_bad_training_inputs_fail_with_one_clear_error_before_any_step(x, match):
    # NaN trained NaN weights silently; the others failed at the first step with torch's own words
    # ("mat1 and mat2 must have the same dtype", "shapes cannot be multiplied (2x7 and 5x16)")
    enc, critic = _mlp_pair()
    before = copy.deepcopy(enc.state_dict())
    with pytest.raises(ValueError, match=match):
        train_infomax(enc, critic, x, epochs=1, batch_size=4, progress=False, device="cpu")
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())


@pytest.mark.parametrize("x, match", [
    (torch.full((3, 5), float("nan")), "x contains NaN"),
    (torch.ones(0, 5), "at least 1 input"),
    (torch.ones(4, 7), "takes rows of width 5"),
    (torch.ones(4, 5, dtype=torch.int64), "dtype torch.int64"),
])
def test_embed_refuses_bad_inputs_with_one_clear_error(x, match):
    enc, _ = _mlp_pair()
    with pytest.raises(ValueError, match=match):
        embed(enc, x, device="cpu")


def test_integer_row_indices_still_train_through_an_augment():
    # an integer tensor is not refused: an augment may turn row indices into inputs (ShapeViews)
    bank = torch.randn(30, 5, generator=torch.Generator().manual_seed(0))
    enc, critic = _mlp_pair()
    hist = train_infomax(enc, critic, torch.arange(30), lambda idx, g: bank[idx] + 0.1 * torch.randn(
        len(idx), 5, generator=g), epochs=1, batch_size=10, progress=False, device="cpu")
    assert hist.steps == 3


def test_curve_summary_reads_checkpoints_in_any_order_and_refuses_repeats():
    # "first" and "final" were the first and last columns, whatever their epochs
    epochs = [2, 4, 6, 8, 10, 12]
    per_seed = np.array([[9.0, 7.0, 5.0, 4.0, 3.0, 2.0], [7.0, 5.0, 3.0, 2.0, 1.0, 0.0]])
    shuffled = [5, 0, 3, 1, 4, 2]
    out = nu.curve_summary(np.array(epochs)[shuffled], per_seed[:, shuffled], total_epochs=12)
    assert out == nu.curve_summary(epochs, per_seed, total_epochs=12)
    with pytest.raises(ValueError, match="epochs must not repeat a checkpoint"):
        nu.curve_summary([2, 2], [[1.0, 2.0]], total_epochs=4)


# ------------------------------------------------------------------ a whole seeded pipeline, twice

def _pipeline(seed, n=256):
    """What notebook 06 does per seed, small: three encoders on digits views, then the joint statistics."""
    x = digits_split(seed=0).x_train[:n]

    def run(s):
        out = {}
        for name in ("nine", "dim", "dim_learned"):
            seed_everything(s)
            model = MLPEncoder(64, 2, hidden=32)
            if name == "nine":
                head = nu.GaussianNINEHead(2, 0.3)
                model, critic = nn.Sequential(model, head), head.critic()
            elif name == "dim":
                critic = SeparableCritic(2, kind="dot", normalize=True, temperature=0.2)
            else:
                critic = SeparableCritic(2, kind="bilinear", hidden=16, normalize=False)
            train_infomax(model, critic, x, TwoViewAugment(noise=0.2), epochs=1, batch_size=64, seed=s,
                          device="cpu", progress=False)
            z = embed(model, x).double().numpy()
            rep = nu.dm_report(z, metrics=["ks", "radial", "c2st", "calibration"], n_draws=100, seed=seed,
                               fit="standardize", n_fit=n)
            out.update({f"{m}_{name}": r.statistic for m, r in rep.items()})
            out.update({f"{m}_floor_{name}": r.floor for m, r in rep.items()})
        return out

    return nu.over_seeds(run, 2, seed=seed)


def test_a_seeded_pipeline_gives_the_same_numbers_twice():
    """The notebooks' determinism in one process (notebook 02 is also rerun whole by test_notebooks.py):
    digits, views, NINE's head and channel critic, the cosine and learned critics, over_seeds and every joint
    statistic with its floor give the same numbers for the same seed, and others for another."""
    a, b, c = _pipeline(5), _pipeline(5), _pipeline(6)
    assert a.runs == b.runs
    assert a.runs != c.runs
