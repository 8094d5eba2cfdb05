"""Deterministic toy data sets. Every function takes (n, noise, seed) and returns
(x float64 (n, d), y): integer labels int64 (n,) for classification,
float64 (n, 1) for regression."""

from __future__ import annotations

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


def circles(n: int = 200, noise: float = 0.05, seed: int = 0, factor: float = 0.5):
    """An inner circle (label 1, radius ``factor``) inside an outer one (label 0); x (n, 2)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.where(y == 1, factor, 1.0)
    x = np.c_[r * np.cos(t), r * np.sin(t)]
    return x + noise * rng.normal(size=(n, 2)), y.astype(np.int64)


def xor(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Points in [-1, 1]^2 labelled 1 where the coordinates' signs differ; x (n, 2), y (n,)."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64)
    return x + noise * rng.normal(size=(n, 2)), y


def regression_1d(n: int = 100, noise: float = 0.1, seed: int = 0):
    """y = sin(3x) + 0.3x + noise for x uniform in [-2, 2]; x (n, 1), y (n, 1), both float64."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, n))[:, None]
    return x, np.sin(3 * x) + 0.3 * x + noise * rng.normal(size=(n, 1))
