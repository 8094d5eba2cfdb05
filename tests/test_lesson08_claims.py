"""Lesson 08's claims beyond what its notebook asserts: multiply-adds counted by the library's
reference, time ratios measured with one BLAS thread and the minimum CPU time of repeats (their
margins held in 20 runs out of 20 while two busy loops loaded both cores:
benchmarks/lesson08_timing_under_load.py), the price of finite differences, activation memory,
and what the library's checkpointing saves and costs.

One home per claim: a claim a notebook cell asserts is checked by nbval in CI, so a test here
asserts it again only when it adds something (other seeds, sizes or data, load, the library
object rather than the notebook's copy, an edge the notebook does not run); each test's
docstring says what it adds. The timing tests are kept as checks of the under-load margins:
here they run inside the test suite, among other tests, not in the notebook's quiet kernel."""

from __future__ import annotations

import math

import numpy as np

from course.checkpoint import checkpointed_backward, plain_peak_bytes
from course.checks.lesson08 import _multiply_adds
from course.costs import activation_bytes as _activation_bytes
from course.costs import cache_bytes
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD
from course.timing import finite_difference_cost, min_times, one_blas_thread, pass_times

rng = np.random.default_rng(0)


def test_backward_does_twice_the_forward_multiply_adds_and_a_step_about_three_times():
    """Adds the library's reference course.checks.lesson08._multiply_adds (the notebook asserts
    the learner's) and, not asserted in the notebook, the ratios without the first layer's dL/dx:
    1.94 and a step of 2.94 forwards at width 512, 1.25 for [784, 256, 256, 10]."""
    for sizes in ([256] * 4 + [10], [64, 512, 512, 512, 10], [784, 256, 256, 10]):
        fwd, bwd = _multiply_adds(sizes, 256)
        assert bwd == 2 * fwd
    fwd, bwd = _multiply_adds([64, 512, 512, 512, 10], 256, input_grad=False)
    assert round(bwd / fwd, 2) == 1.94 and round((fwd + bwd) / fwd, 2) == 2.94
    fwd, bwd = _multiply_adds([784, 256, 256, 10], 256, input_grad=False)
    assert round(bwd / fwd, 2) == 1.25


def test_backward_costs_about_twice_forward_and_a_step_about_three_forwards_at_width_512():
    """Adds load: the notebook's width-512 timing margins, measured again inside the test suite
    on other random inputs, as the under-load check of those margins (see the module
    docstring)."""
    net = MLP([64, 512, 512, 512, 10], dtype="float32", seed=0)
    x, y = rng.normal(size=(256, 64)).astype(np.float32), rng.integers(0, 10, 256)
    t = pass_times(net, SoftmaxCrossEntropy(), x, y, SGD(net.parameters(), 1e-3))
    assert 1.2 < t["backward"] / t["forward"] < 2.8
    assert 2.2 < t["step"] / t["forward"] < 4.2


def test_finite_differences_measured_in_full_grow_in_proportion_to_the_parameter_count():
    """Adds load: the notebook's finite-difference slope and ratio margins, measured again
    inside the test suite on other random inputs; not asserted in the notebook: the widest
    network measured in full has 3332 parameters."""
    x, y = rng.normal(size=(64, 8)), rng.integers(0, 4, 64)
    rows = [finite_difference_cost(MLP([8, h, 4], seed=0), SoftmaxCrossEntropy(), x, y)
            for h in (4, 16, 64, 256)]
    assert not any(r["extrapolated"] for r in rows)
    params, ratios = [r["params"] for r in rows], [r["ratio"] for r in rows]
    slope = np.polyfit(np.log(params), np.log(ratios), 1)[0]
    assert 0.7 < slope < 1.3
    assert rows[-1]["params"] == 3332 and rows[-1]["ratio"] > 1000


def test_activation_memory_is_exactly_the_formula_and_linear_in_depth_and_batch():
    """Adds the library's course.costs.activation_bytes (the notebook asserts the learner's) and,
    not asserted in the notebook, doubling the depth gives 1.98x the bytes and quadrupling the
    batch exactly 4x."""
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
    weights = sum(p.nbytes for p in net.parameters().values())
    assert 1.9 < kept[256, 32] / weights < 2.1


def test_checkpointing_is_exact_saves_memory_k1_doubles_it_and_costs_one_extra_forward():
    """Adds the library's checkpointed_backward at k = sqrt(2N) = 14, whose gradients equal the
    plain ones bit for bit (the notebook checks the learner's backward at k = 10), and load: the
    notebook's memory and time margins measured again inside the test suite."""
    depth = 48
    net = MLP([32] + [64] * depth + [10], activation="tanh", seed=0)
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
        assert np.array_equal(g, plain[name])
    peaks = {j: checkpointed_backward(net, x, upstream, j).peak_bytes
             for j in [*range(1, 33), 48, n_layers]}
    plain_bytes = plain_peak_bytes(net, x)
    assert run.peak_bytes <= 1.1 * min(peaks.values())
    assert plain_bytes / run.peak_bytes > 3
    assert 1.9 < peaks[1] / plain_bytes < 2.1
    steps = {"plain": lambda: net.backward(upstream(net.forward(x)), input_grad=False),
             1: lambda: checkpointed_backward(net, x, upstream, 1),
             k: lambda: checkpointed_backward(net, x, upstream, k)}
    with one_blas_thread():
        t = min_times(steps, repeats=7)
    assert 1.0 < t[k] / t["plain"] < 1.9
    assert t[1] > 1.2 * t[k]
