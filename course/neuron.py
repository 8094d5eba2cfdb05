"""One sigmoid neuron on one example, by hand: z = w*x + b, a = sigmoid(z), L = (a - y)^2."""

from __future__ import annotations

import math
from dataclasses import dataclass


def sigmoid(z: float) -> float:
    """Stable logistic function of a scalar (never overflows in exp)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


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


def backward(f: Forward) -> Gradients:
    """The chain rule by hand: dL/da = 2(a - y), dL/dz = dL/da * a(1 - a), dL/dw = dL/dz * x."""
    dL_da = 2.0 * (f.a - f.y)
    dL_dz = dL_da * f.a * (1.0 - f.a)
    return Gradients(dL_da=dL_da, dL_dz=dL_dz, dL_dw=dL_dz * f.x, dL_db=dL_dz)


def gd_step(w: float, b: float, x: float, y: float, lr: float) -> tuple[float, float]:
    """One gradient-descent step; returns the new (w, b)."""
    g = backward(forward(w, b, x, y))
    return w - lr * g.dL_dw, b - lr * g.dL_db


@dataclass(frozen=True)
class Trajectory:
    """Losses of a gradient-descent run; ``diverged_at`` is the step that went non-finite or
    blew up (loss above 1e6 times the first), else None."""

    losses: list[float]
    w: float
    b: float
    diverged_at: int | None


def run_gd(w: float, b: float, x: float, y: float, lr: float, steps: int) -> Trajectory:
    """``steps`` steps of gradient descent from (w, b); losses[0] is the loss before any step.

    Stops early, without raising, on NaN/inf parameters or loss and reports the step.
    """
    losses = [forward(w, b, x, y).L]
    for step in range(1, steps + 1):
        try:
            w, b = gd_step(w, b, x, y, lr)
            loss = forward(w, b, x, y).L
        except OverflowError:
            return Trajectory(losses, w, b, step)
        if not (math.isfinite(w) and math.isfinite(b) and math.isfinite(loss)):
            return Trajectory(losses, w, b, step)
        losses.append(loss)
        if loss > 1e6 * max(losses[0], 1e-12):
            return Trajectory(losses, w, b, step)
    return Trajectory(losses, w, b, None)
