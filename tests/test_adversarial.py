"""Adversarial prior matching (the DIM baseline) and train_infomax's regularizer hook."""

import math

import numpy as np
import pytest
import torch

from nine_utils.adversarial import AdversarialPriorMatching
from nine_utils.data import TwoViewAugment, digits_split
from nine_utils.dm import ks_score
from nine_utils.models import MLPEncoder, SeparableCritic
from nine_utils.training import train_infomax

DIM = 4


@pytest.fixture(scope="module")
def x_small() -> torch.Tensor:
    return digits_split(seed=0).x_train[:256]


def run(x: torch.Tensor, gamma: float | None, seed: int = 0):
    torch.manual_seed(seed)
    enc = MLPEncoder(64, DIM, hidden=32)
    critic = SeparableCritic(DIM)
    reg = None if gamma is None else AdversarialPriorMatching(DIM, "normal", gamma=gamma, hidden=16)
    hist = train_infomax(enc, critic, x, TwoViewAugment(), epochs=2, batch_size=64, regularizer=reg,
                         seed=seed, progress=False, device="cpu")
    return hist, reg


def test_train_infomax_with_the_regularizer(x_small):
    hist, reg = run(x_small, gamma=1.0)
    assert len(hist.loss) == len(hist.mi) == 2 and hist.steps == 8
    assert all(math.isfinite(v) for v in hist.loss + hist.mi)
    assert len(reg.disc_loss) == len(reg.gen_loss) == hist.steps
    assert all(math.isfinite(v) for v in reg.disc_loss + reg.gen_loss)
    # the history's loss is -objective + regularizer, epoch by epoch
    for epoch in range(2):
        gen = np.mean(reg.gen_loss[4 * epoch:4 * (epoch + 1)])
        assert hist.loss[epoch] + hist.mi[epoch] == pytest.approx(gen, rel=1e-5)


def test_without_regularizer_loss_is_minus_objective(x_small):
    hist, _ = run(x_small, gamma=None)
    assert hist.loss == pytest.approx([-m for m in hist.mi], rel=1e-6)


def test_same_seed_same_history(x_small):
    (h1, r1), (h2, r2) = run(x_small, 1.0), run(x_small, 1.0)
    assert h1.loss == h2.loss and h1.mi == h2.mi
    assert r1.disc_loss == r2.disc_loss
    h3, _ = run(x_small, 1.0, seed=1)
    assert h3.loss != h1.loss


def test_generator_loss_is_differentiable_in_z_only():
    torch.manual_seed(0)
    reg = AdversarialPriorMatching(DIM, gamma=2.0, hidden=16)
    z = torch.randn(32, DIM, requires_grad=True)
    loss = reg(z, torch.Generator().manual_seed(0))
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(2.0 * reg.gen_loss[-1], rel=1e-6)
    d_grads = [p.grad.clone() for p in reg.discriminator.parameters()]  # from the discriminator's own step
    loss.backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    for p, g in zip(reg.discriminator.parameters(), d_grads):
        assert torch.equal(p.grad, g)  # the encoder's backward left the discriminator alone


def test_gamma_zero_still_trains_the_discriminator():
    torch.manual_seed(0)
    reg = AdversarialPriorMatching(DIM, gamma=0.0, hidden=16)
    before = [p.detach().clone() for p in reg.discriminator.parameters()]
    loss = reg(torch.randn(16, DIM), torch.Generator().manual_seed(0))
    assert loss.item() == 0.0
    assert any(not torch.equal(p, b) for p, b in zip(reg.discriminator.parameters(), before))


def test_discriminator_learns_to_separate_a_shifted_sample():
    torch.manual_seed(0)
    reg = AdversarialPriorMatching(2, "normal", gamma=1.0, hidden=16, lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(100):
        reg(torch.randn(64, 2, generator=g) + 3.0, g)
    assert np.mean(reg.disc_loss[:5]) > 1.0
    assert np.mean(reg.disc_loss[-10:]) < 0.2  # chance level is 2 log 2 = 1.39
    assert np.mean(reg.gen_loss[-10:]) > 2.0  # so the encoder is told it is off the prior


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_prior_samples_come_from_the_prior(prior):
    reg = AdversarialPriorMatching(3, prior)
    state = torch.get_rng_state()
    y = reg.sample_prior(2000, seed=0)
    assert torch.equal(torch.get_rng_state(), state)  # drawn from its own generator, not the global one
    assert y.shape == (2000, 3) and y.dtype == torch.float64
    assert ks_score(y, prior).ratio <= 1.0
    assert torch.equal(y, reg.sample_prior(2000, seed=0))
    assert torch.equal(reg.sample_prior(50, seed=np.random.default_rng(1)),
                       reg.sample_prior(50, seed=np.random.default_rng(1)))
    assert not torch.equal(y, reg.sample_prior(2000, seed=1))
    with pytest.raises(ValueError, match="seed"):
        reg.sample_prior(10, seed=-1)


def test_float64_embeddings():
    reg = AdversarialPriorMatching(DIM, hidden=8)
    loss = reg(torch.randn(8, DIM, dtype=torch.float64), torch.Generator().manual_seed(0))
    assert loss.dtype == torch.float64


def test_bad_arguments():
    cases = [({"gamma": -1.0}, "gamma"), ({"gamma": math.inf}, "gamma"), ({"gamma": math.nan}, "gamma"),
             ({"lr": 0.0}, "lr"), ({"hidden": 0}, "hidden"), ({"prior": "laplace"}, "'normal'")]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            AdversarialPriorMatching(DIM, **kwargs)
    with pytest.raises(ValueError, match="dim"):
        AdversarialPriorMatching(0)
    with pytest.raises(ValueError, match="shape"):
        AdversarialPriorMatching(DIM)(torch.zeros(8, DIM + 1), torch.Generator())
    with pytest.raises(ValueError, match="generator"):
        AdversarialPriorMatching(DIM)(torch.zeros(8, DIM), None)


def test_a_prior_without_quantiles_is_refused_at_construction():
    # banana_prior() was accepted and failed at the first training step, inside train_infomax
    from nine_utils.priors import banana_prior, gaussian_mixture_prior
    for prior, dim in ((banana_prior(), 2), (gaussian_mixture_prior([[0.0, 1.0], [1.0, 0.0]]), 2)):
        with pytest.raises(ValueError, match=r"cannot be used: AdversarialPriorMatching draws prior samples through "
                                             r"the prior's quantile function"):
            AdversarialPriorMatching(dim, prior)
    AdversarialPriorMatching(2, torch.distributions.Laplace(0.0, 1.0))  # a quantile function: accepted
