"""Lesson 07's claims that its notebook does not assert itself (the mysteries' symptoms are in
tests/test_mystery.py).

One home per claim: a claim a notebook cell asserts is checked by nbval in CI, so a test here
asserts it again only when it adds something (other seeds, sizes or data, the library object
rather than the notebook's copy, a tighter bound, an edge the notebook does not run); each
test's docstring says what it adds."""

from __future__ import annotations

import numpy as np

from course.clinic import (
    BROKEN,
    HEALTHY,
    NaiveCrossEntropy,
    overfit_tiny_batch,
    train_recipe,
)
from course.diagnostics import saturated_fractions
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP


def _recipe(key, **change):
    return train_recipe({**HEALTHY, **BROKEN[key], **change})


def test_three_flat_runs_are_told_apart_by_update_ratios_and_saturation():
    """Adds the library's course.diagnostics.saturated_fractions for the saturated run's first
    tanh, where the notebook measures it with the learner's activation_report; the flat losses
    and update ratios repeat cells 29 and 31."""
    low, saturated, orphaned = (_recipe(k) for k in ("lr_too_low", "saturated",
                                                     "orphaned_optimizer"))
    for o in (low, saturated, orphaned):
        loss = np.asarray(o.history.loss)
        assert abs(loss[100:120].mean() - loss[-20:].mean()) < 0.03 and loss[-20:].mean() > 1.05
    assert 1e-5 < np.median(low.history.update_ratios["0.W"]) < 1e-4
    assert max(saturated.history.update_ratios["0.W"][:30]) > 1e-3
    assert max(orphaned.history.update_ratios["0.W"]) == 0.0
    first_tanh = saturated_fractions(MLP([2, 32, 32, 3], activation="tanh"), saturated.x)
    assert first_tanh["1 Tanh"] > 0.9


def test_naive_softmax_gives_nan_for_overflow_and_inf_for_log_of_zero():
    """Not asserted in the notebook (it prints it): the log-sum-exp loss of logits
    (-400, 400, 0) at label 0 is exactly 800; the NaN and inf of the naive loss repeat cell 37."""
    naive, stable = NaiveCrossEntropy(), SoftmaxCrossEntropy()
    assert np.isnan(naive.forward(np.array([[800.0, 0, 0]]), np.array([0])))
    assert np.isinf(naive.forward(np.array([[-400.0, 400, 0]]), np.array([0])))
    assert stable.forward(np.array([[-400.0, 400, 0]]), np.array([0])) == 800.0


def test_overfitting_8_examples_separates_a_correct_network_from_a_broken_backward():
    """Tighter bounds than the notebook's (below 0.05 and above 0.5): the correct network
    overfits 8 examples to a loss below 0.01, the broken backward stays above 1.0."""
    assert overfit_tiny_batch(lambda: MLP([2, 32, 32, 3], activation="tanh")) < 0.01

    def broken():
        net = MLP([2, 32, 32, 3], activation="tanh")
        net.backward = lambda upstream, **kw: upstream
        return net

    assert overfit_tiny_batch(broken) > 1.0
