"""Latency of the explorer: time from a control's value change to the updated image.

Builds the lesson-06 explorer (all controls, all four views) in-process inside a running asyncio
event loop, as in a notebook kernel, and moves its controls through a seeded random walk (depth,
width, activation, init, residual, normalisation, learning rate, optimizer, clipping), setting
each widget's ``value`` as the browser does. For every move it times

- first image: until ``image.value`` holds a new PNG with the gradient and activation views
  updated (the training views greyed out unless the run was cached);
- first training image: until the loss view first shows (part of) the new run's curve;
- complete image: until the training run's loss curve and decision boundary are drawn too.

Moves that revisit a setting are served from the cache, as for a learner dragging a slider back
and forth. Prints median, 95th percentile and maximum of each, and exits non-zero when the first
image misses the targets (median 100 ms, p95 250 ms).

    .venv/bin/python benchmarks/explore_latency.py [--moves 120] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time

import numpy as np

TARGET_MEDIAN_MS, TARGET_P95_MS = 100.0, 250.0
RANGES = {
    "depth": list(range(1, 51)),
    "width": list(range(4, 129, 4)),
    "lr": [float(10.0**k) for k in np.arange(-4, 1.01, 0.25)],
}


def _next_value(widget, name: str, rng: np.random.Generator):
    """A neighbouring slider value (as a learner's drag), or another option of a dropdown."""
    if name in RANGES:
        values = RANGES[name]
        k = int(np.argmin([abs(v - widget.value) for v in values]))
        return values[int(np.clip(k + rng.choice([-3, -1, 1, 3]), 0, len(values) - 1))]
    if name == "residual":
        return not widget.value
    values = [o[1] if isinstance(o, tuple) else o for o in widget.options]
    return values[rng.integers(len(values))]


async def measure(count: int, seed: int) -> dict[str, np.ndarray]:
    """Per move: ms to the first image, ms to the complete image, and whether it was cached."""
    from course.explore import Settings
    from course.widgets import Explorer

    explorer = Explorer(Settings(depth=30, activation="sigmoid", init="small normal"))
    while explorer.pending is not None:
        await asyncio.sleep(0)
    rng = np.random.default_rng(seed)
    names = list(explorer.controls)
    first, training, complete, cached = [], [], [], []
    while len(first) < count:
        name = names[rng.integers(len(names))]
        widget = explorer.controls[name]
        value = _next_value(widget, name, rng)
        if widget.value == value:
            continue
        before = explorer.image.value
        start = time.perf_counter()
        widget.value = value
        if explorer.image.value is before:
            raise RuntimeError(f"moving {name} to {value!r} did not redraw the image")
        first.append(1000 * (time.perf_counter() - start))
        cached.append(explorer.pending is None)
        shown = explorer.image.value
        while explorer.pending is not None and explorer.image.value is shown:
            await asyncio.sleep(0)
        training.append(1000 * (time.perf_counter() - start))
        while explorer.pending is not None:
            await asyncio.sleep(0)
        complete.append(1000 * (time.perf_counter() - start))
    return {"first": np.array(first), "training": np.array(training),
            "complete": np.array(complete), "cached": np.array(cached)}


def _row(label: str, t: np.ndarray) -> str:
    return (f"{label:>28}: n={t.size:3d}  median {np.median(t):6.1f} ms  "
            f"p95 {np.percentile(t, 95):6.1f} ms  max {t.max():6.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    r = asyncio.run(measure(args.moves, args.seed))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; {args.moves} moves, seed {args.seed}")
    print(_row("first image, all moves", r["first"]))
    if (~r["cached"]).any():
        print(_row("first training image, new runs", r["training"][~r["cached"]]))
    print(_row("complete image, all moves", r["complete"]))
    if (~r["cached"]).any():
        print(_row("complete image, new runs", r["complete"][~r["cached"]]))
    if r["cached"].any():
        print(_row("complete image, cached runs", r["complete"][r["cached"]]))
    median, p95 = float(np.median(r["first"])), float(np.percentile(r["first"], 95))
    ok = median <= TARGET_MEDIAN_MS and p95 <= TARGET_P95_MS
    print(f"first image: target median <= {TARGET_MEDIAN_MS:.0f} ms and p95 <= "
          f"{TARGET_P95_MS:.0f} ms {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
