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

The pieces live in one module per concern and are all importable from here:

- :mod:`nine_utils.channels`: capacities and channel critics;
- :mod:`nine_utils._box`: the fused kernel of the uniform critic;
- :mod:`nine_utils.heads`: the heads;
- :mod:`nine_utils.assembly`: finding the head, checking a critic against it, recalibration.
"""

from __future__ import annotations

from ._box import _BOX_CHUNK, _box_rows, _SmoothedBox  # noqa: F401  (importable from here, as before)
from .assembly import _as_inputs, _describe, _module_device, check_critic, find_head, recalibrate  # noqa: F401
from .channels import (  # noqa: F401
    CHANNEL_CRITICS,
    NOISE_PARAMETER,
    FusedGaussianChannelCritic,
    GaussianChannelCritic,
    UniformChannelCritic,
    gaussian_capacity,
    uniform_capacity,
)
from .heads import GaussianNINEHead, NINEHead, UniformNINEHead, _check_momentum  # noqa: F401

__all__ = [
    "CHANNEL_CRITICS", "NOISE_PARAMETER", "FusedGaussianChannelCritic", "GaussianChannelCritic", "GaussianNINEHead",
    "NINEHead", "UniformChannelCritic", "UniformNINEHead", "check_critic", "find_head", "gaussian_capacity",
    "recalibrate", "uniform_capacity",
]
