"""The smoothed uniform-channel critic (nine_utils.nine.UniformChannelCritic)."""

import math

import numpy as np
import pytest
import torch

from nine_utils.nine import UniformChannelCritic, uniform_capacity
from nine_utils.objectives import infonce


def test_critic_tends_to_the_exact_box_log_ratio():
    eps = 0.1
    a = torch.tensor([[0.5], [0.5]])
    b = torch.tensor([[0.55], [0.8]])  # inside and outside the box around a = 0.5
    s = UniformChannelCritic(eps, temperature=1e-3)(a, b)
    assert s.shape == (2, 2)
    assert s[0, 0].item() == pytest.approx(-math.log(2 * eps), abs=1e-3)  # log (1/(2 eps)) / 1
    assert s[0, 1].item() < -100  # far outside the box: towards -inf


def _smoothed_box(a, b, eps, tau):
    """sum_k log sigmoid((b - a + eps)/tau) + log sigmoid((eps - b + a)/tau), in numpy, (n, m)."""
    delta = b[None, :, :] - a[:, None, :]
    log_sig = lambda t: -np.logaddexp(0.0, -t)  # noqa: E731
    return (log_sig((delta + eps) / tau) + log_sig((eps - delta) / tau)).sum(-1)


def _boundary_term(b, eps, tau):
    """-sum_k log max(l(b_k), tau), l(b) = min(1, b + eps) - max(0, b - eps), in numpy, (m,)."""
    length = np.minimum(1.0, b + eps) - np.maximum(0.0, b - eps)
    return -np.log(np.maximum(length, tau)).sum(-1)


def test_scores_are_the_formula_with_its_boundary_term():
    eps, tau = 0.2, 0.03
    rng = np.random.default_rng(0)
    a = rng.uniform(0.0, 1.0, size=(5, 2))
    # b across [-eps, 1 + eps]: near the edges l(b) < 2 eps, and once below tau (b = -0.19: l = 0.01)
    b = np.array([[-0.19, 0.5], [-0.1, 0.05], [0.0, 0.3], [0.5, 0.95], [0.9, 1.1], [1.15, 0.6]])
    critic = UniformChannelCritic(eps, temperature=tau)
    scores = critic(torch.as_tensor(a), torch.as_tensor(b)).numpy()
    expected = _smoothed_box(a, b, eps, tau) + _boundary_term(b, eps, tau)[None, :]
    assert np.allclose(scores, expected, atol=1e-10)
    # the boundary term is what marginal=True adds, and it is not a constant
    bare = UniformChannelCritic(eps, temperature=tau, marginal=False)(torch.as_tensor(a), torch.as_tensor(b)).numpy()
    assert np.allclose(bare, _smoothed_box(a, b, eps, tau), atol=1e-10)
    diff = scores - bare
    assert np.allclose(diff, _boundary_term(b, eps, tau)[None, :], atol=1e-10)
    assert np.ptp(diff[0]) > 1.0  # larger near the edges, where fewer inputs explain b


def test_infonce_with_critic_at_uniform_input_stays_below_capacity_and_is_close():
    eps, d, n = 0.25, 1, 512
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, d, generator=g)
    b = a + eps * (2 * torch.rand(n, d, generator=g) - 1)
    est = infonce(UniformChannelCritic(eps, temperature=0.01)(a, b)).item()
    cap = uniform_capacity(d, eps)
    assert est <= cap + 0.05
    assert est > cap - 0.25


def test_gradient_pulls_a_positive_pair_together():
    a = torch.tensor([[0.2]], requires_grad=True)
    b = torch.tensor([[0.6]])
    UniformChannelCritic(0.1)(a, b).sum().backward()
    assert a.grad.item() > 0  # increasing a moves it towards b


def test_family_and_noise_level():
    critic = UniformChannelCritic(0.1)
    assert critic.family == "uniform" and critic.eps == critic.noise == 0.1
    assert critic.temperature == pytest.approx(0.02)


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"eps": -1.0}, {"eps": 0.1, "temperature": 0.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        UniformChannelCritic(**kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError):
        UniformChannelCritic(0.1)(torch.zeros(3, 2), torch.zeros(3, 1))


def _plain_autograd(a, b, eps, tau):
    """The two log-sigmoids summed, differentiated by autograd: the reference for the fused form."""
    delta = b[None, :, :] - a[:, None, :]
    return (torch.nn.functional.logsigmoid((delta + eps) / tau)
            + torch.nn.functional.logsigmoid((eps - delta) / tau)).sum(-1)


@pytest.mark.parametrize("eps, tau", [(0.1, 0.02), (0.25, 0.1), (0.05, 1e-4)])
def test_fused_scores_and_gradients_equal_autograd_through_the_formula(eps, tau):
    # tau = 1e-4: most pairs are far outside the box (|u| / tau up to 1e4), where e^{|u|/tau} overflows
    g = torch.Generator().manual_seed(1)
    a0 = torch.rand(7, 3, generator=g, dtype=torch.float64)
    b0 = torch.cat([a0[:4] + 0.5 * eps * (2 * torch.rand(4, 3, generator=g, dtype=torch.float64) - 1),
                    torch.rand(5, 3, generator=g, dtype=torch.float64) * 1.2 - 0.1])  # inside and outside
    weights = torch.randn(7, 9, generator=g, dtype=torch.float64)
    grads = []
    for fn in (lambda a, b: UniformChannelCritic(eps, tau, marginal=False)(a, b), lambda a, b: _plain_autograd(a, b, eps, tau)):
        a, b = a0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
        scores = fn(a, b)
        (scores * weights).sum().backward()
        grads.append((scores.detach(), a.grad, b.grad))
    (s_fused, ga_fused, gb_fused), (s_plain, ga_plain, gb_plain) = grads
    assert torch.isfinite(s_fused).all() and torch.isfinite(ga_fused).all()
    assert torch.allclose(s_fused, s_plain, rtol=1e-9, atol=1e-9)
    assert torch.allclose(ga_fused, ga_plain, rtol=1e-9, atol=1e-9)
    assert torch.allclose(gb_fused, gb_plain, rtol=1e-9, atol=1e-9)


def test_fused_critic_gives_no_gradient_to_inputs_that_do_not_ask_for_one():
    a = torch.rand(4, 2, requires_grad=True)
    UniformChannelCritic(0.1)(a, torch.rand(5, 2)).sum().backward()  # b is a constant here
    assert a.grad is not None and a.grad.shape == (4, 2)


def test_blocks_of_rows_give_the_whole_tensor_s_scores_and_gradients(monkeypatch):
    # on a CPU the (d, n, m) tensor is computed a block of rows at a time; n = 300 rows at m = 200, d = 3 make
    # four blocks of 100 rows, and n = 301 a last block of one row
    import nine_utils._box as nine  # the kernel and its block size

    monkeypatch.setattr(nine, "_BOX_CHUNK", 200 * 3 * 100)
    assert nine._box_rows(300, 200, 3, torch.device("cpu")) == 100
    assert nine._box_rows(300, 200, 3, torch.device("meta")) == 300  # other devices: one block
    g = torch.Generator().manual_seed(2)
    for n in (300, 301):
        a0 = torch.rand(n, 3, generator=g, dtype=torch.float64)
        b0 = torch.rand(200, 3, generator=g, dtype=torch.float64) * 1.2 - 0.1
        weights = torch.randn(n, 200, generator=g, dtype=torch.float64)
        out = []
        for fn in (lambda a, b: UniformChannelCritic(0.1, 0.02, marginal=False)(a, b),
                   lambda a, b: _plain_autograd(a, b, 0.1, 0.02)):
            a, b = a0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
            scores = fn(a, b)
            (scores * weights).sum().backward()
            out.append((scores.detach(), a.grad, b.grad))
        for fused, plain in zip(*out):
            assert torch.allclose(fused, plain, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("tau", [0.02, 1e-3, 1e-5])
def test_float32_scores_and_gradients_are_finite_at_any_temperature(tau):
    # eps / tau = 100 once made e^w underflow to 0 and 0 * (1 / 0) a NaN in float32
    g = torch.Generator().manual_seed(3)
    a0 = torch.rand(40, 4, generator=g)
    b0 = torch.cat([a0[:20] + 0.05 * (2 * torch.rand(20, 4, generator=g) - 1), torch.rand(20, 4, generator=g)])
    a, b = a0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    scores = UniformChannelCritic(0.1, tau)(a, b)
    infonce(scores).backward()
    assert torch.isfinite(scores).all() and torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    ref = UniformChannelCritic(0.1, tau)(a0.double(), b0.double())
    assert torch.allclose(scores.double(), ref, rtol=1e-5, atol=1e-4 * ref.abs().max().item())
