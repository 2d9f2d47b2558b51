"""The NINE API: heads know their critic, prior and capacity; train_infomax refuses misassembled pieces
before any step, applies the head's channel by itself and recalibrates the statistics afterwards."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from nine_utils.device import resolve_device
from nine_utils.models import ConcatCritic, SeparableCritic
from nine_utils.nine import (
    FusedGaussianChannelCritic,
    GaussianChannelCritic,
    GaussianNINEHead,
    UniformChannelCritic,
    UniformNINEHead,
    find_head,
    gaussian_capacity,
    recalibrate,
    uniform_capacity,
)
from nine_utils.priors import get_prior
from nine_utils.training import embed, train_infomax


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


def _gaussian(dim=2, sigma=0.5, p=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(p, dim), GaussianNINEHead(dim, sigma))


def _uniform(dim=2, eps=0.1, p=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(p, dim), UniformNINEHead(dim, eps))


def _x(n=64, p=3, seed=0):
    return torch.randn(n, p, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------ heads

def test_gaussian_head_builds_its_matching_critic():
    head = GaussianNINEHead(4, sigma=0.3)
    critic = head.critic()
    assert type(critic) is FusedGaussianChannelCritic and critic.sigma == head.sigma and critic.marginal
    plain = head.critic(fused=False, marginal=False)
    assert type(plain) is GaussianChannelCritic and plain.sigma == 0.3 and not plain.marginal
    assert head.family == critic.family == "gaussian"
    assert head.prior == "normal" and get_prior(head.prior).name == "normal"
    assert head.capacity() == pytest.approx(gaussian_capacity(4, 0.3))


def test_uniform_head_builds_its_matching_critic():
    head = UniformNINEHead(3, eps=0.2)
    critic = head.critic()
    assert type(critic) is UniformChannelCritic and critic.eps == head.eps
    assert critic.temperature == pytest.approx(0.2 / 5) and critic.marginal
    assert head.critic(temperature=0.01, marginal=False).temperature == 0.01
    assert head.family == critic.family == "uniform"
    assert head.prior == "uniform" and get_prior(head.prior).name == "uniform"
    assert head.capacity() == pytest.approx(uniform_capacity(3, 0.2))


def test_find_head():
    head = GaussianNINEHead(2, 0.5)
    assert find_head(head) is head
    assert find_head(nn.Sequential(nn.Linear(3, 2), head)) is head
    assert find_head(nn.Sequential(nn.Sequential(nn.Linear(3, 2), head))) is head
    assert find_head(nn.Sequential(nn.Linear(3, 2), nn.ReLU())) is None

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Linear(3, 2), UniformNINEHead(2, 0.1)

        def forward(self, x):
            return self.head(self.body(x))

    custom = Custom()
    assert find_head(custom) is custom.head
    assert find_head(nn.Sequential(nn.Identity(), custom)) is custom.head
    with pytest.raises(ValueError, match="last layer"):
        find_head(nn.Sequential(GaussianNINEHead(2, 0.5), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="2 NINE heads"):
        find_head(nn.Sequential(GaussianNINEHead(2, 0.5), GaussianNINEHead(2, 0.5)))


# ------------------------------------------------------------------------------ misassembly

def _other_channel():
    return GaussianNINEHead(2, 0.5).channel  # same sigma, but not the encoder's head


MISASSEMBLIES = {
    "critic sigma differs": (_gaussian, lambda: GaussianChannelCritic(1.0), {}, r"sigma=1\.0 differs .* sigma=0\.5"),
    "fused critic sigma differs": (_gaussian, lambda: FusedGaussianChannelCritic(0.3), {}, r"sigma=0\.3 differs"),
    "uniform eps differs": (_uniform, lambda: UniformChannelCritic(0.2), {}, r"eps=0\.2 differs .* eps=0\.1"),
    "gaussian critic, uniform head": (_uniform, lambda: GaussianChannelCritic(0.1), {}, "gaussian channel"),
    "uniform critic, gaussian head": (_gaussian, lambda: UniformChannelCritic(0.5), {}, "uniform channel"),
    "channel critic, no head": (lambda: nn.Linear(3, 2), lambda: GaussianChannelCritic(0.5), {}, "no NINE head"),
    "head without its channel": (_gaussian, lambda: GaussianChannelCritic(0.5), {"channel": None},
                                 "a NINE head needs its channel"),
    "another head's channel": (_gaussian, lambda: GaussianChannelCritic(0.5), {"channel": _other_channel()},
                               "channel must be the channel of the encoder's own NINE head"),
    "a custom channel with a head": (_gaussian, lambda: SeparableCritic(2), {"channel": lambda z, g: z},
                                     "channel must be the channel"),
    "separable critic too wide": (lambda: nn.Linear(3, 4), lambda: SeparableCritic(5), {}, "width 5"),
    "concat critic too narrow": (lambda: nn.Linear(3, 4), lambda: ConcatCritic(3, hidden=8), {}, "width 3"),
    "head not last": (lambda: nn.Sequential(nn.Linear(3, 2), GaussianNINEHead(2, 0.5), nn.Linear(2, 2)),
                      lambda: SeparableCritic(2), {}, "last layer"),
    "bad seed": (_gaussian, lambda: GaussianChannelCritic(0.5), {"seed": "abc"},
                 "seed must be a non-negative int or a numpy.random.Generator, got 'abc'"),
}


@pytest.mark.parametrize("case", sorted(MISASSEMBLIES))
def test_misassembly_is_refused_before_the_first_step(case):
    make_encoder, make_critic, kwargs, match = MISASSEMBLIES[case]
    encoder, critic = make_encoder(), make_critic()
    before = copy.deepcopy(encoder.state_dict())  # weights and batch-norm statistics
    critic_before = copy.deepcopy(critic.state_dict())
    with pytest.raises(ValueError, match=match):
        train_infomax(encoder, critic, _x(), epochs=1, batch_size=32, device="cpu", progress=False, **kwargs)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    assert all(torch.equal(critic_before[k], v) for k, v in critic.state_dict().items())


def test_recalibration_needs_inputs_the_encoder_takes():
    # x holds row indices that augment turns into inputs: recalibrate=True cannot feed x to the encoder
    bank = _x(40)
    encoder = _gaussian()
    before = copy.deepcopy(encoder.state_dict())

    def lookup(index, generator):
        return bank[index]

    with pytest.raises(ValueError, match="recalibrate=False"):
        train_infomax(encoder, encoder[-1].critic(), torch.arange(40), lookup, epochs=1, batch_size=20,
                      device="cpu", progress=False)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    hist = train_infomax(encoder, encoder[-1].critic(), torch.arange(40), lookup, epochs=1, batch_size=20,
                         recalibrate=False, device="cpu", progress=False)
    assert hist.steps == 2 and not hist.recalibrated


# ------------------------------------------------------------------------------ what is allowed

def test_learned_critic_with_a_head_is_the_papers_setting():
    encoder = _gaussian()
    hist = train_infomax(encoder, SeparableCritic(2, kind="bilinear"), _x(), epochs=1, batch_size=32,
                         device="cpu", progress=False)
    assert hist.steps == 2 and hist.recalibrated


def test_the_heads_own_channel_is_accepted_and_equals_auto():
    runs = []
    for channel in ("auto", "own"):
        encoder = _gaussian()
        head = encoder[-1]
        runs.append(train_infomax(encoder, head.critic(), _x(), epochs=2, batch_size=32, device="cpu",
                                  progress=False, channel=head.channel if channel == "own" else "auto"))
    assert runs[0].loss == runs[1].loss


def test_a_channel_critic_on_custom_noise_without_a_head_is_allowed():
    # the course's no-normalization ablation: a Gaussian critic on noise added by hand
    calls = []

    def noise(z, generator):
        calls.append(z.shape)
        return z + 0.5 * torch.randn(z.shape, generator=generator)

    torch.manual_seed(0)
    hist = train_infomax(nn.Linear(3, 2), GaussianChannelCritic(0.5), _x(), epochs=1, batch_size=32,
                         channel=noise, device="cpu", progress=False)
    assert len(calls) == 2 and not hist.recalibrated


@pytest.mark.parametrize("make", [_gaussian, _uniform])
def test_auto_channel_keeps_the_mi_below_the_capacity(make):
    # without the noise the same critic scores clean pairs and its InfoNCE passes the capacity
    encoder = make(dim=1)
    head = encoder[-1]
    x = _x(512)
    hist = train_infomax(encoder, head.critic(), x, epochs=3, batch_size=256, lr=1e-2, device="cpu",
                         progress=False)
    assert max(hist.mi) <= head.capacity() + 0.05
    assert hist.mi[-1] > 0.5 * head.capacity()


def test_training_recalibrates_the_head_on_the_clean_data():
    x = 3.0 + 2.0 * _x(1024)
    encoder = _gaussian()
    hist = train_infomax(encoder, encoder[-1].critic(), x, epochs=1, batch_size=64, device="cpu", progress=False)
    assert hist.recalibrated
    z = embed(encoder, x)
    assert torch.allclose(z.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(z.std(0), torch.ones(2), atol=1e-3)
    # opting out keeps the running statistics of training: one update per branch per step
    encoder = _gaussian()
    hist = train_infomax(encoder, encoder[-1].critic(), x, epochs=1, batch_size=64, recalibrate=False,
                         device="cpu", progress=False)
    assert not hist.recalibrated
    assert encoder[-1].norm.num_batches_tracked.item() == 2 * hist.steps


# ------------------------------------------------------------------------------ recalibrate

def _reference_statistics(backbone, x, k):
    """The hand-written computation: cumulative average of the batch means and unbiased batch
    variances of the head's input over k near-equal batches, the backbone in eval mode."""
    modes = [(m, m.training) for m in backbone.modules()]
    backbone.eval()
    means, variances = [], []
    with torch.no_grad():
        for xb in torch.tensor_split(x, k):
            h = backbone(xb)
            means.append(h.mean(0))
            variances.append(h.var(0, unbiased=True))
    for m, mode in modes:
        m.training = mode
    return torch.stack(means).mean(0), torch.stack(variances).mean(0)


def _backbone_with_batch_norm_and_dropout():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2),
                          GaussianNINEHead(2, 0.3))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 2.0)
        model[1].bias.uniform_(-1.0, 1.0)
    model.train()
    model(torch.randn(64, 3) * 10)  # leave poor running statistics behind
    return model


def test_recalibrate_matches_the_hand_written_reference():
    model = _backbone_with_batch_norm_and_dropout()
    x = (1.0 + 2.0 * _x(1000)).numpy().astype(np.float64)  # numpy is accepted
    model[5].eval()  # a mixed mode, to be kept
    weights = {k: v.clone() for k, v in model.named_parameters()}
    assert recalibrate(model, x, batch_size=256) == 1
    xt = torch.as_tensor(x, dtype=torch.float32)
    m, v = _reference_statistics(model[:5], xt, k=1000 // 256)
    assert torch.allclose(model[5].norm.running_mean, m, atol=1e-5)
    assert torch.allclose(model[5].norm.running_var, v, rtol=1e-5)
    assert model[5].norm.num_batches_tracked.item() == 3
    assert model[5].norm.momentum == 0.1
    assert model.training and model[1].training and model[3].training and not model[5].training
    assert all(torch.equal(v, weights[k]) for k, v in model.named_parameters())


def test_recalibrate_leaves_the_backbone_in_eval_mode_and_its_batch_norm_and_the_global_rng_alone():
    # the whole encoder used to run in train mode: dropout on while the head's statistics were
    # estimated (eval-mode std about 0.7 instead of 1), the backbone's batch norm re-estimated,
    # and torch's global generator advanced by the dropout masks
    model = _backbone_with_batch_norm_and_dropout()
    backbone_stats = (model[1].running_mean.clone(), model[1].running_var.clone(),
                      model[1].num_batches_tracked.clone())
    x = 1.0 + 2.0 * _x(2000)
    state = torch.random.get_rng_state()
    recalibrate(model, x)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(backbone_stats, (model[1].running_mean, model[1].running_var,
                                                                   model[1].num_batches_tracked)))
    z = embed(model, x, device="cpu")
    assert torch.allclose(z.mean(0), torch.zeros(2), atol=1e-4)
    assert torch.allclose(z.std(0), torch.ones(2), atol=1e-3)


def test_recalibrate_gives_train_infomax_encoders_without_dropout_the_statistics_of_before():
    # the course's encoders hold no dropout and no batch norm but the head's: for them the head's
    # statistics are what the old whole-encoder train-mode pass (update_bn) gave, bit for bit
    from torch.optim.swa_utils import update_bn
    from nine_utils.models import ConvEncoder
    torch.manual_seed(0)
    model = nn.Sequential(ConvEncoder(4), GaussianNINEHead(4, 0.3))
    x = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    old = copy.deepcopy(model)
    update_bn(torch.tensor_split(x, 1), old)
    assert recalibrate(model, x) == 1
    assert torch.equal(model[1].norm.running_mean, old[1].norm.running_mean)
    assert torch.equal(model[1].norm.running_var, old[1].norm.running_var)


def test_recalibrate_without_batch_norm_runs_nothing():
    model = nn.Linear(3, 3)
    before = [p.clone() for p in model.parameters()]
    assert recalibrate(model, torch.randn(10, 5)) == 0  # would fail if it ran the model: wrong width
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_recalibrate_checks_its_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        recalibrate(_gaussian(), _x(), batch_size=1)
    with pytest.raises(ValueError, match="at least 2"):
        recalibrate(_gaussian(), _x(1))


# ------------------------------------------------------------------------------ devices

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_an_unavailable_device_is_refused():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        train_infomax(_gaussian(), GaussianChannelCritic(0.5), _x(), device="cuda:0", progress=False)


def test_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda', 'mps'"):
        resolve_device("gpu")
