"""course.timing: one BLAS thread while timing, minimum CPU time of repeats, and the
finite-difference cost measured in full or labelled extrapolated."""

from __future__ import annotations

import numpy as np
import pytest

from course import timing
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD
from course.timing import (
    blas_threads,
    finite_difference_cost,
    min_time,
    min_times,
    one_blas_thread,
    pass_times,
    timeit,
)

rng = np.random.default_rng(0)


def test_one_blas_thread_pins_blas_inside_the_block_only():
    outside = blas_threads()
    with one_blas_thread():
        assert blas_threads() == 1
    assert blas_threads() == outside


def test_min_time_is_the_smallest_of_the_repeats():
    calls = []

    def work():
        calls.append(1)
        sum(range(20_000 if len(calls) % 2 else 200_000))

    assert min_time(work, repeats=4, warmup=1) < min_time(lambda: sum(range(200_000)), repeats=1)
    assert len(calls) == 5
    with pytest.raises(ValueError, match="repeats"):
        min_time(work, repeats=0)


def test_min_times_times_every_function_in_turn():
    order = []
    times = min_times({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                      repeats=2, warmup=0)
    assert order == ["a", "b", "a", "b"] and set(times) == {"a", "b"}
    assert all(t >= 0 for t in times.values())


def test_pass_times_reports_forward_backward_and_step():
    net = MLP([4, 8, 3], dtype="float32")
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 3, 16)
    times = pass_times(net, SoftmaxCrossEntropy(), x, y, SGD(net.parameters(), 1e-3), repeats=2)
    assert set(times) == {"forward", "backward", "step"}
    assert set(pass_times(net, SoftmaxCrossEntropy(), x, y, repeats=1)) == {"forward", "backward"}


def test_finite_difference_cost_in_full_and_extrapolated():
    x, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    net = MLP([3, 4, 2])
    full = finite_difference_cost(net, SoftmaxCrossEntropy(), x, y, repeats=1)
    assert full["params"] == full["differenced"] == 26 and not full["extrapolated"]
    part = finite_difference_cost(net, SoftmaxCrossEntropy(), x, y, max_params=5, repeats=1)
    assert part["differenced"] == 5 and part["extrapolated"]
    assert part["ratio"] == part["fd_seconds"] / part["backprop_seconds"]
    with pytest.raises(ValueError, match="max_params"):
        finite_difference_cost(net, SoftmaxCrossEntropy(), x, y, max_params=0)


class FakeClock:
    """A clock for course.timing: each run of the timed function lasts ``durations`` in turn
    (seconds), so timings are exact whatever the machine's load."""

    def __init__(self, durations):
        self.durations, self.now, self.started = list(durations), 0.0, False

    def __call__(self):
        if self.started:
            self.now += self.durations.pop(0)
        self.started = not self.started
        return self.now


def test_timeit_skips_the_warmup_and_takes_the_median_or_the_minimum(monkeypatch):
    calls = []
    monkeypatch.setattr(timing, "perf_counter", FakeClock([3.0, 1.0, 2.0]))
    assert timeit(lambda: calls.append(1), repeats=3, warmup=2) == 2.0
    assert len(calls) == 5
    monkeypatch.setattr(timing, "perf_counter", FakeClock([3.0, 1.0, 2.0]))
    assert timeit(lambda: None, repeats=3, warmup=0, stat="min") == 1.0
    assert timeit(lambda: None, repeats=3, warmup=0, clock=FakeClock([4.0, 5.0, 6.0])) == 5.0
    with pytest.raises(ValueError, match="stat must be"):
        timeit(lambda: None, stat="mean")
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        timeit(lambda: None, repeats=0)


def test_min_times_takes_each_functions_smallest_cpu_time_round_after_round(monkeypatch):
    monkeypatch.setattr(timing, "process_time", FakeClock([3.0, 7.0, 1.0, 9.0, 2.0, 8.0]))
    assert min_times({"a": lambda: None, "b": lambda: None}, repeats=3, warmup=0) == {
        "a": 1.0, "b": 7.0}


def test_finite_difference_time_is_scaled_from_the_sampled_entries_to_every_parameter(
        monkeypatch):
    net = MLP([4, 16, 3])
    monkeypatch.setattr(timing, "process_time", FakeClock([2.0] + [0.5] * 8))
    r = finite_difference_cost(net, SoftmaxCrossEntropy(), rng.normal(size=(32, 4)),
                               rng.integers(0, 3, 32), max_params=20, repeats=3)
    assert r["extrapolated"] and r["differenced"] == 20
    assert r["fd_seconds"] == 2.0 * r["params"] / 20
    assert r["backprop_seconds"] == 0.5 and r["ratio"] == 2.0 * r["params"] / 20 / 0.5
