"""Deterministic toy data sets and one small real one.

The toy sets take (n, noise, seed) and return (x float64 (n, d), y): integer labels int64 (n,)
for classification, float64 (n, 1) for regression. :func:`load_digits` reads the 8x8
handwritten digits shipped in ``course/datasets`` (no download); :func:`split` divides any
labelled set into a seeded, stratified train and test part.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

import numpy as np


def _check(n, noise):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")


def spiral(n: int = 300, noise: float = 0.2, seed: int = 0, classes: int = 3):
    """``classes`` interleaved spiral arms in 2-D; x (n, 2), y (n,) in 0..classes-1."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    theta = 4.0 * r + 2 * np.pi * y / classes + noise * rng.normal(size=n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1), y.astype(np.int64)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles; x (n, 2), y (n,) in {0, 1}."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    x = np.where(
        y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
    )
    return x + noise * rng.normal(size=(n, 2)), y.astype(np.int64)


def regression_1d(n: int = 100, noise: float = 0.1, seed: int = 0):
    """y = sin(3x) + 0.3x + noise for x uniform in [-2, 2]; x (n, 1), y (n, 1), both float64."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, n))[:, None]
    return x, np.sin(3 * x) + 0.3 * x + noise * rng.normal(size=(n, 1))


@lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    with gzip.open(files("course") / "datasets" / "digits.csv.gz", "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    table.flags.writeable = False
    return table


def load_digits():
    """The 8x8 handwritten digits (UCI, Alpaydin and Kaynak; see course/datasets/README.md).

    Returns x float64 (1797, 64), pixel counts 0..16 with each image's rows one after another
    (``x[i].reshape(8, 8)`` is image i), and y int64 (1797,), the digit 0..9. Each call returns
    fresh arrays. Divide x by 16 to bring it to [0, 1] before training.
    """
    table = _digits_table()
    return table[:, :64].astype(np.float64), table[:, 64].copy()


def split(x, y, test_fraction: float = 0.2, seed: int = 0):
    """Seeded stratified split: ``(x_train, y_train, x_test, y_test)``.

    x: (n, ...) array, y: (n,) integer labels. Of each class, round(test_fraction * count)
    examples (chosen by ``seed``) go to the test part, so both parts keep the class
    proportions; each part is shuffled. The same arguments always give the same split.
    """
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape (n,), got {y.dtype} {y.shape}")
    if x.ndim == 0 or len(x) != len(y):
        raise ValueError(f"x must have shape (n, ...) with n = len(y) = {len(y)}, got {x.shape}")
    if isinstance(test_fraction, bool) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test.extend(members[: round(test_fraction * len(members))])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[np.asarray(test, dtype=np.int64)] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx]
