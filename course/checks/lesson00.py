"""Lesson 00 (welcome): two warm-up exercises on derivatives and the chain rule."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise

CHAIN_X = 1.5


def _poly_prime(x):
    """d/dx (3 x^3 - 2 x^2 + 5) elementwise; x: (n,) -> (n,)."""
    return 9 * x**2 - 4 * x


def _chain_prime(x):
    """d/dx sin(x^2) = cos(x^2) 2x elementwise; x: (n,) -> (n,)."""
    return np.cos(x**2) * 2 * x


def _chain_cases():
    rng = np.random.default_rng(1)
    return [(np.array([CHAIN_X]),), (np.array([0.5, -1.0, 2.0]),), (rng.normal(size=8),)]


def _chain_hidden_cases():
    rng = np.random.default_rng(101)
    return [(np.array([-0.3]),), (rng.uniform(-3, 3, size=40),)]


def _poly_cases():
    rng = np.random.default_rng(0)
    return [(np.array([1.0]),), (np.array([-2.0, 0.5, 3.0]),), (rng.normal(size=8),)]


def _poly_hidden_cases():
    rng = np.random.default_rng(100)
    return [(np.array([0.0]),), (rng.uniform(-10, 10, size=50),)]


EXERCISES = [
    Exercise(
        id="00.1",
        title="derivative of a polynomial",
        points=1,
        reference=_poly_prime,
        cases=_poly_cases,
        hidden_cases=_poly_hidden_cases,
        mistakes={
            "forgot to multiply by the power (3x^2 - 2x)": lambda x: 3 * x**2 - 2 * x,
            "multiplied by the power but did not lower it (9x^3 - 4x^2)":
                lambda x: 9 * x**3 - 4 * x**2,
            "kept the constant: the derivative of 5 is 0": lambda x: 9 * x**2 - 4 * x + 5,
            "wrong sign on the x^2 term": lambda x: 9 * x**2 + 4 * x,
        },
    ),
    Exercise(
        id="00.2",
        title="chain rule: the derivative of sin(x^2)",
        points=1,
        reference=_chain_prime,
        cases=_chain_cases,
        hidden_cases=_chain_hidden_cases,
        mistakes={
            "forgot the inner derivative 2x": lambda x: np.cos(x**2),
            "wrong sign: the derivative of sin is +cos": lambda x: -np.cos(x**2) * 2 * x,
            "evaluated cos at x instead of at the inner value x^2": lambda x: np.cos(x) * 2 * x,
            "returned the function value sin(x^2), not its derivative": lambda x: np.sin(x**2),
            "inner derivative x instead of 2x": lambda x: np.cos(x**2) * x,
        },
    ),
]
