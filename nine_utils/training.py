"""One training loop for every InfoMax variant in the course."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from ._progress import progress_bar

from ._checks import check_positive_float, check_positive_int
from .device import resolve_device
from .objectives import SURROGATES, get_objective, infonce

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""A random view: ``(batch, generator) -> view`` of the same shape."""

Channel = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""A random map applied to the second branch's embeddings, e.g. additive noise."""

Regularizer = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""An extra loss on the first branch's embeddings: ``(embeddings, generator) -> scalar``."""


@dataclass
class TrainHistory:
    """What :func:`train_infomax` measured.

    Attributes
    ----------
    objective : str
        Name of the objective that was maximised.
    loss : list of float
        Mean loss (minus the objective) per epoch.
    mi : list of float
        Mean MI estimate per epoch, in nats, on training batches. For a surrogate objective
        (``"jsd"``) this is InfoNCE evaluated on the same scores, so it is still a lower bound.
    seconds : float
        Wall time of the whole loop.
    steps : int
        Number of optimizer steps.
    batch_size : int
        Batch size; InfoNCE's ceiling is ``log(batch_size)``.
    """

    objective: str
    loss: list[float] = field(default_factory=list)
    mi: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    batch_size: int = 0

    @property
    def infonce_ceiling(self) -> float:
        """``log(batch_size)``."""
        return math.log(self.batch_size)

    def as_dict(self) -> dict[str, object]:
        """Plain-Python copy, for JSON."""
        return asdict(self)


def _identity_view(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x


def train_infomax(
    encoder: nn.Module,
    critic: nn.Module,
    x: torch.Tensor,
    augment: Augment | None = None,
    *,
    objective: str = "infonce",
    epochs: int = 50,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    channel: Channel | None = None,
    regularizer: Regularizer | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    desc: str | None = None,
) -> TrainHistory:
    r"""Train ``encoder`` and ``critic`` by maximising an MI objective between two views.

    Each step draws a batch ``x_b`` (shape ``(n, ...)``), makes two views ``v_1, v_2`` with
    ``augment``, embeds them, optionally passes the second embedding through ``channel``, and
    maximises ``objective(critic(f(v_1), channel(f(v_2))))``, i.e. an estimate of
    ``I(f(X'); channel(f(X)))``. Adam updates encoder and critic together. With a
    ``regularizer`` the loss is ``-objective + regularizer(f(v_1), generator)``.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch ``(n, ...)`` to embeddings ``(n, d)``.
    critic : nn.Module
        Maps two embedding batches to a score matrix ``(n, n)``.
    x : torch.Tensor
        Training inputs, shape ``(N, ...)``.
    augment : callable, optional
        ``(batch, generator) -> view``; ``None`` uses the batch itself as both views.
    objective : str
        ``"infonce"``, ``"nwj"``, ``"dv"`` or ``"jsd"``.
    epochs : int
        Passes over ``x``, ``>= 1``.
    batch_size : int
        ``>= 2`` (a batch needs negatives). Clipped to ``N``; the last partial batch is dropped.
    lr, weight_decay : float
        Adam settings; ``lr > 0``, ``weight_decay >= 0``.
    channel : callable, optional
        ``(embeddings, generator) -> embeddings`` applied to the second branch in training only.
    regularizer : callable, optional
        ``(embeddings, generator) -> scalar`` loss on the first branch's embeddings ``(n, d)``,
        added to ``-objective`` at each step, e.g.
        :class:`nine_utils.adversarial.AdversarialPriorMatching`. It may update its own modules
        (their parameters are not in the optimizer here). Then ``loss`` in the history includes
        it, while ``mi`` does not.
    seed : int
        Seeds the generator used for shuffling, views, the channel and the regularizer. Weight
        initialisation is the caller's: seed before building the modules
        (:func:`nine_utils.seed_everything`).
    device : str or torch.device
        ``"auto"`` picks CUDA, then MPS, then CPU.
    progress : bool
        Show a ``tqdm`` bar over epochs.
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    TrainHistory
        Loss and MI estimate per epoch, wall time and step count. The modules are left in eval
        mode on ``device``.
    """
    fn = get_objective(objective)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size, minimum=2)
    check_positive_float("lr", lr)
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 training examples, got {x.shape[0]}")
    dev = resolve_device(device)
    augment = augment or _identity_view
    bs = min(batch_size, x.shape[0])
    generator = torch.Generator().manual_seed(seed)

    encoder.to(dev).train()
    critic.to(dev).train()
    params = [p for m in (encoder, critic) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    history = TrainHistory(objective=objective, batch_size=bs)
    n_batches = x.shape[0] // bs
    surrogate = objective in SURROGATES

    start = time.perf_counter()
    bar = progress_bar(range(epochs), progress, desc=desc or objective, leave=False)
    for _ in bar:
        perm = torch.randperm(x.shape[0], generator=generator)
        sum_loss = sum_mi = 0.0
        for b in range(n_batches):
            batch = x[perm[b * bs:(b + 1) * bs]]
            v1 = augment(batch, generator).to(dev)
            v2 = augment(batch, generator).to(dev)
            za, zb = encoder(v1), encoder(v2)
            if channel is not None:
                zb = channel(zb, generator)
            scores = critic(za, zb)
            value = fn(scores)
            loss = -value
            if regularizer is not None:
                loss = loss + regularizer(za, generator)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sum_loss += loss.item()
            sum_mi += (infonce(scores.detach()) if surrogate else value.detach()).item()
            history.steps += 1
        history.loss.append(sum_loss / n_batches)
        history.mi.append(sum_mi / n_batches)
        bar.set_postfix(mi=f"{history.mi[-1]:.3f}")
    history.seconds = time.perf_counter() - start
    encoder.eval()
    critic.eval()
    return history


@torch.no_grad()
def embed(encoder: nn.Module, x: torch.Tensor, batch_size: int = 1024,
          device: str | torch.device = "auto") -> torch.Tensor:
    """Embed ``x`` (shape ``(N, ...)``) in eval mode, without gradients.

    Returns
    -------
    torch.Tensor
        Shape ``(N, d)``, on the CPU. The encoder's train/eval mode is restored afterwards.
    """
    check_positive_int("batch_size", batch_size)
    dev = resolve_device(device)
    was_training = encoder.training
    encoder.to(dev).eval()
    out = torch.cat([encoder(x[i:i + batch_size].to(dev)).cpu() for i in range(0, x.shape[0], batch_size)])
    encoder.train(was_training)
    return out
