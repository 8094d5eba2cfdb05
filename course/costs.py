"""What backpropagation costs, measured: time of forward and backward passes, the price of
finite differences, and the bytes of activations the forward pass keeps for the backward pass.

Every repeated timing in the course goes through :func:`timeit` (``time.perf_counter``, warm-up
runs, then the median or the minimum of repeats; noisy on a shared machine: compare ratios, not
single numbers). Memory is counted exactly, from the arrays in the layers' caches.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from time import perf_counter

import numpy as np

from course.backend import is_array
from course.gradcheck import numerical_gradient
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


def timeit(fn: Callable[[], object], repeats: int = 5, warmup: int = 1, stat: str = "median",
           sync: Callable[[], object] | None = None) -> float:
    """Wall-clock seconds of ``fn()``: ``warmup`` untimed runs, then the median (stat="median")
    or the fastest (stat="min": on a shared machine others only ever slow a run down) of
    ``repeats`` timed runs. sync: called before starting and before stopping the clock (e.g.
    torch.cuda.synchronize, so queued GPU work is counted)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be >= 1 (an integer), got {repeats!r}")
    if stat not in ("median", "min"):
        raise ValueError(f"stat must be 'median' or 'min', got {stat!r}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync is not None:
            sync()
        start = perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(perf_counter() - start)
    return statistics.median(times) if stat == "median" else min(times)


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """``timeit(fn, repeats, warmup)``: the median, under the name lesson 08 imports."""
    return timeit(fn, repeats, warmup)


def forward_backward_times(net, loss_fn, x, y, repeats: int = 5) -> tuple[float, float]:
    """Median seconds of one forward pass (network and loss) and of one backward pass."""

    def forward():
        return loss_fn.forward(net.forward(x), y)

    def backward():
        net.backward(loss_fn.backward())

    forward()
    t_forward = timeit(forward, repeats)
    forward()
    t_backward = timeit(backward, repeats)
    return t_forward, t_backward


def finite_difference_times(net, loss_fn, x, y, max_params: int | None = None,
                            repeats: int = 3) -> dict:
    """Time a full central-difference gradient of the loss against one forward + backward.

    Central differences need 2 forward passes per parameter. With ``max_params`` only the first
    max_params entries of the first weight matrix are differenced and the time is scaled up to
    all parameters (the cost is exactly linear in their number).
    Returns {"params", "forward_passes", "fd_seconds", "backprop_seconds", "ratio"}.
    """
    n_params = sum(int(np.prod(p.shape)) for p in net.parameters().values())
    w = next(iter(net.parameters().values()))
    sample = w.reshape(-1)[: max_params or w.size]
    if not np.shares_memory(sample, w):
        raise ValueError("the first parameter must be a contiguous numpy array")

    def loss():
        return float(loss_fn.forward(net.forward(x), y))

    fd = timeit(lambda: numerical_gradient(loss, sample), repeats=1, warmup=0) * (
        n_params / sample.size)

    def backprop():
        loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward())

    bp = timeit(backprop, repeats)
    return {"params": n_params, "forward_passes": 2 * n_params, "fd_seconds": fd,
            "backprop_seconds": bp, "ratio": fd / bp}
