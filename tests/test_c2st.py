"""The classifier two-sample test: its floor, what it sees that KS and the Gaussian W2 miss, its inputs."""

import numpy as np
import pytest
import torch

from nine_utils import dm
from nine_utils.dm import DMScore, c2st_score, dm_report, noise_floor
from nine_utils.priors import banana_prior

N = 300  # one sample size (and d = 2) for the tests below, so that they share cached floors


def _quadrants(seed: int) -> np.ndarray:
    """Marginals exactly N(0, 1), but z2 has the sign of z1: quadrants 2 and 4 are empty."""
    rng = np.random.default_rng(seed)
    z1, w = rng.standard_normal(N), rng.standard_normal(N)
    return np.column_stack([z1, np.abs(w) * np.sign(z1)])


def _uncorrelated(seed: int) -> np.ndarray:
    """Marginals exactly N(0, 1) and correlation exactly 0, yet half the plane is empty.

    ``z2 = |w| s`` with the sign ``s = sign(z1) sign(|z1| - c)``, ``c = sqrt(2 log 2)``: ``s`` is
    a fair coin independent of ``w``, so ``z2 ~ N(0, 1)``; and ``c`` splits ``E|z1|`` in half, so
    ``E[z1 z2] = E|w| E[|z1| sign(|z1| - c)] = 0``.
    """
    rng = np.random.default_rng(seed)
    z1, w = rng.standard_normal(N), rng.standard_normal(N)
    s = np.sign(z1) * np.sign(np.abs(z1) - np.sqrt(2 * np.log(2)))
    return np.column_stack([z1, np.abs(w) * s])


def test_true_prior_samples_score_about_one_half_within_the_floor():
    floor = noise_floor("c2st", N, 2, n_draws=100)
    assert 0.5 < floor < 0.6
    scores = [c2st_score(np.random.default_rng(100 + s).standard_normal((N, 2))) for s in range(8)]
    acc = np.array([sc.statistic for sc in scores])
    assert np.all(np.abs(acc - 0.5) < 0.08), acc
    assert abs(acc.mean() - 0.5) < 0.03, acc
    assert sum(sc.ratio <= 1.0 for sc in scores) >= 7


def test_true_uniform_samples_are_within_the_floor():
    u = c2st_score(np.random.default_rng(0).random((N, 2)), "uniform")
    assert abs(u.statistic - 0.5) < 0.08 and u.ratio <= 1.0


@pytest.mark.parametrize("make, min_accuracy", [(_quadrants, 0.68), (_uncorrelated, 0.6)])
def test_c2st_sees_a_joint_that_per_coordinate_ks_cannot(make, min_accuracy):
    for seed in range(3):
        z = make(seed)
        rep = dm_report(z, metrics=("ks", "w2", "swd", "c2st"), n_draws=100)
        assert rep["ks"].ratio <= 1.1, rep["ks"]  # the marginals are exactly right: KS within its noise
        # a k-NN classifier finds the empty half of the plane (accuracy about 3/4 with n -> infinity)
        assert rep["c2st"].statistic > min_accuracy and rep["c2st"].ratio > 1.1, rep["c2st"]
        if make is _uncorrelated:
            # mean 0 and covariance I: the Gaussian W2 sees nothing, and random slices hardly more
            assert rep["w2"].ratio <= 1.1 and rep["swd"].ratio <= 1.1, (rep["w2"], rep["swd"])
        else:
            assert rep["w2"].ratio > 2.0, rep["w2"]  # correlation 2 / pi


def test_c2st_with_a_sampled_prior_and_a_shift():
    banana = banana_prior(curvature=1.5)
    ok = c2st_score(banana.sample(N, 2, 7), banana)
    gauss = c2st_score(np.random.default_rng(7).standard_normal((N, 2)), banana)
    assert ok.ratio <= 1.0 and gauss.ratio > 1.15
    shifted = c2st_score(np.random.default_rng(3).standard_normal((N, 2)) + np.array([1.0, 0.0]))
    assert shifted.statistic > 0.65


def test_c2st_score_fields_seeding_and_cache():
    z = _quadrants(0)
    a = c2st_score(z)
    assert isinstance(a, DMScore) and a.name == "c2st"
    assert a.ratio == pytest.approx(a.statistic / a.floor)
    assert a.statistic * 2 * N == pytest.approx(round(a.statistic * 2 * N))  # an accuracy over 2n predictions
    assert c2st_score(z) == a
    assert c2st_score(torch.as_tensor(z, dtype=torch.float32)) == c2st_score(z.astype(np.float32))
    before = dm._cached_floor.cache_info()
    noise_floor("c2st", N, 2, n_draws=100)
    assert dm._cached_floor.cache_info().hits == before.hits + 1


def test_c2st_bad_inputs():
    with pytest.raises(ValueError, match="n_draws"):
        c2st_score(_quadrants(0), n_draws=10)
    with pytest.raises(ValueError, match="shape"):
        c2st_score(np.zeros(10))
    with pytest.raises(ValueError, match="seed"):
        c2st_score(_quadrants(0), seed=-3)
    with pytest.raises(ValueError, match="'normal', 'uniform'"):
        c2st_score(_quadrants(0), prior="cauchy")
