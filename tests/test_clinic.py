"""The clinic: every broken run shows its symptom and its documented fix removes it; the
checklist helpers find what they claim to find."""

from __future__ import annotations

import numpy as np
import pytest

from course.clinic import (
    BY_KEY,
    CASES,
    AccumulatingMLP,
    clinic_data,
    gradients_accumulate,
    overfit_tiny_batch,
    parameters_that_do_not_move,
)
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key)
def test_each_broken_run_shows_its_symptom_and_the_fix_removes_it(case):
    assert case.shows(case.run(False)), f"{case.key}: the broken run does not show the symptom"
    fixed = case.run(True)
    assert not case.shows(fixed), f"{case.key}: the fix does not remove the symptom"
    assert not fixed.history.diverged


def test_the_clinic_covers_every_symptom_of_the_checklist():
    assert len(CASES) >= 6
    symptoms = " ".join(c.symptom for c in CASES)
    for word in ("flat", "NaN", "zero", "learn", "jumps", "grows"):
        assert word in symptoms or word in " ".join(c.symptom + c.cause for c in CASES), word


def test_divergence_cases_name_the_step():
    for key in ("lr_too_high", "log_of_zero"):
        outcome = BY_KEY[key].run(False)
        assert outcome.history.diverged_at is not None
        assert f"step {outcome.history.diverged_at}" in outcome.history.message


def test_a_correct_network_overfits_a_tiny_batch_and_a_forgetful_one_does_not():
    assert overfit_tiny_batch(lambda: MLP([2, 32, 32, 3], activation="tanh")) < 0.05

    def broken():
        net = MLP([2, 32, 32, 3], activation="tanh")
        net.backward = lambda upstream, **kw: upstream   # backward never reaches the layers
        return net

    assert overfit_tiny_batch(broken) > 0.5


def test_parameters_that_do_not_move_lists_exactly_the_unchanged_ones():
    before = {"a": np.ones(3), "b": np.zeros((2, 2)), "c": np.arange(3.0)}
    after = {"a": np.ones(3), "b": np.eye(2), "c": np.arange(3.0)[::-1].copy()}
    assert parameters_that_do_not_move(before, after) == ["a"]


def test_gradients_accumulate_detects_a_loop_that_never_zeroes():
    x, y = clinic_data()
    args = ([2, 8, 3],)
    assert gradients_accumulate(AccumulatingMLP(*args), SoftmaxCrossEntropy(), x, y)
    assert not gradients_accumulate(MLP(*args), SoftmaxCrossEntropy(), x, y)
