"""Sample-quality scores: the Fréchet distance and the inception-style score against ground truth."""

import numpy as np
import pytest
import scipy.linalg
import torch

from nine_utils.generative import frechet_distance, inception_score


def gaussian(seed: int, n: int, d: int = 4, shift: float = 0.0, scale: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    if scale is not None:
        z = z * scale
    return z + shift


def reference_fd(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula with scipy's general matrix square root."""
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real))


# ---------------------------------------------------------------------------------------- Fréchet distance

def test_fd_is_about_zero_for_two_samples_of_one_distribution():
    a, b = gaussian(0, 20000), gaussian(1, 20000)
    assert frechet_distance(a, b) < 0.01
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_fd_of_a_shifted_copy_is_the_squared_mean_shift():
    a = gaussian(0, 500, d=5)
    delta = np.array([0.3, -1.0, 0.0, 2.0, 0.5])
    assert frechet_distance(a, a + delta) == pytest.approx(float(delta @ delta), rel=1e-9, abs=1e-9)


def test_fd_grows_monotonically_with_a_mean_shift():
    shifts = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
    a, b = gaussian(0, 20000), gaussian(1, 20000)
    values = [frechet_distance(a, b + s) for s in shifts]
    assert all(v1 < v2 for v1, v2 in zip(values, values[1:])), values
    gap = a.mean(0) - b.mean(0)
    for s, v in zip(shifts, values):
        # only the mean term moves: exactly ||m_a - m_b - s||^2 - ||m_a - m_b||^2 above the unshifted value
        assert v - values[0] == pytest.approx(float(((gap - s) ** 2).sum() - (gap ** 2).sum()), abs=1e-8)
        # d = 4 coordinates each shifted by s: about ||delta||^2 = 4 s^2, up to sampling error
        assert v == pytest.approx(4 * s * s, abs=0.02 + 0.05 * 4 * s * s)


def test_fd_between_scaled_gaussians_matches_the_closed_form():
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([1.5, 1.0, 0.5])
    value = frechet_distance(gaussian(0, 40000, d=3, scale=s1), gaussian(1, 40000, d=3, scale=s2))
    assert value == pytest.approx(float(((s1 - s2) ** 2).sum()), abs=0.03)


def test_fd_agrees_with_scipy_on_correlated_samples_and_is_symmetric():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6))
    b = rng.standard_normal((200, 6)) @ rng.standard_normal((6, 6)) + 0.5
    assert frechet_distance(a, b) == pytest.approx(reference_fd(a, b), rel=1e-6)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_fd_accepts_tensors_and_singular_covariances():
    a = torch.randn(100, 3, generator=torch.Generator().manual_seed(0))
    a[:, 2] = 0.0  # a dead feature: singular covariance
    b = a + 1.0
    assert frechet_distance(a, b) == pytest.approx(3.0, rel=1e-6)


@pytest.mark.parametrize("a, b", [
    (np.zeros((10, 3)), np.zeros((10, 4))),   # widths differ
    (np.zeros((1, 3)), np.zeros((10, 3))),    # one sample
    (np.zeros(10), np.zeros(10)),             # not 2-D
    (np.full((10, 3), np.nan), np.zeros((10, 3))),
])
def test_fd_rejects_bad_input(a, b):
    with pytest.raises(ValueError):
        frechet_distance(a, b)


# ---------------------------------------------------------------------------------- inception-style score

def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def test_is_is_one_for_constant_predictions():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10))
    assert inception_score(np.tile(p, (50, 1))) == pytest.approx(1.0)
    assert inception_score(one_hot(np.zeros(50, dtype=int), 10)) == pytest.approx(1.0)
    assert inception_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)  # confident in nothing


@pytest.mark.parametrize("k", [2, 5, 10])
def test_is_is_k_for_confident_predictions_spread_evenly_over_k_classes(k):
    labels = np.repeat(np.arange(k), 7)
    assert inception_score(one_hot(labels, k)) == pytest.approx(k)
    # confident but using only 2 of 10 classes: the score counts the classes used
    assert inception_score(one_hot(np.repeat([3, 8], 9), 10)) == pytest.approx(2.0)


def test_is_lies_between_one_and_k_and_drops_when_predictions_blur():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, size=400)
    sharp = one_hot(labels, 10)
    values = [inception_score((1 - t) * sharp + t / 10) for t in (0.0, 0.3, 0.6, 0.9)]
    assert all(1.0 <= v <= 10.0 for v in values)
    assert all(v1 > v2 for v1, v2 in zip(values, values[1:])), values
    assert inception_score(torch.as_tensor(rng.dirichlet(np.ones(10), size=100))) < 10.0


@pytest.mark.parametrize("probs", [
    np.full((5, 3), 0.5),                     # rows do not sum to 1
    np.array([[1.5, -0.5], [0.5, 0.5]]),      # not probabilities
    np.ones(3) / 3,                           # not 2-D
    np.full((5, 2), np.nan),
])
def test_is_rejects_bad_input(probs):
    with pytest.raises(ValueError):
        inception_score(probs)
    with pytest.raises(ValueError):
        inception_score(np.full((5, 2), 0.5), log_floor=0.0)
