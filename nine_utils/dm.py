r"""Distribution matching: how close embeddings are to a prior, against the prior's noise floor.

A statistic alone means nothing: even true prior samples score above zero. Each metric here is
reported next to its *noise floor*, the 95th percentile (:data:`FLOOR_QUANTILE`) of the same
statistic over ``n_draws`` samples of the prior itself with the same ``n`` and ``d``, and as the
ratio ``statistic / floor``. A ratio ``<= 1`` means the embeddings cannot be told from the prior
at the 95% level by that statistic.

Six statistics, all fixing the target fully (no fitted location or scale):

- ``"ks"``: the mean over coordinates of the one-sample Kolmogorov--Smirnov statistic against
  the prior's marginal CDF. Per-coordinate only: blind to dependence between coordinates.
- ``"w2"``: the closed-form 2-Wasserstein distance between Gaussians fitted by mean and
  covariance (:func:`gaussian_w2`). Sees correlation, but only the first two moments.
- ``"swd"``: the sliced 2-Wasserstein distance to a fresh prior sample of the same size.
- ``"c2st"``: a classifier two-sample test: the held-out accuracy of a k-nearest-neighbour
  classifier telling the embeddings from a fresh prior sample. Sees clusters, holes and any
  dependence between coordinates.
- ``"radial"`` and ``"calibration"``: joint tests of the law of :math:`\lVert z\rVert^2`, which
  see a thin shell that passes every per-coordinate test (:mod:`nine_utils.joint`).

**Fair floors.** An embedding standardized or whitened with the statistics of ``m`` training
embeddings carries the error of those statistics. Pass ``fit="standardize"`` (or ``"whiten"``)
and ``n_fit=m`` and the floor's prior samples go through the same pipeline: each is standardized
with the statistics of a prior sample of size ``m`` (:func:`~nine_utils.baselines.fit_batch`).
A Gaussian NINE head recalibrated on the training inputs is standardized that way too.

The priors themselves (:class:`~nine_utils.priors.Prior`, :func:`~nine_utils.priors.get_prior`,
...) live in :mod:`nine_utils.priors`. Fair baselines for a raw representation,
:func:`standardize` and :func:`whiten` with training statistics, live in :mod:`nine_utils.baselines`
and stay importable from here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ._arrays import ArrayLike
from ._checks import as_matrix, check_choice, check_positive_int, int_seed
from .baselines import FITS, fit_batch, standardize, whiten  # standardize, whiten: importable from here too
from .dm_statistics import _STATISTICS, JOINT_METRICS, METRICS, gaussian_w2  # importable from here, as before
from .joint import calibration_batch
from .priors import Prior, get_prior  # Prior and get_prior stay importable from here (toy.py uses them)
from .seeds import SeedLike

__all__ = [
    "DMScore", "FLOOR_QUANTILE", "N_DRAWS", "JOINT_METRICS", "METRICS", "c2st_score", "calibration_score", "dm_report",
    "gaussian_w2", "gaussian_w2_score", "ks_score", "noise_floor", "radial_score", "sliced_w2_score", "standardize",
    "whiten", "Prior", "get_prior",
]

FLOOR_QUANTILE = 0.95
"""The floor is this quantile of the statistic on true prior samples."""

N_DRAWS = 200
"""Prior samples behind every noise floor unless told otherwise: one default for every score and
:func:`dm_report`, so the same ``z`` gets the same floor whichever way it is scored."""

DEFAULT_METRICS: tuple[str, ...] = ("ks", "w2", "swd")
"""What :func:`dm_report` computes unless told otherwise (``"c2st"`` costs a classifier per floor draw)."""

_CHUNK_ELEMENTS = 2_000_000  # floats per vectorised block when computing a floor



_STREAM_STATISTIC, _STREAM_FLOOR = 0, 1  # independent random streams per seed


@dataclass(frozen=True)
class DMScore:
    """A distribution-matching statistic next to the prior's own noise floor.

    Attributes
    ----------
    name : str
        One of :data:`METRICS`.
    statistic : float
        The statistic of the embeddings against the prior (lower is closer; for ``"c2st"`` an
        accuracy, 0.5 at a perfect match).
    floor : float
        95th percentile of the same statistic on true prior samples of the same ``n`` and ``d``
        (put through the same standardization as the embeddings, for a fair floor).
    ratio : float
        ``statistic / floor``; ``<= 1`` means indistinguishable from the prior at the 95% level.
    """

    name: str
    statistic: float
    floor: float
    ratio: float

    @property
    def matched(self) -> bool:
        """``ratio <= 1``."""
        return self.ratio <= 1.0

    def as_dict(self) -> dict[str, float | str]:
        """Plain-Python copy, for results files."""
        return asdict(self)


def _check_knobs(n_draws: int, seed: SeedLike, n_projections: int) -> int:
    check_positive_int("n_draws", n_draws, minimum=100)
    check_positive_int("n_projections", n_projections)
    return int_seed(seed)


def _check_fit(fit: str | None, n_fit: int | None, prior: Prior, d: int) -> None:
    if fit is None:
        if n_fit is not None:
            raise ValueError(f"n_fit={n_fit!r} is given without fit: say fit='standardize' or 'whiten'")
        return
    check_choice("fit", fit, FITS)
    if n_fit is None:
        raise ValueError(f"fit={fit!r} needs n_fit, the number of training embeddings the statistics came from")
    check_positive_int("n_fit", n_fit, minimum=2)
    if not (np.allclose(prior.mean(d), 0.0) and np.allclose(prior.cov(d), np.eye(d))):
        raise ValueError(f"fit={fit!r} simulates a map to mean 0 and identity covariance, so the prior must have "
                         f"them; {prior!r} does not")


C2ST_MIN_N = 10
"""Fewest embeddings :func:`c2st_score` accepts: with 2 points its floor is 1 (accuracy can be
nothing but 0, 0.5 or 1), so every sample would read "matched"; 10 gives 5 per class and fold."""


def _check_metric(metric: str, prior: Prior, n: int, d: int) -> None:
    """Refuse, before any work, a metric that cannot be computed for this prior or sample size."""
    if metric == "c2st" and n < C2ST_MIN_N:
        raise ValueError(f"c2st needs n >= {C2ST_MIN_N} embeddings (a classifier trained and tested on "
                         f"{n} points per class cannot tell anything apart), got n={n}")
    if metric == "w2":
        m, c = prior.mean(d), prior.cov(d)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(c))):
            raise ValueError(f"metric 'w2' compares means and covariances, and the prior {prior.name!r} has no finite "
                             f"mean or variance (mean {np.asarray(m).ravel()[:1]}, variance "
                             f"{np.diagonal(np.asarray(c))[:1]}); use 'ks', 'swd' or 'c2st' for it")
    if metric == "calibration":
        calibration_batch(np.zeros((1, 2, d)), prior, np.random.default_rng(0))  # refuses a prior other than N(0, I)


@functools.lru_cache(maxsize=256)
def _cached_floor(metric: str, prior: Prior, n: int, d: int, n_draws: int, seed: int,
                  n_projections: int, fit: str | None = None, n_fit: int | None = None) -> float:
    stat = _STATISTICS[metric]
    rng = np.random.default_rng([seed, _STREAM_FLOOR])
    per = n * d * (2 * n_projections if metric == "swd" else 1) + (n_fit * d if fit else 0)
    chunk = max(1, _CHUNK_ELEMENTS // per)
    values = []
    for start in range(0, n_draws, chunk):
        b = min(chunk, n_draws - start)
        sample = prior.sample(b * n, d, rng).reshape(b, n, d)
        if fit is not None:  # the same pipeline as the embeddings: statistics of n_fit prior points
            sample = fit_batch(sample, prior.sample(b * n_fit, d, rng).reshape(b, n_fit, d), fit)
        values.append(stat(sample, prior, rng, n_projections))
    return float(np.quantile(np.concatenate(values), FLOOR_QUANTILE))


def noise_floor(metric: str, n: int, d: int, prior: str | Prior = "normal", *, n_draws: int = N_DRAWS,
                seed: SeedLike = 0, n_projections: int = 50, fit: str | None = None,
                n_fit: int | None = None) -> float:
    """The noise floor of ``metric``: its 95th percentile on true prior samples of shape ``(n, d)``.

    Computed from ``n_draws`` prior samples drawn with ``numpy.random.default_rng([seed, 1])``
    and cached (keyed on every argument), so repeated calls are free.

    Parameters
    ----------
    metric : str
        One of :data:`METRICS`.
    n, d : int
        Sample size ``>= 2`` and dimension ``>= 1``.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or anything :func:`~nine_utils.priors.get_prior` accepts.
    n_draws : int
        Number of prior samples, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed, ``>= 0``. A ``Generator`` gives one integer draw used as the seed, so the floor is
        computed afresh: pass an int to reuse cached floors.
    n_projections : int
        Directions per sliced distance (used by ``"swd"`` only).
    fit : str, optional
        ``"standardize"`` or ``"whiten"``: each prior sample is first put through
        :func:`standardize` or :func:`whiten` with the statistics of another prior sample of size
        ``n_fit``, as the embeddings were with their training statistics (a fair floor). Needs a
        prior with mean 0 and identity covariance.
    n_fit : int, optional
        The number of training embeddings behind those statistics, ``>= 2``; required with ``fit``.

    Returns
    -------
    float
    """
    check_choice("metric", metric, METRICS)
    check_positive_int("n", n, minimum=2)
    check_positive_int("d", d)
    s = _check_knobs(n_draws, seed, n_projections)
    p = get_prior(prior)
    _check_fit(fit, n_fit, p, d)
    _check_metric(metric, p, n, d)
    return _cached_floor(metric, p, n, d, n_draws, s, n_projections if metric == "swd" else 0, fit, n_fit)


def _score(metric: str, z: ArrayLike, prior: str | Prior, n_draws: int, seed: SeedLike,
           n_projections: int, fit: str | None = None, n_fit: int | None = None) -> DMScore:
    s = _check_knobs(n_draws, seed, n_projections)
    a = as_matrix(z, "embeddings", min_rows=2)
    p = get_prior(prior)
    _check_fit(fit, n_fit, p, a.shape[1])
    _check_metric(metric, p, *a.shape)
    rng = np.random.default_rng([s, _STREAM_STATISTIC])
    statistic = float(_STATISTICS[metric](a[None], p, rng, n_projections)[0])
    floor = noise_floor(metric, a.shape[0], a.shape[1], p, n_draws=n_draws, seed=s, n_projections=n_projections,
                        fit=fit, n_fit=n_fit)
    ratio = statistic / floor if floor > 0 else math.inf
    return DMScore(metric, statistic, floor, ratio)


def ks_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = N_DRAWS, seed: SeedLike = 0,
             fit: str | None = None, n_fit: int | None = None) -> DMScore:
    r"""Mean one-sample Kolmogorov--Smirnov statistic over coordinates, against the prior's CDF.

    .. math:: \mathrm{KS} = \frac1d \sum_{k=1}^d \sup_x \big|\hat F_k(x) - F(x)\big| ,

    with :math:`\hat F_k` the empirical CDF of coordinate ``k``. The target is fixed fully (unlike
    Shapiro--Wilk, which fits mean and variance and so cannot see a wrong scale). It checks
    marginals only: dependent coordinates with the right marginals pass.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"`` (``N(0, I)``), ``"uniform"`` (``U[0, 1]^d``) or a :class:`~nine_utils.priors.Prior` with a CDF.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed of the floor's samples.
    fit, n_fit : str and int, optional
        For embeddings standardized or whitened with ``n_fit`` training embeddings: the floor's
        prior samples go through the same pipeline (:func:`noise_floor`).

    Returns
    -------
    DMScore
    """
    return _score("ks", z, prior, n_draws, seed, 1, fit, n_fit)


def gaussian_w2_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = N_DRAWS,
                      seed: SeedLike = 0, fit: str | None = None, n_fit: int | None = None) -> DMScore:
    r"""2-Wasserstein distance between Gaussians fitted to ``z`` and to the prior.

    With ``m, C`` the sample mean and covariance of ``z`` and ``m_0, C_0`` the prior's,

    .. math:: W_2^2 = \lVert m - m_0 \rVert^2
              + \operatorname{tr}\Big(C + C_0 - 2\big(C_0^{1/2} C\, C_0^{1/2}\big)^{1/2}\Big) ,

    which for ``N(0, I)`` is ``||m||^2 + tr(C + I - 2 C^{1/2})``; computed by :func:`gaussian_w2`.
    Catches correlation between coordinates that per-coordinate tests miss; sees only two moments.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`~nine_utils.priors.Prior`.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed of the floor's samples.
    fit, n_fit : str and int, optional
        For embeddings standardized or whitened with ``n_fit`` training embeddings: the floor's
        prior samples go through the same pipeline (:func:`noise_floor`).

    Returns
    -------
    DMScore
        ``statistic`` is ``W_2`` (not squared).
    """
    return _score("w2", z, prior, n_draws, seed, 1, fit, n_fit)


def sliced_w2_score(z: ArrayLike, prior: str | Prior = "normal", *, n_projections: int = 50,
                    n_draws: int = N_DRAWS, seed: SeedLike = 0, fit: str | None = None,
                    n_fit: int | None = None) -> DMScore:
    r"""Sliced 2-Wasserstein distance between ``z`` and a fresh prior sample of the same size.

    .. math:: \mathrm{SW}_2 = \Big(\frac1P \sum_{p=1}^P \frac1n \sum_{i=1}^n
              \big(\theta_p^\top z_{(i)} - \theta_p^\top y_{(i)}\big)^2\Big)^{1/2} ,

    with ``y`` an ``(n, d)`` prior sample, ``theta_p`` uniform on the unit sphere, and
    :math:`(i)` the ``i``-th smallest projection. In one dimension it is the 2-Wasserstein
    distance between the two empirical distributions, ``sqrt(mean((sort(z) - sort(y))**2))``.
    ``y`` and ``theta`` come from ``numpy.random.default_rng([seed, 0])``; the floor redraws both
    for each of its samples.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`~nine_utils.priors.Prior`.
    n_projections : int
        Number of random directions ``P``, ``>= 1``.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed.
    fit, n_fit : str and int, optional
        For embeddings standardized or whitened with ``n_fit`` training embeddings: the floor's
        prior samples go through the same pipeline (:func:`noise_floor`).

    Returns
    -------
    DMScore
    """
    return _score("swd", z, prior, n_draws, seed, n_projections, fit, n_fit)


def c2st_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = N_DRAWS,
               seed: SeedLike = 0, fit: str | None = None, n_fit: int | None = None) -> DMScore:
    r"""Classifier two-sample test: how well a k-NN classifier tells ``z`` from prior samples.

    With ``y`` an ``(n, d)`` prior sample (from ``numpy.random.default_rng([seed, 0])``), the
    ``2n`` pooled points are standardized per coordinate with the pooled mean and standard
    deviation (one map for both samples, so no difference is removed), labelled 1 (embedding)
    and 0 (prior), and split into 2 stratified folds. A ``KNeighborsClassifier`` with ``k`` the
    odd integer nearest :math:`\sqrt n` (``n`` points per training fold) is trained on each fold
    and scores the other; the statistic is the accuracy over all ``2n`` held-out predictions,

    .. math:: \mathrm{acc} = \frac{1}{2n} \sum_{i=1}^{2n} \mathbb 1\big[\hat c(x_i) = c_i\big] ,

    about 0.5 when ``z`` follows the prior and up to 1 when the two are apart. The floor is its
    95th percentile when ``z`` is itself a prior sample (a little above 0.5, shrinking with
    ``n``); ``ratio = acc / floor <= 1`` means the classifier cannot tell them apart. Unlike the
    per-coordinate KS or the two-moment Gaussian W2, it sees clusters, holes and any dependence
    between coordinates. Its ratio cannot exceed ``1 / floor`` (below 2).

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 10`` (:data:`C2ST_MIN_N`), finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or anything with a sampler (a :class:`~nine_utils.priors.SampledPrior` too).
    n_draws : int
        Prior samples for the noise floor, ``>= 100``; default :data:`N_DRAWS` (200), as for
        every score (about 10 ms each at ``n = 500, d = 8``).
    seed : int or numpy.random.Generator
        Seed of the prior sample, the folds, and the floor's samples.
    fit, n_fit : str and int, optional
        For embeddings standardized or whitened with ``n_fit`` training embeddings: the floor's
        prior samples go through the same pipeline (:func:`noise_floor`).

    Returns
    -------
    DMScore
        ``name`` ``"c2st"``, ``statistic`` the accuracy.
    """
    return _score("c2st", z, prior, n_draws, seed, 1, fit, n_fit)


def radial_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = N_DRAWS, seed: SeedLike = 0,
                 fit: str | None = None, n_fit: int | None = None) -> DMScore:
    r"""The radial law: KS distance between the law of :math:`\lVert z - \mu\rVert^2` and the prior's.

    .. math:: \mathrm{rad} = \sup_t \big| \hat F_r(t) - F_{\chi^2_d}(t) \big| , \qquad
              r_i = \lVert z_i\rVert^2 ,

    for :math:`\mathcal N(0, I_d)`; for another prior, the two-sample KS distance to
    :math:`\lVert y - \mu\rVert^2` of a fresh prior sample of the same size
    (:func:`nine_utils.joint.radial_batch`). A thin shell (every point near one radius) with
    unit-variance, Gaussian-looking coordinates passes :func:`ks_score` and fails this.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`~nine_utils.priors.Prior` with a sampler.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed of the floor's samples (and of the reference sample of a two-sample test).
    fit, n_fit : str and int, optional
        For embeddings standardized or whitened with ``n_fit`` training embeddings: the floor's
        prior samples go through the same pipeline (:func:`noise_floor`).

    Returns
    -------
    DMScore
    """
    return _score("radial", z, prior, n_draws, seed, 1, fit, n_fit)


def calibration_score(z: ArrayLike, prior: str | Prior = "normal", *, n_draws: int = N_DRAWS, seed: SeedLike = 0,
                      fit: str | None = None, n_fit: int | None = None) -> DMScore:
    r"""Calibration error of the :math:`\chi^2` test: the largest :math:`|\mathrm{FPR}(\alpha) - \alpha|`.

    .. math:: \mathrm{cal} = \max_{\alpha} \Big| \frac1n \sum_i
              \mathbb 1\big[P(\chi^2_d > \lVert z_i\rVert^2) \le \alpha\big] - \alpha \Big| ,

    over :data:`nine_utils.joint.CALIBRATION_ALPHAS` (0.01 to 0.9): how far from its nominal
    level the false-alarm rate of a threshold on :math:`\lVert z\rVert^2` is, if ``z`` is taken
    for :math:`\mathcal N(0, I)`. Its floor is the same error on true prior samples.

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        Must be ``"normal"``.
    n_draws : int
        Prior samples for the noise floor, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed of the floor's samples.
    fit, n_fit : str and int, optional
        For embeddings standardized or whitened with ``n_fit`` training embeddings: the floor's
        prior samples go through the same pipeline (:func:`noise_floor`).

    Returns
    -------
    DMScore

    Raises
    ------
    ValueError
        For any prior but :math:`\mathcal N(0, I)`.
    """
    return _score("calibration", z, prior, n_draws, seed, 1, fit, n_fit)


_SCORERS = {"ks": ks_score, "w2": gaussian_w2_score, "swd": sliced_w2_score, "c2st": c2st_score,
            "radial": radial_score, "calibration": calibration_score}


def dm_report(z: ArrayLike, prior: str | Prior = "normal", *, metrics: Sequence[str] = DEFAULT_METRICS,
              n_draws: int = N_DRAWS, seed: SeedLike = 0, n_projections: int = 50, fit: str | None = None,
              n_fit: int | None = None) -> dict[str, DMScore]:
    """Distribution-matching scores of ``z`` (shape ``(n, d)``) against ``prior``.

    Evaluate held-out embeddings in eval mode (running statistics, no noise).

    Parameters
    ----------
    z : array or tensor
        Embeddings, shape ``(n, d)``, ``n >= 2``, finite.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`~nine_utils.priors.Prior`.
    metrics : sequence of str
        Any of ``"ks"`` (:func:`ks_score`), ``"w2"`` (:func:`gaussian_w2_score`), ``"swd"``
        (:func:`sliced_w2_score`), ``"c2st"`` (:func:`c2st_score`), ``"radial"``
        (:func:`radial_score`) and ``"calibration"`` (:func:`calibration_score`, ``N(0, I)``
        only); default the first three. Report a joint test (:data:`JOINT_METRICS`) beside them:
        a thin shell passes all three.
        ``"c2st"`` trains two classifiers per floor draw (about 2 s for its floor at
        ``n = 500, d = 8, n_draws = 200``, once per shape: floors are cached).
    n_draws : int
        Prior samples for each noise floor, ``>= 100``.
    seed : int or numpy.random.Generator
        Seed (a ``Generator`` gives one integer draw, shared by all metrics).
    n_projections : int
        Directions of the sliced distance.
    fit, n_fit : str and int, optional
        The embeddings were standardized or whitened with ``n_fit`` training embeddings: every
        floor simulates that (:func:`noise_floor`).

    Returns
    -------
    dict of str to DMScore
        One entry per metric, in the order asked.
    """
    if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics) or len(metrics) == 0:
        raise ValueError(f"metrics must be a non-empty sequence of names from {', '.join(map(repr, METRICS))}, "
                         f"got {metrics!r}")
    for m in metrics:
        check_choice("metric", m, METRICS)
    s = _check_knobs(n_draws, seed, n_projections)
    a = as_matrix(z, "embeddings", min_rows=2)
    p = get_prior(prior)
    _check_fit(fit, n_fit, p, a.shape[1])
    for m in metrics:  # every metric's refusal comes before any work
        _check_metric(m, p, *a.shape)
    out = {}
    for m in metrics:
        kwargs = {"n_projections": n_projections} if m == "swd" else {}
        out[m] = _SCORERS[m](a, p, n_draws=n_draws, seed=s, fit=fit, n_fit=n_fit, **kwargs)
    return out
