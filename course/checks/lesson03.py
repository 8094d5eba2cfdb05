"""Lesson 03 (the two-layer ReLU network): the worked example's backward pass by hand, and the
vectorised gradients of the hidden layer."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise


def _worked_backward(x, y, w1, b1, w2, b2):
    """Gradients of L = (yhat - y)^2 / 2 for yhat = w2 relu(w1 x + b1) + b2, all scalars.

    -> (dL/dw1, dL/db1, dL/dw2, dL/db2) as a tuple of floats.
    """
    z1 = w1 * x + b1
    h = max(z1, 0.0)
    dyhat = w2 * h + b2 - y
    dz1 = dyhat * w2 * (1.0 if z1 > 0 else 0.0)
    return (dz1 * x, dz1, dyhat * h, dyhat)


def _worked_cases():
    return [(1.5, 2.0, 0.8, 0.1, -1.2, 0.5), (1.0, 0.0, 1.0, 0.0, 2.0, 0.0),
            (-2.0, 1.0, 0.5, 0.3, 1.5, -0.2), (0.5, -1.0, -1.0, -2.0, 1.0, 0.0)]


def _variant(**changes):
    """The reference with one line changed, for planted mistakes."""

    def backward(x, y, w1, b1, w2, b2):
        z1 = w1 * x + b1
        h = max(z1, 0.0)
        dyhat = changes.get("dyhat", lambda yh, y: yh - y)(w2 * h + b2, y)
        mask = changes.get("mask", lambda z: 1.0 if z > 0 else 0.0)(z1)
        dz1 = dyhat * changes.get("through", lambda w2, h: w2)(w2, h) * mask
        return (dz1 * changes.get("input", lambda x, h: x)(x, h), dz1, dyhat * h, dyhat)

    return backward


def _hidden_grads(x, z1, delta_out, W2):
    """Gradients of the hidden layer's W1 and b1 from the output delta.

    x (n, d_in), z1 = x @ W1 + b1 (n, d_hidden), delta_out = dL/dyhat (n, d_out) (already
    including the 1/n of the mean), W2 (d_hidden, d_out) -> (dW1 (d_in, d_hidden), db1 (d_hidden,)).
    """
    delta_h = (delta_out @ W2.T) * (z1 > 0)
    return x.T @ delta_h, delta_h.sum(axis=0)


def _hidden_cases():
    rng = np.random.default_rng(3)
    small = (np.array([[1.0, -2.0]]), np.array([[0.5, -0.5, 1.0]]), np.array([[0.2]]),
             np.array([[1.0], [2.0], [-1.0]]))
    n, d_in, d_h, d_out = 6, 3, 5, 2
    return [small, (rng.normal(size=(n, d_in)), rng.normal(size=(n, d_h)),
                    rng.normal(size=(n, d_out)) / n, rng.normal(size=(d_h, d_out)))]


EXERCISES = [
    Exercise(
        id="03.1",
        title="the worked example's backward pass",
        points=3,
        reference=_worked_backward,
        cases=_worked_cases,
        mistakes={
            "forgot the ReLU derivative: a dead unit (z1 <= 0) passes no gradient":
                _variant(mask=lambda z: 1.0),
            "wrong sign: dL/dyhat = yhat - y, not y - yhat":
                _variant(dyhat=lambda yh, y: y - yh),
            "used h instead of x for dL/dw1 (x is what w1 multiplies)":
                _variant(input=lambda x, h: h),
            "forgot to multiply by w2 on the way back to h": _variant(through=lambda w2, h: 1.0),
            "used relu(z1) instead of its derivative": _variant(mask=lambda z: max(z, 0.0)),
        },
    ),
    Exercise(
        id="03.2",
        title="the hidden layer's gradients, vectorised",
        points=3,
        reference=_hidden_grads,
        cases=_hidden_cases,
        mistakes={
            "forgot the ReLU mask (z1 > 0)":
                lambda x, z1, d, W2: (x.T @ (d @ W2.T), (d @ W2.T).sum(axis=0)),
            "used relu(z1) instead of its derivative":
                lambda x, z1, d, W2: (x.T @ ((d @ W2.T) * np.maximum(z1, 0)),
                                      ((d @ W2.T) * np.maximum(z1, 0)).sum(axis=0)),
            "divided by n again: delta_out already carries the mean's 1/n":
                lambda x, z1, d, W2: tuple(g / len(x) for g in _hidden_grads(x, z1, d, W2)),
            "forgot the bias gradient (db1 = sum of delta over the batch)":
                lambda x, z1, d, W2: (_hidden_grads(x, z1, d, W2)[0], np.zeros(z1.shape[1])),
        },
    ),
]
