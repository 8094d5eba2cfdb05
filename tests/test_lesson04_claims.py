"""The numbers lesson 04 states, computed with the library."""

from __future__ import annotations

import numpy as np

from course.data import spiral
from course.gradcheck import check_gradients, relative_error
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD, Adam
from course.train import accuracy, fit


def test_naive_softmax_overflows_at_logit_1000_and_the_stable_loss_is_exactly_1000():
    logits = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(all="ignore"):
        naive = -np.log(np.exp(logits[0, 1]) / np.exp(logits).sum())
    assert not np.isfinite(naive)
    assert float(SoftmaxCrossEntropy().forward(logits, np.array([1]))) == 1000.0


def test_the_batch_gradient_is_the_average_of_per_example_gradients():
    net, loss_fn = MLP([2, 16, 16, 3], seed=0), SoftmaxCrossEntropy()
    x, y = spiral(8, seed=1)
    per = []
    for i in range(8):
        loss_fn.forward(net.forward(x[i:i + 1]), y[i:i + 1])
        net.backward(loss_fn.backward())
        per.append({k: g.copy() for k, g in net.gradients().items()})
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    for k, g in net.gradients().items():
        assert relative_error(g, np.mean([p[k] for p in per], axis=0)) < 1e-12


def test_every_layer_passes_the_check_and_a_doubled_gradient_is_named():
    x, y = spiral(30, seed=0)
    net, loss_fn = MLP([2, 8, 8, 8, 3], activation="tanh", norm="layernorm"), SoftmaxCrossEntropy()

    def loss():
        return float(loss_fn.forward(net.forward(x), y))

    loss()
    net.backward(loss_fn.backward())
    assert check_gradients(loss, net.parameters(), net.gradients()).ok
    grads = {**net.gradients(), "3.W": 2 * net.gradients()["3.W"]}
    report = check_gradients(loss, net.parameters(), grads)
    assert [c.name for c in report.checks if c.status != "pass"] == ["3.W"]


def _trained_spiral_net():
    x, y = spiral(300, seed=0)
    net = MLP([2, 32, 32, 3], activation="relu", seed=0)
    history = fit(net, SoftmaxCrossEntropy(), Adam(net.parameters(), 0.02), x, y, steps=600,
                  batch_size=64, progress=False)
    return net, history, x, y


def test_adam_fits_the_spiral_from_loss_1_131_to_0_000_with_training_accuracy_1():
    net, history, x, y = _trained_spiral_net()
    assert round(history.loss[0], 3) == 1.131
    assert history.loss[-1] < 5e-4
    assert accuracy(net, x, y) == 1.0


def test_the_most_sensitive_input_has_over_1000_times_the_median_input_gradient():
    net, _, x, y = _trained_spiral_net()
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    sensitivity = np.linalg.norm(net.backward(loss_fn.backward()), axis=1)
    assert sensitivity.max() / np.median(sensitivity) > 1000


def test_one_gradient_fed_to_sgd_and_adam_gives_update_norms_0_057_and_0_995():
    """And Adam's first step moves each of the 99 parameters by lr = 0.1 to 4 digits."""
    x, y = spiral(300, seed=0)
    net, loss_fn = MLP([2, 16, 3], seed=0), SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    grads = {k: g.copy() for k, g in net.gradients().items()}
    norms, moves = [], []
    for make in (lambda p: SGD(p, 0.1), lambda p: Adam(p, 0.1)):
        fresh = MLP([2, 16, 3], seed=0)
        before = {k: p.copy() for k, p in fresh.parameters().items()}
        make(fresh.parameters()).step(grads)
        moves.append(np.concatenate([(fresh.parameters()[k] - before[k]).ravel() for k in before]))
        norms.append(np.linalg.norm(moves[-1]))
    assert [round(float(n), 3) for n in norms] == [0.057, 0.995]
    adam_moves = np.abs(moves[1])
    assert adam_moves.size == 99
    assert round(adam_moves.min(), 4) == 0.0999 and round(adam_moves.max(), 4) == 0.1
