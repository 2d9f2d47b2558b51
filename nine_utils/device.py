"""Device selection and seeding."""

from __future__ import annotations

import random

import numpy as np
import torch

from ._checks import check_choice


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"`` into the best available device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns
    -------
    torch.device
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    check_choice("device", device.split(":")[0], ("auto", "cpu", "cuda", "mps"))
    return torch.device(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch's global generators, and return a fresh ``torch.Generator``.

    The global seeds make weight initialisation reproducible; the returned generator is the one
    to pass on explicitly to data splits, augmentation and sampling.

    Parameters
    ----------
    seed : int
        The seed.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
