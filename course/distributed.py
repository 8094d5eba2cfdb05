"""Data parallel training with torch.distributed: N worker processes each hold the same course
MLP, compute gradients on their own shard of the batch, and all-reduce them, so that every worker
applies the same update.

Why this equals full-batch training: the loss is the mean over the batch, so with shard r
holding n_r of the n rows and g_r the gradient of the mean loss on shard r,

    g = sum_r (n_r / n) g_r

Each worker scales its gradient by n_r / n and an all-reduce SUM adds the scaled gradients of
all workers: every worker then holds g. With equal shards this is the plain average
(1 / N) sum_r g_r; with unequal shards the plain average is wrong.

Workers are started by ``torch.multiprocessing.spawn`` (a fresh Python per worker, which also
works inside a Jupyter kernel) and meet at a free localhost port; the backend is gloo on the CPU
and NCCL when every worker gets its own CUDA GPU. A worker runs a function imported from a
module (spawned processes cannot see functions defined in a notebook): :func:`launch` refuses
functions defined in ``__main__``.
"""

from __future__ import annotations

import datetime
import os
import pickle
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from course.backend import convert, to_numpy
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP

# ---------------------------------------------------------------- shards and their combination


def shard_slices(n: int, world_size: int) -> list[slice]:
    """Contiguous row ranges of n rows for world_size workers, sizes differing by at most one
    (the first n % world_size shards get one extra row)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if (isinstance(world_size, bool) or not isinstance(world_size, (int, np.integer))
            or not 1 <= world_size <= n):
        raise ValueError(f"world_size must be an integer from 1 to n={n}, got {world_size!r}")
    base, extra = divmod(int(n), int(world_size))
    bounds = np.cumsum([0] + [base + (r < extra) for r in range(world_size)])
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def mlp_gradients(net: MLP, x, y) -> tuple[float, dict]:
    """(loss, grads) of softmax cross-entropy (mean over the batch) for x (n, d_in), y (n,);
    grads: name -> a copy of each parameter's gradient (same kind and device as the net's)."""
    loss_fn = SoftmaxCrossEntropy()
    loss = float(loss_fn.forward(net.forward(x), y))
    net.backward(loss_fn.backward(), input_grad=False)
    return loss, {k: g * 1 for k, g in net.gradients().items()}


# ---------------------------------------------------------------- starting workers


def free_port() -> int:
    """A TCP port on localhost that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def data_parallel_device(world_size: int) -> str:
    """'cuda' when torch sees at least one CUDA GPU per worker (NCCL), else 'cpu' (gloo)."""
    import torch

    return "cuda" if torch.cuda.is_available() and torch.cuda.device_count() >= world_size \
        else "cpu"


def launch(task, world_size: int, *args, device: str = "cpu", timeout: float = 300.0) -> list:
    """Run ``task(rank, world_size, device, *args)`` in world_size spawned worker processes
    joined in one torch.distributed group; return their results in rank order.

    task: a function defined in an importable module (not in a notebook or ``__main__``);
    its result must be picklable (numpy arrays, numbers, dicts). device: 'cpu' (gloo backend)
    or 'cuda' (NCCL; worker r uses cuda:r, so it needs world_size GPUs). timeout: seconds for the
    whole run (and for the workers to wait for each other); when it passes, every worker is
    stopped and TimeoutError raised, so a notebook never hangs. A worker that raises stops the
    others and its error is raised here.
    """
    import torch.multiprocessing as mp

    if getattr(task, "__module__", "__main__") == "__main__" or "<locals>" in getattr(
            task, "__qualname__", ""):
        raise ValueError(
            f"task {getattr(task, '__name__', task)!r} is defined in __main__ (a notebook or "
            "script) or inside a function: spawned workers start a fresh Python and can only "
            "import module-level functions; put it in a module and import it from there")
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive integer, got {world_size!r}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if device == "cuda" and data_parallel_device(world_size) != "cuda":
        raise ValueError(f"device='cuda' needs one CUDA GPU per worker ({world_size}); use "
                         "device=data_parallel_device(world_size)")
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory() as folder:
        context = mp.start_processes(
            _worker, args=(world_size, free_port(), device, timeout, folder, task, args),
            nprocs=world_size, join=False, start_method="spawn")
        try:
            while not context.join(timeout=max(0.05, min(1.0, deadline - time.monotonic()))):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{world_size} workers did not finish within {timeout} s; "
                                       "all of them were stopped")
        finally:
            _stop(context.processes)
        return [pickle.loads((Path(folder) / f"rank{r}.pkl").read_bytes())
                for r in range(world_size)]


def _stop(processes) -> None:
    """Terminate every worker still alive, then kill any that ignores it."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join()


def _worker(rank: int, world_size: int, port: int, device: str, timeout: float, folder: str,
            task, args) -> None:
    """One spawned process: join the group, run the task, store its result for the parent."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        torch.cuda.set_device(rank)
        device = f"cuda:{rank}"
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout))
    try:
        result = task(rank, world_size, device, *args)
        (Path(folder) / f"rank{rank}.pkl").write_bytes(pickle.dumps(result))
    finally:
        dist.destroy_process_group()


def all_reduce_gradients(grads: dict, weight: float, extra: list[float]):
    """Scale every gradient by ``weight`` and all-reduce (SUM) them in one flat buffer, with the
    numbers in ``extra`` appended (also scaled and summed). Returns (summed grads, summed extra)."""
    import torch
    import torch.distributed as dist

    first = next(iter(grads.values()))
    flat = torch.cat([g.reshape(-1) for g in grads.values()]
                     + [torch.tensor(extra, dtype=first.dtype, device=first.device)]) * weight
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    out, start = {}, 0
    for k, g in grads.items():
        out[k] = flat[start:start + g.numel()].reshape(g.shape)
        start += g.numel()
    return out, flat[start:].tolist()


# ---------------------------------------------------------------- tasks the workers run


def gradient_task(rank: int, world_size: int, device: str, sizes, x, y, seed: int = 0,
                  dtype: str = "float64") -> dict:
    """Worker: MLP(sizes, seed) on its shard of (x, y); returns its shard's rows, loss and
    gradient (numpy) and the all-reduced full-batch loss and gradient."""
    import torch

    net = MLP(sizes, seed=seed, dtype=dtype).to("torch", device)
    rows = shard_slices(x.shape[0], world_size)[rank]
    xs = convert(x[rows], "torch", device, dtype)
    ys = torch.as_tensor(y[rows], device=device)
    loss, local = mlp_gradients(net, xs, ys)
    n_r = rows.stop - rows.start
    summed, (full_loss,) = all_reduce_gradients(local, n_r / x.shape[0], [loss])
    return {"rank": rank, "rows": (rows.start, rows.stop), "loss": loss,
            "grads": {k: to_numpy(g) for k, g in local.items()},
            "full_loss": full_loss, "full_grads": {k: to_numpy(g) for k, g in summed.items()}}


# ---------------------------------------------------------------- what a lesson calls


def data_parallel_gradients(sizes, x, y, world_size: int = 2, seed: int = 0,
                            dtype: str = "float64", device: str = "cpu") -> list[dict]:
    """Per-worker results of :func:`gradient_task`: MLP(sizes, seed) and softmax cross-entropy
    on x (n, sizes[0]) float, y (n,) integer labels, split over world_size workers."""
    x, y = np.asarray(x), np.asarray(y)
    return launch(gradient_task, world_size, list(sizes), x, y, seed, dtype, device=device)
