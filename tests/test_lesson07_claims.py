"""The numbers lesson 07 states about its worked broken runs, computed with course.clinic (the
mysteries' symptoms are in tests/test_mystery.py)."""

from __future__ import annotations

import numpy as np

from course.clinic import (
    BROKEN,
    BY_KEY,
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


def test_lr_too_high_diverges_at_step_9_and_the_n_0_9_start_at_step_1_with_logits_over_709():
    assert BY_KEY["lr_too_high"].run(False).history.diverged_at == 9
    assert BY_KEY["log_of_zero"].run(False).history.diverged_at == 1
    from course.clinic import clinic_data

    logits = MLP([2, 32, 32, 3], activation="relu", init=("normal", 3.0)).forward(clinic_data()[0])
    assert logits.max() > 709


def test_naive_softmax_gives_nan_for_overflow_and_inf_for_log_of_zero():
    naive, stable = NaiveCrossEntropy(), SoftmaxCrossEntropy()
    assert np.isnan(naive.forward(np.array([[800.0, 0, 0]]), np.array([0])))
    assert np.isinf(naive.forward(np.array([[-400.0, 400, 0]]), np.array([0])))
    assert stable.forward(np.array([[-400.0, 400, 0]]), np.array([0])) == 800.0


def test_skipped_backward_has_one_zero_layer_while_the_loss_falls():
    skipped = BY_KEY["skipped_backward"].run(False)
    assert set(skipped.history.grad_norms["2"]) == {0.0}
    assert np.mean(skipped.history.loss[-20:]) < 0.5 * skipped.history.loss[0]


def test_vanishing_first_layer_gradient_is_below_1e_9_of_the_last():
    first = [v[0] for v in BY_KEY["vanishing"].run(False).history.grad_norms.values()]
    assert first[0] < 1e-9 * first[-1]


def test_batch_noise_floor_and_one_change_at_a_time():
    def jumps(o):
        loss = np.asarray(o.history.loss[-100:])
        return np.mean(np.abs(np.diff(loss))), loss.mean()

    floor2 = jumps(_recipe("tiny_batches", lr=1e-12))[0]
    floor64 = jumps(_recipe("tiny_batches", lr=1e-12, batch_size=64))[0]
    broken = jumps(_recipe("tiny_batches"))
    batch_changed = jumps(_recipe("tiny_batches", batch_size=64))
    lr_changed = jumps(_recipe("tiny_batches", lr=0.05))
    assert 0.3 < floor2 < 0.6 and floor64 < 0.1 and broken[0] > floor2
    assert batch_changed[0] < 0.1 and batch_changed[1] < 0.2
    assert 0.5 * floor2 < lr_changed[0] < broken[0] and lr_changed[1] > 2 * batch_changed[1]


def test_accumulated_gradients_grow_over_50x():
    g = BY_KEY["accumulation"].run(False).history.grad_norm
    assert g[-1] > 50 * g[0]


def test_overfitting_8_examples_separates_a_correct_network_from_a_broken_backward():
    assert overfit_tiny_batch(lambda: MLP([2, 32, 32, 3], activation="tanh")) < 0.01

    def broken():
        net = MLP([2, 32, 32, 3], activation="tanh")
        net.backward = lambda upstream, **kw: upstream
        return net

    assert overfit_tiny_batch(broken) > 1.0
