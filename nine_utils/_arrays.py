"""The one place where user data (numpy, lists, tensors of any float dtype) becomes an array."""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, Any]
"""Anything :func:`numpy.asarray` accepts, or a torch tensor on any device and of any dtype."""


def as_numpy(a: ArrayLike, name: str = "array", ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """``a`` as a float64 numpy array (a tensor is detached and moved to the CPU first).

    Parameters
    ----------
    a : array-like or torch.Tensor
        The data.
    name : str
        Used in error messages.
    ndim : int, optional
        Required number of dimensions.
    finite : bool
        Refuse NaN and infinite values.

    Raises
    ------
    ValueError
        If the data cannot be converted, has the wrong number of dimensions, or is not finite.
    """
    if isinstance(a, torch.Tensor):
        out = a.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            out = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric array-like, got {type(a).__name__}: {exc}") from None
    if ndim is not None and out.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {out.shape}")
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def as_tensor(a: ArrayLike, name: str = "x", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``a`` as a torch tensor of ``dtype`` (float32 by default, the dtype of the course's models).

    A numpy array (float64 from scikit-learn, say) or a float64 tensor is converted once; a tensor
    that already has ``dtype`` is returned as it is (no copy).

    Raises
    ------
    ValueError
        If the data cannot be converted to a numeric tensor.
    """
    if isinstance(a, torch.Tensor):
        return a if a.dtype == dtype else a.to(dtype)
    try:
        return torch.as_tensor(np.asarray(a), dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name} must be numeric array-like, got {type(a).__name__}: {exc}") from None
