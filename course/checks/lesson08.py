"""Lesson 08 (what backprop costs): multiply-adds of the forward and backward passes, the forward
passes central differences need, the bytes a forward pass keeps for backward, the segments of
gradient checkpointing and the checkpointed backward pass itself."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise


def _multiply_adds(sizes, n, input_grad=True):
    """Multiply-adds of the matrix products of an MLP on a batch of n.

    sizes: [d_in, hidden widths..., d_out]; input_grad: False when the first layer's dL/dx is
    skipped -> (forward, backward) ints. Forward does z = x W per layer (n * d_in * d_out);
    backward does dW = x^T delta and dx = delta W^T, each as many.
    """
    per_layer = [n * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    forward = sum(per_layer)
    return forward, 2 * forward - (0 if input_grad else per_layer[0])


def _madds_cases():
    return [([2, 3], 1, True), ([2, 3, 4], 5, True), ([4, 8, 8, 3], 16, False),
            ([784, 256, 10], 32, False)]


def _madds_hidden_cases():
    return [([3, 1], 2, False), ([5, 7, 6, 2], 3, True), ([10, 20, 30, 40, 50], 4, False)]


def _madds_mistake(per_layer_cost, backward):
    def answer(sizes, n, input_grad=True):
        per_layer = [per_layer_cost(n, a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        return sum(per_layer), backward(per_layer, input_grad)
    return answer


def _activation_bytes(n, sizes, itemsize):
    """Bytes a plain tanh MLP keeps for its backward pass.

    n: batch size; sizes: [d_in, hidden widths..., d_out]; itemsize: bytes per number
    (8 for float64, 4 for float32) -> int. The first Linear keeps x (n, d_in); each hidden
    tanh keeps its output (n, width), which is also the next Linear's input (one array).
    """
    return n * (sizes[0] + sum(sizes[1:-1])) * itemsize


def _activation_cases():
    return [(1, [2, 3, 1], 8), (7, [5, 4], 8), (64, [10, 20, 20, 3], 4)]


def _activation_hidden_cases():
    return [(3, [4, 6, 6, 6, 2], 8), (10, [1, 1], 4), (2, [7, 5, 9], 2)]


def _segment_bounds(n_layers, k):
    """Cut layers 0 .. n_layers-1 into consecutive segments of k layers (the last may be shorter).

    -> list of (start, stop) pairs, stop exclusive, covering every layer exactly once.
    """
    return [(start, min(start + k, n_layers)) for start in range(0, n_layers, k)]


def _k_segments(n_layers, k):
    size = -(-n_layers // k)
    return [(s, min(s + size, n_layers)) for s in range(0, n_layers, size)]


def _segment_cases():
    return [(4, 2), (5, 2), (10, 3), (9, 1), (7, 7), (13, 4)]


def _segment_hidden_cases():
    return [(6, 4), (1, 1), (11, 5), (8, 8), (17, 3)]


def _backward_through_segments(layers, checkpoints, bounds, g):
    """The backward half of gradient checkpointing.

    layers: the network's layers, caches dropped; checkpoints[j]: the input of segment j (the
    array the forward pass kept); bounds[j] = (start, stop): the layers of segment j; g: dL/d
    (output) (n, d_out). Walks the segments from the last, reruns each one's forward from its
    checkpoint (restoring the caches) and backpropagates through it -> dL/dx (n, d_in).
    """
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
    return g


def _checkpoint_case(depth, width, n, k, seed):
    from course.checkpoint import checkpointed_forward
    from course.mlp import MLP

    rng = np.random.default_rng(seed)
    net = MLP([width] * (depth + 2), activation="tanh", seed=seed)
    out, checkpoints, parts = checkpointed_forward(net, rng.normal(size=(n, width)), k)
    bounds = [(part.start, part.stop) for part in parts]
    return net.layers, checkpoints, bounds, rng.normal(size=out.shape)


def _checkpoint_cases():
    return [_checkpoint_case(2, 3, 2, 2, 0), _checkpoint_case(3, 4, 5, 3, 1)]


def _checkpoint_hidden_cases():
    return [_checkpoint_case(4, 5, 3, 4, 2), _checkpoint_case(5, 2, 6, 2, 3)]


def _segments_first_to_last(layers, checkpoints, bounds, g):
    for (start, stop), h in zip(bounds, checkpoints):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
    return g


def _recomputed_from_x(layers, checkpoints, bounds, g):
    for start, stop in reversed(bounds):
        h = checkpoints[0]
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
    return g


def _restarted_from_output_gradient(layers, checkpoints, bounds, g):
    out = g
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        g_seg = out
        for layer in reversed(layers[start:stop]):
            g_seg = layer.backward(g_seg)
    return g_seg


def _layers_in_forward_order(layers, checkpoints, bounds, g):
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in layers[start:stop]:
            g = layer.backward(g)
    return g


EXERCISES = [
    Exercise(
        id="08.1",
        title="multiply-adds of the forward and backward passes",
        points=2,
        reference=_multiply_adds,
        cases=_madds_cases,
        hidden_cases=_madds_hidden_cases,
        mistakes={
            "counted one product per layer backward; backward does two, dW = x^T delta and "
            "dx = delta W^T, each as large as the forward product":
                _madds_mistake(lambda n, a, b: n * a * b, lambda p, ig: sum(p)),
            "forgot the batch: every one of the n rows goes through each product":
                _madds_mistake(lambda n, a, b: a * b,
                               lambda p, ig: 2 * sum(p) - (0 if ig else p[0])),
            "ignored input_grad: with input_grad=False the first layer's dL/dx is not computed":
                _madds_mistake(lambda n, a, b: n * a * b, lambda p, ig: 2 * sum(p)),
            "skipped the first layer's dL/dx when input_grad=True; it is skipped when "
            "input_grad is False":
                _madds_mistake(lambda n, a, b: n * a * b,
                               lambda p, ig: 2 * sum(p) - (p[0] if ig else 0)),
            "skipped the last layer's dL/dx; the one nobody needs is the first layer's (the "
            "gradient for the data)":
                _madds_mistake(lambda n, a, b: n * a * b,
                               lambda p, ig: 2 * sum(p) - (0 if ig else p[-1])),
        },
    ),
    Exercise(
        id="08.2",
        title="forward passes for a central-difference gradient of 1,000,000 parameters",
        points=1,
        reference=2_000_000,
        compare=lambda got, expected: isinstance(got, (int, float)) and got == expected,
        mistakes={
            "one pass per parameter is the one-sided difference; central needs f(w+h) and "
            "f(w-h)": 1_000_000,
            "one-sided differences need n + 1 passes; central ones need two per parameter":
                1_000_001,
            "two passes per parameter, not two in all: each parameter is nudged on its own": 2,
        },
    ),
    Exercise(
        id="08.3",
        title="bytes kept for the backward pass",
        points=2,
        reference=_activation_bytes,
        cases=_activation_cases,
        hidden_cases=_activation_hidden_cases,
        mistakes={
            "forgot the input x, which the first Linear layer keeps":
                lambda n, sizes, itemsize: n * sum(sizes[1:-1]) * itemsize,
            "counted the output layer's logits: the loss keeps its delta, the network does not":
                lambda n, sizes, itemsize: n * sum(sizes) * itemsize,
            "counted each hidden activation twice: the tanh's output IS the next Linear's input":
                lambda n, sizes, itemsize: n * (sizes[0] + 2 * sum(sizes[1:-1])) * itemsize,
            "forgot the batch: every example keeps its own activations":
                lambda n, sizes, itemsize: (sizes[0] + sum(sizes[1:-1])) * itemsize,
        },
    ),
    Exercise(
        id="08.4",
        title="the segments of gradient checkpointing",
        points=2,
        reference=_segment_bounds,
        cases=_segment_cases,
        hidden_cases=_segment_hidden_cases,
        mistakes={
            "dropped the last, shorter segment: its layers get no gradient":
                lambda n, k: [(s, s + k) for s in range(0, n - k + 1, k)],
            "the last segment runs past the last layer (use min(start + k, n_layers))":
                lambda n, k: [(s, s + k) for s in range(0, n, k)],
            "segments overlap by one layer: it would be backpropagated twice":
                lambda n, k: [(s, min(s + k + 1, n)) for s in range(0, n, k)],
            "made k segments instead of segments of k layers": _k_segments,
        },
    ),
    Exercise(
        id="08.5",
        title="the checkpointed backward pass",
        points=3,
        reference=_backward_through_segments,
        cases=_checkpoint_cases,
        hidden_cases=_checkpoint_hidden_cases,
        mistakes={
            "walked the segments first to last: the output's gradient enters the LAST segment, "
            "so go through reversed(bounds) and reversed(checkpoints) together":
                _segments_first_to_last,
            "recomputed every segment from the network's input; each segment starts from its "
            "own checkpoint": _recomputed_from_x,
            "started each segment from the output's gradient; a segment's backward starts from "
            "the gradient the segment after it returned": _restarted_from_output_gradient,
            "backpropagated through a segment's layers in forward order; backward runs them "
            "last to first": _layers_in_forward_order,
        },
    ),
]
