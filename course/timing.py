"""Timing that holds on a shared, loaded machine: one BLAS thread and the minimum of repeats.

A matrix product that may use every core is timed against whatever else the machine runs, so a
ratio of two such times swings by a factor of ten from run to run. Pinned to one thread
(``one_blas_thread``) each product runs on one core, and the minimum of several repeats
(``min_time``) is the run least disturbed by other work. The clock is the process's CPU time
(``time.process_time``): a time slice given to another program does not count. Ratios of such
minima are stable enough to assert with a margin; times themselves are never asserted.

Every repeated timing in the course goes through :func:`timeit` (warm-up runs, then the median or
the minimum of repeats, on the wall clock by default or on CPU time).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter, process_time

from threadpoolctl import threadpool_info, threadpool_limits

from course.gradcheck import numerical_gradient


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block numpy's BLAS (OpenBLAS, MKL, ...) uses a single thread."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def blas_threads() -> int:
    """The largest thread count among the BLAS libraries numpy has loaded now."""
    return max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"),
               default=1)


def timeit(fn: Callable[[], object], repeats: int = 5, warmup: int = 1, stat: str = "median",
           sync: Callable[[], object] | None = None,
           clock: Callable[[], float] | None = None) -> float:
    """Seconds of ``fn()``: ``warmup`` untimed runs, then the median (stat="median") or the
    fastest (stat="min": on a shared machine others only ever slow a run down) of ``repeats``
    timed runs. clock: ``perf_counter`` (wall clock) when None, or e.g. ``process_time``.
    sync: called before starting and before stopping the clock (e.g. torch.cuda.synchronize, so
    queued GPU work is counted)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be >= 1 (an integer), got {repeats!r}")
    if stat not in ("median", "min"):
        raise ValueError(f"stat must be 'median' or 'min', got {stat!r}")
    clock = clock or perf_counter
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync is not None:
            sync()
        start = clock()
        fn()
        if sync is not None:
            sync()
        times.append(clock() - start)
    return statistics.median(times) if stat == "median" else min(times)


def min_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 1) -> float:
    """Smallest CPU seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` runs."""
    return timeit(fn, repeats, warmup, stat="min", clock=process_time)


def min_times(fns: dict[str, Callable[[], object]], repeats: int = 7,
              warmup: int = 1) -> dict[str, float]:
    """Smallest CPU seconds of each function in ``fns`` (name -> fn), timed in turn round after
    round, so that every one of them meets the same spells of load from other programs."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be >= 1 (an integer), got {repeats!r}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            best[name] = min(best[name], timeit(fn, 1, 0, stat="min", clock=process_time))
    return best


def pass_times(net, loss_fn, x, y, opt=None, repeats: int = 7) -> dict[str, float]:
    """Minimum CPU seconds of a forward pass (network and loss), a backward pass, and, with an
    optimizer, a whole training step (forward, backward, step), with one BLAS thread, timed in
    turn round after round (:func:`min_times`), so all three meet the same spells of load.

    The backward skips the first layer's dL/dx (``input_grad=False``), as training does.
    Returns {"forward", "backward"} and, with ``opt``, "step".
    """

    def forward():
        return loss_fn.forward(net.forward(x), y)

    def backward():
        net.backward(loss_fn.backward(), input_grad=False)

    def step():
        forward()
        backward()
        opt.step(net.gradients())

    passes = {"forward": forward, "backward": backward}
    if opt is not None:
        passes["step"] = step
    with one_blas_thread():
        return min_times(passes, repeats)


def finite_difference_cost(net, loss_fn, x, y, max_params: int | None = None,
                           repeats: int = 7) -> dict:
    """CPU seconds of a central-difference gradient of the loss against one forward + backward.

    With ``max_params=None`` every parameter is differenced and the time is measured in full.
    Otherwise only the first ``max_params`` entries of the first weight matrix are, and the time
    is scaled up to all parameters (``extrapolated`` is then True): each entry costs the same two
    forward passes. Parameters must be float64 numpy arrays.
    Returns {"params", "differenced", "extrapolated", "fd_seconds", "backprop_seconds", "ratio"}.
    """
    params = list(net.parameters().values())
    n_params = sum(int(p.size) for p in params)
    if max_params is not None and max_params < 1:
        raise ValueError(f"max_params must be None or >= 1, got {max_params!r}")
    if max_params is None or max_params >= n_params:
        targets = params
    else:
        targets = [params[0].reshape(-1)[:max_params]]
    differenced = sum(int(t.size) for t in targets)

    def loss(_):
        return float(loss_fn.forward(net.forward(x), y))

    def backprop():
        loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward(), input_grad=False)

    with one_blas_thread():
        whole = timeit(lambda: [numerical_gradient(loss, t) for t in targets], 1, 0,
                       clock=process_time)
        fd = whole * n_params / differenced
        bp = min_time(backprop, repeats)
    return {"params": n_params, "differenced": differenced,
            "extrapolated": differenced < n_params, "fd_seconds": fd,
            "backprop_seconds": bp, "ratio": fd / bp}
