"""What a full gradient costs in forward mode and in reverse mode, counted and timed.

Works with any scalar engine whose numbers support ``+``, ``*`` and a ``.tanh()`` method:

- forward mode (dual numbers): a class ``Dual(value, dot)`` with ``.value`` and ``.dot``; one
  pass through ``f`` gives the derivative along one input direction, so a gradient of ``n``
  inputs takes ``n`` passes;
- reverse mode: a class ``Value(data)`` with ``.data``, ``.grad`` and ``.backward()``; one forward
  pass records the graph, one backward pass gives every input's gradient.

:func:`ring` is the test function; :func:`forward_mode_gradient` and
:func:`reverse_mode_gradient` return the gradient with the number of passes they made, and
:func:`measure_costs` times both as the number of inputs grows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import process_time

import numpy as np

from course.timing import timeit


def ring(xs: Sequence):
    """f(x_1..x_n) = sum_i tanh(x_i * x_{i+1}), indices modulo n: every input meets two others.

    xs: a sequence of n >= 1 numbers of one kind (floats, duals or values); returns one of them.
    """
    if len(xs) == 0:
        raise ValueError("ring needs at least one input, got an empty sequence")
    n = len(xs)
    total = (xs[0] * xs[1 % n]).tanh()
    for i in range(1, n):
        total = total + (xs[i] * xs[(i + 1) % n]).tanh()
    return total


def ring_gradient(xs: np.ndarray) -> np.ndarray:
    """The exact gradient of :func:`ring` in numpy; xs: (n,) float -> (n,)."""
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"xs must have shape (n,) with n >= 1, got {xs.shape}")
    nxt, prv = np.roll(xs, -1), np.roll(xs, 1)
    s_next = 1.0 - np.tanh(xs * nxt) ** 2
    s_prev = 1.0 - np.tanh(prv * xs) ** 2
    return s_next * nxt + s_prev * prv


@dataclass(frozen=True)
class GradientResult:
    """A gradient (n,) and the passes it took: forward passes through f and backward passes."""

    grad: np.ndarray
    forward_passes: int
    backward_passes: int


def forward_mode_gradient(f: Callable, xs: Sequence[float], dual: type) -> GradientResult:
    """Gradient of ``f`` at ``xs`` with dual numbers: pass i seeds dot = 1 on input i only."""
    n = len(xs)
    grad = np.empty(n)
    for i in range(n):
        out = f([dual(float(x), 1.0 if j == i else 0.0) for j, x in enumerate(xs)])
        grad[i] = out.dot
    return GradientResult(grad, forward_passes=n, backward_passes=0)


def reverse_mode_gradient(f: Callable, xs: Sequence[float], value: type) -> GradientResult:
    """Gradient of ``f`` at ``xs`` with a reverse-mode engine: one forward, one backward pass."""
    leaves = [value(float(x)) for x in xs]
    f(leaves).backward()
    return GradientResult(np.array([v.grad for v in leaves]), forward_passes=1, backward_passes=1)


@dataclass(frozen=True)
class CostTable:
    """Costs as the number of inputs grows; every array has shape (len(n),).

    n: inputs; forward_passes / reverse_passes: passes through f (reverse also makes one
    backward pass); forward_seconds / reverse_seconds: best wall time of ``repeats`` runs.
    """

    n: np.ndarray
    forward_passes: np.ndarray
    reverse_passes: np.ndarray
    forward_seconds: np.ndarray
    reverse_seconds: np.ndarray

    def slopes(self) -> tuple[float, float]:
        """Log-log slopes (time ~ n^slope) of forward and reverse mode, fitted where n >= 4."""
        keep = self.n >= 4
        if keep.sum() < 2:
            raise ValueError("slopes need at least two sizes with n >= 4")
        logn = np.log(self.n[keep])
        return (float(np.polyfit(logn, np.log(self.forward_seconds[keep]), 1)[0]),
                float(np.polyfit(logn, np.log(self.reverse_seconds[keep]), 1)[0]))


def _best_time(run: Callable[..., GradientResult], args: tuple,
               repeats: int) -> tuple[float, GradientResult]:
    """The fastest of ``repeats`` runs of ``run(*args)`` in CPU seconds (course.timing.timeit:
    time given to other programs on a busy machine does not count) and its result."""
    results = []
    seconds = timeit(lambda: results.append(run(*args)), repeats, warmup=0, stat="min",
                     clock=process_time)
    return seconds, results[-1]


def measure_costs(dual: type, value: type, sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64),
                  repeats: int = 5, seed: int = 0) -> CostTable:
    """Time both modes on :func:`ring` for each n in ``sizes`` and check their gradients agree.

    Raises AssertionError naming n if the two modes disagree with :func:`ring_gradient`.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        xs = rng.uniform(-1.0, 1.0, size=int(n))
        t_fwd, fwd = _best_time(forward_mode_gradient, (ring, xs, dual), repeats)
        t_rev, rev = _best_time(reverse_mode_gradient, (ring, xs, value), repeats)
        exact = ring_gradient(xs)
        if not (np.allclose(fwd.grad, exact) and np.allclose(rev.grad, exact)):
            raise AssertionError(f"n = {n}: forward or reverse gradient differs from the exact one")
        rows.append((n, fwd.forward_passes, rev.forward_passes, t_fwd, t_rev))
    cols = [np.array(c) for c in zip(*rows)]
    return CostTable(*cols)
