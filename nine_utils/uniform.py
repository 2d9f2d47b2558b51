r"""A smooth critic for the uniform NINE channel.

The uniform channel is ``b = a + Z`` with ``Z ~ U[-eps, eps]^d`` and ``a`` in ``[0, 1]^d``. Its exact
log density ratio against the target input ``a ~ U[0, 1]^d`` is a *box*,

.. math:: \log\frac{p(b \mid a)}{p(b)} = \sum_k \Big[\log \mathbf 1\{|b_k - a_k| \le \varepsilon\}
          - \log \ell(b_k)\Big], \qquad
          \ell(b) = \min(1, b + \varepsilon) - \max(0, b - \varepsilon) ,

where ``l(b) / (2 eps)`` is the trapezoidal density of ``b``. It is ``-inf`` outside the box and flat
inside, so it gives an encoder no gradient. :class:`UniformChannelCritic` replaces the indicator by
a product of two logistic sigmoids with a temperature ``tau``,

.. math:: \mathbf 1\{|\Delta| \le \varepsilon\} \;\to\;
          \sigma\Big(\frac{\Delta + \varepsilon}{\tau}\Big)\,\sigma\Big(\frac{\varepsilon - \Delta}{\tau}\Big),

which tends to the box as ``tau -> 0``; outside the box its log falls linearly, with slope
``1/tau``, so a positive pair that the noise cannot explain is pulled together. Any critic gives a
valid InfoNCE lower bound, so the estimate stays below ``min(d log(1 + 1/(2 eps)), log n)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_positive_float


class UniformChannelCritic(nn.Module):
    r"""Smoothed log density ratio of the uniform channel; no trainable parameters.

    .. math:: T(a_i, b_j) = \sum_{k=1}^d \Big[ \log\sigma\Big(\frac{b_{jk} - a_{ik} + \varepsilon}{\tau}\Big)
              + \log\sigma\Big(\frac{\varepsilon - b_{jk} + a_{ik}}{\tau}\Big)
              - \log \max\big(\ell(b_{jk}), \tau\big) \Big] ,

    with :math:`\ell(b) = \min(1, b + \varepsilon) - \max(0, b - \varepsilon)` (``2 eps`` times the
    density of ``b`` under the uniform target). The last term depends on ``b_j`` only; it matters for
    InfoNCE with a softmax over ``j`` (the noisy side, as :func:`nine_utils.train_infomax` uses it),
    so it is included by default (``marginal=True``).

    Shapes: ``a (n, d)`` clean embeddings in ``[0, 1]``, ``b (m, d)`` noisy ones -> scores ``(n, m)``.

    Parameters
    ----------
    eps : float
        Half-width of the channel's noise, finite and ``> 0``.
    temperature : float, optional
        Width ``tau`` of the smoothed box edges, finite and ``> 0``; default ``eps / 5``.
    marginal : bool
        Include the ``-log l(b_j)`` term (default).
    """

    def __init__(self, eps: float, temperature: float | None = None, marginal: bool = True) -> None:
        super().__init__()
        self.eps = check_positive_float("eps", eps)
        self.temperature = check_positive_float("temperature", self.eps / 5.0 if temperature is None else temperature)
        self.marginal = bool(marginal)

    def extra_repr(self) -> str:
        return f"eps={self.eps}, temperature={self.temperature}, marginal={self.marginal}"

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
            raise ValueError(f"expected shapes a (n, d) and b (m, d), got {tuple(a.shape)} and {tuple(b.shape)}")
        e, t = self.eps, self.temperature
        delta = b[None, :, :] - a[:, None, :]  # (n, m, d)
        scores = (F.logsigmoid((delta + e) / t) + F.logsigmoid((e - delta) / t)).sum(-1)
        if self.marginal:
            length = torch.minimum(b + e, torch.ones_like(b)) - torch.maximum(b - e, torch.zeros_like(b))
            scores = scores - torch.log(length.clamp_min(t)).sum(-1)[None, :]
        return scores
