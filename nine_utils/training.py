"""One training loop for every InfoMax variant in the course, with the NINE pieces checked."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ._arrays import ArrayLike, as_numpy
from ._checks import check_nonnegative_float, check_positive_float, check_positive_int
from ._progress import progress_bar
from .device import resolve_device
from .nine import NINEHead, _as_inputs, _describe, _module_device, check_critic, find_head
from .nine import recalibrate as _recalibrate
from .objectives import SURROGATES, get_objective, infonce
from .seeds import SeedLike, check_seed, torch_generator

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
    recalibrated : bool
        Whether the NINE head's statistics were re-estimated on the clean training data after
        training (:func:`nine_utils.nine.recalibrate`).
    """

    objective: str
    loss: list[float] = field(default_factory=list)
    mi: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    batch_size: int = 0
    recalibrated: bool = False

    @property
    def infonce_ceiling(self) -> float:
        """``log(batch_size)``."""
        return math.log(self.batch_size)

    def as_dict(self) -> dict[str, object]:
        """Plain-Python copy, for JSON."""
        return asdict(self)


def _identity_view(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x


def _resolve_channel(head: NINEHead | None, channel: Channel | str | None) -> Channel | None:
    """The channel to apply to the second branch; ``ValueError`` for one that contradicts ``head``."""
    if isinstance(channel, str):
        if channel != "auto":
            raise ValueError(f"channel must be 'auto', None or a callable (embeddings, generator) -> embeddings, "
                             f"got {channel!r}")
        return head.channel if head is not None else None
    if channel is None:
        if head is not None:
            raise ValueError(f"a NINE head needs its channel: the encoder ends with {_describe(head)}, and without its "
                             "noise the MI is not capped by the head's capacity; leave channel='auto' (the "
                             "default) or pass channel=head.channel")
        return None
    if not callable(channel):
        raise ValueError(f"channel must be 'auto', None or a callable (embeddings, generator) -> embeddings, "
                         f"got {type(channel).__name__}")
    if head is not None and channel != head.channel:
        raise ValueError(f"channel must be the channel of the encoder's own NINE head {_describe(head)} "
                         f"(channel='auto' or channel=head.channel), got {_describe(channel)}")
    return channel


def _modes(module: nn.Module) -> list[tuple[nn.Module, bool]]:
    return [(m, m.training) for m in module.modules()]


def _restore_modes(modes: list[tuple[nn.Module, bool]]) -> None:
    for m, mode in modes:
        m.training = mode


def _check_callback(callback: object, model: str) -> None:
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a callable (epoch, {model}) -> None or None, got {type(callback).__name__}")


def _call_back(callback: Callable[[int, nn.Module], None], epoch: int, model: nn.Module) -> float:
    """Run ``callback(epoch, model)`` without gradients, restore every submodule's mode; its seconds."""
    start = time.perf_counter()
    modes = _modes(model)
    try:
        with torch.no_grad():
            callback(epoch, model)
    finally:
        _restore_modes(modes)
    return time.perf_counter() - start


@torch.no_grad()
def _eval_forward(encoder: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``encoder(inputs)`` in eval mode without gradients (batch-norm statistics untouched); the
    train/eval mode of every submodule is restored."""
    modes = _modes(encoder)
    encoder.eval()
    try:
        return encoder(inputs.to(_module_device(encoder)))
    finally:
        _restore_modes(modes)


def _declared_widths(critic: nn.Module) -> tuple[int | None, int | None]:
    """Input widths a critic declares: ``dim_a`` / ``dim_b``, else ``dim`` for both, else ``None``."""
    def attr(name: str) -> int | None:
        value = getattr(critic, name, None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    common = attr("dim")
    a, b = attr("dim_a"), attr("dim_b")
    return (a if a is not None else common), (b if b is not None else common)


def _first_layer_hint(encoder: nn.Module) -> str:
    """``": its first layer Linear(in_features=5, ...) takes ..."`` when the first layer says what it takes."""
    for m in encoder.modules():
        if len(list(m.children())) == 0 and any(True for _ in m.parameters(recurse=False)):
            if isinstance(m, nn.Linear):
                return f"; its first layer {_describe(m)} takes rows of width {m.in_features} (shape (n, {m.in_features}))"
            if isinstance(m, nn.modules.conv._ConvNd):
                return f"; its first layer {_describe(m)} takes {m.in_channels} input channel(s)"
            return ""
    return ""


def _encoder_output(encoder: nn.Module, inputs: torch.Tensor, name: str) -> torch.Tensor:
    """``encoder(inputs)`` in eval mode, no gradients, modes restored: the probe run before any work.

    An error of the encoder on these inputs (wrong width, dtype, number of dimensions) becomes one
    ``ValueError`` that names ``name``, its shape and dtype, and what the encoder's first layer takes.
    """
    try:
        z = _eval_forward(encoder, inputs)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"the encoder cannot embed {name} (a batch of shape {tuple(inputs.shape)}, dtype "
                         f"{inputs.dtype}){_first_layer_hint(encoder)}. The encoder said: {exc}") from None
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"the encoder must return embeddings of shape (n, d), got {shape}")
    return z


def _check_assembly(encoder: nn.Module, critic: nn.Module, x: torch.Tensor, augment: Augment | None,
                    channel: Channel | str | None, recalibrate: bool
                    ) -> tuple[NINEHead | None, Channel | None, Augment]:
    """Check that encoder, critic, channel, views and data fit together; ``(head, channel, view)``.

    Runs one eval-mode forward pass on two (views of) examples, so every misassembly is a
    ``ValueError`` before the first step: a channel critic without its head, a channel that is not
    the head's, inputs the encoder cannot take, embeddings of a width the critic does not declare,
    and ``recalibrate=True`` with an encoder that cannot take the clean ``x``.
    """
    if not isinstance(critic, nn.Module):
        raise ValueError(f"critic must be a torch.nn.Module (a, b) -> scores, got {type(critic).__name__}")
    head = find_head(encoder)
    channel = _resolve_channel(head, channel)
    if head is not None or channel is None:  # a custom noise channel without a head may use any critic
        check_critic(head, critic)
    view = augment if augment is not None else _identity_view
    if augment is None and x.is_floating_point() and x.dim() < 2:
        raise ValueError(f"x must have shape (N, ...) with one example per row, got shape {tuple(x.shape)}; "
                         "a column of N numbers is x[:, None]")
    probe = view(x[:2], torch.Generator().manual_seed(0))
    if not isinstance(probe, torch.Tensor):
        raise ValueError(f"augment must return a tensor (a view of the batch), got {type(probe).__name__}")
    z = _encoder_output(encoder, probe, "x" if augment is None else "augment(x)")
    for width in _declared_widths(critic):
        if width is not None and width != z.shape[1]:
            raise ValueError(f"the critic expects embeddings of width {width} ({_describe(critic)}), "
                             f"but the encoder outputs width {z.shape[1]}")
    if head is not None and recalibrate and augment is not None:
        try:
            _eval_forward(encoder, x[:2])
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise ValueError("recalibrate=True passes the clean x through the encoder after training, and "
                             f"encoder(x) fails: {exc}. Pass recalibrate=False and call "
                             "nine_utils.nine.recalibrate(encoder, clean_inputs) yourself") from None
    return head, channel, view


def train_infomax(
    encoder: nn.Module,
    critic: nn.Module,
    x: ArrayLike,
    augment: Augment | None = None,
    *,
    objective: str = "infonce",
    epochs: int = 50,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    channel: Channel | str | None = "auto",
    regularizer: Regularizer | None = None,
    recalibrate: bool = True,
    seed: SeedLike = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    desc: str | None = None,
    callback: Callable[[int, nn.Module], None] | None = None,
) -> TrainHistory:
    r"""Train ``encoder`` and ``critic`` by maximising an MI objective between two views.

    Each step draws a batch ``x_b`` (shape ``(n, ...)``), makes two views ``v_1, v_2`` with
    ``augment``, embeds them, passes the second embedding through ``channel``, and maximises
    ``objective(critic(f(v_1), channel(f(v_2))))``, i.e. an estimate of
    ``I(f(X'); channel(f(X)))``. Adam updates encoder and critic together. With a
    ``regularizer`` the loss is ``-objective + regularizer(f(v_1), generator)``.

    **NINE.** If the encoder ends with a NINE head (:func:`nine_utils.nine.find_head`), its
    channel is applied to the second branch automatically, and after training its statistics
    are re-estimated on the clean ``x`` (``recalibrate``). The pieces are checked
    before anything trains:

    - a channel critic (``GaussianChannelCritic``, ``FusedGaussianChannelCritic``,
      ``UniformChannelCritic``) needs a head of its family and noise level (``head.critic()``
      builds it); a learned critic (``SeparableCritic``, ``ConcatCritic``, ...) works with or
      without a head;
    - with a head, ``channel`` must be ``"auto"`` or the head's own ``head.channel``;
    - the inputs must be finite, and the encoder must take them (dtype, width, number of
      dimensions) and return ``(n, d)`` embeddings of the width the critic declares
      (``dim_a``/``dim_b`` or ``dim``): one eval-mode forward pass on two examples checks it, and
      any failure is one ``ValueError`` naming ``x``, its shape and dtype and what the encoder's
      first layer takes.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch ``(n, ...)`` to embeddings ``(n, d)``.
    critic : nn.Module
        Maps two embedding batches to a score matrix ``(n, n)``.
    x : array-like or torch.Tensor
        Training inputs, shape ``(N, ...)``, ``N >= 2``: a tensor of any float dtype or anything
        numpy accepts (e.g. a float64 array from scikit-learn), converted once to float32. An
        integer tensor is kept as it is (row indices that ``augment`` turns into inputs, as with
        :class:`nine_utils.shapes.ShapeViews`).
    augment : callable, optional
        ``(batch, generator) -> view``; ``None`` uses the batch itself as both views. For
        tabular data see :class:`nine_utils.data.GaussianJitter`, for images
        :class:`nine_utils.data.TwoViewAugment`.
    objective : str
        ``"infonce"``, ``"nwj"``, ``"dv"`` or ``"jsd"``.
    epochs : int
        Passes over ``x``, ``>= 1``.
    batch_size : int
        ``>= 2`` (a batch needs negatives). Clipped to ``N``; the last partial batch is dropped.
    lr, weight_decay : float
        Adam settings; ``lr > 0``, ``weight_decay >= 0``.
    channel : "auto", callable or None
        ``(embeddings, generator) -> embeddings`` applied to the second branch in training only.
        ``"auto"`` (default): the NINE head's channel if the encoder has a head, else none.
        With a head only ``"auto"`` or ``head.channel`` is accepted; without one any callable
        (custom noise) or ``None``.
    regularizer : callable, optional
        ``(embeddings, generator) -> scalar`` loss on the first branch's embeddings ``(n, d)``,
        added to ``-objective`` at each step, e.g.
        :class:`nine_utils.adversarial.AdversarialPriorMatching`. It may update its own modules
        (their parameters are not in the optimizer here). Then ``loss`` in the history includes
        it, while ``mi`` does not.
    recalibrate : bool
        After training, if the encoder has a NINE head, re-estimate the head's statistics on the
        clean ``x`` with the rest of the encoder in eval mode (:func:`nine_utils.nine.recalibrate`:
        dropout off, a backbone's batch norm untouched), so eval-mode embeddings are normalized
        exactly; needs ``encoder(x)`` to work without ``augment``. ``False`` keeps the running
        statistics of training.
    seed : int or numpy.random.Generator
        Seeds the torch generator (:func:`nine_utils.seeds.torch_generator`; an int ``s`` gives
        ``torch.Generator().manual_seed(s)``) used for shuffling, views, the channel and the
        regularizer. Weight initialisation is the caller's: seed before building the modules
        (:func:`nine_utils.seeds.seed_everything`).
    device : str or torch.device
        ``"auto"`` picks CUDA, then MPS, then CPU.
    progress : bool
        Show a ``tqdm`` bar over epochs.
    desc : str, optional
        Label of the progress bar.
    callback : callable, optional
        ``callback(epoch, encoder)`` after each epoch, ``epoch = 1, ..., epochs``: for example
        to record a held-out statistic along training and see where it stops changing. It runs
        under ``torch.no_grad()``, and afterwards the train/eval mode of every submodule of
        ``encoder`` is restored; it must not change parameters or buffers in place (evaluate a
        ``copy.deepcopy`` of the encoder to recalibrate or modify it). It does not draw from the
        training generator, so the training is the same with or without it. Its time is
        excluded from ``seconds``.

    Returns
    -------
    TrainHistory
        Loss and MI estimate per epoch, wall time, step count and whether the statistics were
        recalibrated. The modules are left in eval mode on ``device``.

    Raises
    ------
    ValueError
        For a bad argument or a misassembly (see above), before any training step; the modules
        are then unchanged.
    """
    fn = get_objective(objective)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size, minimum=2)
    check_positive_float("lr", lr)
    wd = check_nonnegative_float("weight_decay", weight_decay)
    if not isinstance(recalibrate, bool):
        raise ValueError(f"recalibrate must be True or False, got {recalibrate!r}")
    seed = check_seed(seed)
    dev = resolve_device(device)
    if augment is not None and not callable(augment):
        raise ValueError(f"augment must be a callable (batch, generator) -> view or None, got {type(augment).__name__}")
    _check_callback(callback, "encoder")
    if regularizer is not None and not callable(regularizer):
        raise ValueError(f"regularizer must be a callable (embeddings, generator) -> scalar or None, "
                         f"got {type(regularizer).__name__}")
    x = _as_inputs(x, "x")
    if x.dim() < 1 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 training examples, got shape {tuple(x.shape)}")
    head, channel, view = _check_assembly(encoder, critic, x, augment, channel, recalibrate)

    bs = min(batch_size, x.shape[0])
    generator = torch_generator(seed)
    encoder.to(dev).train()
    critic.to(dev).train()
    params = [p for m in (encoder, critic) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=wd)
    history = TrainHistory(objective=objective, batch_size=bs)
    n_batches = x.shape[0] // bs
    surrogate = objective in SURROGATES

    start = time.perf_counter()
    callback_seconds = 0.0
    bar = progress_bar(range(epochs), progress, desc=desc or objective, leave=False)
    for epoch in bar:
        perm = torch.randperm(x.shape[0], generator=generator)
        sum_loss = sum_mi = 0.0
        for b in range(n_batches):
            batch = x[perm[b * bs:(b + 1) * bs]]
            v1 = view(batch, generator).to(dev)
            v2 = view(batch, generator).to(dev)
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
        if callback is not None:
            callback_seconds += _call_back(callback, epoch + 1, encoder)
    if head is not None and recalibrate:
        _recalibrate(encoder, x)
        history.recalibrated = True
    history.seconds = time.perf_counter() - start - callback_seconds
    encoder.eval()
    critic.eval()
    return history


@torch.no_grad()
def embed(encoder: nn.Module, x: ArrayLike, batch_size: int = 1024,
          device: str | torch.device = "auto") -> torch.Tensor:
    """Embed ``x`` (shape ``(N, ...)``) in eval mode, without gradients.

    Parameters
    ----------
    encoder : nn.Module
        Maps ``(n, ...)`` to ``(n, d)``; moved to ``device``.
    x : array-like or torch.Tensor
        Inputs, as in :func:`train_infomax`: any float dtype or numpy array, converted once to
        float32 (an integer tensor is kept as it is).
    batch_size : int
        Forward batch size, ``>= 1``.
    device : str or torch.device
        ``"auto"`` picks CUDA, then MPS, then CPU.

    Returns
    -------
    torch.Tensor
        Shape ``(N, d)``, on the CPU. The encoder's train/eval mode is restored afterwards.
    """
    check_positive_int("batch_size", batch_size)
    dev = resolve_device(device)
    x = _as_inputs(x, "x")
    if x.dim() < 1 or x.shape[0] < 1:
        raise ValueError(f"x must hold at least 1 input, got shape {tuple(x.shape)}")
    if x.is_floating_point() and x.dim() < 2:
        raise ValueError(f"x must have shape (N, ...) with one example per row, got shape {tuple(x.shape)}; "
                         "a column of N numbers is x[:, None]")
    _encoder_output(encoder.to(dev), x[:2], "x")
    modes = _modes(encoder)
    encoder.to(dev).eval()
    try:
        out = torch.cat([encoder(x[i:i + batch_size].to(dev)).cpu() for i in range(0, x.shape[0], batch_size)])
    finally:
        _restore_modes(modes)
    return out


def curve_summary(epochs: ArrayLike, per_seed: ArrayLike, total_epochs: int) -> dict[str, float]:
    """A learning curve over seeds at four stages of training, each the mean over seeds.

    Parameters
    ----------
    epochs : array-like, shape ``(n_points,)``
        The checkpoints at which the curve was measured (as :func:`train_infomax`'s ``callback``
        sees them: 1 after the first epoch), distinct, in any order (the columns of
        ``per_seed`` follow them).
    per_seed : array-like, shape ``(n_seeds, n_points)``
        The measured quantity, one row per seed.
    total_epochs : int
        The training budget ``T``, which sets the thirds.

    Returns
    -------
    dict
        ``"first"``: at the first checkpoint; ``"middle_third"``: over the checkpoints with
        ``T/3 < epoch <= 2T/3``; ``"last_third"``: over those with ``epoch > 2T/3``; ``"final"``: at
        the last checkpoint. A third without a checkpoint is NaN.

    Raises
    ------
    ValueError
        If the shapes disagree, there is no checkpoint or seed, or ``total_epochs < 1``.
    """
    check_positive_int("total_epochs", total_epochs)
    ep = as_numpy(epochs, "epochs", ndim=1)
    ys = as_numpy(per_seed, "per_seed", ndim=2)
    if ys.shape[0] < 1 or ep.shape[0] < 1 or ys.shape[1] != ep.shape[0]:
        raise ValueError(f"per_seed must have shape (n_seeds >= 1, {ep.shape[0]} >= 1) to match epochs, got {ys.shape}")
    order = np.argsort(ep, kind="stable")  # checkpoints in any order: "first" and "final" are by epoch
    ep, ys = ep[order], ys[:, order]
    if np.any(np.diff(ep) == 0):
        raise ValueError(f"epochs must not repeat a checkpoint, got {as_numpy(epochs, 'epochs').tolist()}")

    def mean_where(mask: np.ndarray) -> float:
        return float(ys[:, mask].mean()) if mask.any() else float("nan")

    return {"first": float(ys[:, 0].mean()),
            "middle_third": mean_where((ep > total_epochs / 3) & (ep <= 2 * total_epochs / 3)),
            "last_third": mean_where(ep > 2 * total_epochs / 3),
            "final": float(ys[:, -1].mean())}
