"""Lesson 03 (the two-layer ReLU network): the worked example's backward pass by hand, then the
vectorised gradients derived by shape: the output delta, the output layer's gradients and the
hidden layer's gradients.

The lesson's loss is L = (yhat - y)^2 / 2 per example (mean over the batch): the 1/2 cancels the 2
of the square, so dL/dyhat = yhat - y. Lessons 01-02 used (a - y)^2 without the 1/2; an answer
carrying their factor 2 is diagnosed as that.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise

FACTOR_2 = ("factor 2: you differentiated (yhat - y)^2, the loss of lessons 01-02; this lesson's "
            "loss is (yhat - y)^2 / 2, and its 1/2 cancels the 2 that the square brings down")


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
    return [(1.0, 0.0, 1.0, 0.0, 2.0, 0.0), (-2.0, 1.0, 0.5, 0.3, 1.5, -0.2),
            (0.5, -1.0, -1.0, -2.0, 1.0, 0.0), (2.0, 1.0, 0.7, -0.2, -0.5, 0.25)]


def _worked_hidden_cases():
    return [(1.5, 2.0, 0.8, 0.1, -1.2, 0.5), (-1.0, 0.5, -0.6, 0.2, 0.9, -0.3),
            (3.0, -2.0, -0.2, 0.1, 1.1, 0.4), (0.25, 1.0, 2.0, 1.0, -0.7, 0.0)]


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


def _output_delta(yhat, y):
    """dL/dyhat of L = (1/n) sum_i sum_j (yhat_ij - y_ij)^2 / 2.

    yhat, y (n, d_out) -> (n, d_out): (yhat - y) / n.
    """
    return (yhat - y) / yhat.shape[0]


def _delta_cases():
    rng = np.random.default_rng(30)
    return [(np.array([[0.5]]), np.array([[2.0]])),
            (np.array([[1.0, -1.0], [0.0, 2.0], [3.0, 0.5]]),
             np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])),
            (rng.normal(size=(5, 2)), rng.normal(size=(5, 2)))]


def _delta_hidden_cases():
    rng = np.random.default_rng(31)
    return [(rng.normal(size=(4, 3)), rng.normal(size=(4, 3))),
            (rng.normal(size=(7, 1)), rng.normal(size=(7, 1)))]


def _output_layer_grads(h, W2, delta_out):
    """The output layer yhat = h @ W2 + b2, backward.

    h (n, d_h), W2 (d_h, d_out), delta_out = dL/dyhat (n, d_out), already carrying the 1/n
    -> (dW2 (d_h, d_out), db2 (d_out,), dH = dL/dh (n, d_h)).
    """
    return h.T @ delta_out, delta_out.sum(axis=0), delta_out @ W2.T


def _output_cases():
    rng = np.random.default_rng(32)
    small = (np.array([[1.0, 0.0], [2.0, 3.0]]), np.array([[0.5], [-1.0]]),
             np.array([[0.1], [-0.2]]))
    n, d_h, d_out = 5, 3, 2
    return [small, (np.maximum(rng.normal(size=(n, d_h)), 0), rng.normal(size=(d_h, d_out)),
                    rng.normal(size=(n, d_out)) / n)]


def _output_hidden_cases():
    rng = np.random.default_rng(33)
    n, d_h, d_out = 6, 4, 3
    return [(np.maximum(rng.normal(size=(n, d_h)), 0), rng.normal(size=(d_h, d_out)),
             rng.normal(size=(n, d_out)) / n),
            (np.maximum(rng.normal(size=(3, 7)), 0), rng.normal(size=(7, 1)),
             rng.normal(size=(3, 1)) / 3)]


def _hidden_layer_grads(x, z1, dH):
    """The hidden layer h = relu(z1), z1 = x @ W1 + b1, backward.

    x (n, d_in), z1 (n, d_h), dH = dL/dh (n, d_h)
    -> (dZ1 = dL/dz1 (n, d_h), dW1 (d_in, d_h), db1 (d_h,)).
    """
    dZ1 = dH * (z1 > 0)
    return dZ1, x.T @ dZ1, dZ1.sum(axis=0)


def _hidden_cases():
    rng = np.random.default_rng(34)
    small = (np.array([[1.0, -2.0]]), np.array([[0.5, -0.5]]), np.array([[0.2, 0.4]]))
    n, d_in, d_h = 6, 3, 5
    return [small, (rng.normal(size=(n, d_in)), rng.normal(size=(n, d_h)),
                    rng.normal(size=(n, d_h)) / n)]


def _hidden_hidden_cases():
    rng = np.random.default_rng(35)
    return [(rng.normal(size=(4, 2)), rng.normal(size=(4, 6)), rng.normal(size=(4, 6)) / 4),
            (rng.normal(size=(8, 5)), rng.normal(size=(8, 3)), rng.normal(size=(8, 3)) / 8)]


def _masked(x, z1, dH, mask):
    dZ1 = dH * mask
    return dZ1, x.T @ dZ1, dZ1.sum(axis=0)


EXERCISES = [
    Exercise(
        id="03.1",
        title="the worked example's backward pass",
        points=3,
        reference=_worked_backward,
        cases=_worked_cases,
        hidden_cases=_worked_hidden_cases,
        mistakes={
            "forgot the ReLU derivative: a dead unit (z1 <= 0) passes no gradient":
                _variant(mask=lambda z: 1.0),
            "wrong sign: dL/dyhat = yhat - y, not y - yhat":
                _variant(dyhat=lambda yh, y: y - yh),
            "used h instead of x for dL/dw1 (x is what w1 multiplies)":
                _variant(input=lambda x, h: h),
            "forgot to multiply by w2 on the way back to h": _variant(through=lambda w2, h: 1.0),
            "used relu(z1) instead of its derivative": _variant(mask=lambda z: max(z, 0.0)),
            FACTOR_2: _variant(dyhat=lambda yh, y: 2 * (yh - y)),
        },
    ),
    Exercise(
        id="03.2",
        title="the output delta dL/dyhat of the mean loss",
        points=2,
        reference=_output_delta,
        cases=_delta_cases,
        hidden_cases=_delta_hidden_cases,
        mistakes={
            "forgot the 1/n of the mean over the batch": lambda yh, y: yh - y,
            FACTOR_2: lambda yh, y: 2 * (yh - y) / len(yh),
            "wrong sign: dL/dyhat = (yhat - y) / n, not (y - yhat) / n":
                lambda yh, y: (y - yh) / len(yh),
            "divided by every entry (n * d_out, as np.mean would): the loss is the mean over "
            "examples of each example's sum over outputs, so divide by n only":
                lambda yh, y: (yh - y) / yh.size,
        },
    ),
    Exercise(
        id="03.3",
        title="the output layer's gradients dW2, db2, dH",
        points=3,
        reference=_output_layer_grads,
        cases=_output_cases,
        hidden_cases=_output_hidden_cases,
        mistakes={
            "dW2 transposed: delta_out.T @ h has shape (d_out, d_h), W2 has (d_h, d_out)":
                lambda h, W2, d: (d.T @ h, d.sum(axis=0), d @ W2.T),
            "averaged db2 over the batch: delta_out already carries the 1/n, so sum":
                lambda h, W2, d: (h.T @ d, d.mean(axis=0), d @ W2.T),
            "applied ReLU's mask to dH: dH is dL/dh, the gradient before the ReLU; the mask "
            "belongs to dZ1 (the next exercise)":
                lambda h, W2, d: (h.T @ d, d.sum(axis=0), (d @ W2.T) * (h > 0)),
            "divided dW2 by n again: delta_out already carries the 1/n":
                lambda h, W2, d: (h.T @ d / len(h), d.sum(axis=0), d @ W2.T),
        },
    ),
    Exercise(
        id="03.4",
        title="the hidden layer's gradients dZ1, dW1, db1",
        points=3,
        reference=_hidden_layer_grads,
        cases=_hidden_cases,
        hidden_cases=_hidden_hidden_cases,
        mistakes={
            "forgot the ReLU mask (z1 > 0): units that were off pass gradient back":
                lambda x, z1, dH: _masked(x, z1, dH, 1.0),
            "used relu(z1) instead of its derivative [z1 > 0]":
                lambda x, z1, dH: _masked(x, z1, dH, np.maximum(z1, 0)),
            "divided by n again: dH already carries the mean's 1/n":
                lambda x, z1, dH: tuple(g / len(x) if i else g
                                        for i, g in enumerate(_hidden_layer_grads(x, z1, dH))),
            "dW1 transposed: dZ1.T @ x has shape (d_h, d_in), W1 has (d_in, d_h)":
                lambda x, z1, dH: (dH * (z1 > 0), (dH * (z1 > 0)).T @ x,
                                   (dH * (z1 > 0)).sum(axis=0)),
            "forgot the bias gradient (db1 = sum of dZ1 over the batch)":
                lambda x, z1, dH: (dH * (z1 > 0), x.T @ (dH * (z1 > 0)), np.zeros(z1.shape[1])),
        },
    ),
]
