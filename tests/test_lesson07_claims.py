"""The numbers lesson 07 states about its broken runs, computed with course.clinic."""

from __future__ import annotations

import numpy as np

from course.clinic import BY_KEY, overfit_tiny_batch, raw_data
from course.diagnostics import saturated_fractions
from course.mlp import MLP


def test_run_1_barely_moves_its_weights_and_run_2_moves_them_but_sits_at_ln_3():
    low, saturated = BY_KEY["lr_too_low"].run(False), BY_KEY["saturated"].run(False)

    def moved(o):
        after = o.net.parameters()
        return max(np.linalg.norm(after[k] - w) / np.linalg.norm(w)
                   for k, w in o.before.items() if w.ndim == 2)

    assert moved(low) < 0.01 < moved(saturated)
    assert abs(np.mean(saturated.history.loss[-20:]) - np.log(3)) < 0.02
    first_tanh = saturated_fractions(MLP([2, 32, 32, 3], activation="tanh"), raw_data()[0])
    assert first_tanh["1 Tanh"] > 0.9


def test_mystery_a_grows_by_orders_of_magnitude_for_eight_steps_and_log_zero_is_nan_at_once():
    a = BY_KEY["lr_too_high"].run(False)
    assert a.history.diverged_at == 9 and a.history.loss[-1] > 1e50
    assert BY_KEY["log_of_zero"].run(False).history.diverged_at == 1


def test_orphaned_optimizer_freezes_every_parameter_and_skipped_backward_one_layer():
    orphaned = BY_KEY["orphaned_optimizer"].run(False)
    after = orphaned.net.parameters()
    assert all(np.array_equal(w, after[k]) for k, w in orphaned.before.items())
    skipped = BY_KEY["skipped_backward"].run(False)
    assert set(skipped.history.grad_norms["2"]) == {0.0}
    assert skipped.history.loss[-1] < 0.5 * skipped.history.loss[0]


def test_mystery_b_first_layer_gradient_is_below_1e_9_of_the_last():
    first = [v[0] for v in BY_KEY["vanishing"].run(False).history.grad_norms.values()]
    assert first[0] < 1e-9 * first[-1]


def test_tiny_batches_jump_and_accumulated_gradients_grow_over_50x():
    tiny = np.asarray(BY_KEY["tiny_batches"].run(False).history.loss[-100:])
    fixed = np.asarray(BY_KEY["tiny_batches"].run(True).history.loss[-100:])
    assert np.mean(np.abs(np.diff(tiny))) > 10 * np.mean(np.abs(np.diff(fixed)))
    g = BY_KEY["accumulation"].run(False).history.grad_norm
    assert g[-1] > 50 * g[0]


def test_overfitting_8_examples_separates_a_correct_network_from_a_broken_backward():
    assert overfit_tiny_batch(lambda: MLP([2, 32, 32, 3], activation="tanh")) < 0.01

    def broken():
        net = MLP([2, 32, 32, 3], activation="tanh")
        net.backward = lambda upstream, **kw: upstream
        return net

    assert overfit_tiny_batch(broken) > 1.0
