"""Downstream metrics on frozen embeddings."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._checks import check_positive_float, check_positive_int

ArrayLike = np.ndarray | torch.Tensor


def _np(a: ArrayLike) -> np.ndarray:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return a.reshape(a.shape[0], -1) if a.ndim > 1 else a


def _check_pairs(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray) -> None:
    if z_train.shape[0] != y_train.shape[0] or z_test.shape[0] != y_test.shape[0]:
        raise ValueError("embeddings and labels must have the same number of rows")
    if z_train.shape[1] != z_test.shape[1]:
        raise ValueError(f"train and test embeddings differ in width: {z_train.shape[1]} vs {z_test.shape[1]}")


def linear_probe_accuracy(z_train: ArrayLike, y_train: ArrayLike, z_test: ArrayLike, y_test: ArrayLike,
                          C: float = 1.0, max_iter: int = 5000) -> float:
    """Test accuracy of a logistic-regression probe trained on frozen embeddings.

    Features are standardised on the training set, then multinomial logistic regression
    (L2 penalty ``1/C``, lbfgs) is fitted. Deterministic for fixed inputs.

    Parameters
    ----------
    z_train, z_test : array or tensor
        Embeddings, shape ``(n, d)`` (higher ranks are flattened).
    y_train, y_test : array or tensor
        Integer labels, shape ``(n,)``.
    C : float
        Inverse regularisation strength, ``> 0``.
    max_iter : int
        lbfgs iterations.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.
    """
    check_positive_float("C", C)
    check_positive_int("max_iter", max_iter)
    zt, yt, ze, ye = _np(z_train), _np(y_train), _np(z_test), _np(y_test)
    _check_pairs(zt, yt, ze, ye)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    clf.fit(zt, yt)
    return float(clf.score(ze, ye))


def knn_accuracy(z_train: ArrayLike, y_train: ArrayLike, z_test: ArrayLike, y_test: ArrayLike,
                 k: int = 5) -> float:
    """Test accuracy of a ``k``-nearest-neighbour classifier (Euclidean) on frozen embeddings.

    Parameters
    ----------
    z_train, z_test : array or tensor
        Embeddings, shape ``(n, d)``.
    y_train, y_test : array or tensor
        Labels, shape ``(n,)``.
    k : int
        Number of neighbours, ``>= 1``.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.
    """
    check_positive_int("k", k)
    zt, yt, ze, ye = _np(z_train), _np(y_train), _np(z_test), _np(y_test)
    _check_pairs(zt, yt, ze, ye)
    return float(KNeighborsClassifier(n_neighbors=k).fit(zt, yt).score(ze, ye))
