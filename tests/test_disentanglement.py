"""MIG and DCI: discretization, the ground-truth and random-rotation anchors, invariances, input checks."""

import numpy as np
import pytest
import torch

from nine_utils.disentanglement import (
    MODELS,
    DCIResult,
    MIGResult,
    _dci_from_importance,
    dci,
    discretize,
    mig,
    random_rotation,
    rank_transform,
)

N, K, N_TRAIN = 3000, 4, 2000


@pytest.fixture(scope="module")
def factors() -> np.ndarray:
    """K = 4 independent uniform factors, n = 3000."""
    return np.random.default_rng(0).uniform(size=(N, K))


def split(z, v):
    return z[:N_TRAIN], v[:N_TRAIN], z[N_TRAIN:], v[N_TRAIN:]


# --- discretize ---------------------------------------------------------------------------------


def test_discretize_equal_width_bins_categories_and_constant():
    x = np.column_stack([
        np.linspace(0.0, 1.0, 1000),  # 10 equal-width bins of a uniform grid: 100 each
        np.tile([5.0, -1.0, 2.5], 334)[:1000],  # 3 distinct values: kept as 3 categories
        np.full(1000, 7.0),  # constant
    ])
    codes = discretize(x, bins=10)
    assert codes.shape == x.shape and codes.dtype == np.int64
    assert codes.min() >= 0 and codes.max() <= 9
    np.testing.assert_array_equal(np.bincount(codes[:, 0], minlength=10), np.full(10, 100))
    assert codes[0, 0] == 0 and codes[-1, 0] == 9  # min in the first bin, max in the last
    assert np.all(np.diff(codes[:, 0]) >= 0)  # monotone in x
    np.testing.assert_array_equal(codes[:3, 1], [2, 0, 1])  # sorted distinct values -1 < 2.5 < 5
    assert set(np.unique(codes[:, 1])) == {0, 1, 2}
    np.testing.assert_array_equal(codes[:, 2], 0)
    np.testing.assert_array_equal(discretize(torch.as_tensor(x), bins=10), codes)


def test_discretize_continuous_column_uses_all_bins(factors):
    codes = discretize(factors, bins=20)
    for c in range(K):
        assert set(np.unique(codes[:, c])) == set(range(20))
        # equal width on [min, max]: the code is floor(20 (x - min) / (max - min)), the max in bin 19
        x = factors[:, c]
        expected = np.minimum(np.floor(20 * (x - x.min()) / (x.max() - x.min())), 19)
        assert np.mean(codes[:, c] == expected) > 0.999  # up to float rounding at an edge


# --- MIG ----------------------------------------------------------------------------------------


def test_mig_ground_truth_high_and_random_rotation_low(factors):
    rng = np.random.default_rng(0)
    v = rng.uniform(size=(N, K))  # the same draws as the fixture; rng continues for the rotation
    np.testing.assert_array_equal(v, factors)
    truth = mig(v, v)
    assert isinstance(truth, MIGResult)
    assert truth.per_factor.shape == (K,) and truth.mutual_info.shape == (K, K) and truth.entropy.shape == (K,)
    assert truth.score >= 0.9
    np.testing.assert_allclose(truth.entropy, np.log(20), atol=0.01)  # 20 near-uniform bins
    np.testing.assert_allclose(np.diag(truth.mutual_info), truth.entropy)  # I(v; v) = H(v)
    rotated = mig(v @ random_rotation(K, rng), v)
    assert rotated.score < 0.3
    # more codes than factors: mutual_info is (D, K)
    wide = mig(np.column_stack([v, rng.uniform(size=N)]), v)
    assert wide.mutual_info.shape == (K + 1, K) and wide.per_factor.shape == (K,)
    # tensors give the same numbers
    assert mig(torch.as_tensor(v), torch.as_tensor(v)).score == truth.score


def test_mig_invariant_to_permuting_codes(factors):
    z = factors @ random_rotation(K, 3) + 0.3 * factors  # something with non-trivial gaps
    perm = np.array([2, 0, 3, 1])
    a, b = mig(z, factors), mig(z[:, perm], factors)
    assert abs(a.score - b.score) <= 1e-12
    np.testing.assert_allclose(b.per_factor, a.per_factor, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(b.mutual_info, a.mutual_info[perm])


def test_mig_under_monotone_transforms_of_codes(factors):
    truth = mig(factors, factors).score
    # affine maps (either sign) keep equal-width bins (reversed for a negative scale)
    for z in (3.0 * factors - 5.0, -2.0 * factors + 1.0):
        assert mig(z, factors).score >= 0.9
        assert abs(mig(z, factors).score - truth) < 1e-3
    # a nonlinear monotone map moves the bin edges against the factors' bins, and a 20-bin factor is
    # split between neighbouring code bins: MIG drops to about 0.79 (also for milder maps such as
    # exp(v / 2): 0.82), still far above the rotation anchor (< 0.3)
    bent = mig(np.exp(factors), factors).score
    assert 0.75 <= bent < truth
    # codes with at most `bins` distinct values are categories: any strictly monotone map is exact
    ints = np.random.default_rng(1).integers(0, 10, size=(N, K)).astype(float)
    z = np.column_stack([np.exp(ints[:, 0]), -3.0 * ints[:, 1] + 2.0, ints[:, 2] ** 3, np.log1p(ints[:, 3])])
    a, b = mig(ints, ints), mig(z, ints)
    assert a.score >= 0.99
    assert abs(a.score - b.score) <= 1e-12


def test_rank_transform_is_the_empirical_cdf():
    z = np.array([[3.0, -1.0], [1.0, 5.0], [2.0, 5.0], [10.0, 0.0]])
    u = rank_transform(z)
    assert u.shape == (4, 2) and u.dtype == np.float64
    np.testing.assert_allclose(u[:, 0], (np.array([3, 1, 2, 4]) - 0.5) / 4)
    np.testing.assert_allclose(u[:, 1], (np.array([1, 3.5, 3.5, 2]) - 0.5) / 4)  # a tie shares rank 3.5
    g = np.random.default_rng(2).standard_normal((1000, 3))
    ug = rank_transform(torch.as_tensor(g))
    assert ug.min() > 0 and ug.max() < 1
    np.testing.assert_allclose(np.sort(ug, axis=0), np.tile((np.arange(1, 1001)[:, None] - 0.5) / 1000, (1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        rank_transform(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="shape"):
        rank_transform(np.arange(5.0))


def test_mig_of_ranks_is_invariant_to_every_monotone_map(factors):
    from scipy.stats import norm

    rng = np.random.default_rng(4)
    z = factors @ random_rotation(K, rng) * 0.3 + factors  # partly mixed codes
    ref = mig(rank_transform(z), factors)
    # increasing maps give the same ranks: identical; a decreasing one mirrors the bins: the same up to rounding
    bent = np.column_stack([np.exp(3 * z[:, 0]), z[:, 1] ** 3, np.arctan(5 * z[:, 2]), -z[:, 3]])
    same = mig(rank_transform(bent), factors)
    np.testing.assert_allclose(same.mutual_info, ref.mutual_info, atol=1e-12)
    assert same.score == pytest.approx(ref.score, abs=1e-12)
    # a Gaussian code and its uniform image Phi(z): the same ranks, while raw MIG's equal-width bins differ
    g = norm.ppf(np.clip(factors, 1e-6, 1 - 1e-6))
    assert mig(rank_transform(g), factors).score == pytest.approx(mig(rank_transform(norm.cdf(g)), factors).score, abs=1e-12)
    assert abs(mig(g, factors).score - mig(norm.cdf(g), factors).score) > 0.05


def test_mig_duplicated_code_has_no_gap(factors):
    v = factors
    dup = mig(v[:, [0, 0, 1, 2]], v)
    assert dup.per_factor[0] < 0.05  # two codes hold v0 equally
    assert dup.per_factor[3] < 0.05  # no code holds v3
    assert dup.per_factor[1] >= 0.9 and dup.per_factor[2] >= 0.9
    assert dup.score < mig(v, v).score - 0.4


def test_mig_by_hand_divides_by_the_factors_entropy():
    # one factor v with two values, H(v) = log 2. Code 0 has four values and determines v
    # (I = log 2, but H(z_0) = log 4). Code 1 has two values: z_1 = 0 -> v = 0 (3 times),
    # z_1 = 1 -> v = 0 once and v = 1 four times, so I(z_1; v) = log 2 - 5/8 H_b(1/5).
    v = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=float)[:, None]
    z = np.column_stack([[0, 0, 1, 1, 2, 2, 3, 3], [0, 0, 0, 1, 1, 1, 1, 1]]).astype(float)
    h_b = -(0.2 * np.log(0.2) + 0.8 * np.log(0.8))
    res = mig(z, v)
    np.testing.assert_allclose(res.entropy, [np.log(2)], rtol=1e-12)
    np.testing.assert_allclose(res.mutual_info[:, 0], [np.log(2), np.log(2) - 5 / 8 * h_b], rtol=1e-12)
    # gap / H(v) = (5/8) H_b(1/5) / log 2 = 0.451; dividing by H(z_0) = log 4 would give half of it
    assert res.score == pytest.approx(5 / 8 * h_b / np.log(2), rel=1e-12)
    assert res.per_factor[0] == pytest.approx(0.4512, abs=1e-4)


# --- DCI ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_dci_informativeness_of_pure_noise_codes_is_about_zero(model):
    # codes independent of the factors: held-out R^2 is about 0 (an overfit forest goes below 0);
    # scored on its own training set the forest would reach about 0.8 and boosting about 0.15
    rng = np.random.default_rng(0)
    v, z = rng.uniform(size=(1000, 2)), rng.standard_normal((1000, 3))
    res = dci(z[:600], v[:600], z[600:], v[600:], model=model, n_estimators=20)
    assert -0.35 < res.informativeness < 0.05, res.per_factor_informativeness
    truth = dci(v[:600], v[:600], v[600:], v[600:], model=model, n_estimators=20)
    assert truth.informativeness > 0.9


def test_dci_from_importance_by_hand():
    d, c, per_code, per_factor = _dci_from_importance(np.eye(3))
    assert (d, c) == pytest.approx((1.0, 1.0))
    np.testing.assert_allclose(per_code, 1.0)
    np.testing.assert_allclose(per_factor, 1.0)
    d, c, per_code, per_factor = _dci_from_importance(np.full((3, 4), 0.25))
    assert (d, c) == pytest.approx((0.0, 0.0), abs=1e-12)
    # R = [[1, .5], [0, .5]]: row 0 -> P = (2/3, 1/3), row 1 -> (0, 1); rho = (3/4, 1/4)
    # columns: (1, 0) -> entropy 0; (1/2, 1/2) -> entropy 1 (log base 2)
    h = -(2 / 3 * np.log2(2 / 3) + 1 / 3 * np.log2(1 / 3))
    d, c, per_code, per_factor = _dci_from_importance(np.array([[1.0, 0.5], [0.0, 0.5]]))
    np.testing.assert_allclose(per_code, [1 - h, 1.0])
    np.testing.assert_allclose(per_factor, [1.0, 0.0], atol=1e-12)
    assert d == pytest.approx(0.75 * (1 - h) + 0.25 * 1.0)
    assert c == pytest.approx(0.5)
    # a code without importance: rho = 0, per-code 0; K = 1: disentanglement 1 by definition
    d, c, per_code, _ = _dci_from_importance(np.array([[0.4, 0.0], [0.0, 0.0], [0.0, 0.6]]))
    np.testing.assert_allclose(per_code, [1.0, 0.0, 1.0])
    assert d == pytest.approx(1.0) and c == pytest.approx(1.0)  # each factor held by one code
    d, c, per_code, per_factor = _dci_from_importance(np.array([[0.3], [0.7]]))
    assert d == pytest.approx(1.0)
    assert c == pytest.approx(1 + 0.3 * np.log2(0.3) + 0.7 * np.log2(0.7))


@pytest.mark.parametrize("model", MODELS)
def test_dci_ground_truth_high_and_random_rotations_low(factors, model):
    truth = dci(*split(factors, factors), model=model, n_estimators=20)
    assert isinstance(truth, DCIResult)
    assert truth.importance.shape == (K, K)
    assert np.all(truth.importance >= 0)
    np.testing.assert_allclose(truth.importance.sum(axis=0), 1.0)
    assert truth.disentanglement >= 0.9 and truth.completeness >= 0.9 and truth.informativeness >= 0.9
    assert truth.per_code_disentanglement.shape == (K,)
    assert truth.per_factor_completeness.shape == (K,) and truth.per_factor_informativeness.shape == (K,)
    # five random rotations keep the information but mix it. A single rotation can stay close to
    # the axes (over 30 rotations: forest 0.21-0.65, gbt 0.26-0.71), so the anchor is their mean.
    rng = np.random.default_rng(1)
    scores = []
    for _ in range(5):
        z = factors @ random_rotation(K, rng)
        res = dci(*split(z, factors), model=model, n_estimators=20)
        assert res.informativeness >= 0.85
        assert res.disentanglement < truth.disentanglement - 0.25
        scores.append(res.disentanglement)
    # forest: mean 0.46; gbt: mean 0.51 (its boosted trees concentrate importance a bit more)
    assert np.mean(scores) < (0.5 if model == "forest" else 0.6)


def test_dci_discrete_factor_uses_classification(factors):
    v = factors.copy()
    v[:, 0] = np.random.default_rng(2).integers(0, 4, size=N)  # classes 0..3
    args = split(v, v)  # z encodes every factor perfectly
    cls = dci(*args, model="gbt", n_estimators=20, discrete=[True, False, False, False])
    assert cls.per_factor_informativeness[0] == 1.0  # an accuracy
    auto = dci(*args, model="gbt", n_estimators=20)  # integers with <= 20 values: discrete
    np.testing.assert_array_equal(auto.per_factor_informativeness, cls.per_factor_informativeness)
    np.testing.assert_array_equal(auto.importance, cls.importance)
    reg = dci(*args, model="gbt", n_estimators=20, discrete=[False] * K)  # R^2 of a shrunk boosted fit
    assert 0.9 < reg.per_factor_informativeness[0] < 1.0
    # a code that mislabels one class in four: accuracy about 3/4, a multiple of 1 / n_test
    z = v.copy()
    z[:, 0] = np.where(v[:, 0] == 3, 0, v[:, 0])
    acc = dci(*split(z, v), model="forest", n_estimators=20, discrete=[True, False, False, False])
    a0 = acc.per_factor_informativeness[0]
    assert 0.6 < a0 < 0.9
    assert abs(a0 * (N - N_TRAIN) - round(a0 * (N - N_TRAIN))) < 1e-9


def test_dci_is_deterministic_for_a_seed(factors):
    z = factors @ random_rotation(K, 5)
    a = dci(*split(z, factors), model="forest", n_estimators=10, seed=3)
    b = dci(*split(z, factors), model="forest", n_estimators=10, seed=3)
    c = dci(*split(z, factors), model="forest", n_estimators=10, seed=4)
    np.testing.assert_array_equal(a.importance, b.importance)
    np.testing.assert_array_equal(a.per_factor_informativeness, b.per_factor_informativeness)
    for name in ("disentanglement", "completeness", "informativeness"):
        assert getattr(a, name) == getattr(b, name)
    assert not np.array_equal(a.importance, c.importance)


# --- random_rotation ----------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 4, 7])
def test_random_rotation_is_a_seeded_rotation(d):
    q = random_rotation(d, 0)
    assert q.shape == (d, d) and q.dtype == np.float64
    np.testing.assert_allclose(q @ q.T, np.eye(d), atol=1e-12)
    assert np.linalg.det(q) == pytest.approx(1.0)
    np.testing.assert_array_equal(random_rotation(d, 0), q)
    np.testing.assert_array_equal(random_rotation(d, np.random.default_rng(0)), q)
    assert not np.allclose(random_rotation(d, 1), q)
    # det +1 for every draw, not only this one (half of the Haar draws on O(d) have det -1)
    rng = np.random.default_rng(9)
    assert all(np.linalg.det(random_rotation(d, rng)) == pytest.approx(1.0) for _ in range(20))
    state = np.random.get_state()[1].copy()
    random_rotation(d, 5)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global state untouched


@pytest.mark.parametrize("d", [2, 3, 5])
def test_random_rotation_is_haar(d):
    # Haar on SO(d): Q and R Q have one law for every rotation R, so every entry has mean 0 and
    # variance 1/d (each column is uniform on the sphere). A QR decomposition without the sign fix
    # is not Haar: the sign of R_00 fixes that of Q_00, whose mean is then about +-E|x_1| (0.64 at d = 2).
    m = 2000
    rng = np.random.default_rng(0)
    qs = np.stack([random_rotation(d, rng) for _ in range(m)])
    se = np.sqrt(1.0 / (d * m))  # standard error of a mean of m entries of variance 1/d
    assert np.abs(qs.mean(axis=0)).max() < 5 * se, qs.mean(axis=0)
    np.testing.assert_allclose((qs ** 2).mean(axis=0), 1.0 / d, atol=0.1 / d)
    # the trace of a Haar rotation: mean 0; E[tr^2] = 2 on SO(2), 1 on SO(d >= 3)
    tr = np.trace(qs, axis1=1, axis2=2)
    assert abs(tr.mean()) < 5 * np.sqrt((2.0 if d == 2 else 1.0) / m)
    assert (tr ** 2).mean() == pytest.approx(2.0 if d == 2 else 1.0, rel=0.1)


# --- input checks -------------------------------------------------------------------------------


def test_bad_inputs_raise_value_error(factors):
    v = factors[:200]
    with pytest.raises(ValueError, match="bins"):
        discretize(v, bins=1)
    with pytest.raises(ValueError, match="bins"):
        mig(v, v, bins=1)
    with pytest.raises(ValueError, match="D >= 2"):
        mig(v[:, :1], v)
    with pytest.raises(ValueError, match="same number of rows"):
        mig(v[:100], v)
    with pytest.raises(ValueError, match="constant"):
        mig(v, np.column_stack([v[:, 0], np.ones(200)]))
    bad = v.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mig(bad, v)
    with pytest.raises(ValueError, match="NaN"):
        dci(bad, v, v, v)
    with pytest.raises(ValueError, match="shape"):
        mig(v[:, 0], v)
    with pytest.raises(ValueError, match="'gbt', 'forest'"):
        dci(v, v, v, v, model="lasso")
    with pytest.raises(ValueError, match="discrete"):
        dci(v, v, v, v, discrete=[True, False])
    with pytest.raises(ValueError, match="same number of rows"):
        dci(v[:100], v, v, v)
    with pytest.raises(ValueError, match="same number of codes"):
        dci(v, v, v[:, :3], v)
    with pytest.raises(ValueError, match="same number of factors"):
        dci(v, v, v, v[:, :3])
    with pytest.raises(ValueError, match="n_estimators"):
        dci(v, v, v, v, n_estimators=0)
    with pytest.raises(ValueError, match="d must"):
        random_rotation(1, 0)
    with pytest.raises(ValueError, match="seed"):
        random_rotation(3, -1)
    with pytest.raises(ValueError, match="seed"):
        random_rotation(3, 1.5)
    with pytest.raises(ValueError, match="seed"):
        dci(v, v, v, v, seed=-1)


def test_mig_mutual_information_is_scikit_learns(factors):
    """mig's I(z_j; v_k) and H(v_k) are exactly sklearn.metrics.mutual_info_score of the discretized codes."""
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(3)
    v = np.column_stack([factors, rng.integers(0, 3, len(factors))])  # a discrete factor too
    z = v @ rng.standard_normal((v.shape[1], 5)) + 0.3 * rng.standard_normal((len(v), 5))
    result = mig(z, v, bins=12)
    zc, vc = discretize(z, 12), discretize(v, 12)
    expected = np.array([[mutual_info_score(vc[:, i], zc[:, j]) for i in range(vc.shape[1])] for j in range(5)])
    assert np.array_equal(result.mutual_info, expected)
    assert np.array_equal(result.entropy, [mutual_info_score(c, c) for c in vc.T])
