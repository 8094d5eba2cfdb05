"""Time one training step of the course MLP (numpy) against the same network in torch (CPU).

A step is forward, SoftmaxCrossEntropy, backward and an SGD update, in float32, for three sizes:
2-16-16-2 on batches of 64, 784-256-256-10 on 128 and 1024-1024-1024-1024-10 on 256, ReLU
hidden layers. Both sides start from the same weights and see the same batch. Every figure is
the median over repeated steps after warm-up steps, the runs taking turns in blocks. Printed
per size: ms per step for each, the ratio torch / course, the course MLP's backward / forward
time ratio; for the largest size also its FLOP rate as a share of the numpy float32 matmul peak
measured here (plain products at the widest layer's shape), and the rate of the step's own
matmuls run alone (same shapes and transposes).

Run: python benchmarks/mlp_step.py
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch

from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD

SIZES = [([2, 16, 16, 2], 64), ([784, 256, 256, 10], 128), ([1024, 1024, 1024, 1024, 10], 256)]
LR = 0.01


def _median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times)


def _repeats(sizes: list[int], batch: int) -> tuple[int, int]:
    """(warm-up, timed) steps: more for small networks, whose steps take microseconds."""
    macs = batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return (50, 1500) if macs < 1e5 else (5, 60) if macs < 1e8 else (2, 21)


def _batch(sizes: list[int], batch: int):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=batch).astype(np.int64)
    return x, y


def course_step(sizes: list[int], batch: int):
    """A function running one course MLP step and returning the seconds of each part."""
    net = MLP(sizes, activation="relu", seed=0, dtype="float32")
    loss_fn = SoftmaxCrossEntropy()
    opt = SGD(net.parameters(), lr=LR)
    x, y = _batch(sizes, batch)

    def step() -> dict[str, float]:
        t0 = time.perf_counter()
        logits = net.forward(x)
        t1 = time.perf_counter()
        loss_fn.forward(logits, y)
        t2 = time.perf_counter()
        net.backward(loss_fn.backward(), input_grad=False)
        t3 = time.perf_counter()
        opt.step(net.gradients())
        t4 = time.perf_counter()
        return {"forward": t1 - t0, "loss": t2 - t1, "backward": t3 - t2, "update": t4 - t3,
                "step": t4 - t0}

    return step


def torch_step(sizes: list[int], batch: int):
    """The same step in torch (nn.Linear + ReLU, CrossEntropyLoss, optim.SGD), same weights."""
    net = MLP(sizes, activation="relu", seed=0, dtype="float32")
    layers: list[torch.nn.Module] = []
    for lin in net.linear_layers():
        layer = torch.nn.Linear(lin.d_in, lin.d_out)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(lin.params["W"].T.copy()))
            layer.bias.copy_(torch.from_numpy(lin.params["b"]))
        layers += [layer, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in _batch(sizes, batch))

    def step() -> dict[str, float]:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        return {"step": time.perf_counter() - t0}

    return step


def step_flops(sizes: list[int], batch: int) -> int:
    """Multiply-adds x 2 of a step's matmuls: x @ W per layer, x^T delta per layer, and
    delta @ W^T for every layer but the first (no gradient for the input)."""
    per_layer = [2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(per_layer) + sum(per_layer[1:])


def matmuls_only(sizes: list[int], batch: int):
    """The step's matmuls alone (float32, same shapes and transposes), back to back."""
    rng = np.random.default_rng(2)
    ws = [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    hs = [rng.normal(size=(batch, a)).astype(np.float32) for a in sizes[:-1]]
    ds = [rng.normal(size=(batch, b)).astype(np.float32) for b in sizes[1:]]

    def step() -> dict[str, float]:
        t0 = time.perf_counter()
        for k, (w, h, d) in enumerate(zip(ws, hs, ds)):
            h @ w
            h.T @ d
            if k:
                d @ w.T
        return {"step": time.perf_counter() - t0}

    return step


def peak_matmul(sizes: list[int], batch: int):
    """The machine's matmul peak: plain C-contiguous float32 products h @ W at the widest
    hidden layer's shape (batch, d) @ (d, d), as many as the step has flops."""
    d = max(sizes[1:-1])
    rng = np.random.default_rng(3)
    h = rng.normal(size=(batch, d)).astype(np.float32)
    w = rng.normal(size=(d, d)).astype(np.float32)
    count = max(1, round(step_flops(sizes, batch) / (2 * batch * d * d)))

    def step() -> dict[str, float]:
        t0 = time.perf_counter()
        for _ in range(count):
            h @ w
        return {"step": (time.perf_counter() - t0) / (count * 2 * batch * d * d)}

    return step


def interleaved(runs: dict, warm: int, reps: int, rounds: int = 3) -> dict[str, dict]:
    """Median ms of every part of every run. The runs take turns in blocks (warm-up steps, then
    reps // rounds timed steps), ``rounds`` times over, so that whatever else the machine does
    falls on all of them alike, while no step follows another library's step directly (torch's
    worker threads keep spinning for a while after a step and would slow the next one)."""
    times: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    for _ in range(rounds):
        for name, step in runs.items():
            for i in range(warm + reps // rounds):
                parts = step()
                if i >= warm:
                    for part, t in parts.items():
                        times[name].setdefault(part, []).append(t)
    return {name: {part: _median_ms(ts) for part, ts in parts.items()}
            for name, parts in times.items()}


def main() -> None:
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    print(f"float32, {cores} cores, torch {torch.__version__} with {torch.get_num_threads()} "
          f"threads, numpy {np.__version__}; median ms per training step")
    print(f"{'sizes':<26}{'batch':>6}{'course':>10}{'torch':>10}{'torch/course':>14}"
          f"{'bwd/fwd':>9}")
    for k, (sizes, batch) in enumerate(SIZES):
        largest = k == len(SIZES) - 1
        runs = {"course": course_step(sizes, batch), "torch": torch_step(sizes, batch)}
        if largest:
            runs["matmuls"] = matmuls_only(sizes, batch)
            runs["peak"] = peak_matmul(sizes, batch)
        res = interleaved(runs, *_repeats(sizes, batch))
        ours, theirs = res["course"], res["torch"]["step"]
        name = "-".join(map(str, sizes))
        print(f"{name:<26}{batch:>6}{ours['step']:>10.3f}{theirs:>10.3f}"
              f"{theirs / ours['step']:>14.2f}{ours['backward'] / ours['forward']:>9.2f}")
        print(f"{'':<26}course parts: forward {ours['forward']:.3f}, loss {ours['loss']:.3f}, "
              f"backward {ours['backward']:.3f}, update {ours['update']:.3f} ms")
    flops = step_flops(sizes, batch)
    rate, own = (flops / (res[r]["step"] / 1000) / 1e9 for r in ("course", "matmuls"))
    peak = 1 / (res["peak"]["step"] / 1000) / 1e9
    print(f"largest: {flops / 1e9:.2f} GFLOP per step; course MLP {rate:.1f} GFLOP/s = "
          f"{100 * rate / peak:.0f}% of the numpy float32 matmul peak {peak:.1f} GFLOP/s "
          f"(plain {batch}x{max(sizes[1:-1])} @ {max(sizes[1:-1])}x{max(sizes[1:-1])}); "
          f"the step's own matmuls alone run at {own:.1f} GFLOP/s")

if __name__ == "__main__":
    main()
