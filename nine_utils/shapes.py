r"""Procedurally rendered shapes with known generative factors, in the manner of dSprites.

Each image shows one white shape on a black square canvas. Five factors make it:

======== ============================================ =========================================
factor   values                                       meaning
======== ============================================ =========================================
shape    index into ``shapes`` (discrete)              square, ellipse, heart or triangle
scale    ``scale_range``, default ``[0.5, 1]``         size, as a fraction of the largest size
rotation ``rotation_range`` radians, default 0..pi/3   counter-clockwise turn about the centre
x, y     ``[0, 1]``                                    position of the centre, left->right, bottom->top
======== ============================================ =========================================

Every factor is drawn independently and uniformly: the discrete one from its values, the
continuous ones from their interval (or from ``levels`` evenly spaced values on it, as dSprites
does). The default rotation range is 60 degrees so that no shape looks the same at two rotations
in range (a square repeats every 90 degrees, a triangle every 120, an ellipse every 180); over a
full turn, rotation is not a function of the image.

Rendering is pure numpy and deterministic: :func:`render_shapes` maps a factor table to images by
evaluating each shape's inside test on a ``k x k`` super-sampled grid per pixel (anti-aliasing),
so a small change of a factor changes the image smoothly. :func:`make_shapes` samples factors
with a seed and renders them; :class:`ShapeViews` makes the two views of InfoMax: it renders a few
jittered copies of every training image once, and a view of an image is one of its copies, drawn at
random, plus pixel noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_nonnegative_float, check_positive_int
from .seeds import require_generator

SHAPES: tuple[str, ...] = ("square", "ellipse", "heart", "triangle")
"""The shapes the renderer knows."""

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "rotation", "x", "y")
"""Column names of a factor table, in order."""

CONTINUOUS_FACTORS: tuple[str, ...] = FACTOR_NAMES[1:]
"""The continuous factors: every column but ``shape``."""

_EXTENT = 0.42
"""Radius of a scale-1 shape in canvas units (the canvas is ``[-1, 1]^2``)."""


def _check_range(name: str, value: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"{name} must be finite with low <= high, got {value!r}")
    return lo, hi


def _check_shapes(shapes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(shapes, str) or len(shapes) == 0:
        raise ValueError(f"shapes must be a non-empty sequence of names from {SHAPES}, got {shapes!r}")
    for s in shapes:
        check_choice("shape", s, SHAPES)
    if len(set(shapes)) != len(shapes):
        raise ValueError(f"shapes must not repeat, got {shapes!r}")
    return tuple(shapes)


@dataclass(frozen=True)
class ShapesData:
    """Rendered images and the factors that made them.

    Attributes
    ----------
    images : torch.Tensor
        Shape ``(n, 1, s, s)``, float32 in ``[0, 1]``; row 0 of an image is its top.
    factors : np.ndarray
        Shape ``(n, 5)``, float64; columns :data:`FACTOR_NAMES`. Column ``shape`` holds the index
        into ``shapes``.
    shapes : tuple of str
        The shapes in use, indexed by the ``shape`` column.
    names : tuple of str
        :data:`FACTOR_NAMES`.
    """

    images: torch.Tensor
    factors: np.ndarray
    shapes: tuple[str, ...]
    names: tuple[str, ...] = FACTOR_NAMES

    def __len__(self) -> int:
        return self.factors.shape[0]

    def factor(self, name: str) -> np.ndarray:
        """One column of the factor table, shape ``(n,)``."""
        return self.factors[:, self.names.index(check_choice("factor", name, self.names))]

    def table(self):  # -> pandas.DataFrame (imported lazily)
        """The factor table as a ``pandas.DataFrame``, with the shape as its name."""
        import pandas as pd

        frame = pd.DataFrame(self.factors, columns=list(self.names))
        frame["shape"] = [self.shapes[int(i)] for i in self.factors[:, 0]]
        return frame


def sample_factors(n: int, rng: np.random.Generator, *, shapes: Sequence[str] = SHAPES,
                   scale_range: Sequence[float] = (0.5, 1.0),
                   rotation_range: Sequence[float] = (0.0, math.pi / 3),
                   levels: int | None = None) -> np.ndarray:
    """Draw ``n`` independent factor rows, each factor uniform on its values.

    Parameters
    ----------
    n : int
        Number of rows, ``>= 1``.
    rng : np.random.Generator
        Source of randomness.
    shapes : sequence of str
        Shapes to draw from, a subset of :data:`SHAPES`.
    scale_range : (float, float)
        Scale interval, within ``(0, 1]``.
    rotation_range : (float, float)
        Rotation interval in radians.
    levels : int, optional
        If given (``>= 2``), the continuous factors take ``levels`` evenly spaced values on
        their interval (a grid, as in dSprites) instead of any value.

    Returns
    -------
    np.ndarray
        Shape ``(n, 5)``; columns :data:`FACTOR_NAMES`.
    """
    check_positive_int("n", n)
    shapes = _check_shapes(shapes)
    s_lo, s_hi = _check_range("scale_range", scale_range)
    if not 0.0 < s_lo <= s_hi <= 1.0:
        raise ValueError(f"scale_range must lie within (0, 1], got {scale_range!r}")
    r_lo, r_hi = _check_range("rotation_range", rotation_range)
    if levels is not None:
        check_positive_int("levels", levels, minimum=2)
    out = np.empty((n, 5))
    out[:, 0] = rng.integers(len(shapes), size=n)
    bounds = [(s_lo, s_hi), (r_lo, r_hi), (0.0, 1.0), (0.0, 1.0)]
    for j, (lo, hi) in enumerate(bounds, start=1):
        if levels is None:
            out[:, j] = rng.uniform(lo, hi, size=n)
        else:
            out[:, j] = np.linspace(lo, hi, levels)[rng.integers(levels, size=n)]
    return out


def _inside(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside test of a unit-radius shape in its own coordinates (arrays of any shape)."""
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == "ellipse":
        return u ** 2 + (v / 0.5) ** 2 <= 1.0
    if shape == "triangle":  # equilateral, circumradius 1, one vertex pointing up
        half = 0.5
        c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
        return (-v <= half) & (c * u + s * v <= half) & (-c * u + s * v <= half)
    # heart: the sextic (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, scaled into the unit disc
    x, y = 1.15 * u, 1.15 * v + 0.12
    return (x ** 2 + y ** 2 - 1.0) ** 3 - x ** 2 * y ** 3 <= 0.0


def render_shapes(factors: np.ndarray, image_size: int = 16, *, shapes: Sequence[str] = SHAPES,
                  antialias: int = 3, chunk: int = 2048) -> np.ndarray:
    r"""Render a factor table into images.

    A shape with scale :math:`s`, rotation :math:`\theta` and position :math:`(x, y)` covers the
    canvas points :math:`p \in [-1, 1]^2` whose local coordinates
    :math:`R(-\theta)\,(p - c)/(s\,r)` pass its unit inside test, where the centre is
    :math:`c = (1 - r)(2x - 1, 2y - 1)` and :math:`r` is the radius of a scale-1 shape (so every
    shape stays on the canvas). A pixel's value is the covered fraction of its ``antialias^2``
    sub-samples.

    Parameters
    ----------
    factors : np.ndarray
        Shape ``(n, 5)``, columns :data:`FACTOR_NAMES` (e.g. from :func:`sample_factors`).
    image_size : int
        Side ``s`` in pixels, ``>= 4``.
    shapes : sequence of str
        The shapes that the ``shape`` column indexes.
    antialias : int
        Sub-samples per pixel side, ``>= 1``.
    chunk : int
        Images rendered at once (bounds memory).

    Returns
    -------
    np.ndarray
        Shape ``(n, s, s)``, float32 in ``[0, 1]``; row 0 is the top of the image.
    """
    check_positive_int("image_size", image_size, minimum=4)
    check_positive_int("antialias", antialias)
    check_positive_int("chunk", chunk)
    shapes = _check_shapes(shapes)
    factors = np.asarray(factors, dtype=np.float64)
    if factors.ndim != 2 or factors.shape[1] != 5:
        raise ValueError(f"factors must have shape (n, 5), got {factors.shape}")
    idx = factors[:, 0]
    if not np.all((idx == np.round(idx)) & (idx >= 0) & (idx < len(shapes))):
        raise ValueError(f"the shape column must hold indices 0..{len(shapes) - 1}")
    if not np.all(np.isfinite(factors[:, 1:])) or np.any(factors[:, 1] <= 0):
        raise ValueError("the continuous factors must be finite and the scale column > 0")
    n, s, k = factors.shape[0], image_size, antialias
    # sub-sample centres in canvas coordinates; image row 0 is the top (y = +1)
    t = (np.arange(s * k) + 0.5) / (s * k) * 2.0 - 1.0
    gx, gy = np.meshgrid(t, -t)  # (s k, s k)
    out = np.empty((n, s, s), dtype=np.float32)
    for start in range(0, n, chunk):
        f = factors[start:start + chunk]
        radius = f[:, 1] * _EXTENT
        cx = (1.0 - _EXTENT) * (2.0 * f[:, 3] - 1.0)
        cy = (1.0 - _EXTENT) * (2.0 * f[:, 4] - 1.0)
        cos, sin = np.cos(f[:, 2]), np.sin(f[:, 2])
        dx = gx[None] - cx[:, None, None]
        dy = gy[None] - cy[:, None, None]
        u = (cos[:, None, None] * dx + sin[:, None, None] * dy) / radius[:, None, None]
        v = (-sin[:, None, None] * dx + cos[:, None, None] * dy) / radius[:, None, None]
        mask = np.zeros(u.shape, dtype=bool)
        for j, name in enumerate(shapes):
            rows = f[:, 0] == j
            if rows.any():
                mask[rows] = _inside(name, u[rows], v[rows])
        out[start:start + len(f)] = mask.reshape(len(f), s, k, s, k).mean(axis=(2, 4))
    return out


def make_shapes(n: int, image_size: int = 16, seed: int | np.random.Generator = 0, *,
                shapes: Sequence[str] = SHAPES, scale_range: Sequence[float] = (0.5, 1.0),
                rotation_range: Sequence[float] = (0.0, math.pi / 3), levels: int | None = None,
                antialias: int = 3) -> ShapesData:
    """Sample ``n`` factor rows and render them: the dataset of notebook 05.

    Parameters
    ----------
    n : int
        Number of images, ``>= 1``.
    image_size : int
        Side in pixels, ``>= 4``.
    seed : int or np.random.Generator
        The same seed gives the same factors and images.
    shapes, scale_range, rotation_range, levels
        See :func:`sample_factors`.
    antialias : int
        See :func:`render_shapes`.

    Returns
    -------
    ShapesData
        Images ``(n, 1, s, s)`` and the factor table ``(n, 5)``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    factors = sample_factors(n, rng, shapes=shapes, scale_range=scale_range, rotation_range=rotation_range,
                             levels=levels)
    images = render_shapes(factors, image_size, shapes=shapes, antialias=antialias)
    return ShapesData(torch.from_numpy(images).unsqueeze(1), factors, _check_shapes(shapes))


def jitter_factors(factors: np.ndarray, jitter: float, rng: np.random.Generator, *,
                   scale_range: Sequence[float] = (0.5, 1.0),
                   rotation_range: Sequence[float] = (0.0, math.pi / 3)) -> np.ndarray:
    r"""Move each continuous factor by a small uniform amount, keeping it in its range.

    .. math:: \tilde v_j = \operatorname{clip}\big(v_j + \delta_j,\ [a_j, b_j]\big),\qquad
              \delta_j \sim \mathcal U\big[-\text{jitter}\,(b_j - a_j),\ \text{jitter}\,(b_j - a_j)\big]

    for the four continuous factors, whose ranges are ``[a_j, b_j]``; the shape is never changed.

    Parameters
    ----------
    factors : np.ndarray
        Shape ``(n, 5)``, columns :data:`FACTOR_NAMES`.
    jitter : float
        Half-width of the move as a fraction of each range, ``>= 0``.
    rng : np.random.Generator
        Source of randomness.
    scale_range, rotation_range
        The ranges the factors were drawn from (see :func:`sample_factors`).

    Returns
    -------
    np.ndarray
        Shape ``(n, 5)``, a new array.
    """
    check_nonnegative_float("jitter", jitter)
    factors = np.asarray(factors, dtype=np.float64)
    if factors.ndim != 2 or factors.shape[1] != 5:
        raise ValueError(f"factors must have shape (n, 5), got {factors.shape}")
    lo, hi = np.array([_check_range("scale_range", scale_range), _check_range("rotation_range", rotation_range),
                       (0.0, 1.0), (0.0, 1.0)]).T
    out = factors.copy()
    if jitter > 0:
        move = jitter * (hi - lo) * rng.uniform(-1.0, 1.0, size=(len(out), 4))
        out[:, 1:] = np.clip(out[:, 1:] + move, lo, hi)
    return out


class ShapeViews:
    r"""Two-view sampling for InfoMax on shapes: jittered renderings of the same factors, plus pixel noise.

    At construction it renders ``copies`` versions of every factor row, each with its own
    :func:`jitter_factors` move (a bank of shape ``(n, copies, 1, s, s)``; rendering once keeps
    training fast). Called on a batch of row indices, it returns for each index one of its copies,
    drawn at random, plus Gaussian pixel noise:

    .. math:: \text{view}(i) = \text{render}(\tilde v_{i,c}) + \text{noise}\cdot\varepsilon,
              \qquad c \sim \mathcal U\{1..\text{copies}\},\ \varepsilon \sim \mathcal N(0, I).

    Two calls on the same indices share the factors up to the jitter, so InfoMax between them keeps
    what the factors determine. Use it with :func:`nine_utils.train_infomax` as
    ``train_infomax(encoder, critic, views.index, views, ...)``.

    Parameters
    ----------
    factors : np.ndarray
        Shape ``(n, 5)``, the training factor table (e.g. ``ShapesData.factors``).
    image_size : int
        Side in pixels.
    copies : int
        Jittered renderings per row, ``>= 1``.
    jitter : float
        See :func:`jitter_factors`.
    noise : float
        Standard deviation of the pixel noise, ``>= 0``.
    seed : int
        Seeds the jitter of the bank.
    shapes, scale_range, rotation_range
        The factor ranges used to make the data (see :func:`sample_factors`).
    antialias : int
        See :func:`render_shapes`.

    Attributes
    ----------
    bank : torch.Tensor
        Shape ``(n, copies, 1, s, s)``.
    index : torch.Tensor
        ``arange(n)``, the "training set" to pass to ``train_infomax``.
    """

    def __init__(self, factors: np.ndarray, image_size: int = 16, *, copies: int = 4, jitter: float = 0.02,
                 noise: float = 0.05, seed: int = 0, shapes: Sequence[str] = SHAPES,
                 scale_range: Sequence[float] = (0.5, 1.0), rotation_range: Sequence[float] = (0.0, math.pi / 3),
                 antialias: int = 3) -> None:
        check_positive_int("copies", copies)
        check_nonnegative_float("noise", noise)
        check_positive_int("image_size", image_size, minimum=4)
        factors = np.asarray(factors, dtype=np.float64)
        rng = np.random.default_rng(seed)
        jittered = [jitter_factors(factors, jitter, rng, scale_range=scale_range, rotation_range=rotation_range)
                    for _ in range(copies)]
        images = render_shapes(np.stack(jittered, axis=1).reshape(-1, 5), image_size, shapes=shapes,
                               antialias=antialias)
        self.bank = torch.from_numpy(images).view(len(factors), copies, 1, image_size, image_size)
        self.index = torch.arange(len(factors))
        self.image_size, self.copies, self.jitter, self.noise = image_size, copies, float(jitter), float(noise)

    def __len__(self) -> int:
        return self.bank.shape[0]

    def __repr__(self) -> str:
        return (f"ShapeViews(n={len(self)}, image_size={self.image_size}, copies={self.copies}, "
                f"jitter={self.jitter}, noise={self.noise})")

    def __call__(self, index: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        index = torch.as_tensor(index, dtype=torch.long).cpu()
        if index.dim() != 1:
            raise ValueError(f"expected a 1-D batch of row indices, got shape {tuple(index.shape)}")
        if generator is None and self.jitter == 0 and self.noise == 0:
            return self.bank[index, 0]  # the copies are all alike: nothing to draw
        require_generator(generator, "ShapeViews")  # torch's global generator is never used
        pick = torch.randint(self.copies, (len(index),), generator=generator)
        img = self.bank[index, pick]
        if self.noise > 0:
            img = img + self.noise * torch.randn(img.shape, generator=generator)
        return img
