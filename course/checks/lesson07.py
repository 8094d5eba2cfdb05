"""Lesson 07 (debugging backprop): name the cause of two broken runs from their symptoms, and
write the check "does each parameter move?"."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise
from course.clinic import BY_KEY

CAUSES = tuple(BY_KEY)


def _same_cause(got, expected) -> bool:
    return isinstance(got, str) and got.strip().lower() == expected


def _frozen_parameters(before, after):
    """Names of the parameters whose every entry is unchanged, in the order of ``before``.

    before, after: dict name -> array (snapshots of net.parameters()) -> list of names.
    """
    return [name for name, w in before.items() if np.array_equal(w, after[name])]


def _frozen_cases():
    rng = np.random.default_rng(7)
    w = rng.normal(size=(3, 2))
    one = ({"0.W": np.ones((2, 2)), "0.b": np.zeros(2)},
           {"0.W": np.ones((2, 2)), "0.b": np.array([0.0, 0.1])})
    rotated = ({"0.W": w, "0.b": np.array([3.0, 4.0]), "2.W": w.T.copy(), "2.b": np.zeros(2)},
               {"0.W": w + 1e-4, "0.b": np.array([4.0, 3.0]), "2.W": w.T.copy(),
                "2.b": np.array([0.0, -2e-4])})
    return [one, rotated]


EXERCISES = [
    Exercise(
        id="07.1",
        title="mystery run A: the cause",
        points=1,
        reference="lr_too_high",
        compare=_same_cause,
        mistakes={
            "a log of zero is inf at once, at step 1; this loss was finite for eight steps and "
            "grew by orders of magnitude": "log_of_zero",
            "accumulated gradients grow step by step, about linearly; these grew a hundredfold "
            "per step": "accumulation",
            "small noisy batches make the loss jump, but it stays bounded": "tiny_batches",
        },
    ),
    Exercise(
        id="07.2",
        title="which parameters do not move",
        points=2,
        reference=_frozen_parameters,
        cases=_frozen_cases,
        mistakes={
            "returned the parameters that moved":
                lambda b, a: [n for n, w in b.items() if not np.array_equal(w, a[n])],
            "compared norms, not entries: a step can change a parameter and keep its norm":
                lambda b, a: [n for n, w in b.items()
                              if np.linalg.norm(w) == np.linalg.norm(a[n])],
            "compared only the first entry":
                lambda b, a: [n for n, w in b.items() if w.flat[0] == a[n].flat[0]],
            "a tolerance of 1e-3 calls a slowly learning parameter frozen":
                lambda b, a: [n for n, w in b.items() if np.allclose(w, a[n], atol=1e-3)],
        },
    ),
    Exercise(
        id="07.3",
        title="mystery run B: the cause",
        points=1,
        reference="vanishing",
        compare=_same_cause,
        mistakes={
            "a learning rate that is too low slows every layer alike; here the last layers "
            "learn and the first do not": "lr_too_low",
            "a skipped backward leaves a gradient of exactly 0; these are tiny but not zero":
                "skipped_backward",
            "with an orphaned optimizer no parameter moves at all; here the last layers move":
                "orphaned_optimizer",
        },
    ),
]
