"""Lesson 06 (vanishing and exploding gradients): global-norm clipping, counting dead ReLU
units, and choosing the initialisation that keeps a deep ReLU network's gradients balanced."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise

INIT_CHOICES = ("small normal", "xavier", "he", "large normal")


def _global_norm(grads):
    return float(np.sqrt(sum(float(np.sum(g**2)) for g in grads.values())))


def _clip_global(grads, tau):
    """Scale every gradient by min(1, tau / ||g||), ||g|| the norm of all of them together.

    grads: dict name -> array (any shapes); tau > 0 -> a new dict, same names and shapes.
    """
    scale = min(1.0, tau / max(_global_norm(grads), 1e-12))
    return {k: g * scale for k, g in grads.items()}


def _clip_per_tensor(grads, tau):
    return {k: g * min(1.0, tau / max(float(np.linalg.norm(g)), 1e-12)) for k, g in grads.items()}


def _clip_max_not_min(grads, tau):
    scale = max(1.0, tau / max(_global_norm(grads), 1e-12))
    return {k: g * scale for k, g in grads.items()}


def _clip_always(grads, tau):
    scale = tau / max(_global_norm(grads), 1e-12)
    return {k: g * scale for k, g in grads.items()}


def _clip_values(grads, tau):
    return {k: np.clip(g, -tau, tau) for k, g in grads.items()}


def _clip_cases():
    rng = np.random.default_rng(6)
    small = {"W": np.array([[3.0, 4.0]]), "b": np.array([0.0])}
    below = {"W": np.array([[0.3, 0.4]]), "b": np.array([0.1])}
    mixed = {"0.W": 5 * rng.normal(size=(3, 4)), "0.b": rng.normal(size=4),
             "1.W": 0.1 * rng.normal(size=(4, 2)), "1.b": np.array([0.5, -0.2])}
    return [(small, 1.0), (below, 1.0), (mixed, 2.0)]


def _dead_fraction(z):
    """Fraction of units that are inactive (z <= 0) on EVERY example of the batch.

    z: (n, d) pre-activations of one ReLU layer -> float in [0, 1].
    """
    return float(np.mean(np.all(z <= 0, axis=0)))


def _dead_cases():
    rng = np.random.default_rng(60)
    tiny = np.array([[-1.0, 2.0, -3.0], [-0.5, -1.0, 1.0]])
    shifted = rng.normal(size=(8, 10)) - np.linspace(-1.0, 3.0, 10)
    return [(tiny,), (shifted,)]


EXERCISES = [
    Exercise(
        id="06.1",
        title="global-norm gradient clipping",
        points=3,
        reference=_clip_global,
        cases=_clip_cases,
        mistakes={
            "clipped each tensor by its own norm instead of the global norm": _clip_per_tensor,
            "max instead of min: small gradients were scaled up": _clip_max_not_min,
            "clipped even below tau: every gradient was rescaled to norm tau": _clip_always,
            "clipped each value to [-tau, tau] instead of scaling by the norm": _clip_values,
        },
    ),
    Exercise(
        id="06.2",
        title="fraction of dead ReLU units",
        points=2,
        reference=_dead_fraction,
        cases=_dead_cases,
        mistakes={
            "counted inactive entries, not units inactive on every example":
                lambda z: float(np.mean(z <= 0)),
            "a unit is dead only if inactive on ALL examples, not on any one":
                lambda z: float(np.mean(np.any(z <= 0, axis=0))),
            "counted the live units instead of the dead ones":
                lambda z: float(np.mean(~np.all(z <= 0, axis=0))),
            "returned the count, not the fraction": lambda z: float(np.sum(np.all(z <= 0, axis=0))),
        },
    ),
    Exercise(
        id="06.3",
        title="the initialisation that keeps a depth-30 ReLU network's gradients within 10x",
        points=1,
        reference="he",
        compare=lambda got, expected: str(got).strip().lower() == expected,
        mistakes={
            "Xavier keeps the variance for tanh; ReLU zeroes half the units, so the signal "
            "halves at every layer": "xavier",
            "small weights shrink the gradient at every layer: it vanishes": "small normal",
            "large weights grow the gradient at every layer: it explodes": "large normal",
        },
    ),
]
