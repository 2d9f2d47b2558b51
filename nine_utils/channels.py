r"""NINE's noisy channels: their capacities and their parameter-free critics (log density ratios).

- Gaussian channel ``b = a + Z``, ``Z ~ N(0, sigma^2 I)``: :func:`gaussian_capacity`,
  :class:`GaussianChannelCritic` and the faster :class:`FusedGaussianChannelCritic`.
- Uniform channel ``b = a + Z``, ``Z ~ U[-eps, eps]^d``: :func:`uniform_capacity` and
  :class:`UniformChannelCritic` (its smoothed box is the fused kernel of :mod:`nine_utils._box`).

The heads that own these channels are in :mod:`nine_utils.heads`; :mod:`nine_utils.nine` gathers
both.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._box import _SmoothedBox
from ._checks import check_positive_float, check_positive_int

NOISE_PARAMETER = {"gaussian": "sigma", "uniform": "eps"}
"""The noise families of NINE heads and channel critics, and the name of the attribute holding
each one's noise level: ``sigma`` (standard deviation of the Gaussian noise) or ``eps``
(half-width of the uniform noise)."""


# --------------------------------------------------------------------------------------------
# Capacities
# --------------------------------------------------------------------------------------------

def gaussian_capacity(dim: int, sigma: float) -> float:
    r"""Capacity of ``dim`` parallel Gaussian channels with unit input power, in nats.

    .. math:: C = \tfrac{d}{2} \log\big(1 + 1/\sigma^2\big) ,

    the largest ``I(U; U + Z)`` over inputs with ``E[U_k^2] <= 1``, reached by
    ``U ~ N(0, I_d)``; ``Z ~ N(0, sigma^2 I_d)``.

    Parameters
    ----------
    dim : int
        Embedding size ``d``, ``>= 1``.
    sigma : float
        Noise standard deviation, finite and ``> 0``.

    Returns
    -------
    float
        The bound in nats.
    """
    check_positive_int("dim", dim)
    s = check_positive_float("sigma", sigma)
    return 0.5 * dim * math.log1p(1.0 / (s * s))


def uniform_capacity(dim: int, eps: float) -> float:
    r"""MI ceiling of ``dim`` parallel additive uniform-noise channels with inputs in ``[0, 1]``, in nats.

    .. math:: I\big(U; U + Z\big) \le d \log\Big(1 + \frac{1}{2\varepsilon}\Big),
              \qquad Z \sim U[-\varepsilon, \varepsilon]^d ,

    because ``U + Z`` lives in ``[-eps, 1 + eps]`` (entropy at most ``log(1 + 2 eps)`` per
    coordinate) and ``h(Z) = d log(2 eps)``. The bound is reached when ``U + Z`` is uniform on that
    interval, which for ``1/(2 eps)`` an integer happens for a *lattice* input with step
    ``2 eps``, not for ``U ~ U[0, 1]``; the uniform input attains it only as ``eps -> 0``.

    Parameters
    ----------
    dim : int
        Embedding size ``d``, ``>= 1``.
    eps : float
        Half-width of the noise, finite and ``> 0``.

    Returns
    -------
    float
        The bound in nats.
    """
    check_positive_int("dim", dim)
    e = check_positive_float("eps", eps)
    return dim * math.log1p(1.0 / (2.0 * e))


# --------------------------------------------------------------------------------------------
# Channel critics
# --------------------------------------------------------------------------------------------

class GaussianChannelCritic(nn.Module):
    r"""The Gaussian channel's log density ratio as a critic; no parameters.

    For ``b = a + Z``, ``Z ~ N(0, sigma^2 I_d)``, and the target input ``a ~ N(0, I_d)`` (so
    ``b ~ N(0, (1 + sigma^2) I_d)``), the critic is the exact log density ratio

    .. math:: T(a_i, b_j) = \log\frac{p(b_j \mid a_i)}{p(b_j)}
              = -\frac{\lVert b_j - a_i \rVert^2}{2\sigma^2}
                + \frac{\lVert b_j \rVert^2}{2(1 + \sigma^2)}
                + \frac{d}{2}\log\Big(1 + \frac{1}{\sigma^2}\Big) .

    With ``marginal=False`` only the channel's log-likelihood term
    ``-||b_j - a_i||^2 / (2 sigma^2)`` is kept. That differs from the ratio by a term that
    depends on ``b_j`` alone. InfoNCE in this package takes its softmax over ``j`` (the noisy
    side, the way :func:`nine_utils.training.train_infomax` calls the critic), and that term does
    **not** cancel there: the estimate then falls short of the capacity (by about 0.13 nats at
    ``sigma = 1``, ``d = 1``), and the maximizer of the objective is no longer ``N(0, I)``. It
    cancels only in a softmax over ``i`` (``infonce(scores.T)``). NWJ and DV need the full
    ratio, constant included. Hence the default ``marginal=True``.

    Whatever the true input distribution, every bound computed with this critic stays a lower
    bound on ``I(A; B) <= (d/2) log(1 + 1/sigma^2)``; at the target it is tight as ``n`` grows.

    Shapes: ``a (n, d)`` clean embeddings, ``b (m, d)`` noisy ones -> scores ``(n, m)``.

    Parameters
    ----------
    sigma : float
        Noise standard deviation of the channel, finite and ``> 0``. It must be the ``sigma`` of
        the head whose channel made ``b``; :meth:`GaussianNINEHead.critic` builds the matching
        critic.
    marginal : bool
        Include the ``-log p(b_j)`` term of the target (default). ``False`` gives the bare
        log-likelihood, for comparison.

    Attributes
    ----------
    family : str
        ``"gaussian"``: the channel this critic assumes.
    sigma : float
        The noise level it assumes.
    """

    family = "gaussian"

    def __init__(self, sigma: float, marginal: bool = True) -> None:
        super().__init__()
        self.sigma = check_positive_float("sigma", sigma)
        self.marginal = bool(marginal)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, marginal={self.marginal}"

    @property
    def noise(self) -> float:
        """The noise level the critic assumes: ``sigma``."""
        return self.sigma

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores ``T(a_i, b_j)``, shape ``(n, m)``, for ``a (n, d)`` and ``b (m, d)``."""
        if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
            raise ValueError(f"expected shapes a (n, d) and b (m, d), "
                             f"got {tuple(a.shape)} and {tuple(b.shape)}")
        s2 = self.sigma ** 2
        bb = (b * b).sum(1)[None, :]  # (1, m)
        sq = ((a * a).sum(1, keepdim=True) + bb - 2.0 * a @ b.T).clamp_min(0.0)  # (n, m)
        scores = -sq / (2.0 * s2)
        if self.marginal:
            scores = scores + bb / (2.0 * (1.0 + s2)) + 0.5 * a.shape[1] * math.log1p(1.0 / s2)
        return scores


class FusedGaussianChannelCritic(GaussianChannelCritic):
    r""":class:`GaussianChannelCritic` computed as one matrix product: the same scores, cheaper.

    The scores are those of the parent class (same ``sigma`` and ``marginal``), rewritten as an
    inner product of augmented embeddings of width ``d + 2``,

    .. math:: T(a_i, b_j) = \Big[\tfrac{a_i}{\sigma^2},\ -\tfrac{\lVert a_i\rVert^2}{2\sigma^2},\ 1\Big]
              \cdot \Big[b_j,\ 1,\ -c\,\lVert b_j\rVert^2 + K\Big] ,

    with :math:`c = \frac1{2\sigma^2} - \frac1{2(1+\sigma^2)}` and
    :math:`K = \frac d2\log(1 + 1/\sigma^2)` (``marginal=True``), or :math:`c = \frac1{2\sigma^2}`
    and :math:`K = 0` (``marginal=False``). Expanding the square gives the parent's formula. The
    parent builds the ``(n, m)`` matrix of squared distances with several elementwise passes over
    it; here the whole ``(n, m)`` matrix comes out of a single matrix product, which on a CPU
    with ``n = m = 256`` roughly halves the cost of a critic call plus InfoNCE, forward and
    backward. Values agree with the parent's up to floating-point rounding (the parent also clips
    squared distances at 0, which only matters for rounding errors).

    Shapes: ``a (n, d)`` clean embeddings, ``b (m, d)`` noisy ones -> scores ``(n, m)``.

    Parameters
    ----------
    sigma : float
        Noise standard deviation of the channel, finite and ``> 0``.
    marginal : bool
        Include the ``-log p(b_j)`` term of the target (default), as in the parent class.
    """

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores ``T(a_i, b_j)``, shape ``(n, m)``, for ``a (n, d)`` and ``b (m, d)``."""
        if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
            raise ValueError(f"expected shapes a (n, d) and b (m, d), "
                             f"got {tuple(a.shape)} and {tuple(b.shape)}")
        s2 = self.sigma ** 2
        c = 0.5 / s2 - (0.5 / (1.0 + s2) if self.marginal else 0.0)
        k = 0.5 * a.shape[1] * math.log1p(1.0 / s2) if self.marginal else 0.0
        col = (a * a).sum(1, keepdim=True) * (-0.5 / s2)  # (n, 1)
        row = (b * b).sum(1, keepdim=True) * (-c) + k  # (m, 1)
        left = torch.cat([a / s2, col, torch.ones_like(col)], dim=1)  # (n, d + 2)
        right = torch.cat([b, torch.ones_like(row), row], dim=1)  # (m, d + 2)
        return left @ right.T


class UniformChannelCritic(nn.Module):
    r"""Smoothed log density ratio of the uniform channel; no trainable parameters.

    The uniform channel is ``b = a + Z`` with ``Z ~ U[-eps, eps]^d`` and ``a`` in ``[0, 1]^d``.
    Its exact log density ratio against the target input ``a ~ U[0, 1]^d`` is a *box*,

    .. math:: \log\frac{p(b \mid a)}{p(b)} = \sum_k \Big[\log \mathbf 1\{|b_k - a_k| \le \varepsilon\}
              - \log \ell(b_k)\Big], \qquad
              \ell(b) = \min(1, b + \varepsilon) - \max(0, b - \varepsilon) ,

    where ``l(b) / (2 eps)`` is the trapezoidal density of ``b``. It is ``-inf`` outside the box
    and flat inside, so it gives an encoder no gradient. This critic replaces the indicator by a
    product of two logistic sigmoids of width ``tau``, which tends to the box as ``tau -> 0``:

    .. math:: T(a_i, b_j) = \sum_{k=1}^d \Big[ \log\sigma\Big(\frac{b_{jk} - a_{ik} + \varepsilon}{\tau}\Big)
              + \log\sigma\Big(\frac{\varepsilon - b_{jk} + a_{ik}}{\tau}\Big)
              - \log \max\big(\ell(b_{jk}), \tau\big) \Big] .

    Outside the box its log falls linearly, with slope ``1/tau``, so a positive pair that the
    noise cannot explain is pulled together. The last term (the *boundary* or marginal term)
    depends on ``b_j`` only: it is larger near the edges of ``[-eps, 1 + eps]``, where fewer
    inputs could have produced ``b_j``. It matters for InfoNCE with a softmax over ``j`` (the
    noisy side, as :func:`nine_utils.training.train_infomax` uses it), so it is included by
    default (``marginal=True``). Any critic gives a valid InfoNCE lower bound, so the estimate
    stays below ``min(d log(1 + 1/(2 eps)), log n)``.

    Shapes: ``a (n, d)`` clean embeddings in ``[0, 1]``, ``b (m, d)`` noisy ones -> scores ``(n, m)``.

    Parameters
    ----------
    eps : float
        Half-width of the channel's noise, finite and ``> 0``. It must be the ``eps`` of the head
        whose channel made ``b``; :meth:`UniformNINEHead.critic` builds the matching critic.
    temperature : float, optional
        Width ``tau`` of the smoothed box edges, finite and ``> 0``; default ``eps / 5``.
    marginal : bool
        Include the ``-log max(l(b_j), tau)`` term (default).

    Attributes
    ----------
    family : str
        ``"uniform"``: the channel this critic assumes.
    eps : float
        The noise half-width it assumes.
    """

    family = "uniform"

    def __init__(self, eps: float, temperature: float | None = None, marginal: bool = True) -> None:
        super().__init__()
        self.eps = check_positive_float("eps", eps)
        self.temperature = check_positive_float("temperature",
                                                self.eps / 5.0 if temperature is None else temperature)
        self.marginal = bool(marginal)

    def extra_repr(self) -> str:
        return f"eps={self.eps}, temperature={self.temperature}, marginal={self.marginal}"

    @property
    def noise(self) -> float:
        """The noise level the critic assumes: ``eps``."""
        return self.eps

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores ``T(a_i, b_j)``, shape ``(n, m)``, for ``a (n, d)`` and ``b (m, d)``."""
        if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
            raise ValueError(f"expected shapes a (n, d) and b (m, d), got {tuple(a.shape)} and {tuple(b.shape)}")
        e, t = self.eps, self.temperature
        scores = _SmoothedBox.apply(a, b, e, t)  # the sum of the two log-sigmoids, (n, m)
        if self.marginal:
            length = torch.minimum(b + e, torch.ones_like(b)) - torch.maximum(b - e, torch.zeros_like(b))
            scores = scores - torch.log(length.clamp_min(t)).sum(-1)[None, :]
        return scores


CHANNEL_CRITICS = (GaussianChannelCritic, UniformChannelCritic)
"""The parameter-free critics that assume a NINE channel (subclasses included)."""
