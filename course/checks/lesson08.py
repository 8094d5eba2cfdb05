"""Lesson 08 (what backprop costs): multiply-adds of the forward and backward passes, the forward
passes central differences need, the bytes a forward pass keeps for backward, the segments of
gradient checkpointing, the checkpointed backward pass (judged by its gradients and by the peak
of the caches it holds), the peak measurement itself, and everything a training step holds."""

from __future__ import annotations

import numpy as np

from course.checks import variants
from course.checks.core import Exercise, Mistake
from course.costs import (
    OPTIMIZER_COPIES,
    activation_bytes,
    cache_bytes,
    nbytes,
    parameter_count,
    peak_cache_bytes,
    training_memory,
)


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
    checkpoint (restoring the caches), backpropagates through it and drops its caches again
    -> dL/dx (n, d_in).
    """
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
        for layer in layers[start:stop]:
            layer.cache = None
    return g


def _checkpoint_case(depth, width, n, k, seed):
    """Square layers (width to width), so that every planted walk runs and gives its numbers."""
    from course.checkpoint import checkpointed_forward
    from course.mlp import MLP

    rng = np.random.default_rng(seed)
    net = MLP([width] * (depth + 2), activation="tanh", seed=seed)
    out, checkpoints, parts = checkpointed_forward(net, rng.normal(size=(n, width)), k)
    bounds = [(part.start, part.stop) for part in parts]
    return net.layers, checkpoints, bounds, rng.normal(size=out.shape)


def _checkpoint_cases(seed: int):
    if seed == 0:
        return [_checkpoint_case(2, 3, 2, 2, 0), _checkpoint_case(5, 4, 5, 3, 1)]
    return [_checkpoint_case(4 + seed, 5, 3, 2 + seed, 10 + seed)]


def _run_backward(fn, layers, checkpoints, bounds, g):
    """What a checkpointed backward did: (dL/dx, every parameter gradient, the most bytes the
    layers' caches held at once during it, the bytes they still hold after it)."""
    dx, peak = peak_cache_bytes(layers, lambda: fn(layers, checkpoints, bounds, g))
    grads = tuple(layer.grads[k] for layer in layers for k in layer.params)
    return dx, grads, peak, cache_bytes(layers)


def _segments_first_to_last(layers, checkpoints, bounds, g):
    for (start, stop), h in zip(bounds, checkpoints):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
        for layer in layers[start:stop]:
            layer.cache = None
    return g


def _recomputed_from_x(layers, checkpoints, bounds, g):
    for start, stop in reversed(bounds):
        h = checkpoints[0]
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
        for layer in layers[start:stop]:
            layer.cache = None
    return g


def _restarted_from_output_gradient(layers, checkpoints, bounds, g):
    out = g
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        g_seg = out
        for layer in reversed(layers[start:stop]):
            g_seg = layer.backward(g_seg)
        for layer in layers[start:stop]:
            layer.cache = None
    return g_seg


def _layers_in_forward_order(layers, checkpoints, bounds, g):
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in layers[start:stop]:
            g = layer.backward(g)
        for layer in layers[start:stop]:
            layer.cache = None
    return g


def _recompute_all_first(layers, checkpoints, bounds, g):
    for (start, stop), h in zip(bounds, checkpoints):
        for layer in layers[start:stop]:
            h = layer.forward(h)
    for layer in reversed(layers):
        g = layer.backward(g)
    for layer in layers:
        layer.cache = None
    return g


def _caches_kept(layers, checkpoints, bounds, g):
    for (start, stop), h in zip(reversed(bounds), reversed(checkpoints)):
        for layer in layers[start:stop]:
            h = layer.forward(h)
        for layer in reversed(layers[start:stop]):
            g = layer.backward(g)
    return g


# ---------------------------------------------------------------- 08.6 the peak, measured


class _Scenario:
    """What to run through a network, as a callable the check can copy with its network:
    'plain' (forward then backward), 'checkpointed' (the library's checkpointed backward with
    segments of 2 layers, which holds one segment's caches at a time), 'forward'."""

    def __init__(self, kind, depth, width, n, seed):
        from course.mlp import MLP

        rng = np.random.default_rng(seed)
        self.kind = kind
        self.net = MLP([3] + [width] * depth + [2], activation="tanh", seed=seed)
        self.x, self.up = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))

    def __repr__(self) -> str:
        return f"<run: {self.kind}>"

    def __call__(self):
        from course.checkpoint import checkpointed_backward

        if self.kind == "forward":
            return self.net.forward(self.x)
        if self.kind == "plain":
            self.net.forward(self.x)
            return self.net.backward(self.up)
        return checkpointed_backward(self.net, self.x, lambda out: self.up, 2).dx


def _peak_case(kind, depth, width, n, seed):
    run = _Scenario(kind, depth, width, n, seed)
    return run.net.layers, run


def _run_peak(fn, layers, run):
    """Drive a peak measurement: (what it returned, the peak it found, whether every layer's
    forward and backward are the class's own again afterwards)."""
    out = fn(layers, run)
    if not (isinstance(out, tuple) and len(out) == 2):
        return out
    result, peak = out
    restored = not any("forward" in vars(layer) or "backward" in vars(layer) for layer in layers)
    return result, int(peak), restored


def _peak_cases(seed: int):
    if seed == 0:
        return [_peak_case("checkpointed", 4, 3, 2, 0), _peak_case("plain", 2, 4, 3, 1),
                _peak_case("forward", 1, 5, 2, 2)]
    return [_peak_case("checkpointed", 5 + seed, 6, 4, 10 + seed),
            _peak_case("plain", 3, 7, 5, 20 + seed)]


def _peak_after(layers, run):
    result = run()
    return result, cache_bytes(layers)


def _peak_before(layers, run):
    peak = cache_bytes(layers)
    return run(), peak


def _watching(layers, run, combine, count):
    total = 0

    def watched(method):
        def call(*args, **kwargs):
            nonlocal total
            out = method(*args, **kwargs)
            total = combine(total, count(layers))
            return out
        return call

    for layer in layers:
        layer.forward, layer.backward = watched(layer.forward), watched(layer.backward)
    try:
        result = run()
    finally:
        for layer in layers:
            del layer.forward, layer.backward
    return result, total


def _peak_summed(layers, run):
    return _watching(layers, run, lambda a, b: a + b, cache_bytes)


def _peak_counted_twice(layers, run):
    return _watching(layers, run, max, lambda ls: sum(nbytes(layer.cache) for layer in ls))


def _peak_not_restored(layers, run):
    peak = cache_bytes(layers)

    def watched(method):
        def call(*args, **kwargs):
            nonlocal peak
            out = method(*args, **kwargs)
            peak = max(peak, cache_bytes(layers))
            return out
        return call

    for layer in layers:
        layer.forward, layer.backward = watched(layer.forward), watched(layer.backward)
    return run(), peak


# ---------------------------------------------------------------- 08.7 everything training holds


def _memory_cases(seed: int):
    if seed == 0:
        return [([2, 3], 1, 8, "sgd"), ([3, 4, 2], 5, 8, "adam"), ([4, 6, 6, 3], 7, 4, "momentum"),
                ([5, 2, 4], 3, 2, "adam")]
    rng = np.random.default_rng(seed)
    sizes = [int(d) for d in rng.integers(1, 40, 5)]
    return [(sizes, int(rng.integers(1, 300)), 4, kind) for kind in OPTIMIZER_COPIES]


def _memory_mistake(weights, state, activations):
    def answer(sizes, n, itemsize, optimizer):
        w = weights(sizes) * itemsize
        return {"weights": w, "gradients": w, "optimizer state": state(optimizer) * w,
                "activations": activations(n, sizes, itemsize)}
    return answer


def _weights_only(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


_COPIES_ONE_EACH = {"sgd": 0, "momentum": 1, "adam": 1}
_COPIES_SGD_TOO = {"sgd": 1, "momentum": 1, "adam": 2}


EXERCISES = [
    Exercise(
        id="08.1",
        title="multiply-adds of the forward and backward passes",
        points=2,
        reference=_multiply_adds,
        cases=lambda seed: _madds_cases() if seed == 0 else _madds_hidden_cases(),
        hidden_seeds=(1,),
        section="§1, 'Backward against forward'",
        mistakes=[
            Mistake("one-product-backward", "your backward count is too small: a Linear layer "
                    "does more products backward than forward",
                    _madds_mistake(lambda n, a, b: n * a * b, lambda p, ig: sum(p)),
                    hint="backward computes two gradients per layer, one for W and one for its "
                         "input, each a product as large as the forward one"),
            Mistake("no-batch", "your counts do not grow with the batch",
                    _madds_mistake(lambda n, a, b: a * b,
                                   lambda p, ig: 2 * sum(p) - (0 if ig else p[0])),
                    hint="every one of the n rows goes through each product"),
            Mistake("input-grad-ignored", "your backward count does not change with input_grad",
                    _madds_mistake(lambda n, a, b: n * a * b, lambda p, ig: 2 * sum(p)),
                    hint="with input_grad=False the first layer's dL/dx is not computed"),
            Mistake("input-grad-inverted", "your backward count drops the wrong way with "
                    "input_grad",
                    _madds_mistake(lambda n, a, b: n * a * b,
                                   lambda p, ig: 2 * sum(p) - (p[0] if ig else 0)),
                    hint="the product is skipped when input_grad is False, not when it is True"),
            Mistake("last-layer-skipped", "with input_grad=False you skipped another layer's "
                    "product than the one nobody needs",
                    _madds_mistake(lambda n, a, b: n * a * b,
                                   lambda p, ig: 2 * sum(p) - (0 if ig else p[-1])),
                    hint="the gradient nobody needs is the first layer's, for the data"),
        ],
    ),
    Exercise(
        id="08.2",
        title="forward passes for a central-difference gradient of 1,000,000 parameters",
        points=1,
        reference=2_000_000,
        compare=lambda got, expected: isinstance(got, (int, float)) and got == expected,
        section="§2, 'Finite differences against one backward pass'",
        mistakes=[
            Mistake("one-sided", "your count is that of a one-sided difference", 1_000_000,
                    hint="a central difference evaluates the loss on both sides of w"),
            Mistake("one-sided-plus-base", "your count is that of one-sided differences with "
                    "one shared evaluation at w", 1_000_001,
                    hint="a central difference needs two evaluations per parameter"),
            Mistake("not-per-parameter", "your count does not grow with the number of "
                    "parameters", 2,
                    hint="each parameter is nudged on its own"),
        ],
    ),
    Exercise(
        id="08.3",
        title="bytes kept for the backward pass",
        points=2,
        reference=activation_bytes,
        cases=lambda seed: _activation_cases() if seed == 0 else _activation_hidden_cases(),
        hidden_seeds=(1,),
        section="§3, 'Memory: what the forward pass keeps'",
        mistakes=[
            Mistake("input-left-out", "your count leaves out what the first Linear layer keeps",
                    lambda n, sizes, itemsize: n * sum(sizes[1:-1]) * itemsize,
                    hint="a Linear layer keeps its input for dL/dW, and the first one's input "
                         "is x"),
            Mistake("logits-counted", "your count includes the network's output",
                    lambda n, sizes, itemsize: n * sum(sizes) * itemsize,
                    hint="the loss keeps its own delta; no layer of the network keeps the "
                         "logits"),
            Mistake("hidden-counted-twice", "your count holds each hidden activation twice",
                    lambda n, sizes, itemsize: n * (sizes[0] + 2 * sum(sizes[1:-1])) * itemsize,
                    hint="the tanh's output and the next Linear's input are one array"),
            Mistake("no-batch", "your count does not grow with the batch",
                    lambda n, sizes, itemsize: (sizes[0] + sum(sizes[1:-1])) * itemsize,
                    hint="every example keeps its own activations"),
            Mistake("inputs-changed", "your code changed its input in place",
                    variants.mutating(activation_bytes, 1),
                    hint="sizes is the caller's list: do not append to it or pop from it"),
        ],
    ),
    Exercise(
        id="08.4",
        title="the segments of gradient checkpointing",
        points=2,
        reference=_segment_bounds,
        cases=lambda seed: _segment_cases() if seed == 0 else _segment_hidden_cases(),
        hidden_seeds=(1,),
        section="§4, 'Gradient checkpointing: memory for time'",
        mistakes=[
            Mistake("last-dropped", "the last, shorter segment is missing: its layers would get "
                    "no gradient", lambda n, k: [(s, s + k) for s in range(0, n - k + 1, k)],
                    hint="when k does not divide the number of layers, one shorter segment is "
                         "left at the end"),
            Mistake("past-the-end", "your last segment runs past the last layer",
                    lambda n, k: [(s, s + k) for s in range(0, n, k)],
                    hint="a stop never exceeds the number of layers"),
            Mistake("overlap", "your segments overlap by one layer: it would be backpropagated "
                    "twice", lambda n, k: [(s, min(s + k + 1, n)) for s in range(0, n, k)],
                    hint="stop is exclusive: the next segment starts where this one stops"),
            Mistake("k-segments", "you made k segments instead of segments of k layers",
                    _k_segments, hint="k is the number of layers in each segment"),
        ],
    ),
    Exercise(
        id="08.5",
        title="the checkpointed backward pass",
        points=3,
        reference=_backward_through_segments,
        cases=_checkpoint_cases,
        run=_run_backward,
        mutates=True,
        section="§4, 'Exercise 08.5 — the checkpointed backward'",
        mistakes=[
            Mistake("first-to-last", "you walked the segments in the order of the forward pass",
                    _segments_first_to_last,
                    hint="the output's gradient enters the LAST segment: walk reversed(bounds) "
                         "and reversed(checkpoints) together"),
            Mistake("recomputed-from-x", "every segment was recomputed from the network's input",
                    _recomputed_from_x, hint="each segment starts from its own checkpoint"),
            Mistake("restarted-from-output", "each segment's backward started from the "
                    "output's gradient", _restarted_from_output_gradient,
                    hint="a segment's backward starts from the gradient the segment after it "
                         "returned"),
            Mistake("forward-order", "you backpropagated through a segment's layers in forward "
                    "order", _layers_in_forward_order,
                    hint="backward runs a segment's layers from its last to its first"),
            Mistake("recompute-all-first", "right gradients, but your backward held every "
                    "layer's caches at once: nothing was saved", _recompute_all_first,
                    hint="recompute ONE segment, backpropagate through it, drop its caches, "
                         "then move to the segment before"),
            Mistake("caches-kept", "right gradients, but the caches you refilled were never "
                    "dropped: by the end they hold as much as a plain backward", _caches_kept,
                    hint="after a segment's backward, set the cache of each of its layers to "
                         "None"),
        ],
    ),
    Exercise(
        id="08.6",
        title="the peak of the caches, measured",
        points=2,
        reference=peak_cache_bytes,
        cases=_peak_cases,
        run=_run_peak,
        mutates=True,
        section="§4, 'Exercise 08.6 — measure the peak'",
        mistakes=[
            Mistake("measured-after", "your peak misses what a run held while it ran and "
                    "dropped before it ended", _peak_after,
                    hint="count after EVERY call of every layer's forward and backward, not "
                         "once at the end"),
            Mistake("measured-before", "your peak is what the layers held before the run",
                    _peak_before, hint="the peak is taken while the run goes on"),
            Mistake("summed", "your peak adds up the counts of every call: it is the maximum "
                    "that is asked for", _peak_summed,
                    hint="keep the largest count seen, not the total"),
            Mistake("shared-counted-twice", "your count holds an array twice where two layers "
                    "keep the same one", _peak_counted_twice,
                    hint="a tanh's output is also the next Linear's input: count each array "
                         "once (cache_bytes does)"),
            Mistake("not-restored", "your layers keep your wrapped methods after the run",
                    _peak_not_restored,
                    hint="delete the wrappers from each layer when the run is over (also when "
                         "it raises: try/finally)"),
        ],
    ),
    Exercise(
        id="08.7",
        title="everything a training step holds",
        points=2,
        reference=training_memory,
        cases=_memory_cases,
        section="§5, 'Everything a training step holds'",
        mistakes=[
            Mistake("biases-left-out", "your weights leave out the biases",
                    _memory_mistake(_weights_only, OPTIMIZER_COPIES.get, activation_bytes),
                    hint="each Linear layer holds W (d_in, d_out) and b (d_out,)"),
            Mistake("adam-one-copy", "your Adam keeps too little state",
                    _memory_mistake(parameter_count, _COPIES_ONE_EACH.get, activation_bytes),
                    hint="Adam keeps two running averages per parameter: m and v"),
            Mistake("sgd-with-state", "your plain SGD keeps state it does not need",
                    _memory_mistake(parameter_count, _COPIES_SGD_TOO.get, activation_bytes),
                    hint="plain SGD updates each parameter from its gradient alone"),
            Mistake("logits-counted", "your activations include the network's output",
                    _memory_mistake(parameter_count, OPTIMIZER_COPIES.get,
                                    lambda n, sizes, itemsize: n * sum(sizes) * itemsize),
                    hint="the caches are those of exercise 08.3: no layer keeps the logits"),
            Mistake("inputs-changed", "your code changed its input in place",
                    variants.mutating(training_memory, 0),
                    hint="sizes is the caller's list: leave it as it is"),
        ],
    ),
]
