"""Gradient checkpointing gives the plain gradients exactly and keeps less memory, best near
k = sqrt(depth)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.checkpoint import checkpointed_backward, plain_peak_bytes, segments
from course.costs import cache_bytes
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP


def plain_and_checkpointed(net, x, y, k):
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    dx = net.backward(loss_fn.backward())
    plain = {name: g.copy() for name, g in net.gradients().items()}
    run = checkpointed_backward(net, x, lambda out: (loss_fn.forward(out, y),
                                                     loss_fn.backward())[1], k)
    return plain, dx, run


@pytest.mark.parametrize("depth", [1, 5, 16])
@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("spec", [{"activation": "tanh"},
                                  {"activation": "relu", "residual": True, "norm": "batchnorm"}])
def test_checkpointed_gradients_equal_plain_gradients_to_1e_12(depth, k, spec):
    rng = np.random.default_rng(depth * 10 + k)
    x, y = rng.normal(size=(12, 4)), rng.integers(0, 3, 12)
    net = MLP([4] + [6] * depth + [3], seed=k, **spec)
    plain, dx, run = plain_and_checkpointed(net, x, y, k)
    assert np.max(np.abs(run.dx - dx)) <= 1e-12
    for name, g in net.gradients().items():
        assert np.max(np.abs(g - plain[name])) <= 1e-12, name
    assert run.recomputed_layers == len(net.layers)


def test_batchnorm_running_statistics_are_updated_once_not_twice():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    a, b = MLP([3, 5, 5, 2], norm="batchnorm"), MLP([3, 5, 5, 2], norm="batchnorm")
    a.forward(x)
    loss_fn = SoftmaxCrossEntropy()
    checkpointed_backward(b, x, lambda out: (loss_fn.forward(out, y), loss_fn.backward())[1], 2)
    np.testing.assert_array_equal(a.layers[1].buffers["running_mean"],
                                  b.layers[1].buffers["running_mean"])


def test_peak_memory_matches_the_prediction_and_is_smallest_with_about_sqrt_depth_segments():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 16)), rng.integers(0, 4, 32)
    depth = 32
    net = MLP([16] + [16] * depth + [4], activation="tanh")
    n_layers = len(net.layers)
    activation = 32 * 16 * 8
    plain = plain_peak_bytes(net, x)
    assert plain == (depth + 1) * activation      # one array per hidden layer, plus x
    runs = {k: plain_and_checkpointed(net, x, y, k)[2] for k in range(1, 25)}
    for k, run in runs.items():
        # ceil(L / k) checkpoints, plus about k / 2 new arrays inside the segment being redone.
        predicted = (math.ceil(n_layers / k) + k / 2) * activation
        assert abs(run.peak_bytes / predicted - 1) < 0.1, k
    best = min(runs, key=lambda k: runs[k].peak_bytes)
    assert abs(runs[best].segments - math.sqrt(depth)) <= 2
    assert runs[best].peak_bytes < plain / 2.5


def test_segments_cover_every_layer_once_and_bad_k_is_refused():
    parts = segments(10, 3)
    assert [list(p) for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    with pytest.raises(ValueError, match="k \\(layers per segment\\) must be a positive integer"):
        segments(10, 0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_batchnorm_inside_a_residual_block_updates_its_running_statistics_once(k):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 2)), rng.integers(0, 3, 16)
    spec = {"norm": "batchnorm", "residual": True}
    a, b = MLP([2, 8, 8, 8, 3], **spec), MLP([2, 8, 8, 8, 3], **spec)
    a.forward(x)
    loss_fn = SoftmaxCrossEntropy()
    checkpointed_backward(b, x, lambda out: (loss_fn.forward(out, y), loss_fn.backward())[1], k)
    stats_a = [(n, layer.buffers) for n, layer in a.named_layers() if layer.buffers]
    stats_b = [(n, layer.buffers) for n, layer in b.named_layers() if layer.buffers]
    assert [n for n, _ in stats_a] == ["1", "3.1", "4.1"]
    for (name, want), (_, got) in zip(stats_a, stats_b):
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name} {key}")


def test_checkpointed_backward_leaves_no_cache_inside_residual_blocks():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    net = MLP([4, 4, 4, 3], residual=True)
    loss_fn = SoftmaxCrossEntropy()
    checkpointed_backward(net, x, lambda out: (loss_fn.forward(out, y), loss_fn.backward())[1], 2)
    assert cache_bytes(net) == 0
