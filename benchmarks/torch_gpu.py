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
- the GPU's peak memory for the lesson's 17-module MLP, plain and with checkpoint_sequential.

Without a CUDA GPU every GPU row is skipped with a message and the CPU rows still run, so the
script works anywhere; a machine with a GPU records the figures with the same command.

Run: python benchmarks/torch_gpu.py [--widths 16 64 256 1024 4096] [--repeats 7]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint_sequential

from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.torch_bridge import (
    autograd_gradients,
    describe_device,
    gradient_errors,
    pick_device,
    step_seconds,
    torch_module,
)


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


def checkpoint_peaks(device) -> dict:
    """label -> peak bytes allocated on the GPU above the start, for one forward + backward."""
    module, _ = torch_module(MLP([64] + [256] * 8 + [10], seed=0))
    module = module.to(device)
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(256, 64)), device=device)
    y = torch.as_tensor(rng.integers(0, 10, 256), device=device)
    runs = {"plain": lambda: module(x),
            "checkpoint_sequential(4)": lambda: checkpoint_sequential(module, 4, x,
                                                                      use_reentrant=False)}
    peaks = {}
    for label, run in runs.items():
        module.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        F.cross_entropy(run(), y).backward()
        torch.cuda.synchronize()
        peaks[label] = torch.cuda.max_memory_allocated() - start
    return peaks


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

    print("\npeak GPU memory for MLP [64, 256x8, 10], batch 256, float64")
    if cuda:
        for label, peak in checkpoint_peaks(device).items():
            print(f"  {label}: {peak / 1e6:.2f} MB")
    else:
        print("  skipped (no CUDA GPU; torch keeps no peak-memory counter on the CPU)")


if __name__ == "__main__":
    main()
