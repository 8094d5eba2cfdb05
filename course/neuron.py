"""Lesson 01: one sigmoid neuron, by hand and by gradient descent.

On one example (scalars): ``z = w*x + b``, ``a = sigmoid(z)``, ``L = (a - y)^2``;
:func:`forward` keeps every intermediate and :func:`backward` applies the chain rule by hand.

Its local derivatives :func:`dL_da`, :func:`da_dz`, the gradient :func:`neuron_grads`, the
first-order :func:`predict_loss` and one step :func:`gd_step` are functions lesson 01's learner
writes (so are :func:`loss_and_grads` and :func:`descent_path`).

Over a small data set (arrays x, y of shape (n,)): ``L = mean((a - y)^2)``;
:func:`neuron_data` (the toy data set), :func:`loss_and_grads` (forward and backward over the
data), :func:`descent_path` (the loop) and :func:`descend` (gradient descent returning a
:class:`Run` with its verdict:
converges, still descending, oscillates, overshoots and saturates, or diverges). The
learning-rate slider that shows :func:`descend` lives in ``course.widgets``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course import autodiff
from course.backend import is_array
from course.layers import sigmoid as _array_sigmoid

TRUE_W, TRUE_B = 2.0, -0.5
START_W, START_B = 1.0, 0.0
STEPS = 100
CONVERGED_FRACTION = 0.01
LR_MIN, LR_MAX = 1e-2, 1e3


def sigmoid(z):
    """The logistic function, stable for any z: a float for a number (``course.autodiff``'s
    scalar sigmoid), an array of the same shape for an array (``course.layers.sigmoid``)."""
    if is_array(z):
        return _array_sigmoid(z)
    if isinstance(z, (list, tuple)):
        return _array_sigmoid(np.asarray(z, dtype=np.float64))
    return autodiff.sigmoid(z)


@dataclass(frozen=True)
class Forward:
    """Every intermediate of the forward pass (all scalars)."""

    x: float
    y: float
    w: float
    b: float
    z: float
    a: float
    L: float


@dataclass(frozen=True)
class Gradients:
    """dL/da, dL/dz, dL/dw, dL/db of one forward pass (all scalars)."""

    dL_da: float
    dL_dz: float
    dL_dw: float
    dL_db: float


def forward(w: float, b: float, x: float, y: float) -> Forward:
    """z = w*x + b, a = sigmoid(z), L = (a - y)^2."""
    z = w * x + b
    a = sigmoid(z)
    return Forward(x=x, y=y, w=w, b=b, z=z, a=a, L=(a - y) ** 2)


def dL_da(a: float, y: float) -> float:
    """dL/da of L = (a - y)^2; a, y: floats -> float."""
    return 2.0 * (a - y)


def da_dz(a):
    """da/dz of a = sigmoid(z), written with the output a only; float (or array) -> same."""
    return a * (1.0 - a)


def backward(f: Forward) -> Gradients:
    """The chain rule by hand: dL/dz = dL/da * da/dz, dL/dw = dL/dz * x, dL/db = dL/dz."""
    upstream = dL_da(f.a, f.y)
    delta = upstream * da_dz(f.a)
    return Gradients(dL_da=upstream, dL_dz=delta, dL_dw=delta * f.x, dL_db=delta)


def neuron_grads(x: float, y: float, w: float, b: float) -> tuple[float, float]:
    """(dL/dw, dL/db) of L = (sigmoid(w x + b) - y)^2 on one example; floats -> two floats."""
    g = backward(forward(w, b, x, y))
    return g.dL_dw, g.dL_db


def predict_loss(x: float, y: float, w: float, b: float, dw: float, db: float) -> float:
    """The loss after w += dw, b += db, predicted from the loss and the gradient at (w, b)
    (first order); floats -> float."""
    g = backward(forward(w, b, x, y))
    return forward(w, b, x, y).L + g.dL_dw * dw + g.dL_db * db


def gd_step(w: float, b: float, dw: float, db: float, lr: float) -> tuple[float, float]:
    """One gradient-descent step: the new (w, b); floats -> two floats."""
    return w - lr * dw, b - lr * db


def neuron_data(n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """``n`` inputs evenly spaced on [-2, 2] and targets ``sigmoid(2 x - 0.5)``: x (n,), y (n,).

    The targets are made by a neuron with w = 2, b = -0.5, so the smallest loss is exactly 0.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    x = np.linspace(-2.0, 2.0, n)
    return x, sigmoid(TRUE_W * x + TRUE_B)


def loss_and_grads(w: float, b: float, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Mean squared error of the neuron on (x, y) and its gradient: (L, dL/dw, dL/db).

    x, y: (n,). Chain rule per point: dL/da = 2 (a - y) / n, dL/dz = dL/da * a (1 - a),
    dL/dw = sum(dL/dz * x), dL/db = sum(dL/dz).
    """
    a = sigmoid(w * x + b)
    dz = 2.0 * (a - y) * a * (1.0 - a) / x.size
    return float(np.mean((a - y) ** 2)), float(np.sum(dz * x)), float(np.sum(dz))


OUTCOMES = ("converges", "still descending", "oscillates", "overshoots and saturates",
            "diverges")
"""What a gradient-descent run of the neuron did, in lesson 01's words."""


@dataclass(frozen=True)
class Run:
    """One gradient-descent run.

    lr: the learning rate; loss: (k + 1,) the loss before each step and after the last one
    (shorter than steps + 1 when the run stopped on a non-finite value); w, b: (k + 1,) the
    parameters along the way; diverged_at: the first step whose loss is above the starting loss
    or not finite (None if none); outcome: one of ``OUTCOMES``.
    """

    lr: float
    loss: np.ndarray
    w: np.ndarray
    b: np.ndarray
    diverged_at: int | None
    outcome: str

    def describe(self) -> str:
        """One line for a status bar: the outcome and the numbers behind it."""
        final = self.loss[-1]
        if self.diverged_at is not None:
            bad = self.loss[self.diverged_at]
            if not np.isfinite(bad):
                return (f"lr = {self.lr:.3g}: diverged at step {self.diverged_at}: the loss "
                        f"became NaN or infinite")
            return (f"lr = {self.lr:.3g}: overshoots and saturates: at step {self.diverged_at} "
                    f"the loss rose above its start ({self.loss[0]:.3g} -> {bad:.3g}); it ends "
                    f"at {final:.3g} (this loss stays below 1)")
        drop = 1 - final / self.loss[0] if self.loss[0] > 0 else 0.0
        return (f"lr = {self.lr:.3g}: {self.outcome}: loss {self.loss[0]:.3g} -> {final:.3g}"
                f" ({drop:.1%} lower) after {self.loss.size - 1} steps")


def check_lr(lr) -> float:
    """``lr`` as a float, after checking it is a positive number (the neuron's slider uses it)."""
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise TypeError(f"lr must be a positive number, got {lr!r}") from None
    if not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    return lr


def descent_path(lr: float, steps: int, w: float, b: float, x: np.ndarray,
                 y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``steps`` steps of gradient descent on the mean loss from (w, b), by
    :func:`loss_and_grads` and :func:`gd_step`: (loss, w, b), each of shape (steps + 1,), the
    values before each step and after the last. x, y: (n,). A non-finite loss or parameter
    stops the path there (the arrays are then shorter)."""
    losses, ws, bs = [], [w], [b]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            loss, dw, db = loss_and_grads(w, b, x, y)
            losses.append(loss)
            if not (math.isfinite(loss) and math.isfinite(w) and math.isfinite(b)):
                return np.array(losses), np.array(ws), np.array(bs)
            w, b = gd_step(w, b, dw, db, lr)
            ws.append(w)
            bs.append(b)
        losses.append(loss_and_grads(w, b, x, y)[0])
    return np.array(losses), np.array(ws), np.array(bs)


def descend(lr: float, steps: int = STEPS, w: float = START_W, b: float = START_B,
            x: np.ndarray | None = None, y: np.ndarray | None = None) -> Run:
    """Run ``steps`` steps of gradient descent ``w -= lr dL/dw``, ``b -= lr dL/db``
    (:func:`descent_path`) and name what happened.

    x, y: (n,) data (default :func:`neuron_data`). A non-finite loss or parameter stops the run
    at that step instead of raising. Outcome (lesson 01's words): "diverges" if the loss stops
    being finite; "overshoots and saturates" if it rises above its starting value (the bounded
    loss cannot blow up: a huge step lands where the sigmoid is flat); "converges" if the final
    loss is below ``CONVERGED_FRACTION`` (1%) of the starting loss; "oscillates" if not, and the
    loss rose on some step (overshooting back and forth, but never above the start); "still
    descending" otherwise (every step downhill, too few of them).
    """
    lr = check_lr(lr)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if x is None or y is None:
        x, y = neuron_data()
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must both have shape (n,), got {x.shape} and {y.shape}")
    loss, ws, bs = descent_path(lr, int(steps), w, b, x, y)
    return Run(lr, loss, ws[: loss.size], bs[: loss.size], *_outcome(loss))


def _outcome(loss: np.ndarray) -> tuple[int | None, str]:
    bad = ~np.isfinite(loss) | (loss > loss[0])
    if bad.any():
        k = int(np.argmax(bad))
        return k, "diverges" if not np.isfinite(loss[k]) else "overshoots and saturates"
    if loss[-1] < CONVERGED_FRACTION * loss[0]:
        return None, "converges"
    if np.any(np.diff(loss) > 0):
        return None, "oscillates"
    return None, "still descending"
