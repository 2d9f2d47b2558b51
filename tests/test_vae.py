"""The MLP (beta-)VAE baseline: its loss terms against closed forms, shapes, and that it trains."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nine_utils.data import load_digits
from nine_utils.vae import MLPVAE, gaussian_kl, train_vae, vae_loss


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 3, generator=g), torch.randn(7, 3, generator=g)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected, atol=1e-5)
    assert torch.allclose(gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)), torch.zeros(4))


def test_vae_loss_is_reconstruction_plus_beta_kl():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 1, 4, 4, generator=g)
    logits, mu, logvar = torch.randn(5, 16, generator=g), torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    loss, rec, kl = vae_loss(logits, x, mu, logvar, beta=4.0)
    manual_rec = F.binary_cross_entropy(torch.sigmoid(logits), x.flatten(1), reduction="sum") / 5
    assert rec.item() == pytest.approx(manual_rec.item(), rel=1e-5)
    assert kl.item() == pytest.approx(gaussian_kl(mu, logvar).mean().item(), rel=1e-6)
    assert loss.item() == pytest.approx(rec.item() + 4.0 * kl.item(), rel=1e-6)
    with pytest.raises(ValueError):
        vae_loss(logits, x, mu, logvar, beta=-1.0)
    with pytest.raises(ValueError):
        vae_loss(logits[:, :8], x, mu, logvar)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 16, 16), (3, 5)])
def test_shapes_for_any_input_size(shape):
    in_dim = int(torch.tensor(shape).prod())
    vae = MLPVAE(in_dim, latent_dim=3, hidden=16)
    x = torch.rand(4, *shape)
    logits, mu, logvar = vae(x, torch.Generator().manual_seed(0))
    assert logits.shape == (4, in_dim) and mu.shape == logvar.shape == (4, 3)
    state = torch.get_rng_state()
    s1 = vae.sample(6, seed=5)
    s2 = vae.sample(6, seed=np.random.default_rng(5))
    assert torch.equal(torch.get_rng_state(), state)  # its own generator, not the global one
    assert s1.shape == (6, in_dim) and torch.equal(s1, vae.sample(6, seed=5))
    assert not torch.equal(s1, vae.sample(6, seed=6)) and s2.shape == s1.shape
    assert s1.min() >= 0 and s1.max() <= 1
    with pytest.raises(ValueError, match="generator"):
        vae(x, None)
    with pytest.raises(ValueError, match="seed"):
        vae.sample(6, seed=-1)
    with pytest.raises(ValueError):
        vae.encode(torch.rand(4, in_dim + 1))
    with pytest.raises(ValueError):
        vae.decode(torch.rand(4, 2))


def test_training_lowers_the_loss_and_is_reproducible():
    x = load_digits()[0][:256]

    def run():
        torch.manual_seed(0)
        vae = MLPVAE(64, latent_dim=4, hidden=64)
        return vae, train_vae(vae, x, epochs=15, batch_size=64, seed=0, device="cpu", progress=False)

    vae, history = run()
    _, again = run()
    assert history.loss == again.loss
    assert history.loss[-1] < 0.8 * history.loss[0]
    assert history.steps == 15 * 4 and not vae.training
    assert all(k >= 0 for k in history.kl)
    for r, k, loss in zip(history.reconstruction, history.kl, history.loss):
        assert loss == pytest.approx(r + k, rel=1e-6)
    # a numpy Generator seeds it too, and global random state is left alone
    state = torch.get_rng_state()
    h = train_vae(vae, x[:64], epochs=1, batch_size=32, seed=np.random.default_rng(0), device="cpu", progress=False)
    assert h.steps == 2 and torch.equal(torch.get_rng_state(), state)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        MLPVAE(0, 2)
    with pytest.raises(ValueError):
        MLPVAE(64, 2, layers=0)
    vae = MLPVAE(64, 2, hidden=8)
    x = torch.rand(10, 64)
    for kwargs in ({"epochs": 0}, {"lr": 0.0}, {"beta": -0.5}, {"batch_size": 0}, {"seed": -1}, {"seed": "0"},
                   {"callback": "every epoch"}):
        with pytest.raises(ValueError):
            train_vae(vae, x, progress=False, device="cpu", **kwargs)


def test_callback_sees_every_epoch_and_leaves_the_training_alone():
    # the VAE's learning-curve hook: once per epoch, without gradients, in train mode; its mode change and its
    # own random numbers leave the run exactly as without it (history and weights)
    x, held_out = load_digits()[0][:128], load_digits()[0][200:240]

    def run(callback):
        torch.manual_seed(0)
        vae = MLPVAE(64, latent_dim=3, hidden=16)
        return vae, train_vae(vae, x, epochs=3, batch_size=32, seed=0, device="cpu", progress=False, callback=callback)

    calls = []

    def look(epoch, vae):
        calls.append((epoch, vae.training, torch.is_grad_enabled()))
        vae.eval()
        torch.randn(3)  # the global generator: not the one training draws from
        vae.encode(held_out)

    vae_a, a = run(look)
    vae_b, b = run(None)
    assert calls == [(1, True, False), (2, True, False), (3, True, False)]
    assert a.loss == b.loss and a.kl == b.kl and a.steps == b.steps
    assert all(torch.equal(p, q) for p, q in zip(vae_a.state_dict().values(), vae_b.state_dict().values()))


def test_train_vae_takes_numpy_and_float64_like_train_infomax():
    # numpy and float64 input were refused (x.shape of a list, a dtype error at the first step)
    x = np.random.default_rng(0).random((40, 64))

    def run(data):
        torch.manual_seed(0)
        vae = MLPVAE(64, 2, hidden=8)
        return train_vae(vae, data, epochs=2, batch_size=20, progress=False, device="cpu").loss

    assert run(x) == run(torch.as_tensor(x, dtype=torch.float64)) == run(torch.as_tensor(x, dtype=torch.float32))
    with pytest.raises(ValueError, match="x contains NaN"):
        run(np.full((4, 64), np.nan))
