"""Watching a run layer by layer (course.diagnostics.layer_pass / watch_run, plots.watch)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from course import plots
from course.diagnostics import layer_pass, watch_run
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD

LOSS = SoftmaxCrossEntropy()


def _data(n=12, d=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, classes, n)


def test_layer_pass_gives_the_forward_outputs_and_the_backward_of_the_network():
    x, y = _data()
    net = MLP([3, 5, 4, 2], activation="tanh", seed=0)
    loss, outputs, upstreams = layer_pass(net, LOSS, x, y)
    np.testing.assert_allclose(outputs[-1], net.forward(x))
    assert loss == float(LOSS.forward(outputs[-1], y))
    mine = {k: g.copy() for k, g in net.gradients().items()}
    net.backward(LOSS.backward())
    for k, g in net.gradients().items():
        np.testing.assert_allclose(mine[k], g)
    np.testing.assert_allclose(upstreams[-1], LOSS.backward())
    for i, layer in enumerate(net.layers[1:], start=1):
        np.testing.assert_allclose(upstreams[i - 1], layer.backward(upstreams[i]))
    assert all(o.shape == u.shape for o, u in zip(outputs, upstreams))


def test_watch_run_records_every_view_with_consistent_shapes():
    x, y = _data(n=30)
    net = MLP([3, 6, 6, 6, 2], activation="relu", seed=1)
    run = watch_run(net, LOSS, SGD(net.parameters(), 0.1), x, y, steps=21, every=10)
    assert run.layers == ["1 ReLU", "3 ReLU", "5 ReLU"] and run.steps == [1, 10, 20]
    assert run.act_hist.shape == (3, 3, run.act_edges.size - 1)
    assert run.grad_hist.shape == (3, 3, run.grad_edges.size - 1)
    assert run.act_hist[0, 0].sum() == 30 * 6
    assert run.saturated.shape == run.grad_rms.shape == (3, 3)
    assert run.update_ratio.shape == (21, 4) and np.all(run.update_ratio > 0)
    assert len(run.loss) == 21 and run.loss[-1] < run.loss[0]


def test_saturation_counts_tanh_near_its_bounds_and_relu_at_zero():
    x, y = _data(n=50)
    big = MLP([3, 8, 2], activation="tanh", init=("normal", 10.0), seed=0)
    run = watch_run(big, LOSS, SGD(big.parameters(), 0.0), x, y, steps=1)
    assert run.saturated[0, 0] > 0.8
    small = MLP([3, 8, 2], activation="tanh", init=("normal", 0.01), seed=0)
    assert watch_run(small, LOSS, SGD(small.parameters(), 0.0), x, y, steps=1).saturated[0, 0] == 0


def test_watch_run_takes_the_learners_pass():
    x, y = _data()
    calls = []

    def counting_pass(net, loss_fn, xb, yb):
        calls.append(1)
        return layer_pass(net, loss_fn, xb, yb)

    net = MLP([3, 4, 2], activation="sigmoid", seed=0)
    watch_run(net, LOSS, SGD(net.parameters(), 0.1), x, y, steps=5, pass_fn=counting_pass)
    assert len(calls) == 5


def test_the_figure_has_its_four_panels():
    x, y = _data(n=30)
    net = MLP([3, 6, 6, 2], activation="tanh", seed=0)
    run = watch_run(net, LOSS, SGD(net.parameters(), 0.1), x, y, steps=11, every=5)
    axes = plots.watch(run, title="t")
    assert len(axes) == 4 and axes[3].get_yscale() == "log"
    plt.close("all")
