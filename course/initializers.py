"""Weight initialisers for a Linear layer's W (d_in, d_out), seeded by a numpy Generator.

Each returns a float64 numpy array of shape ``(d_in, d_out)``; the layer casts it to its dtype.
The scale decides whether a deep network's signal survives (lesson 06):

- Xavier/Glorot keeps the variance of z = x @ W equal on the way forward and back for tanh-like
  activations: Var(W) = 2 / (d_in + d_out).
- He/Kaiming makes up for ReLU zeroing half its inputs: Var(W) = 2 / d_in.
- uniform(-limit, limit) has variance limit^2 / 3, so the uniform versions use limit = sqrt(3 Var).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator], np.ndarray]


def zeros(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    """All zeros: every hidden unit computes the same thing and gets the same gradient."""
    return np.zeros((d_in, d_out))


def normal(std: float) -> Initializer:
    """N(0, std^2) entries, whatever the layer's size."""
    if not (isinstance(std, (int, float)) and std >= 0 and math.isfinite(std)):
        raise ValueError(f"std must be a finite number >= 0, got {std!r}")

    def init(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(0.0, std, size=(d_in, d_out))

    return init


def xavier_normal(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, math.sqrt(2.0 / (d_in + d_out)), size=(d_in, d_out))


def xavier_uniform(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    limit = math.sqrt(6.0 / (d_in + d_out))
    return rng.uniform(-limit, limit, size=(d_in, d_out))


def he_normal(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, math.sqrt(2.0 / d_in), size=(d_in, d_out))


def he_uniform(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    limit = math.sqrt(6.0 / d_in)
    return rng.uniform(-limit, limit, size=(d_in, d_out))


BY_NAME: dict[str, Initializer] = {
    "zeros": zeros,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}


def get(spec) -> Initializer:
    """The initialiser for ``spec``: a name in BY_NAME, ("normal", std), or a function
    (d_in, d_out, rng) -> array (d_in, d_out)."""
    if isinstance(spec, str) and spec in BY_NAME:
        return BY_NAME[spec]
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "normal":
        return normal(spec[1])
    if callable(spec):
        return spec
    raise ValueError(f"init must be one of {sorted(BY_NAME)}, ('normal', std) or a function "
                     f"(d_in, d_out, rng) -> array, got {spec!r}")
