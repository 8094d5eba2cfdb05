"""Lesson 00 (welcome): two warm-up exercises on derivatives and the chain rule."""

from __future__ import annotations

import numpy as np

from course.checks import variants
from course.checks.core import Exercise, Mistake

CHAIN_X = 1.5


def _poly_prime(x):
    """d/dx (3 x^3 - 2 x^2 + 5) elementwise; x: (n,) -> (n,)."""
    return 9 * x**2 - 4 * x


def _chain_prime(x):
    """d/dx sin(x^2) = cos(x^2) 2x elementwise; x: (n,) -> (n,)."""
    return np.cos(x**2) * 2 * x


def _poly_cases(seed: int):
    """Seed 0: one point where each slip gives another number, then a few; others: random."""
    rng = np.random.default_rng(100 + seed)
    if seed == 0:
        return [(np.array([2.0]),), (np.array([-2.0, 0.5, 3.0]),), (rng.normal(size=8),)]
    return [(np.array([0.0]),), (rng.uniform(-10, 10, size=50),)]


def _chain_cases(seed: int):
    rng = np.random.default_rng(200 + seed)
    if seed == 0:
        return [(np.array([CHAIN_X]),), (np.array([0.5, -1.0, 2.0]),), (rng.normal(size=8),)]
    return [(np.array([-0.3]),), (rng.uniform(-3, 3, size=40),)]


EXERCISES = [
    Exercise(
        id="00.1",
        title="derivative of a polynomial",
        points=1,
        reference=_poly_prime,
        cases=_poly_cases,
        section="Exercise 00.1, the power rule in its statement",
        mistakes=[
            Mistake("power-not-multiplied",
                    "each term's slope is too small by the factor its power brings down",
                    lambda x: 3 * x**2 - 2 * x,
                    hint="the power rule has two parts: the power comes down as a factor, and "
                         "then it drops by one"),
            Mistake("power-not-lowered", "your derivative grows one power of x too fast",
                    lambda x: 9 * x**3 - 4 * x**2,
                    hint="after the power comes down, the exponent goes down by one"),
            Mistake("constant-kept", "your derivative is off by the same amount everywhere",
                    lambda x: 9 * x**2 - 4 * x + 5,
                    hint="a constant term does not change as x moves: what is its slope?"),
            Mistake("sign-x2-term", "the slope of the x^2 term has the wrong sign",
                    lambda x: 9 * x**2 + 4 * x,
                    hint="keep the minus in front of the second term"),
            Mistake("inputs-changed", "your code changed its input in place",
                    variants.mutating(_poly_prime),
                    hint="an augmented assignment such as x **= 2 writes into the caller's "
                         "array: compute a new array instead"),
        ],
    ),
    Exercise(
        id="00.2",
        title="chain rule: the derivative of sin(x^2)",
        points=1,
        reference=_chain_prime,
        cases=_chain_cases,
        section="Exercise 00.2: the outer derivative at the inner value, times the inner one",
        mistakes=[
            Mistake("no-inner-derivative", "the inner function's slope is missing",
                    lambda x: np.cos(x**2),
                    hint="the chain rule has two factors: after the outer derivative, multiply "
                         "by the derivative of the inner value u with respect to x"),
            Mistake("sign", "your derivative has the wrong sign everywhere",
                    lambda x: -np.cos(x**2) * 2 * x,
                    hint="which function is the derivative of sin, and which has a minus sign?"),
            Mistake("outer-at-x", "the outer derivative is taken at the wrong point",
                    lambda x: np.cos(x) * 2 * x,
                    hint="the outer derivative is taken at the inner value u, not at x"),
            Mistake("function-not-derivative",
                    "you returned the function's value, not its slope",
                    lambda x: np.sin(x**2),
                    hint="differentiate the outer function before evaluating it"),
            Mistake("inner-derivative-half", "your inner derivative is half what it should be",
                    lambda x: np.cos(x**2) * x,
                    hint="the power rule on the inner value: its power comes down as a factor"),
        ],
    ),
]
