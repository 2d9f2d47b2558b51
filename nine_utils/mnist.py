"""Optional larger data: MNIST and Fashion-MNIST, downloaded once into ``data/`` with checksums.

Nothing here runs by default: the notebooks use the digits that ship with scikit-learn. With a
network, :func:`load_idx_dataset` downloads the four IDX archives of a dataset into
``<root>/<name>/`` (default root: ``data/`` under the working directory; the notebooks pass the
repository's ``data/``), verifies their SHA-256 sums and
parses them with numpy. Without a network it fails with a message saying where to put the files
by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._checks import check_choice


@dataclass(frozen=True)
class IdxDataset:
    """Where a dataset's four IDX archives live and what their SHA-256 sums are."""

    name: str
    mirrors: tuple[str, ...]
    sha256: dict[str, str]


_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DATASETS: dict[str, IdxDataset] = {
    "mnist": IdxDataset(
        "mnist",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        dict(zip(_FILES, (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ))),
    ),
    "fashion_mnist": IdxDataset(
        "fashion_mnist",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        dict(zip(_FILES, (
            "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
            "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
            "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
            "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
        ))),
    ),
}
"""The downloadable datasets by name."""

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(data: bytes) -> np.ndarray:
    """Parse the bytes of an IDX file (optionally gzip-compressed) into an array.

    The format: two zero bytes, a type code (``0x08`` = uint8, …), the number of dimensions
    ``k``, then ``k`` big-endian uint32 sizes, then the values in C order.

    Raises
    ------
    ValueError
        For a bad magic number, an unknown type code or a size that does not match the payload.
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: bad magic number")
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise ValueError(f"not an IDX file: unknown type code 0x{code:02x}")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"IDX payload has {len(data) - header} bytes, its header promises {expected} for shape {shape}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(spec: IdxDataset, file: str, target: Path, timeout: float) -> None:
    errors = []
    for mirror in spec.mirrors:
        try:
            with urllib.request.urlopen(mirror + file, timeout=timeout) as response, open(target.with_suffix(".part"), "wb") as out:
                shutil.copyfileobj(response, out)
            target.with_suffix(".part").rename(target)
            return
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{mirror + file}: {exc}")
            target.with_suffix(".part").unlink(missing_ok=True)
    raise ConnectionError(
        f"could not download {spec.name} file {file} (no network?). Tried:\n  " + "\n  ".join(errors)
        + f"\nTo use {spec.name} offline, download these four files elsewhere and put them in {target.parent}/:\n  "
        + "\n  ".join(spec.mirrors[0] + f for f in spec.sha256)
    )


def fetch(name: str, root: str | Path = "data", download: bool = True, timeout: float = 30.0) -> Path:
    """Make sure the four archives of dataset ``name`` are in ``<root>/<name>/`` with the right sums.

    Parameters
    ----------
    name : str
        ``"mnist"`` or ``"fashion_mnist"``.
    root : str or Path
        Data folder; a relative path is taken from the working directory.
    download : bool
        Download missing files; with ``False`` a missing file is an error.
    timeout : float
        Seconds per connection attempt.

    Returns
    -------
    Path
        The dataset's folder.

    Raises
    ------
    ValueError
        For an unknown name (listing the known ones) or a file whose checksum is wrong.
    ConnectionError
        When a file is missing and cannot be downloaded; the message says where to put it by hand.
    """
    spec = DATASETS[check_choice("dataset", name, DATASETS)]
    folder = Path(root).expanduser() / name
    folder.mkdir(parents=True, exist_ok=True)
    for file, expected in spec.sha256.items():
        target = folder / file
        if not target.is_file():
            if not download:
                raise ConnectionError(f"{target} is missing and download=False; put the file there by hand")
            _download(spec, file, target, timeout)
        actual = sha256_of(target)
        if actual != expected:
            raise ValueError(f"checksum mismatch for {target}: expected sha256 {expected}, got {actual}; "
                             "delete the file to download it again")
    return folder


def load_idx_dataset(name: str, root: str | Path = "data", download: bool = True
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """MNIST or Fashion-MNIST as tensors: its official train and test splits.

    Returns
    -------
    x_train, y_train, x_test, y_test : torch.Tensor
        Images of shape ``(n, 1, 28, 28)``, float32 in ``[0, 1]``; labels int64 of shape ``(n,)``.
    """
    folder = fetch(name, root, download)
    arrays = [parse_idx((folder / f).read_bytes()) for f in _FILES]
    x_tr, y_tr, x_te, y_te = arrays
    if x_tr.shape[0] != y_tr.shape[0] or x_te.shape[0] != y_te.shape[0]:
        raise ValueError(f"{name}: images and labels differ in count")
    to_x = lambda a: torch.as_tensor(a.astype(np.float32) / 255.0).unsqueeze(1)  # noqa: E731
    to_y = lambda a: torch.as_tensor(a.astype(np.int64))  # noqa: E731
    return to_x(x_tr), to_y(y_tr), to_x(x_te), to_y(y_te)
