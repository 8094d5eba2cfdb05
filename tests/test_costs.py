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
