"""Shared math cases, used alike by the scalar engine's tests (Value, Dual), the array layers'
and losses' tests and the torch comparisons (minitorch style).

CASES: one entry per elementwise operation, every activation of ``course.layers`` among them.
Each gives the scalar function (works on course.autodiff.Value and Dual), the numpy elementwise
function, its derivative, the torch function (torch imported only when called), a closed
interval (lo, hi) of inputs for hypothesis, the course layer computing it (if any), and the
methods it needs beyond lesson 02's engine (``runs_on(cls)``: the learner's Value of lesson 02
runs every case but log and sigmoid, course.autodiff.Value all of them).

LOSS_CASES: one entry per loss of ``course.losses``: the scalar loss over lists of Values, the
numpy loss, the torch loss, the course class, and a seeded maker of (prediction, target).
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
    layer: str | None = None
    needs: tuple[str, ...] = ()

    def runs_on(self, value_class) -> bool:
        """Whether ``value_class`` (a scalar engine) has every method this case needs beyond
        lesson 02's operations (+, -, *, /, **, tanh, exp, relu)."""
        return all(hasattr(value_class, name) for name in self.needs)


GELU_C, GELU_K = float(np.sqrt(2 / np.pi)), 0.044715
LEAKY_SLOPE = 0.01


def _gelu(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1 + np.tanh(GELU_C * (x + GELU_K * x**3)))


def _gelu_prime(x):
    x = np.asarray(x, dtype=np.float64)
    t = np.tanh(GELU_C * (x + GELU_K * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * x * x)


def _torch_functional():
    import torch

    return torch.nn.functional


def _sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


CASES = [
    MathCase("exp", lambda v: v.exp(), np.exp, np.exp, lambda t: t.exp(), (-5.0, 5.0)),
    MathCase("log", lambda v: v.log(), np.log, lambda x: 1.0 / x, lambda t: t.log(), (0.1, 10.0),
             needs=("log",)),
    MathCase(
        "tanh",
        lambda v: v.tanh(),
        np.tanh,
        lambda x: 1.0 - np.tanh(x) ** 2,
        lambda t: t.tanh(),
        (-4.0, 4.0),
        "Tanh",
    ),
    MathCase(
        "sigmoid",
        lambda v: v.sigmoid(),
        _sigmoid,
        lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
        lambda t: t.sigmoid(),
        (-8.0, 8.0),
        "Sigmoid",
        needs=("sigmoid",),
    ),
    MathCase(
        "relu",
        lambda v: v.relu(),
        lambda x: np.maximum(x, 0.0),
        lambda x: (np.asarray(x) > 0).astype(np.float64),
        lambda t: t.relu(),
        (-3.0, 3.0),
        "ReLU",
    ),
    MathCase(
        "leaky_relu",
        lambda v: v.relu() - LEAKY_SLOPE * (-v).relu(),
        lambda x: np.where(np.asarray(x) > 0, x, LEAKY_SLOPE * np.asarray(x)),
        lambda x: np.where(np.asarray(x) > 0, 1.0, LEAKY_SLOPE),
        lambda t: _torch_functional().leaky_relu(t, LEAKY_SLOPE),
        (-3.0, 3.0),
        "LeakyReLU",
    ),
    MathCase(
        "gelu",
        lambda v: 0.5 * v * (1 + (GELU_C * (v + GELU_K * v**3)).tanh()),
        _gelu,
        _gelu_prime,
        lambda t: _torch_functional().gelu(t, approximate="tanh"),
        (-4.0, 4.0),
        "GELU",
    ),
    MathCase(
        "identity",
        lambda v: v * 1.0,
        lambda x: np.asarray(x, dtype=np.float64) * 1.0,
        lambda x: np.ones_like(np.asarray(x, dtype=np.float64)),
        lambda t: t * 1.0,
        (-3.0, 3.0),
        "Identity",
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


# ---------------------------------------------------------------- losses


@dataclass(frozen=True)
class LossCase:
    """One loss L(prediction, target), mean over the batch.

    scalar(pred, target): pred a list of rows (lists of Values, or of floats), target a list;
    numpy(pred, target) -> float; torch(pred_tensor, target) -> 0-d tensor; course: the name
    of the class in course.losses; make(rng) -> (pred, target) numpy arrays.
    """

    name: str
    scalar: Callable
    numpy: Callable
    torch: Callable
    course: str
    make: Callable


def _rows(pred):
    return [row if isinstance(row, (list, tuple)) else [row] for row in pred]


def _mse_scalar(pred, target):
    rows = _rows(pred)
    terms = [(p - t) ** 2 for row, trow in zip(rows, _rows(target)) for p, t in zip(row, trow)]
    return sum(terms[1:], terms[0]) / len(terms)


def _softmax_ce_scalar(pred, labels):
    total = None
    for row, k in zip(pred, labels):
        exps = [z.exp() for z in row]
        term = sum(exps[1:], exps[0]).log() - row[int(k)]
        total = term if total is None else total + term
    return total / len(pred)


def _bce_scalar(pred, target):
    terms = [(1 + z.exp()).log() - t * z for z, t in zip(pred, target)]
    return sum(terms[1:], terms[0]) / len(terms)


def _softmax_ce_numpy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def _torch_tensor(a):
    import torch

    return torch.as_tensor(a)


LOSS_CASES = [
    LossCase("mse", _mse_scalar, lambda p, t: float(np.mean((p - t) ** 2)),
             lambda p, t: _torch_functional().mse_loss(p, _torch_tensor(t)), "MSE",
             lambda rng: (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))),
    LossCase("softmax_cross_entropy", _softmax_ce_scalar, _softmax_ce_numpy,
             lambda p, t: _torch_functional().cross_entropy(p, _torch_tensor(t)),
             "SoftmaxCrossEntropy",
             lambda rng: (rng.normal(size=(5, 4)), rng.integers(0, 4, 5))),
    LossCase("binary_cross_entropy", _bce_scalar,
             lambda z, y: float(np.mean(np.logaddexp(0.0, z) - y * z)),
             lambda p, t: _torch_functional().binary_cross_entropy_with_logits(
                 p, _torch_tensor(t)),
             "BinaryCrossEntropy",
             lambda rng: (rng.normal(size=5), rng.integers(0, 2, 5).astype(np.float64))),
]
