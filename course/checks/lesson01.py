"""Lesson 01 (the chain rule and one neuron): the neuron's backward pass derived step by step,
a gradient read as a prediction, one gradient-descent step and the gradient of the mean loss.

The neuron on one example: ``z = w x + b``, ``a = sigmoid(z)``, ``L = (a - y)^2``; over a data
set the loss is the mean of the per-point losses.
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


def _dL_da(a: float, y: float) -> float:
    """dL/da of L = (a - y)^2; a, y: floats -> float."""
    return 2.0 * (a - y)


def _da_dz(a: float) -> float:
    """da/dz of a = sigmoid(z), written with the output a only; float -> float."""
    return a * (1.0 - a)


def _a_cases():
    return [(0.5,), (0.8,), (0.25,), (0.9,), (0.1,)]


def _a_hidden_cases():
    rng = np.random.default_rng(103)
    return [(float(a),) for a in rng.uniform(0.01, 0.99, size=12)]


def _loss(x: float, y: float, w: float, b: float) -> float:
    return (_sigmoid(w * x + b) - y) ** 2


def _predict_loss(x: float, y: float, w: float, b: float, dw: float, db: float) -> float:
    """Loss after w += dw, b += db predicted from the gradient: L + dL/dw dw + dL/db db."""
    gw, gb = _neuron_grads(x, y, w, b)
    return _loss(x, y, w, b) + gw * dw + gb * db


def _nudge_cases():
    return [(1.0, 1.0, 0.5, 0.0, 0.01, 0.0), (2.0, 0.0, -0.5, 0.25, 0.0, 0.01),
            (-1.5, 0.3, 0.8, -0.2, 0.02, -0.01), (0.7, 0.9, 1.5, 0.4, -0.05, 0.03)]


def _nudge_hidden_cases():
    rng = np.random.default_rng(104)
    return [tuple(float(v) for v in (rng.normal(), rng.uniform(), rng.normal(), rng.normal(),
                                     0.01 * rng.normal(), 0.01 * rng.normal()))
            for _ in range(10)]


def _mean_loss_and_grads(w: float, b: float, xs, ys) -> tuple[float, float, float]:
    """(mean loss, dL/dw, dL/db) over the points: each the mean of the per-point values."""
    per_point = [(_loss(x, y, w, b), *_neuron_grads(x, y, w, b)) for x, y in zip(xs, ys)]
    loss, dw, db = np.mean(np.array(per_point, dtype=np.float64), axis=0)
    return float(loss), float(dw), float(db)


def _mean_cases():
    return [(1.0, 0.0, np.array([1.0]), np.array([0.2])),
            (0.5, -0.2, np.array([-1.0, 2.0]), np.array([0.1, 0.9])),
            (1.0, 0.0, np.linspace(-2.0, 2.0, 9), 1.0 / (1.0 + np.exp(-(2.0 * np.linspace(
                -2.0, 2.0, 9) - 0.5))))]


def _mean_hidden_cases():
    rng = np.random.default_rng(105)
    return [(float(rng.normal()), float(rng.normal()), rng.normal(size=n), rng.uniform(size=n))
            for n in (3, 7, 20)]


def _same_three_numbers(got, expected) -> bool:
    """(L, dL/dw, dL/db) as a tuple, list or array of three floats, within 1e-5 relative
    (float32 arithmetic inside passes)."""
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return g.shape == (3,) and bool(np.allclose(g, np.asarray(expected, dtype=np.float64),
                                                rtol=1e-5, atol=1e-9))


def _summed(w, b, xs, ys):
    loss, dw, db = _mean_loss_and_grads(w, b, xs, ys)
    return loss * len(xs), dw * len(xs), db * len(xs)


def _summed_grads_only(w, b, xs, ys):
    loss, dw, db = _mean_loss_and_grads(w, b, xs, ys)
    return loss, dw * len(xs), db * len(xs)


def _at_mean_point(w, b, xs, ys):
    x, y = float(np.mean(xs)), float(np.mean(ys))
    return (_loss(x, y, w, b), *_neuron_grads(x, y, w, b))


def _last_point_only(w, b, xs, ys):
    x, y = float(xs[-1]), float(ys[-1])
    return (_loss(x, y, w, b), *_neuron_grads(x, y, w, b))


def _step_hidden_cases():
    rng = np.random.default_rng(106)
    return [tuple(float(v) for v in rng.normal(size=4)) + (float(rng.uniform(0.01, 5)),)
            for _ in range(8)]


EXERCISES = [
    Exercise(
        id="01.1",
        title="dL/da of the squared error",
        points=1,
        reference=_dL_da,
        cases=_dz_cases,
        hidden_cases=_dz_hidden_cases,
        mistakes={
            "missing the factor 2 from the square (power rule: d/da u^2 = 2u du/da)":
                lambda a, y: a - y,
            "wrong sign: d/da (a - y)^2 = 2 (a - y), not 2 (y - a)": lambda a, y: 2.0 * (y - a),
            "returned the loss (a - y)^2, not its derivative": lambda a, y: (a - y) ** 2,
            "differentiated a^2 only and dropped y: the target shifts the square":
                lambda a, y: 2.0 * a,
            "went one step too far: 2 (a - y) a (1 - a) is dL/dz; 01.1 asks for dL/da only":
                _dL_dz,
        },
    ),
    Exercise(
        id="01.2",
        title="da/dz of the sigmoid, written with a",
        points=2,
        reference=_da_dz,
        cases=_a_cases,
        hidden_cases=_a_hidden_cases,
        mistakes={
            "returned the activation a itself, not its derivative": lambda a: a,
            "used sigmoid(a) (1 - sigmoid(a)): a is already the sigmoid's output":
                lambda a: _sigmoid(a) * (1.0 - _sigmoid(a)),
            "wrong sign: sigma' = a (1 - a) is positive (the sigmoid only rises)":
                lambda a: a * (a - 1.0),
            "used tanh's derivative 1 - a^2": lambda a: 1.0 - a * a,
            "kept only one factor: 1 - a (the other factor is a)": lambda a: 1.0 - a,
        },
    ),
    Exercise(
        id="01.3",
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
        id="01.4",
        title="predict the loss after a small nudge",
        points=1,
        reference=_predict_loss,
        cases=_nudge_cases,
        hidden_cases=_nudge_hidden_cases,
        mistakes={
            "returned the change only: add it to the current loss L":
                lambda x, y, w, b, dw, db: _predict_loss(x, y, w, b, dw, db) - _loss(x, y, w, b),
            "left out the nudge of b: both parameters move":
                lambda x, y, w, b, dw, db: _predict_loss(x, y, w, b, dw, 0.0),
            "wrong sign: raising w by dw changes L by + dL/dw dw":
                lambda x, y, w, b, dw, db: 2 * _loss(x, y, w, b) - _predict_loss(x, y, w, b,
                                                                                 dw, db),
            "computed the real loss after the nudge: predict it from the loss and the gradient "
            "at (w, b) instead": lambda x, y, w, b, dw, db: _loss(x, y, w + dw, b + db),
            "forgot to multiply the gradients by the nudges":
                lambda x, y, w, b, dw, db: _loss(x, y, w, b) + sum(_neuron_grads(x, y, w, b)),
        },
    ),
    Exercise(
        id="01.5",
        title="one gradient-descent step",
        points=1,
        reference=_gd_step,
        cases=_step_cases,
        hidden_cases=_step_hidden_cases,
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
    Exercise(
        id="01.6",
        title="the mean loss over the data and its gradient",
        points=2,
        reference=_mean_loss_and_grads,
        cases=_mean_cases,
        compare=_same_three_numbers,
        hidden_cases=_mean_hidden_cases,
        mistakes={
            "summed over the points instead of averaging (divide by the number of points)":
                _summed,
            "averaged the loss but summed the gradients: the gradient of a mean is the mean of "
            "the gradients": _summed_grads_only,
            "took the gradient at the mean point (mean x, mean y): average the per-point "
            "gradients instead": _at_mean_point,
            "kept only the last point (a loop that overwrites instead of adding up)":
                _last_point_only,
            "summed the loss instead of averaging it (the gradients are right)":
                lambda w, b, xs, ys: (_summed(w, b, xs, ys)[0],
                                      *_mean_loss_and_grads(w, b, xs, ys)[1:]),
        },
    ),
]
