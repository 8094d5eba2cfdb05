"""Lesson 01 (the chain rule and one neuron): the neuron's backward pass by hand, and one step.

The neuron on one example: ``z = w x + b``, ``a = sigmoid(z)``, ``L = (a - y)^2``.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise
from course.neuron import sigmoid as _sigmoid


def _dL_dz(a: float, y: float) -> float:
    """dL/dz = dL/da * da/dz = 2 (a - y) * a (1 - a); a, y: floats -> float."""
    return 2.0 * (a - y) * a * (1.0 - a)


def _dz_cases():
    return [(0.5, 1.0), (0.8, 0.0), (0.25, 0.6), (0.9, 0.1), (0.3, 0.35)]


def _dz_hidden_cases():
    rng = np.random.default_rng(101)
    return [(float(a), float(y)) for a, y in rng.uniform(0.01, 0.99, size=(12, 2))]


def _neuron_grads(x: float, y: float, w: float, b: float) -> tuple[float, float]:
    """(dL/dw, dL/db) of L = (sigmoid(w x + b) - y)^2; all floats."""
    a = _sigmoid(w * x + b)
    dz = 2.0 * (a - y) * a * (1.0 - a)
    return dz * x, dz


def _grads_cases():
    return [(1.0, 1.0, 0.5, 0.0), (2.0, 0.0, -0.5, 0.25), (-1.5, 0.3, 0.8, -0.2),
            (0.7, 0.9, 1.5, 0.4)]


def _grads_hidden_cases():
    rng = np.random.default_rng(102)
    return [tuple(float(v) for v in (rng.normal(), rng.uniform(), rng.normal(), rng.normal()))
            for _ in range(10)]


def _forgot_sigmoid_derivative(x, y, w, b):
    a = _sigmoid(w * x + b)
    return 2.0 * (a - y) * x, 2.0 * (a - y)


def _forgot_x(x, y, w, b):
    dz = _neuron_grads(x, y, w, b)[1]
    return dz, dz


def _multiplied_by_w(x, y, w, b):
    dz = _neuron_grads(x, y, w, b)[1]
    return dz * w, dz


def _wrong_sign(x, y, w, b):
    dw, db = _neuron_grads(x, y, w, b)
    return -dw, -db


def _gd_step(w: float, b: float, dw: float, db: float, lr: float) -> tuple[float, float]:
    """One gradient-descent step: (w - lr dw, b - lr db); all floats."""
    return w - lr * dw, b - lr * db


def _step_cases():
    return [(1.0, 0.0, 0.5, -0.25, 0.1), (-0.3, 0.7, -1.2, 0.4, 2.0), (2.0, -1.0, 0.1, 0.3, 0.5)]


EXERCISES = [
    Exercise(
        id="01.1",
        title="dL/dz of the sigmoid neuron with squared error",
        points=2,
        reference=_dL_dz,
        cases=_dz_cases,
        hidden_cases=_dz_hidden_cases,
        mistakes={
            "forgot the sigmoid's derivative a (1 - a) (stopped at dL/da)":
                lambda a, y: 2.0 * (a - y),
            "missing the factor 2 from the square": lambda a, y: (a - y) * a * (1.0 - a),
            "wrong sign: dL/da is 2 (a - y), not 2 (y - a)":
                lambda a, y: 2.0 * (y - a) * a * (1.0 - a),
            "forgot the upstream dL/da (returned only da/dz = a (1 - a))":
                lambda a, y: a * (1.0 - a),
            "used sigmoid(a) (1 - sigmoid(a)): a is already the sigmoid's output":
                lambda a, y: 2.0 * (a - y) * _sigmoid(a) * (1.0 - _sigmoid(a)),
        },
    ),
    Exercise(
        id="01.2",
        title="dL/dw and dL/db of one neuron",
        points=2,
        reference=_neuron_grads,
        cases=_grads_cases,
        hidden_cases=_grads_hidden_cases,
        mistakes={
            "forgot the sigmoid's derivative a (1 - a)": _forgot_sigmoid_derivative,
            "dL/dw is dL/dz times x (the local derivative of w x + b with respect to w)":
                _forgot_x,
            "multiplied by w instead of x: dz/dw = x": _multiplied_by_w,
            "wrong sign on both gradients": _wrong_sign,
            "returned (dL/db, dL/dw): the order asked for is (dL/dw, dL/db)":
                lambda x, y, w, b: _neuron_grads(x, y, w, b)[::-1],
        },
    ),
    Exercise(
        id="01.3",
        title="one gradient-descent step",
        points=1,
        reference=_gd_step,
        cases=_step_cases,
        mistakes={
            "moved up the gradient (+ instead of -): that increases the loss":
                lambda w, b, dw, db, lr: (w + lr * dw, b + lr * db),
            "forgot the learning rate": lambda w, b, dw, db, lr: (w - dw, b - db),
            "updated b with dL/dw (and w with dL/db)":
                lambda w, b, dw, db, lr: (w - lr * db, b - lr * dw),
            "returned the step, not the new parameters":
                lambda w, b, dw, db, lr: (-lr * dw, -lr * db),
        },
    ),
]
