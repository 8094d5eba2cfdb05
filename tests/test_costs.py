"""course.costs: exact cache bytes."""

from __future__ import annotations

import numpy as np
import pytest

from course.costs import cache_bytes, nbytes
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


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize(("sizes", "n", "dtype"), [([5, 7, 3], 4, "float64"),
                                                  ([16, 32, 32, 32, 10], 64, "float32")])
def test_training_memory_counted_from_the_sizes_is_what_a_step_holds(optimizer, sizes, n, dtype):
    from course.costs import measured_training_memory, training_memory
    from course.losses import SoftmaxCrossEntropy
    from course.optim import SGD, Adam

    make = {"sgd": lambda p: SGD(p, 0.1), "momentum": lambda p: SGD(p, 0.1, momentum=0.9),
            "adam": lambda p: Adam(p, 1e-3)}[optimizer]
    net = MLP(sizes, activation="tanh", dtype=dtype)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], n)
    measured = measured_training_memory(net, make(net.parameters()), SoftmaxCrossEntropy(), x, y)
    assert measured == training_memory(sizes, n, 4 if dtype == "float32" else 8, optimizer)


def test_training_memory_refuses_an_unknown_optimizer():
    from course.costs import training_memory

    with pytest.raises(ValueError, match="optimizer must be one of"):
        training_memory([2, 3], 1, 8, "rmsprop")


def test_peak_cache_bytes_sees_what_a_run_held_and_dropped_and_restores_the_layers():
    from course.checkpoint import checkpointed_backward
    from course.costs import peak_cache_bytes

    net = MLP([4] + [6] * 6 + [2], activation="tanh")
    x, up = np.ones((3, 4)), np.ones((3, 2))
    plain_peak = peak_cache_bytes(net.layers, lambda: net.backward(up) if net.forward(x)
                                  is not None else None)[1]
    assert plain_peak == cache_bytes(net) == 3 * (4 + 6 * 6) * 8
    net = MLP([4] + [6] * 6 + [2], activation="tanh")
    dx, peak = peak_cache_bytes(net.layers,
                                lambda: checkpointed_backward(net, x, lambda out: up, 2).dx)
    assert 0 < peak < plain_peak / 3 and cache_bytes(net) == 0 and dx.shape == (3, 4)
    assert not any("forward" in vars(layer) for layer in net.layers)

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        peak_cache_bytes(net.layers, boom)
    assert not any("backward" in vars(layer) for layer in net.layers)
