"""Lesson 04 (backprop through an MLP): a Linear layer's backward, ReLU's backward, and the
delta of softmax cross-entropy."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise


def _linear_backward(x, W, delta):
    """Backward of z = x @ W + b.

    x (n, d_in), W (d_in, d_out), delta = dL/dz (n, d_out)
    -> (dx (n, d_in), dW (d_in, d_out), db (d_out,)).
    """
    return delta @ W.T, x.T @ delta, delta.sum(axis=0)


def _linear_cases():
    rng = np.random.default_rng(4)
    one = (np.array([[1.0, 2.0]]), np.array([[0.5], [-1.0]]), np.array([[3.0]]))
    return [one, (rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(5, 4)) / 5)]


def _relu_backward(upstream, z):
    """upstream = dL/da (n, d), z the ReLU's input (n, d) -> dL/dz (n, d)."""
    return upstream * (z > 0)


def _relu_cases():
    z = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.0]])
    rng = np.random.default_rng(5)
    return [(np.array([[1.0, 2.0, 3.0], [-1.0, 4.0, 5.0]]), z),
            (rng.normal(size=(4, 6)), rng.normal(size=(4, 6)))]


def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ce_delta(logits, labels):
    """dL/dlogits of the mean softmax cross-entropy.

    logits (n, k), labels (n,) integers in [0, k) -> (n, k): (softmax(logits) - onehot) / n.
    """
    n, k = logits.shape
    return (_softmax(logits) - np.eye(k)[labels]) / n


def _ce_cases():
    rng = np.random.default_rng(6)
    return [(np.array([[2.0, 1.0, 0.0]]), np.array([0])),
            (np.array([[1.0, 3.0], [0.5, -0.5], [2.0, 2.0]]), np.array([1, 0, 1])),
            (rng.normal(size=(5, 4)), rng.integers(0, 4, 5)),
            (np.array([[709.5, 709.0], [0.0, 1.0]]), np.array([0, 1]))]


def _unshifted_ce_delta(logits, labels):
    """Softmax straight from the formula: e^709.5 + e^709 overflows to inf, so p = 0."""
    with np.errstate(over="ignore"):
        e = np.exp(logits)
        p = e / e.sum(axis=1, keepdims=True)
    return (p - np.eye(logits.shape[1])[labels]) / len(logits)


EXERCISES = [
    Exercise(
        id="04.1",
        title="a Linear layer's backward",
        points=3,
        reference=_linear_backward,
        cases=_linear_cases,
        mistakes={
            "averaged db over the batch: delta already carries the 1/n of the mean, so sum":
                lambda x, W, d: (d @ W.T, x.T @ d, d.mean(axis=0)),
            "forgot the bias gradient":
                lambda x, W, d: (d @ W.T, x.T @ d, np.zeros(W.shape[1])),
            "divided dW by n again: delta already carries the 1/n":
                lambda x, W, d: (d @ W.T, x.T @ d / len(x), d.sum(axis=0)),
            "dx = 0: the gradient was not passed on to the layer below":
                lambda x, W, d: (np.zeros_like(x), x.T @ d, d.sum(axis=0)),
        },
    ),
    Exercise(
        id="04.2",
        title="ReLU's backward",
        points=2,
        reference=_relu_backward,
        cases=_relu_cases,
        mistakes={
            "used relu(z) instead of its derivative": lambda u, z: u * np.maximum(z, 0),
            "z >= 0 instead of z > 0: at exactly 0 ReLU passes nothing (the convention of "
            "course.layers and torch)": lambda u, z: u * (z >= 0),
            "forgot to multiply by the upstream gradient": lambda u, z: (z > 0).astype(float),
            "inverted mask: passed the gradient where the unit was off": lambda u, z: u * (z <= 0),
        },
    ),
    Exercise(
        id="04.3",
        title="the delta of softmax cross-entropy",
        points=3,
        reference=_ce_delta,
        cases=_ce_cases,
        mistakes={
            "forgot the 1/n of the mean over the batch":
                lambda z, y: _softmax(z) - np.eye(z.shape[1])[y],
            "forgot to subtract the one-hot labels": lambda z, y: _softmax(z) / len(z),
            "softmax over the batch (axis 0) instead of over the classes":
                lambda z, y: (_softmax(z, axis=0) - np.eye(z.shape[1])[y]) / len(z),
            "subtracted the one-hot labels from the logits, not the probabilities":
                lambda z, y: (z - np.eye(z.shape[1])[y]) / len(z),
            "exponentiated the logits without subtracting each row's max first: the sum "
            "overflows to inf for large logits":
                _unshifted_ce_delta,
        },
    ),
]
