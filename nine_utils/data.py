"""Data: scikit-learn's 8x8 digits as tensors, a stratified split, and two-view augmentations.

Two augmentations are ``(batch, generator) -> view`` callables for
:func:`nine_utils.training.train_infomax`: :class:`TwoViewAugment` for images (shifts and pixel
noise) and :class:`GaussianJitter` for tabular data (additive Gaussian noise per feature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_fraction, check_nonnegative_float, check_positive_int, int_seed
from .seeds import SeedLike, as_generator, check_seed, require_generator, torch_generator


@dataclass(frozen=True)
class DigitsSplit:
    """A stratified train/test split of the digits.

    Attributes
    ----------
    x_train, x_test : torch.Tensor
        Images, shape ``(n, 1, 8, 8)``, float32 in ``[0, 1]``.
    y_train, y_test : torch.Tensor
        Labels, shape ``(n,)``, int64 in ``0..9``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Load scikit-learn's digits (1797 images, 10 classes); no download is needed.

    Returns
    -------
    x : torch.Tensor
        Shape ``(1797, 1, 8, 8)``, float32, pixel values divided by 16 so they lie in ``[0, 1]``.
    y : torch.Tensor
        Shape ``(1797,)``, int64 labels.
    """
    from sklearn.datasets import load_digits as _sk_load_digits  # scikit-learn only when used

    bunch = _sk_load_digits()
    x = torch.as_tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    return x, y


def digits_split(test_fraction: float = 0.25, seed: SeedLike = 0) -> DigitsSplit:
    """A stratified train/test split of the digits, fixed by ``seed``.

    Parameters
    ----------
    test_fraction : float
        Share of the images held out, in ``(0, 1)``.
    seed : int or numpy.random.Generator
        Seed of the split; the same int gives the same split.

    Returns
    -------
    DigitsSplit

    Raises
    ------
    ValueError
        For ``test_fraction`` outside ``(0, 1)`` or a bad ``seed``.
    """
    check_fraction("test_fraction", test_fraction)
    random_state = int_seed(seed, 2**32 - 1)  # scikit-learn's random_state
    x, y = load_digits()
    from sklearn.model_selection import train_test_split

    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=test_fraction, stratify=y.numpy(), random_state=random_state
    )
    idx_train, idx_test = torch.as_tensor(np.sort(idx_train)), torch.as_tensor(np.sort(idx_test))
    return DigitsSplit(x[idx_train], y[idx_train], x[idx_test], y[idx_test])


class TwoViewAugment:
    """Random views of 8x8 images: an integer shift and additive pixel noise.

    A view is ``clip(shift(x, dx, dy) + noise * eps, 0, 1)`` with ``dx, dy`` uniform in
    ``{-max_shift, ..., max_shift}`` (zeros shifted in) and ``eps ~ N(0, 1)`` per pixel.
    Two calls on the same batch give two views whose shared content is the digit.

    Parameters
    ----------
    max_shift : int
        Largest shift in pixels, ``>= 0``.
    noise : float
        Standard deviation of the pixel noise, ``>= 0``.
    """

    def __init__(self, max_shift: int = 1, noise: float = 0.1) -> None:
        check_positive_int("max_shift", max_shift, minimum=0)
        self.max_shift = max_shift
        self.noise = check_nonnegative_float("noise", noise)

    def __repr__(self) -> str:
        return f"TwoViewAugment(max_shift={self.max_shift}, noise={self.noise})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return one random view of ``x`` (shape ``(n, c, h, w)``), drawn with ``generator``.

        ``generator`` (a CPU ``torch.Generator``) is required unless the view draws nothing
        (``max_shift=0``, ``noise=0``); torch's global generator is never used.
        """
        if x.dim() != 4:
            raise ValueError(f"expected images of shape (n, c, h, w), got {tuple(x.shape)}")
        if self.max_shift > 0 or self.noise > 0:
            require_generator(generator, repr(self))
        n, _, h, w = x.shape
        out = x
        s = self.max_shift
        if s > 0:
            pad = torch.nn.functional.pad(x, (s, s, s, s))
            shifts = torch.randint(0, 2 * s + 1, (n, 2), generator=generator, device="cpu")
            rows = (torch.arange(h)[None, :] + shifts[:, :1]).to(x.device)  # (n, h)
            cols = (torch.arange(w)[None, :] + shifts[:, 1:]).to(x.device)  # (n, w)
            batch = torch.arange(n, device=x.device)[:, None, None]
            out = pad[batch, :, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
            out = out.permute(0, 3, 1, 2)
        if self.noise > 0:
            eps = torch.randn(out.shape, generator=generator, device="cpu").to(x.device)
            out = out + self.noise * eps
        return out.clamp(0.0, 1.0)


class GaussianJitter:
    r"""Random views of tabular data: additive Gaussian noise on every feature.

    A view of a batch ``x`` of shape ``(n, p)`` is

    .. math:: v = x + \text{std} \cdot \varepsilon, \qquad \varepsilon \sim \mathcal N(0, I_p)
              \text{ per row,}

    so two views of the same rows share everything but the noise, and InfoMax between them keeps
    what survives a perturbation of size ``std``. The same ``std`` applies to every feature:
    **standardize the features first** (zero mean, unit variance, e.g. with
    ``sklearn.preprocessing.StandardScaler`` fitted on the training rows), otherwise features with
    a large scale are barely perturbed and features with a small one are drowned. The noise is
    drawn on the CPU with the ``generator`` passed by the training loop and moved to ``x``'s
    device, in ``x``'s dtype.

    Parameters
    ----------
    std : float
        Noise standard deviation in units of the (standardized) features, finite and ``>= 0``;
        ``0`` gives identical views.

    Examples
    --------
    >>> train_infomax(encoder, critic, x_standardized, GaussianJitter(0.1))  # doctest: +SKIP
    """

    def __init__(self, std: float = 0.1) -> None:
        self.std = check_nonnegative_float("std", std)

    def __repr__(self) -> str:
        return f"GaussianJitter(std={self.std})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One random view of ``x`` (shape ``(n, p)``, floating point), drawn with ``generator``.

        ``generator`` (a CPU ``torch.Generator``) is required unless ``std == 0``; torch's global
        generator is never used.
        """
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or not x.is_floating_point():
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ValueError(f"GaussianJitter expects a floating-point tensor of shape (n, p) (rows of features), "
                             f"got {shape}; for images use TwoViewAugment")
        if self.std == 0:
            return x.clone()
        require_generator(generator, repr(self))
        eps = torch.randn(x.shape, generator=generator, device="cpu", dtype=x.dtype).to(x.device)
        return x + self.std * eps


def mixture_split(n_train: int = 1350, n_test: int = 450, *, n_components: int = 5, dim: int = 10,
                  separation: float = 3.0, seed: SeedLike = 0) -> DigitsSplit:
    r"""Clustered data made by code: a mixture of well-separated Gaussians, standardized.

    Centres :math:`c_k = s\, g_k` with :math:`g_k \sim \mathcal N(0, I_p)` (``s`` the
    ``separation``), points :math:`x = c_k + \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I_p)`,
    with equally likely components; the label is ``k``. Every feature is then standardized with the
    *training* rows' mean and standard deviation (the scale :class:`GaussianJitter` expects). At
    ``separation = 3`` and ``p = 10`` two centres lie about 13 apart against a within-cluster
    spread of 1, so the data are clearly clustered: a test of whether the data, not only the
    latent dimension, decide how well an embedding can match a unimodal prior.

    Parameters
    ----------
    n_train, n_test : int
        Rows, ``>= 2`` each.
    n_components : int
        Clusters, ``>= 2``.
    dim : int
        Features ``p``, ``>= 1``.
    separation : float
        Scale ``s`` of the centres, ``> 0``.
    seed : int or numpy.random.Generator
        Seed of the centres, the points and the labels.

    Returns
    -------
    DigitsSplit
        ``x_*`` float32 of shape ``(n, p)``; ``y_*`` int64 labels in ``0..n_components-1``.
    """
    for name, value, low in (("n_train", n_train, 2), ("n_test", n_test, 2), ("n_components", n_components, 2),
                             ("dim", dim, 1)):
        check_positive_int(name, value, minimum=low)
    if not (isinstance(separation, (int, float)) and np.isfinite(separation) and separation > 0):
        raise ValueError(f"separation must be a finite number > 0, got {separation!r}")
    rng = as_generator(check_seed(seed))
    centres = separation * rng.standard_normal((n_components, dim))
    y = rng.integers(0, n_components, n_train + n_test)
    x = centres[y] + rng.standard_normal((n_train + n_test, dim))
    mean, sd = x[:n_train].mean(axis=0), x[:n_train].std(axis=0, ddof=1)
    x = torch.as_tensor((x - mean) / sd, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    return DigitsSplit(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


DATASET_NAMES = ("digits", "mnist", "fashion_mnist")
"""Datasets :func:`dataset_split` knows. Only ``"digits"`` works offline with no set-up."""


def dataset_split(name: str = "digits", test_fraction: float = 0.25, seed: SeedLike = 0, *, root: str = "data",
                  max_train: int | None = None, max_test: int | None = None, download: bool = True) -> DigitsSplit:
    """A train/test split of a named image dataset, as float tensors in ``[0, 1]``.

    ``"digits"`` is :func:`digits_split` (8x8, offline). ``"mnist"`` and ``"fashion_mnist"``
    (28x28) use their official splits, downloaded once into ``<root>/<name>/`` with SHA-256
    checks (:func:`nine_utils.mnist.load_idx_dataset`); ``max_train`` / ``max_test`` keep a
    random subset of that size (drawn with ``seed``) so a CPU run stays short.

    Parameters
    ----------
    name : str
        One of :data:`DATASET_NAMES`.
    test_fraction : float
        Held-out share for ``"digits"`` (the others have a fixed test set).
    seed : int or numpy.random.Generator
        Seed of the split and of the subsets.
    root : str
        Data folder for the downloads, relative to the working directory unless absolute.
    max_train, max_test : int, optional
        Subset sizes, ``>= 1``.
    download : bool
        Allow downloading missing files.

    Returns
    -------
    DigitsSplit
        Images ``(n, 1, s, s)``, labels ``(n,)``.

    Raises
    ------
    ValueError
        For an unknown name (listing :data:`DATASET_NAMES`) or bad sizes, before any download.
    ConnectionError
        When a download is needed and impossible; the message says where to put the files.
    """
    check_choice("dataset", name, DATASET_NAMES)
    check_fraction("test_fraction", test_fraction)
    seed = check_seed(seed)
    for label, value in (("max_train", max_train), ("max_test", max_test)):
        if value is not None:
            check_positive_int(label, value)
    if name == "digits":
        split = digits_split(test_fraction, seed)
    else:
        from .mnist import load_idx_dataset

        split = DigitsSplit(*load_idx_dataset(name, root, download))
    gen = torch_generator(seed)

    def subset(x: torch.Tensor, y: torch.Tensor, k: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        if k is None or k >= len(y):
            return x, y
        idx = torch.randperm(len(y), generator=gen)[:k].sort().values
        return x[idx], y[idx]

    x_tr, y_tr = subset(split.x_train, split.y_train, max_train)
    x_te, y_te = subset(split.x_test, split.y_test, max_test)
    return DigitsSplit(x_tr, y_tr, x_te, y_te)
