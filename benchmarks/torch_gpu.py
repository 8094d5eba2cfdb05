"""Lesson 09's GPU measurements in one command: numpy vs torch CPU vs torch GPU step time over
widths, the step-time crossover, the course MLP on CUDA against torch.autograd, and peak GPU
memory with and without torch.utils.checkpoint.

Prints, for the course MLP [64, w, w, 10] on a batch of 256 in float32 (one training step:
forward, softmax cross-entropy, backward, SGD update; the fastest of ``--repeats`` timed steps
after two warm-up steps, as ``course.torch_bridge.step_seconds`` measures it):

- ms per step for numpy, torch on the CPU and torch on the GPU, per width;
- the crossover: the smallest width from which the GPU step is the fastest, and the GPU's
  speed-up over the best CPU step at the largest width;
- the largest relative error between the course MLP's own backward run on CUDA tensors and
  torch.autograd on the same weights (float64), for a ReLU MLP and a GELU/residual/LayerNorm one;
- the GPU's peak memory for the lesson's 17-module MLP [64, 256x8, 10], float64, plain and with
  checkpoint_sequential(4), measured as ``course.torch_bridge.checkpoint_peaks`` does: after a
  warm-up step (CUDA's workspaces and the gradient buffers are allocated then) and with the
  gradients zeroed in place, so the window holds activations and backward's temporaries, at
  batch 256 and 1024, with the ratio (expected: below 0.85; measured 0.70-0.73 on an H200);
- ``.item()`` as a synchronisation point: 200 steps of the digits module [64, 32, 10] with and
  without ``loss.item()`` in every step, on the GPU and on the CPU (where the GPU loses);
- TF32: a 4096 x 4096 float32 matmul with and without TF32, time and error against float64;
- torch.compile: the backend this device can use (``course.torch_bridge.compile_backend``), the
  first call's time and eager vs compiled time of the lesson's DigitsNet-sized module on one
  evaluation batch of 359 rows.

Without a CUDA GPU every GPU row is skipped with a message and the CPU rows still run, so the
script works anywhere; a machine with a GPU records the figures with the same command.

Run: python benchmarks/torch_gpu.py [--widths 16 64 256 1024 4096] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.torch_bridge import (
    autograd_gradients,
    checkpoint_peaks,
    compile_backend,
    describe_device,
    gradient_errors,
    loop_seconds,
    pick_device,
    step_seconds,
    tf32_matmul,
    torch_module,
)

PEAK_RATIO_LIMIT = 0.85


def step_table(widths, repeats: int, cuda: bool) -> dict:
    """label -> array of seconds per step, one per width."""
    backends = [("numpy", "numpy", None), ("torch CPU", "torch", "cpu")]
    if cuda:
        backends.append(("torch GPU", "torch", "cuda"))
    return {label: np.array([step_seconds([64, w, w, 10], 256, xp, dev, repeats=repeats)
                             for w in widths])
            for label, xp, dev in backends}


def crossover(widths, times: dict) -> str:
    """Where the GPU step becomes the fastest, in words."""
    cpu_best = np.minimum(times["numpy"], times["torch CPU"])
    faster = [w for w, g, c in zip(widths, times["torch GPU"], cpu_best) if g < c]
    if not faster:
        return f"no crossover up to width {widths[-1]}: the GPU step never was the fastest"
    return (f"crossover at width {faster[0]}: the GPU step is the fastest at widths {faster}; "
            f"at width {widths[-1]} the best CPU step takes "
            f"{cpu_best[-1] / times['torch GPU'][-1]:.1f}x the GPU's time")


def autograd_agreement(device) -> dict:
    """label -> largest relative error, course backward on ``device`` vs torch.autograd."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 64))
    y = rng.integers(0, 10, 128)
    loss_fn = SoftmaxCrossEntropy()
    nets = {"MLP [64, 32, 10], ReLU": MLP([64, 32, 10], seed=0),
            "[64, 32x3, 10], GELU, residual, LayerNorm":
                MLP([64, 32, 32, 32, 10], activation="gelu", residual=True, norm="layernorm",
                    seed=1)}
    out = {}
    for label, net in nets.items():
        net.to("torch", device=device)
        xt, yt = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)
        loss_fn.forward(net.forward(xt), yt)
        net.backward(loss_fn.backward())
        _, theirs = autograd_gradients(net, loss_fn, x, y)
        out[label] = max(gradient_errors(net.gradients(), theirs).values())
    return out


def memory_peaks(device, batch: int) -> dict:
    """label -> peak CUDA bytes above the start, plain and checkpointed, for the lesson's MLP."""
    module, _ = torch_module(MLP([64] + [256] * 8 + [10], seed=0))
    module = module.to(device)
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(batch, 64)), device=device)
    y = torch.as_tensor(rng.integers(0, 10, batch), device=device)
    return checkpoint_peaks(module, x, y, 4)


def sync_table(device) -> dict:
    """label -> seconds for 200 steps of the digits module, with/without .item() per step."""
    out = {}
    for where in ([device, torch.device("cpu")] if device.type == "cuda" else [device]):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                    torch.nn.Linear(32, 10)).to(where)
        rng = np.random.default_rng(0)
        x = torch.as_tensor(rng.normal(size=(64, 64)), dtype=torch.float32, device=where)
        y = torch.as_tensor(rng.integers(0, 10, 64), device=where)
        for every in (True, False):
            label = f"{where.type}, {'.item() every step' if every else 'one .item() at the end'}"
            out[label] = loop_seconds(model, x, y, steps=200, item_every_step=every)
    return out


def compile_figures(device) -> str:
    """One line: torch.compile's backend here, its first call and eager vs compiled times."""
    from course.timing import timeit

    backend, why = compile_backend(device)
    if backend is None:
        return f"  skipped: {why}"
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.BatchNorm1d(64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10)).to(device).eval()
    compiled = torch.compile(model, backend=backend)
    x = torch.randn(359, 64, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    with torch.no_grad():
        started = time.perf_counter()
        try:
            compiled(x)
        except Exception as error:  # a backend that cannot build here
            return f"  {why}\n  failed on this machine: {type(error).__name__}: {error}"[:400]
        first = time.perf_counter() - started
        eager_s = timeit(lambda: model(x), 50, warmup=3, stat="min", sync=sync)
        compiled_s = timeit(lambda: compiled(x), 50, warmup=3, stat="min", sync=sync)
    return (f"  {why}\n  first call {first:.1f} s; per batch eager {eager_s * 1e3:.3f} ms, "
            f"compiled {compiled_s * 1e3:.3f} ms ({eager_s / compiled_s:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64, 256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    device = pick_device()
    cuda = device.type == "cuda"
    print(f"device: {describe_device(device)}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads; numpy {np.__version__}")
    if not cuda:
        print("no CUDA GPU visible: the GPU rows below are skipped, the CPU rows run")

    times = step_table(args.widths, args.repeats, cuda)
    print("\none training step, MLP [64, w, w, 10], batch 256, float32 (ms, fastest of "
          f"{args.repeats})")
    print("width     " + "".join(f"{w:>10}" for w in args.widths))
    for label, ts in times.items():
        print(f"{label:<10}" + "".join(f"{t * 1e3:10.3f}" for t in ts))
    print(crossover(args.widths, times) if cuda else "torch GPU: skipped (no CUDA GPU)")

    print("\ncourse MLP's own backward vs torch.autograd (float64), largest relative error")
    for where in (["cpu", "cuda"] if cuda else ["cpu"]):
        for label, err in autograd_agreement(torch.device(where)).items():
            print(f"  {where:<5} {label}: {err:.1e}")
    if not cuda:
        print("  cuda: skipped (no CUDA GPU)")

    print("\npeak GPU memory above the start, MLP [64, 256x8, 10], float64, weights and "
          "gradients allocated before the window")
    if cuda:
        for batch in (256, 1024):
            peaks = memory_peaks(device, batch)
            ratio = peaks["checkpoint_sequential"] / peaks["plain"]
            verdict = "ok" if ratio < PEAK_RATIO_LIMIT else f"ABOVE {PEAK_RATIO_LIMIT}"
            print(f"  batch {batch}: plain {peaks['plain'] / 1e6:.2f} MB, checkpoint_sequential(4) "
                  f"{peaks['checkpoint_sequential'] / 1e6:.2f} MB, ratio {ratio:.2f} ({verdict})")
    else:
        print("  skipped (no CUDA GPU; torch keeps no peak-memory counter on the CPU)")

    print("\n200 SGD steps of the digits module [64, 32, 10], batch 64, float32 (ms)")
    for label, seconds in sync_table(device).items():
        print(f"  {label}: {seconds * 1e3:.1f}")

    print("\nTF32: 4096 x 4096 float32 matmul")
    tf32 = tf32_matmul(device) if cuda else None
    if tf32 is None:
        print("  skipped (TF32 needs a CUDA GPU of compute capability 8.0 or later)")
    else:
        print(f"  float32 {tf32['float32 s'] * 1e3:.2f} ms (error {tf32['float32 error']:.1e}), "
              f"TF32 {tf32['tf32 s'] * 1e3:.2f} ms (error {tf32['tf32 error']:.1e}), "
              f"{tf32['float32 s'] / tf32['tf32 s']:.1f}x faster")

    print("\ntorch.compile, [64, 64, BatchNorm, ReLU, 10], batch 359, float32, inference")
    print(compile_figures(device))


if __name__ == "__main__":
    main()
