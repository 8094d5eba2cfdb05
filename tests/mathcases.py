"""Shared elementwise math cases: one entry per scalar operation.

Each case gives the scalar function (works on course.autodiff.Value and Dual), the numpy
elementwise function, its derivative, the torch function (torch imported only when called)
and a closed interval (lo, hi) of inputs for hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MathCase:
    """One unary operation f: scalar -> scalar with its derivative and input domain."""

    name: str
    scalar: Callable
    numpy: Callable
    derivative: Callable
    torch: Callable
    domain: tuple[float, float]


def _sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


CASES = [
    MathCase("exp", lambda v: v.exp(), np.exp, np.exp, lambda t: t.exp(), (-5.0, 5.0)),
    MathCase("log", lambda v: v.log(), np.log, lambda x: 1.0 / x, lambda t: t.log(), (0.1, 10.0)),
    MathCase(
        "tanh",
        lambda v: v.tanh(),
        np.tanh,
        lambda x: 1.0 - np.tanh(x) ** 2,
        lambda t: t.tanh(),
        (-4.0, 4.0),
    ),
    MathCase(
        "sigmoid",
        lambda v: v.sigmoid(),
        _sigmoid,
        lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
        lambda t: t.sigmoid(),
        (-8.0, 8.0),
    ),
    MathCase(
        "relu",
        lambda v: v.relu(),
        lambda x: np.maximum(x, 0.0),
        lambda x: (np.asarray(x) > 0).astype(np.float64),
        lambda t: t.relu(),
        (-3.0, 3.0),
    ),
    MathCase(
        "square",
        lambda v: v**2,
        np.square,
        lambda x: 2 * np.asarray(x),
        lambda t: t**2,
        (-3.0, 3.0),
    ),
    MathCase(
        "cube",
        lambda v: v**3,
        lambda x: np.asarray(x) ** 3,
        lambda x: 3 * np.asarray(x) ** 2,
        lambda t: t**3,
        (-3.0, 3.0),
    ),
    MathCase(
        "reciprocal",
        lambda v: 1 / v,
        lambda x: 1.0 / np.asarray(x),
        lambda x: -1.0 / np.asarray(x) ** 2,
        lambda t: 1 / t,
        (0.2, 5.0),
    ),
    MathCase(
        "neg",
        lambda v: -v,
        np.negative,
        lambda x: -np.ones_like(np.asarray(x, dtype=np.float64)),
        lambda t: -t,
        (-3.0, 3.0),
    ),
    MathCase(
        "affine",
        lambda v: 3 * v - 2 + v / 4,
        lambda x: 3.25 * np.asarray(x) - 2,
        lambda x: np.full_like(np.asarray(x, dtype=np.float64), 3.25),
        lambda t: 3 * t - 2 + t / 4,
        (-3.0, 3.0),
    ),
]

BY_NAME = {case.name: case for case in CASES}
