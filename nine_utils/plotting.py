"""One seaborn theme and one colour per method, shared by every notebook; curves over seeds.

matplotlib and seaborn are imported when a function here is called, not with the package:
``import nine_utils`` stays light (seaborn brings pyplot and pandas with it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._arrays import ArrayLike, as_numpy
from ._checks import check_choice

if TYPE_CHECKING:
    from matplotlib.axes import Axes

METHOD_COLORS: dict[str, str] = {
    # Colour-blind-safe: Okabe & Ito's eight colours first, then Paul Tol's "muted" scheme for
    # the rest. Every key has its own colour, and the pairs that share figures (NINE against the
    # truth or the prior, NINE against DIM) differ in lightness as well as hue, so they stay
    # apart for red-green colour blindness and in greyscale.
    # methods that learn a representation
    "nine": "#0072B2",          # blue (Okabe-Ito): NINE, the method taught
    "dim": "#D55E00",           # vermillion (Okabe-Ito): plain Deep InfoMax
    "adversarial": "#CC79A7",   # reddish purple (Okabe-Ito): DIM + adversarial prior matching
    "vae": "#009E73",           # bluish green (Okabe-Ito): (beta-)VAE
    # reference points
    "pixels": "#7F7F7F",        # grey: raw pixels
    "random": "#999933",        # olive (Tol): untrained encoder
    "truth": "#E69F00",         # orange (Okabe-Ito): ground truth / prior samples / bounds
    # baselines without NINE's head
    "unnormalized": "#882255",  # wine (Tol): the same model without the normalization
    "standardized": "#44AA99",  # teal (Tol): an input or embedding standardized per coordinate
    "whitened": "#332288",      # indigo (Tol): an embedding whitened (decorrelated) after training
    "learned": "#DDCC77",       # sand (Tol): DIM with a learned critic, standardized
    "learned_whitened": "#88CCEE",  # cyan (Tol): DIM with a learned critic, whitened
    # MI estimators
    "infonce": "#56B4E9",       # sky blue (Okabe-Ito)
    "nwj": "#117733",           # green (Tol)
    "dv": "#AA4499",            # purple (Tol)
    "jsd": "#CC6677",           # rose (Tol)
}
"""Colour of each method or estimator; the same name means the same colour in every notebook."""


def set_theme(context: str = "notebook") -> None:
    """Set the course's seaborn theme (white grid, colour-blind palette, readable sizes).

    Parameters
    ----------
    context : str
        Seaborn context: ``"paper"``, ``"notebook"``, ``"talk"`` or ``"poster"``.
    """
    check_choice("context", context, ("paper", "notebook", "talk", "poster"))
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette="colorblind")
    mpl.rcParams.update({"figure.dpi": 90, "axes.titleweight": "bold", "figure.constrained_layout.use": True})


def method_color(name: str) -> str:
    """Colour of a method or estimator by name (see :data:`METHOD_COLORS`)."""
    return METHOD_COLORS[check_choice("method", name, METHOD_COLORS)]


def plot_over_seeds(ax: Axes, x: ArrayLike, per_seed: ArrayLike, *, color: str, label: str) -> np.ndarray:
    """Draw one quantity measured along training for several seeds: a thin line per seed, the mean bold.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    x : array-like, shape ``(n_points,)``
        The checkpoints (epochs, say).
    per_seed : array-like, shape ``(n_seeds, n_points)``
        The quantity at each checkpoint, one row per seed.
    color : str
        Colour of every line (see :func:`method_color`).
    label : str
        Legend entry of the mean, which is drawn with markers; ``" (mean; thin: each seed)"`` is
        appended to it. The per-seed lines have no legend entry.

    Returns
    -------
    numpy.ndarray
        The mean over seeds, shape ``(n_points,)``.

    Raises
    ------
    ValueError
        If ``per_seed`` is not 2-D, has no row, or its width differs from the length of ``x``.
    """
    xs = as_numpy(x, "x", ndim=1)
    ys = as_numpy(per_seed, "per_seed", ndim=2)
    if ys.shape[0] < 1 or ys.shape[1] != xs.shape[0]:
        raise ValueError(f"per_seed must have shape (n_seeds >= 1, {xs.shape[0]}) to match x, got {ys.shape}")
    for row in ys:
        ax.plot(xs, row, color=color, lw=0.8, alpha=0.35)
    mean = ys.mean(axis=0)
    ax.plot(xs, mean, "o-", ms=3, color=color, label=f"{label} (mean; thin: each seed)")
    return mean
