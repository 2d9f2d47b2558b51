r"""Fixed maps from a matched embedding to other priors: the probability integral transform and flows.

NINE matches N(0, I) or U[0, 1]^d. Any other absolutely continuous prior
(:mod:`nine_utils.priors`) is reached by composing the matched embedding with a fixed invertible
map, trained or written down once:

- factorized priors: the probability integral transform, per coordinate,
  :math:`y_k = F^{-1}(\Phi(z_k))` from a Gaussian embedding or :math:`y_k = F^{-1}(u_k)` from a
  uniform one (:func:`pit_to_prior`);
- non-factorized priors (e.g. :func:`~nine_utils.priors.banana_prior`): a normalizing flow fitted
  by maximum likelihood to prior samples (:func:`fit_flow`); its inverse carries N(0, I) to the
  prior (:func:`flow_to_prior`), its forward map back (:func:`flow_to_gaussian`).

Everything here stays importable from :mod:`nine_utils.priors`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from scipy import special
from torch import nn

from ._arrays import ArrayLike, as_numpy, as_tensor
from ._checks import check_choice, check_positive_float, check_positive_int
from ._progress import progress_bar
from .priors import SampledPrior, get_prior
from .seeds import SeedLike, check_seed, torch_generator

_U_CLIP = 1e-7  # keeps u off 0 and 1, where most quantile functions are infinite

SOURCES: tuple[str, ...] = ("normal", "uniform")
"""What a matched embedding matches, for :func:`pit_to_prior`."""

# --------------------------------------------------------------------------------------------
# Maps from a matched embedding to other priors
# --------------------------------------------------------------------------------------------

def pit_to_prior(z: ArrayLike, prior: Any, source: str = "normal") -> np.ndarray:
    r"""Map matched embeddings to a factorized prior by the probability integral transform.

    .. math:: y = F^{-1}(u), \qquad u = \Phi(z) \text{ (source "normal")} \quad\text{or}\quad u = z
              \text{ (source "uniform")},

    applied elementwise; ``u`` is clipped to ``[1e-7, 1 - 1e-7]``. If ``z ~ N(0, I)`` (or
    ``U[0,1]^d``) exactly, ``y`` has i.i.d. coordinates with CDF ``F``.

    Parameters
    ----------
    z : tensor or array
        Matched embeddings, shape ``(n, d)``, finite.
    prior : str, scipy.stats frozen distribution, torch distribution or Prior
        The target; it needs an inverse CDF (``ppf`` / ``icdf``). See :func:`get_prior`.
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
    a = as_numpy(z, "z", ndim=2)
    u = special.ndtr(a) if source == "normal" else a
    return p.ppf(np.clip(u, _U_CLIP, 1.0 - _U_CLIP))


def fit_flow(samples: ArrayLike, *, transforms: int = 4, hidden: int = 64, bins: int = 8,
             steps: int = 2000, batch_size: int = 512, lr: float = 3e-3, seed: SeedLike = 0,
             progress: bool = True) -> tuple[nn.Module, list[float], float]:
    r"""Fit a neural spline flow (zuko's ``NSF``) to prior samples by maximum likelihood.

    The flow is :math:`y = T^{-1}(z)`, ``z ~ N(0, I)``, with ``T`` a stack of ``transforms``
    autoregressive rational-quadratic spline layers; training minimises
    :math:`-\frac1n\sum_i \log p_T(y_i)` over minibatches, with Adam and cosine-decayed ``lr``.
    Runs on the CPU, in float32.

    The initialisation is drawn inside :func:`torch.random.fork_rng`, so torch's global random
    state is the same after the call as before it.

    Parameters
    ----------
    samples : tensor or array
        Draws from the target prior, shape ``(n, d)``, ``d >= 2``, finite.
    transforms, hidden, bins : int
        Number of spline layers, width of their two hidden layers, and spline bins, ``>= 1``.
    steps, batch_size : int
        Optimizer steps and minibatch size, ``>= 1``.
    lr : float
        Peak learning rate, ``> 0``.
    seed : int or numpy.random.Generator
        Seeds the initialisation and the minibatches (through :func:`nine_utils.seeds.torch_generator`).
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
    a = as_numpy(samples, "samples")
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"samples must have shape (n, d) with d >= 2, got {a.shape}")
    for name, v in (("transforms", transforms), ("hidden", hidden), ("bins", bins), ("steps", steps),
                    ("batch_size", batch_size)):
        check_positive_int(name, v)
    check_positive_float("lr", lr)
    gen = torch_generator(check_seed(seed))
    import zuko  # imported here: only the flow route needs it

    y = torch.as_tensor(a, dtype=torch.float32)
    losses: list[float] = []
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(gen.initial_seed())
        flow = zuko.flows.NSF(features=y.shape[1], transforms=transforms, hidden_features=[hidden, hidden],
                              bins=bins)
        opt = torch.optim.Adam(flow.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
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


def _flow_input(flow: nn.Module, x: ArrayLike, name: str) -> torch.Tensor:
    device = next(flow.parameters()).device
    return as_tensor(x, name).to(device=device, dtype=torch.float32)


@torch.no_grad()
def flow_to_prior(flow: nn.Module, z: ArrayLike) -> np.ndarray:
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
        Shape ``(n, d)``, float64.
    """
    return as_numpy(flow().transform.inv(_flow_input(flow, z, "z")), "y", finite=False)


@torch.no_grad()
def flow_to_gaussian(flow: nn.Module, y: ArrayLike) -> np.ndarray:
    r"""The forward map :math:`z = T(y)`, prior space to N(0, I); the inverse of :func:`flow_to_prior`.

    Shapes: ``y (n, d)`` -> ``(n, d)``, float64.
    """
    return as_numpy(flow().transform(_flow_input(flow, y, "y")), "z", finite=False)
