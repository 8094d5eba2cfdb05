"""What backpropagation keeps in memory, counted exactly: the bytes of the activations the forward
pass caches for the backward pass (timings live in course.timing).
"""

from __future__ import annotations

from course.backend import is_array
from course.layers import iter_layers


def nbytes(obj, seen: set | None = None) -> int:
    """Bytes held by the arrays in ``obj`` (an array, or a tuple/list of them; others count 0).

    An array met twice (a Tanh's output is also the next Linear's cached input) counts once:
    ``seen`` holds the ids already counted.
    """
    seen = set() if seen is None else seen
    if is_array(obj):
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        return int(obj.nbytes) if hasattr(obj, "nbytes") else obj.element_size() * obj.nelement()
    if isinstance(obj, (tuple, list)):
        return sum(nbytes(o, seen) for o in obj)
    return 0


def cache_bytes(net_or_layers) -> int:
    """Bytes of activations kept for the backward pass right now: the sum over every layer of
    the arrays in its ``cache`` (its input x for a Linear layer, its output or mask for an
    activation, xhat and 1/std for a normalisation), each array counted once."""
    return nbytes([layer.cache for layer in iter_layers(net_or_layers)])


OPTIMIZER_COPIES = {"sgd": 0, "momentum": 1, "adam": 2}
"""Arrays an optimizer keeps per parameter array: none for plain SGD, the velocity for momentum,
the two moment estimates m and v for Adam."""


def parameter_count(sizes) -> int:
    """Weights and biases of an MLP with layer sizes [d_in, hidden widths..., d_out]."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def activation_bytes(n: int, sizes, itemsize: int) -> int:
    """Bytes a plain tanh MLP keeps for its backward pass: the input x (n, d_in) and each hidden
    tanh's output (n, width), which is also the next Linear's input (one array)."""
    return n * (sizes[0] + sum(sizes[1:-1])) * itemsize


def training_memory(sizes, n: int, itemsize: int, optimizer: str) -> dict[str, int]:
    """Bytes a training step of a tanh MLP holds, by kind, computed from the sizes.

    sizes: [d_in, hidden widths..., d_out]; n: batch size; itemsize: bytes per number;
    optimizer: 'sgd', 'momentum' or 'adam' -> {'weights', 'gradients', 'optimizer state',
    'activations'}: the parameters, one gradient per parameter, OPTIMIZER_COPIES[optimizer]
    arrays per parameter, and the caches the forward pass keeps for backward.
    """
    if optimizer not in OPTIMIZER_COPIES:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZER_COPIES)}, got {optimizer!r}")
    weights = parameter_count(sizes) * itemsize
    return {"weights": weights, "gradients": weights,
            "optimizer state": OPTIMIZER_COPIES[optimizer] * weights,
            "activations": activation_bytes(n, sizes, itemsize)}


def measured_training_memory(net, opt, loss_fn, x, y) -> dict[str, int]:
    """The same four kinds, measured on one training step of ``net`` with ``opt``: the bytes of
    the parameter arrays, of the gradient arrays after backward, of the arrays in ``opt.state``
    after the step, and of the layers' caches after the forward pass."""
    loss_fn.forward(net.forward(x), y)
    activations = cache_bytes(net)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    state = [list(s.values()) for s in opt.state.values()]
    return {"weights": nbytes(list(net.parameters().values())),
            "gradients": nbytes(list(net.gradients().values())),
            "optimizer state": nbytes(state), "activations": activations}


def peak_cache_bytes(layers, run):
    """Run ``run()`` and watch the caches of ``layers``: (what run returned, the most bytes their
    caches held at once), counted after every forward and backward call of every layer.

    Each layer's ``forward`` and ``backward`` are wrapped for the duration of the run (on the
    layer object itself) and restored after it, also when run raises.
    """
    layers = list(layers)
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
    try:
        result = run()
    finally:
        for layer in layers:
            del layer.forward, layer.backward
    return result, peak
