"""The numbers lesson 03 states, computed with course.twolayer."""

from __future__ import annotations

import numpy as np

from course.checks.lesson03 import _hidden_grads
from course.data import moons
from course.gradcheck import relative_error
from course.twolayer import TwoLayerNet, worked_example

POINT = dict(x=1.5, y=2.0, w1=0.8, b1=0.1, w2=-1.2, b2=0.5)


def test_worked_example_numbers():
    ex = worked_example(**POINT)
    assert (round(ex.z1, 4), round(ex.yhat, 4), round(ex.dL_dyhat, 4)) == (1.3, -1.06, -3.06)
    assert round(ex.dL_dh, 4) == 3.672 and ex.dL_dz1 == ex.dL_dh


def test_moving_b1_to_minus_5_kills_the_unit_and_only_b2_learns():
    dead = worked_example(**{**POINT, "b1": -5.0})
    assert dead.z1 < 0 and dead.dL_dw1 == dead.dL_db1 == dead.dL_dw2 == 0.0
    assert round(dead.dL_db2, 2) == -1.5


def _data():
    x, labels = moons(200, noise=0.15, seed=0)
    return (x - x.mean(axis=0)) / x.std(axis=0), labels


def test_gradient_descent_with_the_hidden_grads_reaches_95_percent_on_the_moons():
    x, labels = _data()
    y = labels.reshape(-1, 1).astype(float)
    net = TwoLayerNet(2, 32, 1, seed=0)
    first = net.forward(x, y)
    for _ in range(3000):
        loss = net.forward(x, y)
        _, z1, h, yhat, _ = net.cache
        delta = (yhat - y) / len(x)
        grads = {"W2": h.T @ delta, "b2": delta.sum(axis=0)}
        grads["W1"], grads["b1"] = _hidden_grads(x, z1, delta, net.params["W2"])
        for k, g in grads.items():
            net.params[k] -= 0.2 * g
    net.forward(x, y)
    assert loss < 0.1 * first
    assert np.mean((net.cache[3].ravel() > 0.5) == labels) > 0.95


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
