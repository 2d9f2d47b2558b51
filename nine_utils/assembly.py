r"""Putting NINE together: the head of an encoder, the critic that matches it, and recalibration.

:func:`find_head` finds the NINE head that ends an encoder, :func:`check_critic` refuses a
channel critic that does not match it, and :func:`recalibrate` makes the head's eval-mode
statistics exact over clean data after training
(:func:`nine_utils.training.train_infomax` does all three).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._arrays import ArrayLike, as_tensor
from ._checks import check_positive_int
from .channels import CHANNEL_CRITICS, NOISE_PARAMETER
from .heads import NINEHead

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
