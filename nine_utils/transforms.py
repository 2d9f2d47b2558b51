r"""Fixed maps from a matched embedding to other priors.

NINE matches N(0, I) or U[0, 1]^d. Any other absolutely continuous prior is reached by composing
the matched embedding with a fixed invertible map, trained or written down once:

- **factorized priors** -- the probability integral transform, per coordinate,
  :math:`y_k = F^{-1}(\Phi(z_k))` from a Gaussian embedding or :math:`y_k = F^{-1}(u_k)` from a
  uniform one (:func:`pit_to_prior`);
- **non-factorized priors** -- a normalizing flow fitted by maximum likelihood to prior samples
  (:func:`fit_flow`); its inverse carries N(0, I) to the prior (:func:`flow_to_prior`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from ._progress import progress_bar

from ._checks import check_choice, check_positive_float, check_positive_int
from .dm import Prior, SampledPrior, get_prior

_U_CLIP = 1e-7  # keeps u off 0 and 1, where most quantile functions are infinite

SOURCES = ("normal", "uniform")


def pit_to_prior(z: torch.Tensor | np.ndarray, prior: Any, source: str = "normal") -> np.ndarray:
    r"""Map matched embeddings to a factorized prior by the probability integral transform.

    .. math:: y = F^{-1}(u), \qquad u = \Phi(z) \text{ (source "normal")} \quad\text{or}\quad u = z
              \text{ (source "uniform")},

    applied elementwise; ``u`` is clipped to ``[1e-7, 1 - 1e-7]``. If ``z ~ N(0, I)`` (or
    ``U[0,1]^d``) exactly, ``y`` has i.i.d. coordinates with CDF ``F``.

    Parameters
    ----------
    z : tensor or array
        Matched embeddings, shape ``(n, d)``.
    prior : str, scipy.stats frozen distribution, torch distribution or Prior
        The target; it needs an inverse CDF (``ppf`` / ``icdf``). See :func:`nine_utils.get_prior`.
    source : str
        ``"normal"`` if ``z`` matches N(0, I), ``"uniform"`` if it matches U[0, 1]^d.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, d)``, float64.

    Raises
    ------
    ValueError
        For an unknown source, or a prior without an inverse CDF (e.g. a :class:`SampledPrior`
        or ``torch.distributions.Beta``).
    """
    check_choice("source", source, SOURCES)
    p = get_prior(prior)
    if isinstance(p, SampledPrior):
        raise ValueError(f"prior {p.name!r} has no inverse CDF; use a normalizing flow (fit_flow) for it")
    a = z.detach().cpu().double().numpy() if isinstance(z, torch.Tensor) else np.asarray(z, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"embeddings must have shape (n, d), got {a.shape}")
    if source == "normal":
        from scipy.special import ndtr

        u = ndtr(a)
    else:
        u = a
    return p.ppf(np.clip(u, _U_CLIP, 1.0 - _U_CLIP))


def fit_flow(samples: torch.Tensor | np.ndarray, *, transforms: int = 4, hidden: int = 64, bins: int = 8,
             steps: int = 2000, batch_size: int = 512, lr: float = 3e-3, seed: int = 0,
             progress: bool = True) -> tuple[nn.Module, list[float], float]:
    r"""Fit a neural spline flow (zuko's ``NSF``) to prior samples by maximum likelihood.

    The flow is :math:`y = T^{-1}(z)`, ``z ~ N(0, I)``, with ``T`` a stack of ``transforms``
    autoregressive rational-quadratic spline layers; training minimises
    :math:`-\frac1n\sum_i \log p_T(y_i)` over minibatches, with Adam and cosine-decayed ``lr``.

    Parameters
    ----------
    samples : tensor or array
        Draws from the target prior, shape ``(n, d)``, ``d >= 2``.
    transforms, hidden, bins : int
        Number of spline layers, width of their two hidden layers, and spline bins.
    steps, batch_size : int
        Optimizer steps and minibatch size.
    lr : float
        Peak learning rate.
    seed : int
        Seeds the initialisation and the minibatches.
    progress : bool
        Show a ``tqdm`` bar.

    Returns
    -------
    flow : nn.Module
        The trained ``zuko.flows.NSF`` (in eval mode); ``flow()`` is the distribution.
    losses : list of float
        The negative log-likelihood at each step.
    seconds : float
        Wall time.
    """
    import zuko  # imported here: only the flow route needs it

    y = torch.as_tensor(np.asarray(samples) if not isinstance(samples, torch.Tensor) else samples,
                        dtype=torch.float32)
    if y.dim() != 2 or y.shape[1] < 2:
        raise ValueError(f"samples must have shape (n, d) with d >= 2, got {tuple(y.shape)}")
    for name, v in (("transforms", transforms), ("hidden", hidden), ("bins", bins), ("steps", steps),
                    ("batch_size", batch_size)):
        check_positive_int(name, v)
    check_positive_float("lr", lr)
    torch.manual_seed(seed)
    flow = zuko.flows.NSF(features=y.shape[1], transforms=transforms, hidden_features=[hidden, hidden], bins=bins)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(flow.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    losses: list[float] = []
    start = time.perf_counter()
    for _ in progress_bar(range(steps), progress, desc="flow", leave=False):
        batch = y[torch.randint(0, y.shape[0], (min(batch_size, y.shape[0]),), generator=gen)]
        loss = -flow().log_prob(batch).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    flow.eval()
    return flow, losses, time.perf_counter() - start


@torch.no_grad()
def flow_to_prior(flow: nn.Module, z: torch.Tensor | np.ndarray) -> np.ndarray:
    r"""Push Gaussian-matched embeddings through a fitted flow's inverse: :math:`y = T^{-1}(z)`.

    Parameters
    ----------
    flow : nn.Module
        A flow from :func:`fit_flow`.
    z : tensor or array
        Embeddings matched to N(0, I), shape ``(n, d)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, d)``.
    """
    t = torch.as_tensor(np.asarray(z) if not isinstance(z, torch.Tensor) else z, dtype=torch.float32)
    return flow().transform.inv(t).double().numpy()


@torch.no_grad()
def flow_to_gaussian(flow: nn.Module, y: torch.Tensor | np.ndarray) -> np.ndarray:
    """The forward map :math:`z = T(y)`, prior space to N(0, I); the inverse of :func:`flow_to_prior`."""
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y, dtype=torch.float32)
    return flow().transform(t).double().numpy()


def banana_prior(curvature: float = 0.5, scale: float = 1.0) -> SampledPrior:
    r"""A non-factorized 2-D "banana": :math:`y_1 = s x_1,\; y_2 = x_2 + c\,(x_1^2 - 1)`, ``x ~ N(0, I)``.

    Its coordinates are uncorrelated yet dependent, so no per-coordinate map reaches it.
    """
    c = float(curvature)
    s = check_positive_float("scale", scale)

    def sampler(n: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.standard_normal((n, 2))
        return np.stack([s * x[:, 0], x[:, 1] + c * (x[:, 0] ** 2 - 1.0)], axis=1)

    return SampledPrior(f"banana(c={c}, s={s})", sampler, dim=2)


def gaussian_mixture_prior(centers: np.ndarray | list[list[float]], std: float = 0.3) -> SampledPrior:
    """An equal-weight mixture of isotropic Gaussians with the given ``centers`` (shape ``(k, d)``)."""
    mu = np.asarray(centers, dtype=np.float64)
    if mu.ndim != 2 or mu.shape[0] < 1:
        raise ValueError(f"centers must have shape (k, d), got {mu.shape}")
    s = check_positive_float("std", std)

    def sampler(n: int, rng: np.random.Generator) -> np.ndarray:
        return mu[rng.integers(0, mu.shape[0], n)] + s * rng.standard_normal((n, mu.shape[1]))

    return SampledPrior(f"mixture(k={mu.shape[0]}, std={s}, centers={mu.round(3).tolist()})", sampler,
                        dim=mu.shape[1])


