r"""The NINE heads: a parameter-free normalization at the end of an encoder, and its noisy channel.

:class:`GaussianNINEHead` standardizes each coordinate and owns a Gaussian channel;
:class:`UniformNINEHead` squashes each coordinate into ``[0, 1]`` and owns a uniform channel. Each
knows its prior, capacity and channel critic (:mod:`nine_utils.channels`). Finding the head in
an encoder, checking a critic against it and recalibrating its statistics are in
:mod:`nine_utils.assembly`.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_positive_float, check_positive_int
from .channels import (
    NOISE_PARAMETER,
    FusedGaussianChannelCritic,
    GaussianChannelCritic,
    UniformChannelCritic,
    gaussian_capacity,
    uniform_capacity,
)
from .seeds import require_generator


def _check_momentum(momentum: float) -> float:
    try:
        m = float(momentum)
    except (TypeError, ValueError):
        raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}") from None
    if not 0.0 < m <= 1.0:
        raise ValueError(f"momentum must lie in (0, 1], got {momentum!r}")
    return m


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

    def _build(self, dim: int, noise: float, momentum: float, bn_eps: float) -> None:
        """Check the arguments, then set ``dim``, the noise level (``sigma`` or ``eps``) and ``norm``."""
        check_positive_int("dim", dim)
        param = NOISE_PARAMETER[self.family]
        noise = check_positive_float(param, noise)
        momentum = _check_momentum(momentum)
        bn_eps = check_positive_float("bn_eps", bn_eps)
        self.dim = dim
        setattr(self, param, noise)
        self.norm = nn.BatchNorm1d(dim, eps=bn_eps, affine=False, momentum=momentum)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, {NOISE_PARAMETER[self.family]}={self.noise}"

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
        if stats is not None and z.dtype != stats.dtype and not torch.is_autocast_enabled(z.device.type):
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
        self._build(dim, sigma, momentum, bn_eps)

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
        self._build(dim, eps, momentum, bn_eps)

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
