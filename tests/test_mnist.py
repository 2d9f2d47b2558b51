"""The optional MNIST / Fashion-MNIST loader, tested offline with small IDX files the test writes."""

import gzip
import hashlib

import numpy as np
import pytest
import torch

import nine_utils.mnist as mn
from nine_utils.data import dataset_split


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def fake_dataset(tmp_path, monkeypatch):
    """A 'mnist' of 12 train and 5 test random 28x28 images, with checksums of those files."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 10, 12),
              rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5)]
    folder = tmp_path / "mnist"
    folder.mkdir()
    sums = {}
    for file, arr in zip(mn._FILES, arrays):
        blob = gzip.compress(_idx(arr))
        (folder / file).write_bytes(blob)
        sums[file] = hashlib.sha256(blob).hexdigest()
    monkeypatch.setitem(mn.DATASETS, "mnist", mn.IdxDataset("mnist", ("http://127.0.0.1:9/",), sums))
    return tmp_path, arrays


def test_parser_reads_plain_and_gzipped_idx():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(mn.parse_idx(_idx(a)), a)
    assert np.array_equal(mn.parse_idx(gzip.compress(_idx(a))), a)
    with pytest.raises(ValueError, match="magic"):
        mn.parse_idx(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="payload"):
        mn.parse_idx(_idx(a)[:-1])
    with pytest.raises(ValueError, match="type code"):
        mn.parse_idx(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))


def test_loader_returns_scaled_tensors_with_official_split(fake_dataset):
    root, arrays = fake_dataset
    x_tr, y_tr, x_te, y_te = mn.load_idx_dataset("mnist", root, download=False)
    assert x_tr.shape == (12, 1, 28, 28) and x_te.shape == (5, 1, 28, 28)
    assert x_tr.dtype == torch.float32 and 0 <= x_tr.min() and x_tr.max() <= 1
    assert torch.allclose(x_tr[:, 0] * 255, torch.as_tensor(arrays[0], dtype=torch.float32))
    assert torch.equal(y_te, torch.as_tensor(arrays[3]))
    split = dataset_split("mnist", root=str(root), max_train=7, seed=1, download=False)
    assert len(split.y_train) == 7 and len(split.y_test) == 5


def test_checksum_failure_is_reported(fake_dataset):
    root, _ = fake_dataset
    (root / "mnist" / mn._FILES[1]).write_bytes(gzip.compress(_idx(np.zeros(12))))
    with pytest.raises(ValueError, match="checksum mismatch.*train-labels"):
        mn.load_idx_dataset("mnist", root, download=False)


def test_offline_download_fails_with_where_to_put_the_files(fake_dataset):
    root, _ = fake_dataset
    (root / "mnist" / mn._FILES[0]).unlink()
    with pytest.raises(ConnectionError, match=r"(?s)no network\?.*put them in .*mnist"):
        mn.fetch("mnist", root, download=True, timeout=2)
    assert not (root / "mnist" / (mn._FILES[0] + ".part")).exists()


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="'digits', 'mnist', 'fashion_mnist'"):
        dataset_split("cifar10")
    with pytest.raises(ValueError, match="'mnist', 'fashion_mnist'"):
        mn.fetch("kmnist")
    assert set(mn.DATASETS["fashion_mnist"].sha256) == set(mn._FILES)
