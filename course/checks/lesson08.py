"""Lesson 08 (what backprop costs): the bytes a forward pass keeps for backward, the segments of
gradient checkpointing, and the forward passes central differences need."""

from __future__ import annotations

from course.checks.core import Exercise


def _activation_bytes(n, sizes, itemsize):
    """Bytes a plain tanh MLP keeps for its backward pass.

    n: batch size; sizes: [d_in, hidden widths..., d_out]; itemsize: bytes per number
    (8 for float64, 4 for float32) -> int. The first Linear keeps x (n, d_in); each hidden
    tanh keeps its output (n, width), which is also the next Linear's input (one array).
    """
    return n * (sizes[0] + sum(sizes[1:-1])) * itemsize


def _activation_cases():
    return [(1, [2, 3, 1], 8), (7, [5, 4], 8), (64, [10, 20, 20, 3], 4)]


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


EXERCISES = [
    Exercise(
        id="08.1",
        title="bytes kept for the backward pass",
        points=2,
        reference=_activation_bytes,
        cases=_activation_cases,
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
        id="08.2",
        title="the segments of gradient checkpointing",
        points=2,
        reference=_segment_bounds,
        cases=_segment_cases,
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
        id="08.3",
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
]
