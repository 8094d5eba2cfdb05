"""course.timing: one BLAS thread while timing, minimum CPU time of repeats, and the
finite-difference cost measured in full or labelled extrapolated."""

from __future__ import annotations

import numpy as np
import pytest

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
