r"""A small, size-agnostic MLP (beta-)VAE: the likelihood-based baseline of the course.

The variational autoencoder (Kingma & Welling, 2014) has an encoder
:math:`q(z \mid x) = \mathcal N\big(\mu(x), \operatorname{diag} e^{\ell(x)}\big)`, the prior
:math:`p(z) = \mathcal N(0, I)` and a Bernoulli decoder :math:`p(x \mid z)` with pixel
probabilities :math:`\operatorname{sigmoid}(g(z))`. It minimizes, per example,

.. math:: \mathcal L_\beta(x) = \underbrace{-\,\mathbb E_{q(z\mid x)} \log p(x \mid z)}_{\text{reconstruction}}
          + \beta\, \underbrace{\mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big)}_{\text{rate}} ,

the negative ELBO for ``beta = 1`` and the beta-VAE of Higgins et al. (2017) otherwise. The
KL term has the closed form
:math:`\tfrac12 \sum_k \big(\mu_k^2 + e^{\ell_k} - 1 - \ell_k\big)`.

Inputs of any shape ``(n, *shape)`` with values in ``[0, 1]`` are flattened, so the same class
serves 8x8 digits and larger rendered shapes::

    vae = MLPVAE(in_dim=64, latent_dim=8)
    history = train_vae(vae, x_train, epochs=200, beta=1.0)
    images = vae.sample(100, seed=0).view(-1, 1, 8, 8)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from ._progress import progress_bar

from ._checks import check_nonnegative_float, check_positive_float, check_positive_int
from .device import resolve_device
from ._arrays import ArrayLike
from .models import mlp
from .nine import _as_inputs
from .seeds import SeedLike, check_seed, torch_generator
from .training import _call_back, _check_callback


class MLPVAE(nn.Module):
    r"""An MLP VAE with a diagonal Gaussian encoder and a Bernoulli decoder.

    ``encoder``: ``mlp(in_dim, hidden, 2 * latent_dim, layers)``, whose output is split into
    ``mu`` and ``logvar``; ``decoder``: ``mlp(latent_dim, hidden, in_dim, layers)``, whose output
    is the logits of the pixel probabilities.

    Shapes: inputs ``(n, *shape)`` with ``prod(shape) == in_dim``; latents ``(n, latent_dim)``;
    decoded images ``(n, in_dim)`` (reshape them yourself).

    Parameters
    ----------
    in_dim : int
        Number of input values (pixels), ``>= 1``.
    latent_dim : int
        Size ``d`` of the latent code, ``>= 1``.
    hidden : int
        Width of the hidden layers of encoder and decoder.
    layers : int
        Number of hidden layers of encoder and of decoder, ``>= 1``.
    """

    def __init__(self, in_dim: int, latent_dim: int, hidden: int = 256, layers: int = 2) -> None:
        super().__init__()
        for name, v in (("in_dim", in_dim), ("latent_dim", latent_dim), ("hidden", hidden), ("layers", layers)):
            check_positive_int(name, v)
        self.in_dim, self.latent_dim = in_dim, latent_dim
        self.encoder = mlp(in_dim, hidden, 2 * latent_dim, layers)
        self.decoder = mlp(latent_dim, hidden, in_dim, layers)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, latent_dim={self.latent_dim}"

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1) if x.dim() > 1 else x
        if flat.dim() != 2 or flat.shape[1] != self.in_dim:
            raise ValueError(f"expected inputs (n, ...) with {self.in_dim} values each, got shape {tuple(x.shape)}")
        return flat

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z | x)``, each of shape ``(n, latent_dim)``."""
        mu, logvar = self.encoder(self._flat(x)).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of the pixel probabilities, shape ``(n, in_dim)``."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latents of shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities (the decoder's mean image) in ``[0, 1]``, shape ``(n, in_dim)``."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""Encode, draw ``z = mu + exp(logvar / 2) * eps`` (the reparameterization), decode.

        ``eps ~ N(0, I)`` is drawn on the CPU with ``generator``, the training loop's
        ``torch.Generator`` (see :func:`train_vae`), and moved to ``x``'s device.

        Returns
        -------
        logits, mu, logvar : torch.Tensor
            Shapes ``(n, in_dim)``, ``(n, latent_dim)``, ``(n, latent_dim)``.
        """
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {generator!r}")
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, device="cpu", dtype=mu.dtype).to(mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode_logits(z), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, seed: SeedLike = 0) -> torch.Tensor:
        """Decode ``n`` draws of the prior ``N(0, I)``: pixel probabilities, shape ``(n, in_dim)``, on the CPU.

        The draws come from :func:`nine_utils.seeds.torch_generator` of ``seed`` (an int or a numpy
        ``Generator``).
        """
        check_positive_int("n", n)
        z = torch.randn(n, self.latent_dim, generator=torch_generator(seed), device="cpu")
        device = next(self.parameters()).device
        return self.decode(z.to(device)).cpu()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""``KL(N(mu, diag exp(logvar)) || N(0, I))`` per row, in nats.

    .. math:: \tfrac12 \sum_k \big(\mu_k^2 + e^{\ell_k} - 1 - \ell_k\big)

    Shapes: ``mu, logvar (n, d)`` -> ``(n,)``.
    """
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise ValueError(f"mu and logvar must both have shape (n, d), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The beta-VAE loss, averaged over the batch: ``reconstruction + beta * KL``.

    The reconstruction term is the Bernoulli negative log-likelihood
    ``sum_pixels BCE(sigmoid(logits), x)`` (``x`` in ``[0, 1]``; grey values are allowed, as
    usual for digits); the KL term is :func:`gaussian_kl`.

    Parameters
    ----------
    logits : torch.Tensor
        Decoder logits, shape ``(n, in_dim)``.
    x : torch.Tensor
        Targets, shape ``(n, ...)`` with ``in_dim`` values per row, in ``[0, 1]``.
    mu, logvar : torch.Tensor
        Encoder outputs, shape ``(n, d)``.
    beta : float
        Weight of the KL term, ``>= 0``.

    Returns
    -------
    loss, reconstruction, kl : torch.Tensor
        Scalars (batch means, in nats per example); ``loss = reconstruction + beta * kl``.
    """
    beta = check_nonnegative_float("beta", beta)
    target = x.flatten(1)
    if target.shape != logits.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and flattened targets {tuple(target.shape)} differ")
    rec = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=1).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return rec + beta * kl, rec, kl


@dataclass
class VAEHistory:
    """What :func:`train_vae` measured: per-epoch means of the loss and its two terms (nats per example)."""

    loss: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0

    def as_dict(self) -> dict[str, object]:
        """Plain-Python copy, for JSON."""
        return asdict(self)


def train_vae(vae: MLPVAE, x: ArrayLike, *, epochs: int = 100, batch_size: int = 128, lr: float = 1e-3,
              beta: float = 1.0, seed: SeedLike = 0, device: str | torch.device = "auto", progress: bool = True,
              desc: str | None = None, callback: Callable[[int, nn.Module], None] | None = None) -> VAEHistory:
    """Train ``vae`` on ``x`` (shape ``(N, ...)``, values in ``[0, 1]``) with Adam on :func:`vae_loss`.

    Parameters
    ----------
    vae : MLPVAE
        The model; initialise it after seeding (:func:`nine_utils.seed_everything`).
    x : array-like or torch.Tensor
        Training inputs, shape ``(N, ...)``, finite: a tensor of any float dtype or anything numpy
        accepts, converted once to float32 (as :func:`nine_utils.training.train_infomax` does).
    epochs, batch_size : int
        Passes over ``x`` and batch size (clipped to ``N``; the last partial batch is kept).
    lr : float
        Adam learning rate, ``> 0``.
    beta : float
        KL weight, ``>= 0``.
    seed : int or numpy.random.Generator
        Seeds the one ``torch.Generator`` (:func:`nine_utils.seeds.torch_generator`) used for
        shuffling and the reparameterization noise.
    device : str or torch.device
        ``"auto"`` picks CUDA, then MPS, then CPU.
    progress : bool
        Show a ``tqdm`` bar over epochs.
    desc : str, optional
        Label of the progress bar.
    callback : callable, optional
        ``callback(epoch, vae)`` after each epoch, ``epoch = 1, ..., epochs``: for example to
        record a held-out score along training (a learning curve). As in
        :func:`nine_utils.training.train_infomax`: it runs under ``torch.no_grad()``, the
        train/eval mode of every submodule is restored afterwards, it must not change parameters
        in place, it does not draw from the training generator (so the run is the same with or
        without it), and its time is excluded from ``seconds``.

    Returns
    -------
    VAEHistory
        The model is left in eval mode on ``device``.
    """
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    check_positive_float("lr", lr)
    beta = check_nonnegative_float("beta", beta)
    x = _as_inputs(x, "x")  # numpy and float64 as train_infomax takes them, converted once to float32
    if x.dim() < 2 or x.shape[0] < 1:
        raise ValueError(f"x must have shape (N, ...) with N >= 1 training examples, got {tuple(x.shape)}")
    _check_callback(callback, "vae")
    check_seed(seed)
    dev = resolve_device(device)
    vae.to(dev).train()
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    generator = torch_generator(seed)
    bs = min(batch_size, x.shape[0])
    history = VAEHistory()
    start = time.perf_counter()
    callback_seconds = 0.0
    bar = progress_bar(range(epochs), progress, desc=desc or "VAE", leave=False)
    for epoch in bar:
        perm = torch.randperm(x.shape[0], generator=generator)
        sums = [0.0, 0.0, 0.0]
        for b in range(0, x.shape[0], bs):
            batch = x[perm[b:b + bs]].to(dev)
            logits, mu, logvar = vae(batch, generator)
            loss, rec, kl = vae_loss(logits, batch, mu, logvar, beta)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            w = batch.shape[0] / x.shape[0]
            sums = [s + w * t.item() for s, t in zip(sums, (loss, rec, kl))]
            history.steps += 1
        history.loss.append(sums[0])
        history.reconstruction.append(sums[1])
        history.kl.append(sums[2])
        bar.set_postfix(loss=f"{sums[0]:.2f}", kl=f"{sums[2]:.2f}")
        if callback is not None:
            callback_seconds += _call_back(callback, epoch + 1, vae)
    history.seconds = time.perf_counter() - start - callback_seconds
    vae.eval()
    return history
