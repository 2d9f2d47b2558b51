r"""NINE: the noise-injected normalized encoder heads, their channels, critics and capacities.

NINE (Butakov et al., ICLR 2025, arXiv:2410.06993) ends an encoder with a head that fixes the
scale of each coordinate and adds independent noise on the way to the critic. The InfoMax
objective is left unchanged. The MI through the noisy channel is then capped by a *capacity*,
reached only when the embedding follows the channel's prior, so maximizing the MI pushes the
embedding towards that prior.

Two families, one head and one critic each:

- **Gaussian**: :class:`GaussianNINEHead` standardizes each coordinate (zero mean, unit
  variance) and its channel adds ``Z ~ N(0, sigma^2 I)``. Capacity
  ``(d/2) log(1 + 1/sigma^2)`` (:func:`gaussian_capacity`), reached by ``N(0, I)`` (prior
  ``"normal"``). Critic: :class:`GaussianChannelCritic` or the faster
  :class:`FusedGaussianChannelCritic`.
- **Uniform**: :class:`UniformNINEHead` squashes each coordinate into ``[0, 1]`` and its
  channel adds ``Z ~ U[-eps, eps]^d``. Bound ``d log(1 + 1/(2 eps))``
  (:func:`uniform_capacity`); prior ``"uniform"``. Critic: :class:`UniformChannelCritic`.

A head knows its matching pieces, so they need not be assembled by hand::

    encoder = nn.Sequential(ConvEncoder(8), GaussianNINEHead(8, sigma=0.3))
    head = find_head(encoder)
    train_infomax(encoder, head.critic(), x)   # the head's channel is applied automatically
    head.capacity(), head.prior                # 8 * 0.5 * log(1 + 1/0.09), "normal"

After training, :func:`recalibrate` makes the heads' eval-mode statistics exact over clean data
(:func:`nine_utils.training.train_infomax` does it by default).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ._arrays import ArrayLike, as_tensor
from ._checks import check_positive_float, check_positive_int
from .seeds import require_generator

NOISE_PARAMETER = {"gaussian": "sigma", "uniform": "eps"}
"""The noise families of NINE heads and channel critics, and the name of the attribute holding
each one's noise level: ``sigma`` (standard deviation of the Gaussian noise) or ``eps``
(half-width of the uniform noise)."""


def _check_momentum(momentum: float) -> float:
    try:
        m = float(momentum)
    except (TypeError, ValueError):
        raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}") from None
    if not 0.0 < m <= 1.0:
        raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}")
    return m


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


_BOX_CHUNK = 1 << 16
"""Entries of the ``(d, rows, m)`` block that :class:`_SmoothedBox` computes at a time on a CPU."""


def _box_rows(n: int, m: int, d: int, device: torch.device) -> int:
    """Rows of ``a`` per block: a block of about 256 KiB stays in a CPU core's cache; other devices take all ``n``."""
    return max(1, _BOX_CHUNK // max(1, m * d)) if device.type == "cpu" else n


class _SmoothedBox(torch.autograd.Function):
    r"""``sum_k log sigma((u_k + eps)/tau) + log sigma((eps - u_k)/tau)``, ``u = b_j - a_i``, fused.

    The two log-sigmoids of :class:`UniformChannelCritic` make an ``(n, m, d)`` tensor, and
    autograd through them costs about four transcendental functions per entry and ten passes
    over memory. With ``v = |u| / tau``, ``c = eps / tau`` and ``w = v - c`` the sum is

    .. math:: f(u) = -\log D, \qquad D = (1 + e^{w})(1 + e^{-w - 2c})
              = 1 + e^{-2c} + e^{w} + e^{-w - 2c},

    two ``exp`` and one ``log`` per entry, and its derivative reuses them:
    ``f'(u) = -\operatorname{sign}(u) (e^{w} - e^{-w - 2c}) / (\tau D)``. Both exponents stay
    bounded: ``-w - 2c = -v - c <= -c`` cannot overflow (and its underflow to 0 is harmless,
    since ``D >= 1``), and far outside the box (``w > 30``) ``f = -w`` to within ``e^{-30}``, so
    ``w`` is clamped at 30 and the linear part added back. So the scores are finite for any
    ``tau``, in float32 too.

    On a CPU the ``(d, n, m)`` tensor is computed in blocks of rows of ``a`` that fit in a
    core's cache (:func:`_box_rows`), which roughly halves the time of the whole-tensor form:
    on one thread, forward and backward with InfoNCE take about 16 ms instead of 30 at
    n = m = 512, d = 4, ``tau = eps / 5``, and 5 ms instead of 10 at n = m = 256, d = 8,
    ``tau = eps``; a whole training step of notebook 05's uniform NINE (encoder included) about
    36 ms instead of 52, and of notebook 04's about 15 ms instead of 17 (one process, runs
    alternated). ``tests/test_uniform_critic.py`` checks values and gradients against autograd
    through the plain formula, over several blocks. Differentiable once (no gradient of the
    gradient).
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, eps: float, tau: float) -> torch.Tensor:
        c = eps / tau
        n, d = a.shape
        m = b.shape[0]
        a_t, b_t = a.t().contiguous(), b.t().contiguous()  # (d, n), (d, m)
        scores = torch.empty(n, m, dtype=a.dtype, device=a.device)
        slope = torch.empty(d, n, m, dtype=a.dtype, device=a.device)  # d f / d u, saved for backward
        rows = _box_rows(n, m, d, a.device)
        for i in range(0, n, rows):
            j = min(n, i + rows)
            u = b_t[:, None, :] - a_t[:, i:j, None]  # (d, rows, m)
            w = u.abs().div_(tau).sub_(c)
            linear = torch.clamp(w, min=30.0).sub_(30.0)  # > 0 only far outside the box
            w.clamp_(max=30.0)
            exp_minus = torch.neg(w).sub_(2.0 * c).exp_()  # e^(-w - 2c)
            exp_plus = w.exp_()  # e^w, in place: w is not needed again
            denominator = exp_plus + exp_minus
            denominator.add_(1.0 + math.exp(-2.0 * c))
            # -sign(u) (e^w - e^(-w - 2c)) / (tau D); the numerator is >= 0, so copysign gives sign(u)
            torch.div(exp_plus.sub_(exp_minus), denominator, out=slope[:, i:j])
            slope[:, i:j].copysign_(u).mul_(-1.0 / tau)
            torch.sum(denominator.log_().add_(linear), 0, out=scores[i:j])
        ctx.save_for_backward(slope)
        return scores.neg_()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        (slope,) = ctx.saved_tensors
        d, n, m = slope.shape
        grad_a = grad.new_empty(n, d) if ctx.needs_input_grad[0] else None  # -sum_j slope_ij g_ij
        grad_b = grad.new_zeros(m, d) if ctx.needs_input_grad[1] else None  # sum_i slope_ij g_ij
        rows = _box_rows(n, m, d, grad.device)
        for i in range(0, n, rows):
            j = min(n, i + rows)
            weighted = slope[:, i:j] * grad[i:j]  # (d, rows, m)
            if grad_a is not None:
                grad_a[i:j] = weighted.sum(2).t().neg_()
            if grad_b is not None:
                grad_b.add_(weighted.sum(1).t())
        return grad_a, grad_b, None, None


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


# --------------------------------------------------------------------------------------------
# Heads
# --------------------------------------------------------------------------------------------

class NINEHead(nn.Module):
    """Base class of the NINE heads: a parameter-free normalization and a noisy channel.

    Subclasses set :attr:`family` and :attr:`prior` and implement ``forward``, :meth:`channel`,
    :meth:`capacity` and :meth:`critic`. :func:`find_head` finds any subclass in an encoder.

    Attributes
    ----------
    dim : int
        Embedding size ``d``.
    norm : nn.BatchNorm1d
        The normalization, without affine parameters.
    """

    family: str = ""
    dim: int
    norm: nn.BatchNorm1d

    @property
    def prior(self) -> str:
        """Name of the prior the head pushes embeddings to, as accepted by ``get_prior``."""
        raise NotImplementedError

    @property
    def noise(self) -> float:
        """The noise level of the channel (``sigma`` or ``eps``, by family)."""
        return float(getattr(self, NOISE_PARAMETER[self.family]))

    def _check_input(self, z: torch.Tensor) -> None:
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.dim:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"expected embeddings of shape (n, {self.dim}), got {shape}")
        stats = self.norm.running_mean
        if stats is not None and z.dtype != stats.dtype:
            raise ValueError(f"the embeddings are {z.dtype} but the head's statistics are {stats.dtype}: "
                             f"convert one to the other (z.to({stats.dtype}), or head.to({z.dtype}) with the "
                             "encoder before training)")

    def channel(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The noisy channel, ``(n, dim) -> (n, dim)``, applied in train mode only."""
        raise NotImplementedError

    def capacity(self) -> float:
        """The MI ceiling of the channel, in nats."""
        raise NotImplementedError

    def critic(self) -> nn.Module:
        """The parameter-free channel critic with this head's noise level."""
        raise NotImplementedError


class GaussianNINEHead(NINEHead):
    r"""Normalization + Gaussian noise: the head that turns an encoder into a Gaussian NINE.

    ``forward`` standardizes each coordinate, :math:`\hat z_k = (z_k - \mu_k) / \sqrt{v_k + \epsilon}`,
    with a batch normalization **without** affine parameters: batch statistics in train mode,
    running statistics in eval mode. The head has no trainable parameters, so the encoder cannot
    undo the power constraint.

    The noise is *not* added in ``forward``: it is injected by :meth:`channel`. The course
    estimates ``I(f(X'); f(X) + Z)`` with a clean branch and a noisy branch, so the head is put
    at the end of the encoder, and the training loop finds it there and applies its
    :meth:`channel` to the second branch only::

        encoder = nn.Sequential(ConvEncoder(8), GaussianNINEHead(8, sigma=0.3))
        train_infomax(encoder, encoder[-1].critic(), x)

    Shapes: ``(n, dim) -> (n, dim)``. In train mode ``n >= 2`` (batch statistics need it).

    Parameters
    ----------
    dim : int
        Embedding size ``d``, ``>= 1``.
    sigma : float
        Noise standard deviation, finite and ``> 0``.
    momentum : float
        Momentum of the running statistics, in ``(0, 1]`` (see ``nn.BatchNorm1d``).
    bn_eps : float
        Added to the variance before the square root, finite and ``> 0`` (not a noise level). The
        default is far below ``nn.BatchNorm1d``'s ``1e-5`` because freshly initialised encoders
        can have output variances of that order (``ConvEncoder`` on digits: about ``5e-6``), and
        ``1e-5`` would then leave the output with a standard deviation near 0.6 instead of 1.
    eps : no longer accepted
        The old name of ``bn_eps``. It read like the uniform head's noise half-width
        (``GaussianNINEHead(4, sigma=0.5, eps=0.5)`` trained with output std 0.8), so passing it
        is a ``ValueError`` that says which name to use.

    Attributes
    ----------
    family : str
        ``"gaussian"``.
    sigma : float
        The noise standard deviation.
    """

    family = "gaussian"

    def __init__(self, dim: int, sigma: float, momentum: float = 0.1, bn_eps: float = 1e-8, *,
                 eps: float | None = None) -> None:
        super().__init__()
        if eps is not None:
            raise ValueError(f"GaussianNINEHead has no eps (got eps={eps!r}): its noise level is sigma, and the batch "
                             "norm's epsilon is bn_eps (eps is the noise half-width of UniformNINEHead)")
        check_positive_int("dim", dim)
        sigma = check_positive_float("sigma", sigma)
        momentum = _check_momentum(momentum)
        bn_eps = check_positive_float("bn_eps", bn_eps)
        self.dim = dim
        self.sigma = sigma
        self.norm = nn.BatchNorm1d(dim, eps=bn_eps, affine=False, momentum=momentum)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, sigma={self.sigma}"

    @property
    def prior(self) -> str:
        """``"normal"``: the channel's capacity is reached by ``N(0, I_d)``."""
        return "normal"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Standardize each coordinate of ``z`` (shape ``(n, dim)``); no noise is added here."""
        self._check_input(z)
        return self.norm(z)

    def channel(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""The Gaussian channel: ``z + sigma * eps``, ``eps ~ N(0, I)``, in train mode only.

        The noise is drawn on the CPU with ``generator`` (so runs are reproducible on any device)
        and moved to ``z.device``; torch's global generator is never used. In eval mode ``z`` is
        returned unchanged: embeddings for evaluation are the clean, normalized ones.

        Parameters
        ----------
        z : torch.Tensor
            Normalized embeddings, shape ``(n, dim)``.
        generator : torch.Generator
            CPU generator for the noise; required in train mode (``ValueError`` without it).

        Returns
        -------
        torch.Tensor
            Shape ``(n, dim)``.
        """
        if not self.training:
            return z
        require_generator(generator, f"{type(self).__name__}.channel")
        eps = torch.randn(z.shape, generator=generator, device="cpu", dtype=z.dtype).to(z.device)
        return z + self.sigma * eps

    def capacity(self) -> float:
        r"""The MI ceiling ``(d/2) log(1 + 1/sigma^2)`` in nats; see :func:`gaussian_capacity`."""
        return gaussian_capacity(self.dim, self.sigma)

    def critic(self, fused: bool = True, marginal: bool = True) -> GaussianChannelCritic:
        """The parameter-free channel critic with this head's ``sigma``.

        Parameters
        ----------
        fused : bool
            :class:`FusedGaussianChannelCritic` (default, faster) or :class:`GaussianChannelCritic`
            (the same scores).
        marginal : bool
            Include the marginal term (default); see :class:`GaussianChannelCritic`.

        Returns
        -------
        GaussianChannelCritic
        """
        cls = FusedGaussianChannelCritic if fused else GaussianChannelCritic
        return cls(self.sigma, marginal=marginal)


class UniformNINEHead(NINEHead):
    r"""Squashing into ``[0, 1]`` + uniform noise: the head of uniform NINE.

    ``forward`` maps each coordinate to :math:`u_k = \Phi\big((z_k - \mu_k)/\sqrt{v_k + \epsilon}\big)`:
    a batch normalization without affine parameters (batch statistics in train mode, running
    statistics in eval mode), then the standard normal CDF :math:`\Phi`.

    Why this squashing: the normalization puts every coordinate in the range where
    :math:`\Phi` is far from saturated whatever the encoder's scale, so gradients stay alive; and
    :math:`\Phi` is the probability integral transform of ``N(0, 1)``, so a coordinate that the
    encoder makes Gaussian comes out exactly uniform -- uniform NINE and Gaussian NINE are the
    same geometry seen through a fixed map. (A sigmoid would work too, but it is the PIT of the
    logistic distribution instead, and saturates faster.)

    Noise enters through :meth:`channel`, which the training loop applies to the second branch
    only: in train mode it returns ``u + Z`` with ``Z ~ U[-eps, eps]^d``; in eval mode ``u``
    unchanged.

    Shapes: ``(n, dim) -> (n, dim)`` with values in ``[0, 1]``.

    Parameters
    ----------
    dim : int
        Embedding size ``d``, ``>= 1``.
    eps : float
        Half-width of the uniform noise, finite and ``> 0``.
    momentum : float
        Momentum of the running statistics, in ``(0, 1]``.
    bn_eps : float
        Added to the variance before the square root, finite and ``> 0`` (as in
        :class:`GaussianNINEHead`; not the noise).

    Attributes
    ----------
    family : str
        ``"uniform"``.
    eps : float
        The noise half-width.
    """

    family = "uniform"

    def __init__(self, dim: int, eps: float, momentum: float = 0.1, bn_eps: float = 1e-8) -> None:
        super().__init__()
        check_positive_int("dim", dim)
        eps = check_positive_float("eps", eps)
        momentum = _check_momentum(momentum)
        bn_eps = check_positive_float("bn_eps", bn_eps)
        self.dim = dim
        self.eps = eps
        self.norm = nn.BatchNorm1d(dim, eps=bn_eps, affine=False, momentum=momentum)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"

    @property
    def prior(self) -> str:
        """``"uniform"``: the target of the squashed embedding is ``U[0, 1]^d``."""
        return "uniform"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Squash ``z`` (shape ``(n, dim)``) into ``[0, 1]``; no noise is added here."""
        self._check_input(z)
        return torch.special.ndtr(self.norm(z))

    def channel(self, u: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``u + Z``, ``Z ~ U[-eps, eps]^d`` drawn on the CPU with ``generator``, in train mode only.

        ``generator`` (a CPU ``torch.Generator``) is required in train mode; torch's global
        generator is never used.

        Shapes: ``(n, dim) -> (n, dim)``.
        """
        if not self.training:
            return u
        require_generator(generator, f"{type(self).__name__}.channel")
        noise = torch.rand(u.shape, generator=generator, device="cpu", dtype=u.dtype).to(u.device)
        return u + self.eps * (2.0 * noise - 1.0)

    def capacity(self) -> float:
        r"""The MI ceiling ``d log(1 + 1/(2 eps))`` in nats; see :func:`uniform_capacity`."""
        return uniform_capacity(self.dim, self.eps)

    def critic(self, temperature: float | None = None, marginal: bool = True) -> UniformChannelCritic:
        """The parameter-free channel critic with this head's ``eps``.

        Parameters
        ----------
        temperature : float, optional
            Width of the smoothed box edges; default ``eps / 5``. See :class:`UniformChannelCritic`.
        marginal : bool
            Include the boundary term (default).

        Returns
        -------
        UniformChannelCritic
        """
        return UniformChannelCritic(self.eps, temperature=temperature, marginal=marginal)


# --------------------------------------------------------------------------------------------
# Finding the head, checking a critic against it
# --------------------------------------------------------------------------------------------

def _describe(module: object) -> str:
    """A one-line description of a module, e.g. ``"GaussianNINEHead(dim=4, sigma=0.5)"``, for messages.

    A bound method of a module (e.g. ``head.channel``) is described as ``"<module>.channel"``.
    """
    owner = getattr(module, "__self__", None)
    if isinstance(owner, nn.Module):
        return f"{_describe(owner)}.{getattr(module, '__name__', 'method')}"
    if isinstance(module, nn.Module):
        return f"{type(module).__name__}({module.extra_repr()})"
    return repr(module)


def find_head(encoder: nn.Module) -> NINEHead | None:
    """The NINE head of ``encoder``, or ``None`` if it has none.

    The head must be the encoder's last layer: the encoder itself, or the last module of an
    ``nn.Sequential`` (looked up recursively through nested ``nn.Sequential``). A custom module
    that is not an ``nn.Sequential`` and holds exactly one head is accepted as it is: its
    ``forward`` is trusted to end with the head.

    Parameters
    ----------
    encoder : nn.Module
        The encoder.

    Returns
    -------
    NINEHead or None

    Raises
    ------
    ValueError
        If the encoder holds more than one head, or a head that is not its last layer (e.g.
        ``nn.Sequential(head, nn.Linear(4, 4))``: the linear layer would undo the normalization).
    """
    if not isinstance(encoder, nn.Module):
        raise ValueError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    heads = [m for m in encoder.modules() if isinstance(m, NINEHead)]
    if not heads:
        return None
    if len(heads) > 1:
        raise ValueError(f"the encoder holds {len(heads)} NINE heads ({', '.join(map(_describe, heads))}); "
                         "it must hold at most one, as its last layer")
    head = heads[0]
    last = encoder
    while isinstance(last, nn.Sequential) and len(last) > 0:
        last = last[-1]
    if last is head:
        return head
    if not isinstance(last, nn.Sequential) and any(m is head for m in last.modules()):
        return head  # a custom module holding the head
    raise ValueError(f"{_describe(head)} must be the encoder's last layer, but the encoder ends with "
                     f"{_describe(last)}: layers after the head undo its normalization and bypass its channel")


def check_critic(head: NINEHead | None, critic: nn.Module) -> None:
    """Check that a channel critic assumes the channel of ``head``; learned critics always pass.

    A channel critic (:data:`CHANNEL_CRITICS`) is the log density ratio of one channel: it is
    correct only on the channel of a head of the same family and noise level.

    Parameters
    ----------
    head : NINEHead or None
        The encoder's head (:func:`find_head`).
    critic : nn.Module
        The critic.

    Raises
    ------
    ValueError
        If ``critic`` is a channel critic and ``head`` is ``None``, of another family, or of
        another noise level (``sigma`` or ``eps``); the message names both values.

    Notes
    -----
    :func:`nine_utils.training.train_infomax` skips the ``head is None`` case when it is given an
    explicit ``channel`` callable: a channel critic on a noise of the user's own (e.g. the course's
    no-normalization ablation) is deliberate, not a forgotten head.
    """
    if not isinstance(critic, CHANNEL_CRITICS):
        return
    param = NOISE_PARAMETER[critic.family]
    if head is None:
        raise ValueError(f"{_describe(critic)} is the critic of a {critic.family} NINE channel, but the encoder has "
                         f"no NINE head: end the encoder with a "
                         f"{'GaussianNINEHead' if critic.family == 'gaussian' else 'UniformNINEHead'}"
                         f"(d, {param}={critic.noise}), or use a learned critic (SeparableCritic, "
                         "ConcatCritic); to score a noise of your own without a head, pass it to "
                         "train_infomax as channel=")
    if head.family != critic.family:
        raise ValueError(f"the critic assumes a {critic.family} channel ({_describe(critic)}) but the encoder's head "
                         f"is {head.family} ({_describe(head)}); use head.critic() for the matching critic")
    if not math.isclose(critic.noise, head.noise, rel_tol=1e-9, abs_tol=0.0):
        raise ValueError(f"the critic's {param}={critic.noise} differs from the head's {param}={head.noise} "
                         f"({_describe(critic)} with {_describe(head)}); use head.critic() for the matching critic")


# --------------------------------------------------------------------------------------------
# Recalibration of batch-norm statistics
# --------------------------------------------------------------------------------------------

def _as_inputs(x: ArrayLike, name: str = "x") -> torch.Tensor:
    """Encoder inputs as a tensor: float32 (:func:`~nine_utils._arrays.as_tensor`), except that an
    integer or boolean tensor (row indices, token ids) is returned unchanged.

    Raises
    ------
    ValueError
        If the inputs hold NaN or infinite values (they would train NaN weights silently).
    """
    if isinstance(x, torch.Tensor) and not (x.is_floating_point() or x.is_complex()):
        return x
    t = as_tensor(x, name)
    if not bool(torch.isfinite(t).all()):
        bad = (~torch.isfinite(t)).reshape(t.shape[0], -1).any(1).nonzero()[0].item() if t.dim() else 0
        raise ValueError(f"{name} contains NaN or infinite values (the first in row {bad}); "
                         "clean or drop those rows before training or embedding")
    return t


def _module_device(module: nn.Module) -> torch.device:
    """Device of the first parameter or buffer of ``module`` (the CPU if it has none)."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


def recalibrate(encoder: nn.Module, x: ArrayLike, batch_size: int = 1024) -> int:
    r"""Re-estimate the statistics of the encoder's NINE head on clean inputs ``x``.

    Training leaves the head's running statistics an exponential average over the last few
    (augmented) batches, so an eval-mode embedding is normalized only approximately. This resets
    them and passes ``x`` once through the encoder, without gradients, with a cumulative average
    (``momentum=None``, as ``torch.optim.swa_utils.update_bn``). Only the head's normalization is
    in train mode during that pass; the rest of the encoder runs in **eval mode**, as it will be
    used: dropout is off and a backbone's batch-norm layers (a frozen backbone's included) keep
    their running statistics and are left unchanged. ``x`` is cut into
    :math:`k = \max(1, \lfloor N / \text{batch\_size} \rfloor)` consecutive batches
    :math:`B_1, \dots, B_k` whose sizes differ by at most one; afterwards the head holds

    .. math:: \hat\mu = \frac1k \sum_{j=1}^k \operatorname{mean}(h(B_j)), \qquad
              \hat v = \frac1k \sum_{j=1}^k \operatorname{var}_{\text{unbiased}}(h(B_j)) ,

    with ``h`` the head's input. Parameters are untouched; momenta, the train/eval mode of every
    submodule and the encoder's device are as they were. Torch's global random state is the same
    after the call as before it.

    Parameters
    ----------
    encoder : nn.Module
        Holds zero or one NINE head (:func:`find_head`), e.g. ends with a :class:`GaussianNINEHead`.
    x : array-like or torch.Tensor
        Clean inputs, shape ``(N, ...)``, ``N >= 2``, finite; no augmentation. Converted to
        float32 (an integer tensor is kept as it is) and moved batch by batch to the encoder's device.
    batch_size : int
        Approximate batch size, ``>= 2``.

    Returns
    -------
    int
        Number of normalization layers updated: 1 with a head, 0 without one (the encoder is then
        left unchanged and nothing runs).

    Raises
    ------
    ValueError
        For ``batch_size < 2``, fewer than 2 inputs, non-finite inputs, or an encoder with more
        than one head or a head that is not its last layer, before anything runs.
    """
    check_positive_int("batch_size", batch_size, minimum=2)
    x = _as_inputs(x, "x")
    if x.dim() < 1 or x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 inputs, got shape {tuple(x.shape)}")
    head = find_head(encoder)
    if head is None or not head.norm.track_running_stats:
        return 0
    norm = head.norm
    modes = [(m, m.training) for m in encoder.modules()]
    momentum = norm.momentum
    device = _module_device(encoder)
    batches = torch.tensor_split(x, max(1, x.shape[0] // batch_size))
    forked = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=forked):
            encoder.eval()
            norm.reset_running_stats()
            norm.momentum = None
            norm.train()
            for batch in batches:
                encoder(batch.to(device))
    finally:
        norm.momentum = momentum
        for m, mode in modes:
            m.training = mode
    return 1
