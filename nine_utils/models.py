"""Encoders and critics.

A *critic* maps a batch of pairs to a score matrix: ``scores[i, j] = T(a_i, b_j)``, shape
``(n, n)``, with the positive (jointly drawn) pairs on the diagonal and the ``n (n - 1)``
off-diagonal entries serving as negatives (samples of the product of marginals).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_choice, check_positive_float, check_positive_int

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def mlp(in_dim: int, hidden: int, out_dim: int, layers: int = 2, activation: str = "relu") -> nn.Sequential:
    """A plain MLP: ``layers`` hidden layers of width ``hidden``, then a linear output.

    Parameters
    ----------
    in_dim, hidden, out_dim : int
        Input width, hidden width and output width, all ``>= 1``.
    layers : int
        Number of hidden layers, ``>= 1``.
    activation : str
        One of ``"relu"``, ``"gelu"``, ``"tanh"``, ``"silu"``.
    """
    for name, v in (("in_dim", in_dim), ("hidden", hidden), ("out_dim", out_dim), ("layers", layers)):
        check_positive_int(name, v)
    act = ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    mods: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), act()]
        width = hidden
    mods.append(nn.Linear(width, out_dim))
    return nn.Sequential(*mods)


class MLPEncoder(nn.Module):
    """MLP encoder: flattens its input and maps it to ``out_dim`` features.

    Shapes: ``(n, *in_shape) -> (n, out_dim)`` where ``prod(in_shape) == in_dim``.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 256, layers: int = 2,
                 activation: str = "relu") -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, out_dim, layers, activation)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class ConvEncoder(nn.Module):
    """Small conv encoder for square single-channel images (8x8 digits by default, 28x28 MNIST, ...).

    ``(n, 1, s, s)`` -> conv3x3(c) -> ReLU -> conv3x3 stride 2 (2c) -> ReLU -> further conv3x3
    stride 2 (2c) + ReLU until the map is 2x2 -> flatten (8c) -> linear(hidden) -> ReLU
    -> linear(out_dim). For ``s = 8`` that is two stride-2 layers (8 -> 4 -> 2); for ``s = 28``
    four (28 -> 14 -> 7 -> 4 -> 2).

    Parameters
    ----------
    out_dim : int
        Embedding size.
    channels : int
        Width ``c`` of the first convolution.
    hidden : int
        Width of the fully connected layer.
    image_size : int
        Side ``s`` of the input images, ``>= 4``.
    """

    def __init__(self, out_dim: int, channels: int = 32, hidden: int = 128, image_size: int = 8) -> None:
        super().__init__()
        for name, v in (("out_dim", out_dim), ("channels", channels), ("hidden", hidden)):
            check_positive_int(name, v)
        check_positive_int("image_size", image_size, minimum=4)
        c = channels
        layers: list[nn.Module] = [nn.Conv2d(1, c, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU()]
        size = (image_size + 1) // 2
        while size > 2:
            layers += [nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.ReLU()]
            size = (size + 1) // 2
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(2 * c * size * size, hidden), nn.ReLU(),
                                 nn.Linear(hidden, out_dim))
        self.out_dim = out_dim
        self.image_size = image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.image_size
        if x.shape[-2:] != (s, s):
            raise ValueError(f"ConvEncoder(image_size={s}) expects {s}x{s} images, got shape {tuple(x.shape)}")
        return self.net(x)


def _check_pair(a: torch.Tensor, b: torch.Tensor, dim_a: int, dim_b: int, name: str) -> None:
    """Refuse inputs that are not ``a (n, dim_a)`` and ``b (m, dim_b)``."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != dim_a or b.shape[1] != dim_b:
        raise ValueError(f"{name}(dim_a={dim_a}, dim_b={dim_b}) expects a of shape (n, {dim_a}) and b of shape "
                         f"(m, {dim_b}), got {tuple(a.shape)} and {tuple(b.shape)}")


class SeparableCritic(nn.Module):
    """Separable critic ``T(a, b) = g(a)^T W h(b) / tau``.

    ``kind="dot"`` uses ``W = I``; ``kind="bilinear"`` learns ``W``. With ``normalize=True``,
    ``g(a)`` and ``h(b)`` are scaled to unit length first (the cosine critic of SimCLR), so
    ``|T| <= 1/tau`` for ``"dot"``. With ``hidden`` given, ``g``
    and ``h`` are MLPs to ``embed_dim`` features; otherwise they are the identity and the inputs
    must already have matching sizes (the usual case on top of an encoder).

    Shapes: ``a (n, dim_a)``, ``b (m, dim_b)`` -> scores ``(n, m)``. Inputs of another width are
    refused with a ``ValueError`` (without hidden layers the dot product would otherwise score any
    common width).

    Parameters
    ----------
    dim_a : int
        Width of ``a``, ``>= 1``.
    dim_b : int, optional
        Width of ``b``; defaults to ``dim_a``.
    kind : str
        ``"dot"`` or ``"bilinear"``.
    hidden : int, optional
        Hidden width of the MLPs ``g`` and ``h``; ``None`` makes them the identity.
    embed_dim : int
        Output width of ``g`` and ``h`` when ``hidden`` is given.
    temperature : float
        ``tau > 0``.
    normalize : bool
        Scale ``g(a)`` and ``h(b)`` to unit length.

    Attributes
    ----------
    dim_a, dim_b : int
        The input widths the critic was built for.
    """

    KINDS = ("dot", "bilinear")

    def __init__(self, dim_a: int, dim_b: int | None = None, kind: str = "dot", hidden: int | None = None,
                 embed_dim: int = 32, temperature: float = 1.0, normalize: bool = False) -> None:
        super().__init__()
        check_choice("critic kind", kind, self.KINDS)
        dim_b = dim_a if dim_b is None else dim_b
        check_positive_int("dim_a", dim_a)
        check_positive_int("dim_b", dim_b)
        temperature = check_positive_float("temperature", temperature)
        if hidden is None:
            if dim_a != dim_b:
                raise ValueError(f"without hidden layers dim_a and dim_b must match, got {dim_a} and {dim_b}")
            self.g: nn.Module = nn.Identity()
            self.h: nn.Module = nn.Identity()
            width = dim_a
        else:
            self.g = mlp(dim_a, hidden, embed_dim)
            self.h = mlp(dim_b, hidden, embed_dim)
            width = embed_dim
        self.dim_a, self.dim_b = dim_a, dim_b
        self.kind = kind
        self.normalize = normalize
        self.temperature = float(temperature)
        self.weight = nn.Parameter(torch.eye(width)) if kind == "bilinear" else None

    @property
    def dim(self) -> int:
        """Width of ``a`` (``dim_a``)."""
        return self.dim_a

    def extra_repr(self) -> str:
        return (f"dim_a={self.dim_a}, dim_b={self.dim_b}, kind={self.kind!r}, temperature={self.temperature}, "
                f"normalize={self.normalize}")

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores ``T(a_i, b_j)``, shape ``(n, m)``, for ``a (n, dim_a)`` and ``b (m, dim_b)``."""
        _check_pair(a, b, self.dim_a, self.dim_b, type(self).__name__)
        ga, hb = self.g(a), self.h(b)
        if self.normalize:
            ga, hb = F.normalize(ga, dim=-1), F.normalize(hb, dim=-1)
        if self.weight is not None:
            ga = ga @ self.weight
        return ga @ hb.T / self.temperature


class ConcatCritic(nn.Module):
    """Concatenation critic ``T(a, b) = MLP([a, b])``, evaluated on all ``n^2`` pairs.

    More expressive than a separable critic, and ``n`` times more expensive.
    Shapes: ``a (n, dim_a)``, ``b (m, dim_b)`` -> scores ``(n, m)``; other widths are refused
    with a ``ValueError``.

    Parameters
    ----------
    dim_a : int
        Width of ``a``, ``>= 1``.
    dim_b : int, optional
        Width of ``b``; defaults to ``dim_a``.
    hidden, layers : int
        Hidden width and number of hidden layers of the MLP, ``>= 1``.

    Attributes
    ----------
    dim_a, dim_b : int
        The input widths the critic was built for.
    """

    def __init__(self, dim_a: int, dim_b: int | None = None, hidden: int = 128, layers: int = 2) -> None:
        super().__init__()
        dim_b = dim_a if dim_b is None else dim_b
        check_positive_int("dim_a", dim_a)
        check_positive_int("dim_b", dim_b)
        self.dim_a, self.dim_b = dim_a, dim_b
        self.net = mlp(dim_a + dim_b, hidden, 1, layers)

    @property
    def dim(self) -> int:
        """Width of ``a`` (``dim_a``)."""
        return self.dim_a

    def extra_repr(self) -> str:
        return f"dim_a={self.dim_a}, dim_b={self.dim_b}"

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores ``MLP([a_i, b_j])``, shape ``(n, m)``, for ``a (n, dim_a)`` and ``b (m, dim_b)``."""
        _check_pair(a, b, self.dim_a, self.dim_b, type(self).__name__)
        n = a.shape[0]
        pairs = torch.cat([a[:, None, :].expand(n, b.shape[0], -1), b[None, :, :].expand(n, -1, -1)], dim=-1)
        return self.net(pairs).squeeze(-1)


CRITICS = ("dot", "bilinear", "concat")


def make_critic(name: str, dim_a: int, dim_b: int | None = None, hidden: int | None = None,
                **kwargs: float | int) -> nn.Module:
    """Build a critic by name: ``"dot"``, ``"bilinear"`` (separable) or ``"concat"``.

    Extra keyword arguments go to the critic's constructor.
    """
    check_choice("critic", name, CRITICS)
    if name == "concat":
        return ConcatCritic(dim_a, dim_b, hidden=hidden or 128, **kwargs)
    return SeparableCritic(dim_a, dim_b, kind=name, hidden=hidden, **kwargs)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
