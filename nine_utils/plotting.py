"""One seaborn theme and one colour per method, shared by every notebook."""

from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

from ._checks import check_choice

METHOD_COLORS: dict[str, str] = {
    # methods that learn a representation
    "nine": "#d62728",          # red: NINE, the method taught
    "dim": "#1f77b4",           # blue: plain Deep InfoMax
    "adversarial": "#9467bd",   # purple: DIM + adversarial prior matching
    "vae": "#8c564b",           # brown: (beta-)VAE
    # reference points
    "pixels": "#7f7f7f",        # grey: raw pixels
    "random": "#bcbd22",        # olive: untrained encoder
    "truth": "#2ca02c",         # green: ground truth / prior samples / bounds
    # MI estimators
    "infonce": "#ff7f0e",
    "nwj": "#17becf",
    "dv": "#e377c2",
    "jsd": "#393b79",
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
    sns.set_theme(context=context, style="whitegrid", palette="colorblind")
    mpl.rcParams.update({"figure.dpi": 90, "axes.titleweight": "bold", "figure.constrained_layout.use": True})


def method_color(name: str) -> str:
    """Colour of a method or estimator by name (see :data:`METHOD_COLORS`)."""
    return METHOD_COLORS[check_choice("method", name, METHOD_COLORS)]
