"""course.costs: exact cache bytes, timings that behave, and the price of finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from course import costs
from course.costs import (
    cache_bytes,
    finite_difference_times,
    forward_backward_times,
    median_time,
    nbytes,
    timeit,
)
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP


def test_cache_bytes_counts_what_each_layer_keeps_exactly():
    net = MLP([10, 20, 20, 3], activation="tanh")
    assert cache_bytes(net) == 0
    net.forward(np.ones((7, 10)))
    # Linear keeps its input, Tanh its output, which is also the next Linear's input (counted
    # once): x (7, 10) and two (7, 20) outputs, float64.
    assert cache_bytes(net) == 7 * (10 + 20 + 20) * 8
    relu = MLP([10, 20, 3], activation="relu")
    relu.forward(np.ones((7, 10)))
    assert cache_bytes(relu) == 7 * 10 * 8 + 7 * 20 * 1 + 7 * 20 * 8  # x, bool mask, ReLU output


def test_cache_bytes_grow_linearly_with_depth_and_batch():
    def kept(depth, batch):
        net = MLP([8] + [8] * depth + [2], activation="relu")
        net.forward(np.ones((batch, 8)))
        return cache_bytes(net)

    assert kept(8, 16) - kept(4, 16) == kept(12, 16) - kept(8, 16) > 0
    assert kept(4, 32) == 2 * kept(4, 16)


def test_nbytes_reads_numpy_arrays_torch_tensors_and_tuples():
    assert nbytes((np.ones(3), np.ones(2, dtype=np.float32), None)) == 3 * 8 + 2 * 4
    torch = pytest.importorskip("torch")
    assert nbytes(torch.ones(5, dtype=torch.float32)) == 20


def test_median_time_is_positive_and_refuses_zero_repeats():
    assert median_time(lambda: sum(range(100)), repeats=3) > 0
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        median_time(lambda: None, repeats=0)


def test_forward_and_backward_times_are_measured_for_a_real_network():
    rng = np.random.default_rng(0)
    net = MLP([64, 128, 128, 10])
    t_f, t_b = forward_backward_times(net, SoftmaxCrossEntropy(), rng.normal(size=(128, 64)),
                                      rng.integers(0, 10, 128), repeats=3)
    assert t_f > 0 and t_b > 0


def test_finite_differences_need_two_forward_passes_per_parameter_and_cost_far_more():
    rng = np.random.default_rng(0)
    net = MLP([4, 16, 3])
    r = finite_difference_times(net, SoftmaxCrossEntropy(), rng.normal(size=(32, 4)),
                                rng.integers(0, 3, 32), max_params=20)
    assert r["params"] == 4 * 16 + 16 + 16 * 3 + 3
    assert r["forward_passes"] == 2 * r["params"]
    assert r["fd_seconds"] > 0 and r["ratio"] == r["fd_seconds"] / r["backprop_seconds"]


class FakeClock:
    """time.perf_counter for course.costs: each run of the timed function lasts ``durations``
    in turn (seconds), so timings are exact whatever the machine's load."""

    def __init__(self, durations):
        self.durations, self.now, self.started = list(durations), 0.0, False

    def __call__(self):
        if self.started:
            self.now += self.durations.pop(0)
        self.started = not self.started
        return self.now


def test_timeit_skips_the_warmup_and_takes_the_median_or_the_minimum(monkeypatch):
    calls = []
    monkeypatch.setattr(costs, "perf_counter", FakeClock([3.0, 1.0, 2.0]))
    assert timeit(lambda: calls.append(1), repeats=3, warmup=2) == 2.0
    assert len(calls) == 5
    monkeypatch.setattr(costs, "perf_counter", FakeClock([3.0, 1.0, 2.0]))
    assert timeit(lambda: None, repeats=3, warmup=0, stat="min") == 1.0
    with pytest.raises(ValueError, match="stat must be"):
        timeit(lambda: None, stat="mean")


def test_finite_difference_time_is_scaled_from_the_sampled_entries_to_every_parameter(
        monkeypatch):
    rng = np.random.default_rng(0)
    net = MLP([4, 16, 3])
    monkeypatch.setattr(costs, "perf_counter", FakeClock([2.0] + [0.5] * 3))
    r = finite_difference_times(net, SoftmaxCrossEntropy(), rng.normal(size=(32, 4)),
                                rng.integers(0, 3, 32), max_params=20, repeats=3)
    assert r["fd_seconds"] == 2.0 * r["params"] / 20
    assert r["backprop_seconds"] == 0.5 and r["ratio"] == 2.0 * r["params"] / 20 / 0.5
