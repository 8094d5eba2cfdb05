"""The numbers lesson 03 states, computed with course.twolayer (the library's worked_example,
TwoLayerNet and train, not the copies the lesson's learner writes).

One home per claim: a claim a notebook cell asserts (and nbval checks in CI) is not asserted here
again unless the test adds something (other seeds, sizes or data, the library object rather than
the notebook's copy, exact numbers the notebook only prints, an edge the notebook does not run);
each test's docstring starts with what it adds."""

from __future__ import annotations

import numpy as np

from course.data import moons
from course.gradcheck import relative_error
from course.twolayer import TwoLayerNet, train, worked_example

POINT = dict(x=1.5, y=2.0, w1=0.8, b1=0.1, w2=-1.2, b2=0.5)


def test_worked_example_numbers():
    """Adds the library's worked_example (the notebook checks its own copy): dL/dh to 4 digits
    and dL/dz1 == dL/dh with the unit on."""
    ex = worked_example(**POINT)
    assert (round(ex.z1, 4), round(ex.yhat, 4), round(ex.dL_dyhat, 4)) == (1.3, -1.06, -3.06)
    assert round(ex.dL_dh, 4) == 3.672 and ex.dL_dz1 == ex.dL_dh


def test_without_the_half_dL_dyhat_would_be_minus_6_12():
    """Adds the library's worked_example (the notebook checks its own copy) and 4 digits instead
    of 2."""
    ex = worked_example(**POINT)
    assert round(2 * (ex.yhat - POINT["y"]), 4) == -6.12


def test_moving_b1_to_minus_5_kills_the_unit_and_only_b2_learns():
    """Adds the library's worked_example (the notebook checks its own copy): z1 < 0 and dL/db2 =
    -1.5."""
    dead = worked_example(**{**POINT, "b1": -5.0})
    assert dead.z1 < 0 and dead.dL_dw1 == dead.dL_db1 == dead.dL_dw2 == 0.0
    assert round(dead.dL_db2, 2) == -1.5


def _data():
    x, labels = moons(200, noise=0.15, seed=0)
    return (x - x.mean(axis=0)) / x.std(axis=0), labels


def _train(lr, steps=2000):
    x, labels = _data()
    y = labels.reshape(-1, 1).astype(float)
    net = TwoLayerNet(2, 32, 1, seed=0)
    losses = train(net, x, y, lr, steps)
    net.forward(x, y)
    dead = int(np.all(net.cache[1] <= 0, axis=0).sum())
    accuracy = np.mean((net.cache[3].ravel() > 0.5) == labels)
    return losses, dead, accuracy, net.cache[3].ravel(), labels


def test_lr_0_1_trains_smoothly_in_2000_steps_to_95_percent_with_no_dead_unit():
    """Adds the library's TwoLayerNet and train (the notebook runs its own copies) and pins the
    first loss at 0.690."""
    losses, dead, accuracy, _, _ = _train(0.1)
    assert round(losses[0], 3) == 0.690 and losses[-1] < 0.05 * losses[0]
    assert np.max(losses[1:] / losses[:-1]) - 1 < 1e-4
    assert accuracy > 0.95 and dead == 0


def test_lr_0_2_spikes_51x_after_3_steps_and_kills_8_of_32_units():
    """Adds the library's TwoLayerNet and train (the notebook runs its own copies), 50 steps
    instead of 2000, and pins the spike at 51x."""
    losses, dead, _, _, _ = _train(0.2, steps=50)
    assert int(np.argmax(losses)) == 3 and round(losses[3] / losses[0]) == 51
    assert dead == 8


def test_units_that_are_off_get_no_blame_and_contributions_sum_to_the_gradient():
    """Adds the library's TwoLayerNet (the notebook uses its own copy) and all 200 examples (the
    notebook checks the zero blame on example 0 only)."""
    x, labels = _data()
    y = labels.reshape(-1, 1).astype(float)
    net = TwoLayerNet(2, 32, 1, seed=0)
    net.forward(x, y)
    net.backward()
    _, z1, h, yhat, _ = net.cache
    delta_h = ((yhat - y) / len(x)) @ net.params["W2"].T * (z1 > 0)
    assert np.all(delta_h[z1 <= 0] == 0.0)
    total = sum(np.outer(x[k], delta_h[k]) for k in range(len(x)))
    assert relative_error(total, net.grads["W1"]) < 1e-12


def test_squared_error_makes_64_of_191_right_points_overshoot_carrying_12_percent_of_the_loss():
    """Adds the library's objects and pins the counts the notebook only bounds: 64 of 191 points
    overshoot, carrying 12% of the loss."""
    _, _, _, yhat, labels = _train(0.1)
    right = (yhat > 0.5) == (labels == 1)
    over = right & (((labels == 1) & (yhat > 1)) | ((labels == 0) & (yhat < 0)))
    share = np.sum((yhat[over] - labels[over]) ** 2) / np.sum((yhat - labels) ** 2)
    assert (int(over.sum()), int(right.sum()), round(share, 2)) == (64, 191, 0.12)
