"""The numbers lesson 03 states, computed with course.twolayer and the lesson's references."""

from __future__ import annotations

import numpy as np

from course.checks.lesson03 import _hidden_layer_grads, _output_delta, _output_layer_grads
from course.data import moons
from course.gradcheck import check_gradients, relative_error
from course.twolayer import TwoLayerNet, worked_example

POINT = dict(x=1.5, y=2.0, w1=0.8, b1=0.1, w2=-1.2, b2=0.5)


def test_worked_example_numbers():
    ex = worked_example(**POINT)
    assert (round(ex.z1, 4), round(ex.yhat, 4), round(ex.dL_dyhat, 4)) == (1.3, -1.06, -3.06)
    assert round(ex.dL_dh, 4) == 3.672 and ex.dL_dz1 == ex.dL_dh


def test_without_the_half_dL_dyhat_would_be_minus_6_12():
    ex = worked_example(**POINT)
    assert round(2 * (ex.yhat - POINT["y"]), 4) == -6.12


def test_moving_b1_to_minus_5_kills_the_unit_and_only_b2_learns():
    dead = worked_example(**{**POINT, "b1": -5.0})
    assert dead.z1 < 0 and dead.dL_dw1 == dead.dL_db1 == dead.dL_dw2 == 0.0
    assert round(dead.dL_db2, 2) == -1.5


def _data():
    x, labels = moons(200, noise=0.15, seed=0)
    return (x - x.mean(axis=0)) / x.std(axis=0), labels


def _gradients(net, x, y):
    loss = net.forward(x, y)
    _, z1, h, yhat, _ = net.cache
    dW2, db2, dH = _output_layer_grads(h, net.params["W2"], _output_delta(yhat, y))
    _, dW1, db1 = _hidden_layer_grads(x, z1, dH)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _train(lr, steps=2000):
    x, labels = _data()
    y = labels.reshape(-1, 1).astype(float)
    net = TwoLayerNet(2, 32, 1, seed=0)
    losses = []
    for _ in range(steps):
        loss, grads = _gradients(net, x, y)
        losses.append(loss)
        for k, g in grads.items():
            net.params[k] -= lr * g
    net.forward(x, y)
    dead = int(np.all(net.cache[1] <= 0, axis=0).sum())
    accuracy = np.mean((net.cache[3].ravel() > 0.5) == labels)
    return np.array(losses), dead, accuracy


def test_the_composed_exercise_references_pass_the_gradient_check_and_match_backward():
    x, labels = _data()
    y = labels.reshape(-1, 1).astype(float)
    net = TwoLayerNet(2, 32, 1, seed=0)
    _, grads = _gradients(net, x, y)
    assert check_gradients(lambda: net.forward(x, y), net.params, grads).ok
    net.forward(x, y)
    net.backward()
    assert all(relative_error(grads[k], net.grads[k]) < 1e-12 for k in grads)


def test_lr_0_1_trains_smoothly_in_2000_steps_to_95_percent_with_no_dead_unit():
    losses, dead, accuracy = _train(0.1)
    assert round(losses[0], 3) == 0.690 and losses[-1] < 0.05 * losses[0]
    assert np.max(losses[1:] / losses[:-1]) - 1 < 1e-4
    assert accuracy > 0.95 and dead == 0


def test_lr_0_2_spikes_51x_after_3_steps_and_kills_8_of_32_units():
    losses, dead, _ = _train(0.2, steps=50)
    assert int(np.argmax(losses)) == 3 and round(losses[3] / losses[0]) == 51
    assert dead == 8


def test_units_that_are_off_get_no_blame_and_contributions_sum_to_the_gradient():
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
