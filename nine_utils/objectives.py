r"""Mutual-information objectives as pure functions of a critic's score matrix.

Every objective takes ``scores`` of shape ``(n, n)`` with ``scores[i, j] = T(a_i, b_j)``: the
diagonal holds the ``n`` positive pairs drawn from the joint ``p(a, b)``; the ``n (n-1)``
off-diagonal entries stand in for samples of the product of marginals ``p(a) p(b)``.
Each returns a scalar tensor to *maximise*. For InfoNCE, NWJ and DV it is a lower bound on
``I(A; B)`` in nats; the Jensen--Shannon objective of Deep InfoMax is a surrogate that is
monotone in, but not equal to, the MI (``SURROGATES`` lists it).

With the log density ratio ``T(a, b) = log p(a, b) / (p(a) p(b))`` as the critic, NWJ equals the MI in
expectation and DV nearly so (the log of a batch mean biases it slightly upwards at finite ``n``).
InfoNCE is not tight even then: it is biased low at every finite ``n`` and never exceeds ``log n``
(notebook 01 measures both).

This module also holds the ground truth used to check them: correlated Gaussian pairs with
closed-form MI.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ._checks import check_choice, check_positive_int
from .seeds import SeedLike, as_torch_generator


def _check_scores(scores: torch.Tensor) -> int:
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (n, n) matrix, got shape {tuple(scores.shape)}")
    n = scores.shape[0]
    if n < 2:
        raise ValueError(f"a batch needs at least 2 pairs to have negatives, got n={n}")
    return n


def _offdiag(scores: torch.Tensor) -> torch.Tensor:
    """The ``n (n-1)`` off-diagonal entries, flattened."""
    n = scores.shape[0]
    mask = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    return scores[mask]


def infonce(scores: torch.Tensor) -> torch.Tensor:
    r"""InfoNCE lower bound (van den Oord et al., 2018), in nats.

    .. math:: I_{\mathrm{NCE}} = \frac1n \sum_i \Big[ T_{ii} - \log \frac1n \sum_j e^{T_{ij}} \Big]
              \le \log n .

    Each term is a log-softmax, which is at most 0, so the bound can never exceed ``log n``.

    Parameters
    ----------
    scores : torch.Tensor
        Critic scores, shape ``(n, n)``, positives on the diagonal.

    Returns
    -------
    torch.Tensor
        Scalar, differentiable.
    """
    n = _check_scores(scores)
    return torch.diagonal(F.log_softmax(scores, dim=1)).mean() + math.log(n)


def nwj(scores: torch.Tensor) -> torch.Tensor:
    r"""NWJ lower bound (Nguyen, Wainwright & Jordan, 2010; "f-GAN KL"), in nats.

    .. math:: I_{\mathrm{NWJ}} = 1 + \mathbb{E}_{p(a,b)}[T] - \mathbb{E}_{p(a)p(b)}[e^{T}] ,

    written with the critic shifted by one so that the optimum is ``T = log p(a,b)/(p(a)p(b))``.
    Unbiased in its two expectations but high-variance at large MI.

    Parameters
    ----------
    scores : torch.Tensor
        Shape ``(n, n)``.

    Returns
    -------
    torch.Tensor
        Scalar, differentiable.
    """
    n = _check_scores(scores)
    neg = _offdiag(scores)
    log_mean_exp = torch.logsumexp(neg, dim=0) - math.log(neg.numel())
    return 1.0 + torch.diagonal(scores).mean() - log_mean_exp.exp()


def donsker_varadhan(scores: torch.Tensor) -> torch.Tensor:
    r"""Donsker--Varadhan lower bound (used by MINE, Belghazi et al., 2018), in nats.

    .. math:: I_{\mathrm{DV}} = \mathbb{E}_{p(a,b)}[T] - \log \mathbb{E}_{p(a)p(b)}[e^{T}] .

    Tighter than NWJ for the same critic; the log of a minibatch mean makes its gradient biased.

    Parameters
    ----------
    scores : torch.Tensor
        Shape ``(n, n)``.

    Returns
    -------
    torch.Tensor
        Scalar, differentiable.
    """
    _check_scores(scores)
    neg = _offdiag(scores)
    return torch.diagonal(scores).mean() - (torch.logsumexp(neg, dim=0) - math.log(neg.numel()))


def jsd(scores: torch.Tensor) -> torch.Tensor:
    r"""Jensen--Shannon surrogate of Deep InfoMax (Hjelm et al., 2019). **Not** nats of MI.

    .. math:: J = \mathbb{E}_{p(a,b)}[-\mathrm{softplus}(-T)] - \mathbb{E}_{p(a)p(b)}[\mathrm{softplus}(T)] .

    At its optimum ``T = log p(a,b)/(p(a)p(b))`` it equals ``2 JS(p(a,b) || p(a)p(b)) - 2 log 2``,
    so it lies in ``[-2 log 2, 0]``: it grows with the MI but saturates, and is not an MI estimate.

    Parameters
    ----------
    scores : torch.Tensor
        Shape ``(n, n)``.

    Returns
    -------
    torch.Tensor
        Scalar, differentiable.
    """
    _check_scores(scores)
    pos = -F.softplus(-torch.diagonal(scores)).mean()
    neg = F.softplus(_offdiag(scores)).mean()
    return pos - neg


OBJECTIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "infonce": infonce,
    "nwj": nwj,
    "dv": donsker_varadhan,
    "jsd": jsd,
}
"""Objectives by name. Each maps scores ``(n, n)`` to a scalar to maximise."""

SURROGATES: frozenset[str] = frozenset({"jsd"})
"""Objectives whose value is not an MI estimate in nats."""


def get_objective(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Look up an objective by name; raises ``ValueError`` listing the allowed names."""
    return OBJECTIVES[check_choice("objective", name, OBJECTIVES)]


def infonce_ceiling(batch_size: int) -> float:
    """``log(batch_size)``: the largest value InfoNCE can take on a batch of that size."""
    check_positive_int("batch_size", batch_size, minimum=2)
    return math.log(batch_size)


# --------------------------------------------------------------------------------------------
# Ground truth: correlated Gaussian pairs
# --------------------------------------------------------------------------------------------

def gaussian_mi(rho: float, dim: int = 1) -> float:
    r"""Closed-form MI of ``dim`` independent pairs ``(X_k, Y_k)``, each standard normal with
    correlation ``rho``:

    .. math:: I(X; Y) = -\tfrac{d}{2} \log(1 - \rho^2) \quad \text{nats.}
    """
    check_positive_int("dim", dim)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho!r}")
    return -0.5 * dim * math.log1p(-rho * rho)


def rho_for_mi(mi: float, dim: int = 1) -> float:
    r"""Inverse of :func:`gaussian_mi`: the correlation ``rho = sqrt(1 - exp(-2 I / d))``."""
    check_positive_int("dim", dim)
    if not mi >= 0:
        raise ValueError(f"mi must be >= 0, got {mi!r}")
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def sample_correlated_gaussians(n: int, dim: int, rho: float,
                                generator: torch.Generator | SeedLike = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Draw ``n`` pairs ``(x, y)`` with ``x ~ N(0, I_d)`` and ``y = rho x + sqrt(1-rho^2) eps``.

    Parameters
    ----------
    n, dim : int
        Number of pairs and dimension, ``>= 1``.
    rho : float
        Correlation of each coordinate pair, in ``(-1, 1)``.
    generator : torch.Generator, int or numpy.random.Generator
        The draws come from this torch generator (which advances), or from
        :func:`nine_utils.seeds.torch_generator` of a seed (default ``0``); never from torch's
        global generator.

    Returns
    -------
    x, y : torch.Tensor
        Each of shape ``(n, dim)``; ``I(X; Y) = gaussian_mi(rho, dim)``.
    """
    check_positive_int("n", n)
    gaussian_mi(rho, dim)  # validates rho and dim
    gen = as_torch_generator(generator)
    x = torch.randn(n, dim, generator=gen)
    eps = torch.randn(n, dim, generator=gen)
    return x, rho * x + math.sqrt(1.0 - rho * rho) * eps


def gaussian_log_ratio(x: torch.Tensor, y: torch.Tensor, rho: float) -> torch.Tensor:
    r"""The optimal critic for correlated Gaussians: the log density ratio on all pairs.

    .. math:: T(x_i, y_j) = \log\frac{p(x_i, y_j)}{p(x_i) p(y_j)}
        = \sum_k \Big[-\tfrac12\log(1-\rho^2)
          - \frac{\rho^2 x_{ik}^2 - 2\rho x_{ik} y_{jk} + \rho^2 y_{jk}^2}{2(1-\rho^2)}\Big]

    Parameters
    ----------
    x, y : torch.Tensor
        Shape ``(n, d)`` each.
    rho : float
        The correlation the pairs were drawn with.

    Returns
    -------
    torch.Tensor
        Scores of shape ``(n, n)``.
    """
    d = x.shape[1]
    c = 1.0 - rho * rho
    xx = (x * x).sum(1, keepdim=True)  # (n, 1)
    yy = (y * y).sum(1, keepdim=True).T  # (1, n)
    xy = x @ y.T
    return -0.5 * d * math.log(c) - (rho * rho * (xx + yy) - 2.0 * rho * xy) / (2.0 * c)
