"""Lesson 01 (the chain rule and one neuron): the neuron's backward pass derived step by step,
a gradient read as a prediction, one gradient-descent step, the gradient of the mean loss and the
descent loop.

Every exercise's reference is ``course.neuron``'s own function (``dL_da``, ``da_dz``,
``neuron_grads``, ``predict_loss``, ``gd_step``, ``loss_and_grads``, ``descent_path``); the
functions here are planted mistakes and cases.

The neuron on one example: ``z = w x + b``, ``a = sigmoid(z)``, ``L = (a - y)^2``; over a data
set the loss is the mean of the per-point losses.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise, Mistake
from course.neuron import (
    da_dz,
    descent_path,
    dL_da,
    gd_step,
    loss_and_grads,
    neuron_grads,
    predict_loss,
)
from course.neuron import sigmoid as _sigmoid


def _dL_dz(a: float, y: float) -> float:
    """dL/dz = dL/da * da/dz = 2 (a - y) * a (1 - a); a, y: floats -> float."""
    return 2.0 * (a - y) * a * (1.0 - a)


def _dz_cases():
    return [(0.5, 1.0), (0.8, 0.0), (0.25, 0.6), (0.9, 0.1), (0.3, 0.35)]


def _dz_hidden_cases():
    rng = np.random.default_rng(101)
    return [(float(a), float(y)) for a, y in rng.uniform(0.01, 0.99, size=(12, 2))]




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
    dz = neuron_grads(x, y, w, b)[1]
    return dz, dz


def _multiplied_by_w(x, y, w, b):
    dz = neuron_grads(x, y, w, b)[1]
    return dz * w, dz


def _wrong_sign(x, y, w, b):
    dw, db = neuron_grads(x, y, w, b)
    return -dw, -db




def _step_cases():
    return [(1.0, 0.0, 0.5, -0.25, 0.1), (-0.3, 0.7, -1.2, 0.4, 2.0), (2.0, -1.0, 0.1, 0.3, 0.5)]






def _a_cases():
    return [(0.5,), (0.8,), (0.25,), (0.9,), (0.1,)]


def _a_hidden_cases():
    rng = np.random.default_rng(103)
    return [(float(a),) for a in rng.uniform(0.01, 0.99, size=12)]


def _loss(x: float, y: float, w: float, b: float) -> float:
    return (_sigmoid(w * x + b) - y) ** 2




def _nudge_cases():
    return [(1.0, 1.0, 0.5, 0.0, 0.01, 0.0), (2.0, 0.0, -0.5, 0.25, 0.0, 0.01),
            (-1.5, 0.3, 0.8, -0.2, 0.02, -0.01), (0.7, 0.9, 1.5, 0.4, -0.05, 0.03)]


def _nudge_hidden_cases():
    rng = np.random.default_rng(104)
    return [tuple(float(v) for v in (rng.normal(), rng.uniform(), rng.normal(), rng.normal(),
                                     0.01 * rng.normal(), 0.01 * rng.normal()))
            for _ in range(10)]




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
    loss, dw, db = loss_and_grads(w, b, xs, ys)
    return loss * len(xs), dw * len(xs), db * len(xs)


def _summed_grads_only(w, b, xs, ys):
    loss, dw, db = loss_and_grads(w, b, xs, ys)
    return loss, dw * len(xs), db * len(xs)


def _at_mean_point(w, b, xs, ys):
    x, y = float(np.mean(xs)), float(np.mean(ys))
    return (_loss(x, y, w, b), *neuron_grads(x, y, w, b))


def _last_point_only(w, b, xs, ys):
    x, y = float(xs[-1]), float(ys[-1])
    return (_loss(x, y, w, b), *neuron_grads(x, y, w, b))


def _step_hidden_cases():
    rng = np.random.default_rng(106)
    return [tuple(float(v) for v in rng.normal(size=4)) + (float(rng.uniform(0.01, 5)),)
            for _ in range(8)]


def _path_variant(sign=-1.0, final_loss=True, loss_after=False, stale=False, w_first=False):
    """The descent loop with one slip: the sign of the update, no loss after the last step,
    the loss recorded after each update, the first gradient reused, or b's gradient taken after
    w has already moved."""

    def path(lr, steps, w, b, xs, ys):
        losses, ws, bs = [], [w], [b]
        first = loss_and_grads(w, b, xs, ys)
        for _ in range(steps):
            loss, dw, db = first if stale else loss_and_grads(w, b, xs, ys)
            if not loss_after:
                losses.append(loss)
            w = w + sign * lr * dw
            if w_first:
                db = loss_and_grads(w, b, xs, ys)[2]
            b = b + sign * lr * db
            ws.append(w)
            bs.append(b)
            if loss_after:
                losses.append(loss_and_grads(w, b, xs, ys)[0])
        if final_loss and not loss_after:
            losses.append(loss_and_grads(w, b, xs, ys)[0])
        return np.array(losses), np.array(ws), np.array(bs)

    return path


def _path_cases(seed):
    if seed == 0:
        xs = np.linspace(-2.0, 2.0, 5)
        return [(1.0, 1, 1.0, 0.0, np.array([1.0, -1.0]), np.array([0.8, 0.3])),
                (10.0, 3, 1.0, 0.0, xs, _sigmoid(2.0 * xs - 0.5))]
    rng = np.random.default_rng(107 + seed)
    xs = rng.uniform(-2, 2, size=7)
    return [(float(rng.uniform(0.5, 5.0)), 6, float(rng.normal()), float(rng.normal()), xs,
             rng.uniform(0.05, 0.95, size=7))]


_CHAIN = "§'Backward: upstream × local = downstream'"

EXERCISES = [
    Exercise(
        id="01.1",
        title="dL/da of the squared error",
        points=1,
        reference=dL_da,
        cases=lambda seed: _dz_cases() if seed == 0 else _dz_hidden_cases()[6 * (seed - 1):][:6],
        section=f"{_CHAIN} and exercise 01.1",
        mistakes=[
            Mistake("no-factor-2", "your dL/da is half the size it should be on every case",
                    lambda a, y: a - y, hint="the power rule brings the exponent 2 down as a "
                    "factor"),
            Mistake("sign", "your dL/da has the wrong sign on every case",
                    lambda a, y: 2.0 * (y - a), hint="when a is above the target, raising a "
                    "raises the loss: dL/da is positive there"),
            Mistake("loss-not-derivative", "you returned the loss itself, not its derivative",
                    lambda a, y: (a - y) ** 2, hint="differentiate before you return"),
            Mistake("target-dropped", "your dL/da does not depend on the target y",
                    lambda a, y: 2.0 * a, hint="y shifts the square: keep it inside"),
            Mistake("went-to-dz", "you returned dL/dz: the sigmoid's factor is already in",
                    _dL_dz, hint="01.1 stops at a; the sigmoid's local derivative is 01.2"),
        ],
    ),
    Exercise(
        id="01.2",
        title="da/dz of the sigmoid, written with a",
        points=2,
        reference=da_dz,
        cases=lambda seed: _a_cases() if seed == 0 else _a_hidden_cases()[6 * (seed - 1):][:6],
        section="exercise 01.2 (the sigmoid's derivative rewritten with a)",
        mistakes=[
            Mistake("activation", "you returned the activation a itself, not its derivative",
                    lambda a: a, hint="differentiate the sigmoid, then write it with a"),
            Mistake("sigmoid-again", "you applied the sigmoid to a again: a is already the "
                    "sigmoid's output", lambda a: _sigmoid(a) * (1.0 - _sigmoid(a)),
                    hint="the argument is the output a, not z"),
            Mistake("sign", "your derivative is negative: the sigmoid only rises",
                    lambda a: a * (a - 1.0), hint="check the sign at z = 0, where a = 1/2"),
            Mistake("tanh-derivative", "you used tanh's derivative, not the sigmoid's",
                    lambda a: 1.0 - a * a, hint="redo the algebra with e^-z = (1 - a)/a"),
            Mistake("one-factor", "your derivative keeps one of its two factors only",
                    lambda a: 1.0 - a, hint="at z = 0 the slope is 1/4: check your result there"),
        ],
    ),
    Exercise(
        id="01.3",
        title="dL/dw and dL/db of one neuron",
        points=2,
        reference=neuron_grads,
        cases=lambda seed: (_grads_cases() if seed == 0
                            else _grads_hidden_cases()[5 * (seed - 1):][:5]),
        section=f"{_CHAIN} and exercise 01.3",
        mistakes=[
            Mistake("forgot-sigmoid", "both gradients are missing the sigmoid's local "
                    "derivative", _forgot_sigmoid_derivative,
                    hint="the path from L to w passes through a = sigmoid(z): one more factor"),
            Mistake("forgot-x", "your dL/dw equals your dL/db: the last local derivative of "
                    "w is missing", _forgot_x, hint="what is dz/dw for z = w x + b?"),
            Mistake("times-w", "your dL/dw uses the weight where the input belongs",
                    _multiplied_by_w, hint="dz/dw is the input that w multiplies"),
            Mistake("sign", "both gradients have the wrong sign", _wrong_sign,
                    hint="check dL/da: positive when a is above the target"),
            Mistake("swapped", "you returned the two gradients in the other order",
                    lambda x, y, w, b: neuron_grads(x, y, w, b)[::-1],
                    hint="the order asked for is (dL/dw, dL/db)"),
        ],
    ),
    Exercise(
        id="01.4",
        title="predict the loss after a small nudge",
        points=1,
        reference=predict_loss,
        cases=lambda seed: (_nudge_cases() if seed == 0
                            else _nudge_hidden_cases()[5 * (seed - 1):][:5]),
        section="§'A gradient is a prediction'",
        mistakes=[
            Mistake("change-only", "you returned the predicted change, not the loss after it",
                    lambda x, y, w, b, dw, db: predict_loss(x, y, w, b, dw, db)
                    - _loss(x, y, w, b), hint="start from the loss at (w, b)"),
            Mistake("b-left-out", "your prediction ignores the nudge of b",
                    lambda x, y, w, b, dw, db: predict_loss(x, y, w, b, dw, 0.0),
                    hint="both parameters move: each contributes"),
            Mistake("sign", "your predicted change has the wrong sign",
                    lambda x, y, w, b, dw, db: 2 * _loss(x, y, w, b)
                    - predict_loss(x, y, w, b, dw, db),
                    hint="a positive gradient and a positive nudge raise the loss"),
            Mistake("real-loss", "you computed the real loss after the nudge: the exercise asks "
                    "for the prediction from the gradient",
                    lambda x, y, w, b, dw, db: _loss(x, y, w + dw, b + db),
                    hint="use only the loss and the gradient at (w, b)"),
            Mistake("nudges-ignored", "your prediction does not scale with the size of the "
                    "nudge", lambda x, y, w, b, dw, db: _loss(x, y, w, b)
                    + sum(neuron_grads(x, y, w, b)),
                    hint="each gradient is a slope: multiply it by how far its parameter moves"),
        ],
    ),
    Exercise(
        id="01.5",
        title="one gradient-descent step",
        points=1,
        reference=gd_step,
        cases=lambda seed: (_step_cases() if seed == 0
                            else _step_hidden_cases()[4 * (seed - 1):][:4]),
        section="§'Gradient descent on one neuron'",
        mistakes=[
            Mistake("ascent", "your step goes uphill: it increases the loss",
                    lambda w, b, dw, db, lr: (w + lr * dw, b + lr * db),
                    hint="step against the gradient"),
            Mistake("no-lr", "your step ignores the learning rate",
                    lambda w, b, dw, db, lr: (w - dw, b - db),
                    hint="the learning rate scales every step"),
            Mistake("crossed", "each parameter moved by the other parameter's gradient",
                    lambda w, b, dw, db, lr: (w - lr * db, b - lr * dw),
                    hint="w moves by its own gradient, b by its own"),
            Mistake("step-not-params", "you returned the step, not the new parameters",
                    lambda w, b, dw, db, lr: (-lr * dw, -lr * db),
                    hint="add the step to the current values"),
        ],
    ),
    Exercise(
        id="01.6",
        title="the mean loss over the data and its gradient",
        points=2,
        reference=loss_and_grads,
        cases=lambda seed: (_mean_cases() if seed == 0
                            else _mean_hidden_cases()[2 * (seed - 1):][:2]),
        compare=_same_three_numbers,
        section="exercise 01.6 (the derivative of a mean)",
        mistakes=[
            Mistake("sum-not-mean", "your loss and gradients grow with the number of points",
                    _summed, hint="a mean divides by the number of points"),
            Mistake("grads-summed", "your loss is right, your gradients grow with the number "
                    "of points", _summed_grads_only,
                    hint="the gradient of a mean is the mean of the gradients"),
            Mistake("mean-point", "you took the gradient at one averaged point",
                    _at_mean_point, hint="average the per-point results, not the inputs"),
            Mistake("last-point", "only the last point counts: a loop overwrote instead of "
                    "adding up", _last_point_only, hint="accumulate over the loop"),
            Mistake("loss-summed", "your gradients are right, your loss grows with the number "
                    "of points", lambda w, b, xs, ys: (_summed(w, b, xs, ys)[0],
                                                       *loss_and_grads(w, b, xs, ys)[1:]),
                    hint="the loss is a mean too"),
        ],
    ),
    Exercise(
        id="01.7",
        title="the gradient-descent loop",
        points=2,
        reference=descent_path,
        cases=_path_cases,
        section="§'Gradient descent on one neuron' and exercise 01.7",
        mistakes=[
            Mistake("ascent", "your loss rises: the steps go uphill", _path_variant(sign=1.0),
                    hint="step against the gradient, as in 01.5"),
            Mistake("no-final-loss", "your loss array is one entry short: the loss after the "
                    "last step is missing", _path_variant(final_loss=False),
                    hint="steps + 1 losses: one before each step, one after the last"),
            Mistake("loss-after-update", "your losses are shifted by one step: the first one is "
                    "not the loss at the start", _path_variant(loss_after=True),
                    hint="record the loss before the step that uses its gradient"),
            Mistake("stale-gradient", "every step moves by the same amount: the gradient is "
                    "never recomputed", _path_variant(stale=True),
                    hint="compute the gradient anew at the current (w, b) on every step"),
            Mistake("w-moved-first", "b's step uses a gradient taken after w has already "
                    "moved", _path_variant(w_first=True),
                    hint="take both gradients at the same point, then move both"),
        ],
    ),
]
