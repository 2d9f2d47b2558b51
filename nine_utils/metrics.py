"""Downstream metrics on frozen embeddings."""

from __future__ import annotations

import numpy as np

from ._arrays import ArrayLike, as_numpy
from ._checks import check_positive_float, check_positive_int


def _probe_data(z_train: ArrayLike, y_train: ArrayLike, z_test: ArrayLike, y_test: ArrayLike
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings as float64 ``(n, d)`` (higher ranks flattened), labels as ``(n,)``; shapes checked."""
    zs = []
    for name, z in (("z_train", z_train), ("z_test", z_test)):
        a = as_numpy(z, name)
        if a.ndim < 2 or a.shape[0] < 1:
            raise ValueError(f"{name} must have shape (n, d) (or (n, ...), flattened), got {a.shape}")
        zs.append(a.reshape(a.shape[0], -1))
    yt, ye = as_numpy(y_train, "y_train", ndim=1), as_numpy(y_test, "y_test", ndim=1)
    zt, ze = zs
    if zt.shape[0] != yt.shape[0] or ze.shape[0] != ye.shape[0]:
        raise ValueError("embeddings and labels must have the same number of rows")
    if zt.shape[1] != ze.shape[1]:
        raise ValueError(f"train and test embeddings differ in width: {zt.shape[1]} vs {ze.shape[1]}")
    return zt, yt, ze, ye


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
        Numeric (e.g. integer) labels, shape ``(n,)``.
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
    zt, yt, ze, ye = _probe_data(z_train, y_train, z_test, y_test)
    from sklearn.linear_model import LogisticRegression  # scikit-learn only when used
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    clf.fit(zt, yt)
    return float(clf.score(ze, ye))


def knn_accuracy(z_train: ArrayLike, y_train: ArrayLike, z_test: ArrayLike, y_test: ArrayLike,
                 k: int = 5) -> float:
    """Test accuracy of a ``k``-nearest-neighbour classifier (Euclidean) on frozen embeddings.

    Parameters
    ----------
    z_train, z_test : array or tensor
        Embeddings, shape ``(n, d)`` (higher ranks are flattened).
    y_train, y_test : array or tensor
        Numeric labels, shape ``(n,)``.
    k : int
        Number of neighbours, ``>= 1``.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.
    """
    check_positive_int("k", k)
    zt, yt, ze, ye = _probe_data(z_train, y_train, z_test, y_test)
    from sklearn.neighbors import KNeighborsClassifier

    return float(KNeighborsClassifier(n_neighbors=k).fit(zt, yt).score(ze, ye))
