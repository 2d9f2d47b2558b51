r"""The fused smoothed-box kernel behind :class:`nine_utils.channels.UniformChannelCritic`."""

from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

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
