"""The MI objectives against closed-form ground truth."""

import math

import numpy as np
import pytest
import torch

import nine_utils as nu
from nine_utils.objectives import OBJECTIVES


def _pairs(mi, dim=4, n=2048, seed=0):
    rho = nu.rho_for_mi(mi, dim)
    g = torch.Generator().manual_seed(seed)
    x, y = nu.sample_correlated_gaussians(n, dim, rho, g)
    return x, y, rho


def test_closed_form_mi_matches_covariance_determinants():
    # I(X;Y) = 1/2 log(det Sx det Sy / det S) for jointly Gaussian (X, Y).
    for rho, d in [(0.3, 1), (0.9, 3), (-0.6, 5)]:
        cov = np.block([[np.eye(d), rho * np.eye(d)], [rho * np.eye(d), np.eye(d)]])
        expected = 0.5 * math.log(1.0 / np.linalg.det(cov))
        assert nu.gaussian_mi(rho, d) == pytest.approx(expected, rel=1e-10)


def test_closed_form_mi_matches_monte_carlo_log_ratio():
    x, y, rho = _pairs(2.0, dim=3, n=200_000)
    ratio = nu.gaussian_log_ratio(x[:2000], y[:2000], rho)
    assert torch.diagonal(ratio).mean().item() == pytest.approx(2.0, abs=0.1)


def test_rho_for_mi_inverts_gaussian_mi():
    for mi, d in [(0.5, 1), (4.0, 10), (8.0, 20)]:
        assert nu.gaussian_mi(nu.rho_for_mi(mi, d), d) == pytest.approx(mi, rel=1e-9)


@pytest.mark.parametrize("name", ["infonce", "nwj", "dv"])
@pytest.mark.parametrize("mi", [0.5, 2.0, 4.0])
def test_bounds_recover_mi_with_optimal_critic(name, mi):
    x, y, rho = _pairs(mi, n=2048)
    est = OBJECTIVES[name](nu.gaussian_log_ratio(x, y, rho)).item()
    target = min(mi, math.log(2048)) if name == "infonce" else mi
    assert est == pytest.approx(target, abs=0.12 + 0.03 * mi)


def test_infonce_saturates_at_log_batch():
    # True MI of 12 nats, batch of 64: InfoNCE is capped at log 64 whatever the critic.
    x, y, rho = _pairs(12.0, dim=10, n=64)
    exact = nu.infonce(nu.gaussian_log_ratio(x, y, rho)).item()
    assert exact <= math.log(64) + 1e-6
    assert exact > math.log(64) - 0.1
    scaled = nu.infonce(1000.0 * torch.eye(64)).item()
    assert scaled == pytest.approx(math.log(64), abs=1e-6)
    assert nu.objectives.infonce_ceiling(64) == pytest.approx(math.log(64))


def test_jsd_is_a_bounded_surrogate_that_grows_with_mi():
    values = []
    for mi in (0.5, 2.0, 6.0):
        x, y, rho = _pairs(mi, n=1024)
        values.append(nu.jsd(nu.gaussian_log_ratio(x, y, rho)).item())
    assert all(-2 * math.log(2) <= v <= 0 for v in values)
    assert values[0] < values[1] < values[2]
    assert "jsd" in nu.objectives.SURROGATES and not {"infonce", "nwj", "dv"} & nu.objectives.SURROGATES


def test_objectives_are_differentiable():
    scores = torch.randn(8, 8, requires_grad=True)
    for fn in OBJECTIVES.values():
        (g,) = torch.autograd.grad(fn(scores), scores)
        assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_argument_errors():
    with pytest.raises(ValueError, match="allowed values are: 'infonce', 'nwj', 'dv', 'jsd'"):
        nu.get_objective("mine")
    with pytest.raises(ValueError, match="square"):
        nu.infonce(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least 2"):
        nu.nwj(torch.zeros(1, 1))
    with pytest.raises(ValueError, match="rho"):
        nu.gaussian_mi(1.0)
    with pytest.raises(ValueError, match="dim"):
        nu.gaussian_mi(0.5, 0)
    with pytest.raises(ValueError, match="batch_size"):
        nu.objectives.infonce_ceiling(1)
