"""Lesson 05 (training and optimizers): momentum, Adam's update and AdamW's decoupled weight
decay, each a pure function of the current state (no classes, no in-place updates)."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise

BETAS = (0.9, 0.999)


def _adam_step(w, g, m, v, t, lr=0.01, eps=1e-8):
    """One Adam step.

    w, g, m, v: (d,); t: step number from 1 -> (w_new, m_new, v_new), each (d,).
    """
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_no_bias_correction(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside_sqrt(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps), m, v


def _adam_squared_m(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    v = b2 * v + (1 - b2) * m**2
    m = b1 * m + (1 - b1) * g
    return w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps), m, v


def _adam_no_sqrt(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * (m / (1 - b1**t)) / (v / (1 - b2**t) + eps), m, v


def _adam_cases():
    rng = np.random.default_rng(5)
    one = (np.array([1.0]), np.array([0.5]), np.zeros(1), np.zeros(1), 1)
    later = (rng.normal(size=4), rng.normal(size=4), 0.1 * rng.normal(size=4),
             0.01 * rng.random(4), 3)
    big = (rng.normal(size=6), 1e-3 * rng.normal(size=6), 1e-3 * rng.normal(size=6),
           1e-6 * rng.random(6), 10, 0.001, 1e-4)
    return [one, later, big]


def _adamw_step(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    """One AdamW step: Adam on g, then decay w by lr * weight_decay * w (decoupled).

    w, g, m, v: (d,); t: step number from 1 -> (w_new, m_new, v_new), each (d,).
    """
    w_adam, m, v = _adam_step(w, g, m, v, t, lr)
    return w_adam - lr * weight_decay * w, m, v


def _adamw_l2_in_gradient(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    return _adam_step(w, g + weight_decay * w, m, v, t, lr)


def _adamw_decay_not_scaled_by_lr(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    w_adam, m, v = _adam_step(w, g, m, v, t, lr)
    return w_adam - weight_decay * w, m, v


def _adamw_wrong_sign(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    w_adam, m, v = _adam_step(w, g, m, v, t, lr)
    return w_adam + lr * weight_decay * w, m, v


def _adamw_no_decay(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    return _adam_step(w, g, m, v, t, lr)


def _adamw_cases():
    rng = np.random.default_rng(6)
    one = (np.array([2.0]), np.array([0.5]), np.zeros(1), np.zeros(1), 1)
    later = (rng.normal(size=5), rng.normal(size=5), 0.1 * rng.normal(size=5),
             0.01 * rng.random(5), 4, 0.05, 0.3)
    return [one, later]


def _momentum_step(w, g, velocity, lr=0.1, mu=0.9):
    """Heavy-ball momentum: velocity <- mu * velocity - lr * g; w <- w + velocity.

    w, g, velocity: (d,) -> (w_new, velocity_new), each (d,).
    """
    velocity = mu * velocity - lr * g
    return w + velocity, velocity


def _momentum_cases():
    rng = np.random.default_rng(7)
    return [(np.array([1.0]), np.array([2.0]), np.array([0.5])),
            (rng.normal(size=4), rng.normal(size=4), rng.normal(size=4), 0.03, 0.8)]


MOMENTUM_MISTAKES = {
    "forgot the velocity: this is plain SGD": lambda w, g, vel, lr=0.1, mu=0.9: (w - lr * g,
                                                                                -lr * g),
    "wrong sign: the step goes uphill (+lr * g)":
        lambda w, g, vel, lr=0.1, mu=0.9: (w + mu * vel + lr * g, mu * vel + lr * g),
    "updated w with the old velocity instead of the new one":
        lambda w, g, vel, lr=0.1, mu=0.9: (w + vel, mu * vel - lr * g),
    "forgot to decay the old velocity by mu":
        lambda w, g, vel, lr=0.1, mu=0.9: (w + vel - lr * g, vel - lr * g),
}

EXERCISES = [
    Exercise(
        id="05.1",
        title="one step of SGD with momentum",
        points=2,
        reference=_momentum_step,
        cases=_momentum_cases,
        mistakes=MOMENTUM_MISTAKES,
    ),
    Exercise(
        id="05.2",
        title="one step of Adam",
        points=3,
        reference=_adam_step,
        cases=_adam_cases,
        mistakes={
            "forgot the bias correction (m and v divided by 1 - beta^t)": _adam_no_bias_correction,
            "eps inside the square root: use sqrt(v_hat) + eps": _adam_eps_inside_sqrt,
            "squared the wrong thing: v averages g**2, not m**2": _adam_squared_m,
            "forgot the square root of v_hat": _adam_no_sqrt,
        },
    ),
    Exercise(
        id="05.3",
        title="AdamW: decoupled weight decay",
        points=2,
        reference=_adamw_step,
        cases=_adamw_cases,
        mistakes={
            "added the decay to the gradient (that is Adam with L2, not AdamW)":
                _adamw_l2_in_gradient,
            "the decay is not scaled by the learning rate": _adamw_decay_not_scaled_by_lr,
            "wrong sign: the decay grows the weights": _adamw_wrong_sign,
            "forgot the weight decay": _adamw_no_decay,
        },
    ),
]
