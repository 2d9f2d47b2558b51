r"""Gaussian NINE: the noise-injected normalized encoder head and the Gaussian channel critic.

NINE (Butakov et al., ICLR 2025, arXiv:2410.06993) normalizes each coordinate of an embedding to
zero mean and unit variance and adds independent noise ``Z ~ N(0, sigma^2 I)``. The InfoMax
objective is left unchanged. Under this power constraint

.. math:: I\big(f(X'); f(X) + Z\big) \le \tfrac{d}{2} \log\big(1 + 1/\sigma^2\big) ,

the capacity of a Gaussian channel, with equality only when ``f(X) ~ N(0, I)``. Maximizing the
MI therefore pushes the embedding's distribution towards the standard normal prior.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_positive_float, check_positive_int


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


class GaussianNINEHead(nn.Module):
    r"""Normalization + Gaussian noise: the head that turns an encoder into a Gaussian NINE.

    ``forward`` standardizes each coordinate, :math:`\hat z_k = (z_k - \mu_k) / \sqrt{v_k + \epsilon}`,
    with a batch normalization **without** affine parameters: batch statistics in train mode,
    running statistics in eval mode. The head has no trainable parameters, so the encoder cannot
    undo the power constraint.

    The noise is *not* added in ``forward``: it is injected by :meth:`channel`. The course
    estimates ``I(f(X'); f(X) + Z)`` with a clean branch and a noisy branch, so the head is put
    at the end of the encoder and its :meth:`channel` is handed to the training loop, which
    applies it to the second branch only::

        encoder = nn.Sequential(ConvEncoder(8), GaussianNINEHead(8, sigma=0.3))
        train_infomax(encoder, GaussianChannelCritic(0.3), x, channel=encoder[-1].channel)

    Shapes: ``(n, dim) -> (n, dim)``. In train mode ``n >= 2`` (batch statistics need it).

    Parameters
    ----------
    dim : int
        Embedding size ``d``, ``>= 1``.
    sigma : float
        Noise standard deviation, finite and ``> 0``.
    momentum : float
        Momentum of the running statistics, in ``(0, 1]`` (see ``nn.BatchNorm1d``).
    eps : float
        Added to the variance before the square root, ``> 0``. The default is far below
        ``nn.BatchNorm1d``'s ``1e-5`` because freshly initialised encoders can have output
        variances of that order (``ConvEncoder`` on digits: about ``5e-6``), and ``1e-5`` would
        then leave the output with a standard deviation near 0.6 instead of 1.
    """

    def __init__(self, dim: int, sigma: float, momentum: float = 0.1, eps: float = 1e-8) -> None:
        super().__init__()
        check_positive_int("dim", dim)
        sigma = check_positive_float("sigma", sigma)
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}")
        eps = check_positive_float("eps", eps)
        self.dim = dim
        self.sigma = sigma
        self.norm = nn.BatchNorm1d(dim, eps=eps, affine=False, momentum=float(momentum))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, sigma={self.sigma}"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Standardize each coordinate of ``z`` (shape ``(n, dim)``); no noise is added here."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of shape (n, {self.dim}), got {tuple(z.shape)}")
        return self.norm(z)

    def channel(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""The Gaussian channel: ``z + sigma * eps``, ``eps ~ N(0, I)``, in train mode only.

        The noise is drawn on the CPU with ``generator`` (so runs are reproducible on any device)
        and moved to ``z.device``. In eval mode ``z`` is returned unchanged: embeddings for
        evaluation are the clean, normalized ones.

        Parameters
        ----------
        z : torch.Tensor
            Normalized embeddings, shape ``(n, dim)``.
        generator : torch.Generator, optional
            CPU generator for the noise.

        Returns
        -------
        torch.Tensor
            Shape ``(n, dim)``.
        """
        if not self.training:
            return z
        eps = torch.randn(z.shape, generator=generator, device="cpu", dtype=z.dtype).to(z.device)
        return z + self.sigma * eps

    def capacity(self) -> float:
        r"""The MI ceiling ``(d/2) log(1 + 1/sigma^2)`` in nats; see :func:`gaussian_capacity`."""
        return gaussian_capacity(self.dim, self.sigma)


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
    side, the way :func:`nine_utils.train_infomax` calls the critic), and that term does **not**
    cancel there: the estimate then falls short of the capacity (by about 0.13 nats at
    ``sigma = 1``, ``d = 1``), and the maximizer of the objective is no longer ``N(0, I)``. It
    cancels only in a softmax over ``i`` (``infonce(scores.T)``). NWJ and DV need the full
    ratio, constant included. Hence the default ``marginal=True``.

    Whatever the true input distribution, every bound computed with this critic stays a lower
    bound on ``I(A; B) <= (d/2) log(1 + 1/sigma^2)``; at the target it is tight as ``n`` grows.

    Shapes: ``a (n, d)`` clean embeddings, ``b (m, d)`` noisy ones -> scores ``(n, m)``.

    Parameters
    ----------
    sigma : float
        Noise standard deviation of the channel, finite and ``> 0``.
    marginal : bool
        Include the ``-log p(b_j)`` term of the target (default). ``False`` gives the bare
        log-likelihood, for comparison.
    """

    def __init__(self, sigma: float, marginal: bool = True) -> None:
        super().__init__()
        self.sigma = check_positive_float("sigma", sigma)
        self.marginal = bool(marginal)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, marginal={self.marginal}"

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
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


# --------------------------------------------------------------------------------------------
# Uniform NINE
# --------------------------------------------------------------------------------------------

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


class UniformNINEHead(nn.Module):
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

    Noise enters through :meth:`channel`, applied by the training loop to the second branch only
    (``train_infomax(..., channel=head.channel)``): in train mode it returns ``u + Z`` with
    ``Z ~ U[-eps, eps]^d``; in eval mode ``u`` unchanged.

    Shapes: ``(n, dim) -> (n, dim)`` with values in ``[0, 1]``.

    Parameters
    ----------
    dim : int
        Embedding size ``d``, ``>= 1``.
    eps : float
        Half-width of the uniform noise, finite and ``> 0``.
    momentum : float
        Momentum of the running statistics, in ``(0, 1]``.
    """

    def __init__(self, dim: int, eps: float, momentum: float = 0.1) -> None:
        super().__init__()
        check_positive_int("dim", dim)
        self.eps = check_positive_float("eps", eps)
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}")
        self.dim = dim
        self.norm = nn.BatchNorm1d(dim, eps=1e-8, affine=False, momentum=float(momentum))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Squash ``z`` (shape ``(n, dim)``) into ``[0, 1]``; no noise is added here."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of shape (n, {self.dim}), got {tuple(z.shape)}")
        return torch.special.ndtr(self.norm(z))

    def channel(self, u: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``u + Z``, ``Z ~ U[-eps, eps]^d`` drawn on the CPU with ``generator``, in train mode only."""
        if not self.training:
            return u
        noise = torch.rand(u.shape, generator=generator, device="cpu", dtype=u.dtype).to(u.device)
        return u + self.eps * (2.0 * noise - 1.0)

    def capacity(self) -> float:
        r"""The MI ceiling ``d log(1 + 1/(2 eps))`` in nats; see :func:`uniform_capacity`."""
        return uniform_capacity(self.dim, self.eps)


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
