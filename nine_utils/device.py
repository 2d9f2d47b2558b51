"""Device selection: ``"auto"`` picks CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"`` into the best available device: CUDA, then Apple MPS, then CPU.

    A device that this machine does not have is refused here, with a clear message, instead of
    failing later inside torch.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        For an unknown name, or for ``"cuda"`` / ``"cuda:N"`` / ``"mps"`` when this machine does
        not have that device.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be a string such as {', '.join(map(repr, DEVICES))}, got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind, _, index = device.partition(":")
    if kind not in DEVICES or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"unknown device {device!r}; allowed values are: "
                         f"{', '.join(map(repr, DEVICES))} or 'cuda:N'")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but CUDA is not available on this machine "
                             "(use 'auto' or 'cpu')")
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} was asked for, but this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not _mps_available():
        raise ValueError(f"device {device!r} was asked for, but Apple MPS is not available on this machine "
                         "(use 'auto' or 'cpu')")
    return torch.device(device)
