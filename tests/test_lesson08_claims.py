"""The numbers lesson 08 states, computed with the library: backward/forward time, the price of
finite differences, activation memory, and what checkpointing saves and costs."""

from __future__ import annotations

import math

import numpy as np

from course.checkpoint import checkpointed_backward, plain_peak_bytes
from course.checks.lesson08 import _activation_bytes
from course.costs import cache_bytes, finite_difference_times, forward_backward_times, median_time
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP

rng = np.random.default_rng(0)


def test_backward_costs_about_twice_forward_once_the_products_dominate():
    net = MLP([64, 512, 512, 512, 10], dtype="float32")
    x, y = rng.normal(size=(256, 64)).astype(np.float32), rng.integers(0, 10, 256)
    t_f, t_b = forward_backward_times(net, SoftmaxCrossEntropy(), x, y, repeats=7)
    assert 1.0 < t_b / t_f < 3.5


def test_finite_differences_cost_grows_in_proportion_to_the_parameter_count():
    x, y = rng.normal(size=(64, 8)), rng.integers(0, 4, 64)
    rows = [finite_difference_times(MLP([8, h, 4]), SoftmaxCrossEntropy(), x, y, max_params=40)
            for h in (4, 16, 64, 256, 1024)]
    params = np.array([r["params"] for r in rows])
    ratio = np.array([r["ratio"] for r in rows])
    assert 0.6 < np.polyfit(np.log(params), np.log(ratio), 1)[0] < 1.4
    assert ratio[-1] > 1000


def test_activation_memory_is_exactly_the_formula_and_linear_in_depth_and_batch():
    kept = {}
    for n in (16, 64, 256):
        for depth in (2, 4, 8, 16, 32):
            sizes = [32] + [128] * depth + [10]
            net = MLP(sizes, activation="tanh")
            net.forward(rng.normal(size=(n, 32)))
            kept[n, depth] = cache_bytes(net)
            assert kept[n, depth] == _activation_bytes(n, sizes, 8)
    assert abs(kept[256, 32] / kept[256, 16] - 1.98) < 0.01
    assert kept[256, 32] == 4 * kept[64, 32]


def test_checkpointing_is_exact_and_saves_over_3x_memory_for_about_a_third_more_time():
    depth = 48
    net = MLP([32] + [64] * depth + [10], activation="tanh")
    x, y = rng.normal(size=(128, 32)), rng.integers(0, 10, 128)
    loss_fn = SoftmaxCrossEntropy()

    def upstream(out):
        loss_fn.forward(out, y)
        return loss_fn.backward()

    net.backward(upstream(net.forward(x)))
    plain = {name: g.copy() for name, g in net.gradients().items()}
    n_layers = len(net.layers)
    k = round(math.sqrt(2 * n_layers))
    run = checkpointed_backward(net, x, upstream, k)
    for name, g in net.gradients().items():
        assert np.max(np.abs(g - plain[name])) == 0.0
    peaks = [checkpointed_backward(net, x, upstream, j).peak_bytes for j in range(1, n_layers)]
    assert run.peak_bytes <= 1.1 * min(peaks)
    assert plain_peak_bytes(net, x) / run.peak_bytes > 3
    t_plain = median_time(lambda: net.backward(upstream(net.forward(x))), repeats=5)
    t_ckpt = median_time(lambda: checkpointed_backward(net, x, upstream, k), repeats=5)
    assert 1.0 < t_ckpt / t_plain < 2.5
