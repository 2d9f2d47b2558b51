r"""Adversarial prior matching: the distribution-matching term of Deep InfoMax (Hjelm et al., 2019).

The original DIM matches its embedding to a prior the way an adversarial autoencoder does: a
discriminator ``D`` learns to tell prior samples ``y ~ P`` from embeddings ``z = f(x)``, and the
encoder gets an extra loss for being told apart. NINE claims that this second network and
second loss are unnecessary; this module is the baseline to compare against. It plugs into
:func:`nine_utils.train_infomax` through its ``regularizer`` argument::

    reg = AdversarialPriorMatching(dim=8, prior="normal", gamma=1.0)
    train_infomax(encoder, critic, x, augment, regularizer=reg)
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ._checks import check_nonnegative_float, check_positive_float, check_positive_int
from .models import mlp
from .priors import Prior, get_prior
from .seeds import SeedLike, torch_generator

_U_EPS = 1e-12  # keeps uniform draws off 0 and 1 before the quantile function


def _check_quantiles(prior: Prior, dim: int) -> Prior:
    """``prior`` if its quantile function gives finite draws of shape ``(n, dim)``, else ``ValueError``."""
    u = np.array([[0.25] * dim, [0.5] * dim, [0.75] * dim])
    try:
        y = np.asarray(prior.ppf(u), dtype=np.float64)
    except (ValueError, NotImplementedError, TypeError, AttributeError) as exc:
        raise ValueError(f"prior {prior.name!r} cannot be used: AdversarialPriorMatching draws prior samples through "
                         f"the prior's quantile function, and it has none ({exc}). Use a factorized prior "
                         "('normal', 'uniform', a scipy.stats or torch distribution), or map a matched embedding "
                         "to this prior with a flow (nine_utils.priors.fit_flow)") from None
    if y.shape != u.shape or not np.all(np.isfinite(y)):
        raise ValueError(f"prior {prior.name!r} cannot be used: its quantile function gives {y!r} for levels "
                         f"0.25, 0.5, 0.75 in {dim} dimensions, not finite draws of shape (n, {dim})")
    return prior


class AdversarialPriorMatching:
    r"""A discriminator that learns on every call, and the encoder's loss against it.

    Each call with embeddings ``z`` (shape ``(n, dim)``):

    1. draws ``y ~ P`` of the same shape with ``generator``, the training loop's torch generator
       (uniforms pushed through the prior's quantile function), and takes one Adam step of the
       discriminator ``D`` (an MLP with its own optimizer) on the binary cross-entropy with logits

       .. math:: L_D = \mathrm{BCE}(D(y), 1) + \mathrm{BCE}(D(z_{\text{detached}}), 0) ;

    2. returns ``gamma`` times the non-saturating generator loss of the encoder,

       .. math:: L_G = \gamma\, \mathrm{BCE}(D(z), 1) = -\gamma\, \mathbb{E}[\log \sigma(D(z))] ,

       differentiable with respect to ``z`` only (``D``'s parameters are detached, so the
       encoder's backward pass leaves them alone).

    ``D`` is created on the CPU and moved to ``z``'s device and dtype on the first call; if they
    change later, ``D`` follows and its optimizer starts afresh. Weight initialisation uses
    torch's global generator, like every module of the package: seed before building it.

    Parameters
    ----------
    dim : int
        Embedding size, ``>= 1``.
    prior : str or Prior
        ``"normal"``, ``"uniform"`` or a :class:`nine_utils.priors.Prior` with a quantile function
        (a :class:`~nine_utils.priors.SampledPrior` such as ``banana_prior()`` is refused here,
        at construction, not at the first training step).
    gamma : float
        Weight of the encoder's loss, finite and ``>= 0``. ``0`` still trains ``D``, as a probe.
    hidden : int
        Width of ``D``'s two hidden layers.
    lr : float
        ``D``'s Adam learning rate, ``> 0``.

    Attributes
    ----------
    discriminator : nn.Module
        ``(n, dim) -> (n, 1)`` logits; ``> 0`` means "prior". Its size is the cost NINE does
        without: ``count_parameters(reg.discriminator)``.
    disc_loss, gen_loss : list of float
        ``L_D`` and ``L_G / gamma`` (the unweighted BCE) at every call.
    """

    def __init__(self, dim: int, prior: str | Prior = "normal", gamma: float = 1.0, hidden: int = 64,
                 lr: float = 1e-3) -> None:
        check_positive_int("dim", dim)
        check_positive_int("hidden", hidden)
        lr = check_positive_float("lr", lr)
        g = check_nonnegative_float("gamma", gamma)
        self.prior = _check_quantiles(get_prior(prior), dim)
        self.dim, self.gamma, self.lr = dim, g, lr
        self.discriminator = mlp(dim, hidden, 1, layers=2)
        self._optimizer: torch.optim.Optimizer | None = None
        self._placement: tuple[torch.device, torch.dtype] | None = None
        self.disc_loss: list[float] = []
        self.gen_loss: list[float] = []

    def __repr__(self) -> str:
        return (f"AdversarialPriorMatching(dim={self.dim}, prior={self.prior.name!r}, gamma={self.gamma}, "
                f"lr={self.lr})")

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand((n, self.dim), generator=generator, dtype=torch.float64).clamp_(_U_EPS, 1.0 - _U_EPS)
        return torch.from_numpy(np.ascontiguousarray(self.prior.ppf(u.numpy()), dtype=np.float64))

    def sample_prior(self, n: int, seed: SeedLike = 0) -> torch.Tensor:
        """``n`` prior draws, shape ``(n, dim)``, float64 on the CPU.

        Uniforms drawn with :func:`nine_utils.seeds.torch_generator` of ``seed`` (an int or a numpy
        ``Generator``) are pushed through the prior's quantile function.
        """
        check_positive_int("n", n)
        return self._draw(n, torch_generator(seed))

    def _place(self, device: torch.device, dtype: torch.dtype) -> torch.optim.Optimizer:
        if self._optimizer is None or (device, dtype) != self._placement:
            self.discriminator.to(device=device, dtype=dtype)
            self._optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr)
            self._placement = (device, dtype)
        return self._optimizer

    def __call__(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Update ``D`` once, then return ``gamma * BCE(D(z), 1)`` (a scalar, differentiable in ``z``).

        ``generator`` is the CPU ``torch.Generator`` that :func:`nine_utils.train_infomax` passes to
        its regularizer (the training loop's one random stream); the prior draws come from it.
        """
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of shape (n, {self.dim}), got {tuple(z.shape)}")
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator (the training loop's), got {generator!r}")
        opt = self._place(z.device, z.dtype)
        y = self._draw(z.shape[0], generator).to(device=z.device, dtype=z.dtype)

        self.discriminator.train()
        logits_prior = self.discriminator(y)
        logits_fake = self.discriminator(z.detach())
        d_loss = (F.binary_cross_entropy_with_logits(logits_prior, torch.ones_like(logits_prior))
                  + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
        opt.zero_grad(set_to_none=True)
        d_loss.backward()
        opt.step()

        frozen = {k: v.detach() for k, v in self.discriminator.named_parameters()}
        logits = functional_call(self.discriminator, frozen, (z,))
        g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        self.disc_loss.append(d_loss.item())
        self.gen_loss.append(g_loss.item())
        return self.gamma * g_loss

