"""torch's own data parallel training: ``DistributedDataParallel`` (DDP) fed by a
``DistributedSampler``, next to the course's hand-written all-reduce (``course.distributed``).

What DDP computes: every worker runs forward and backward on its own shard; during backward DDP
all-reduces each gradient (SUM) and divides by the number of workers, so every worker holds

    (1 / N) sum_r g_r        (g_r: the gradient of worker r's mean loss)

which is the full-batch gradient sum_r (n_r / n) g_r only when every shard has the same size.
``DistributedSampler``'s main job is that every worker gets the same number of rows and so
takes the same number of steps (each step's all-reduce waits for every worker): it repeats the
first indices until n is a multiple of N (or drops the tail with ``drop_last=True``). Equal
shards also make DDP's plain average the full-batch gradient, with the repeated rows counted
twice. A layer that mixes the rows of a
batch (BatchNorm normalises with the batch's mean and variance) sees only its worker's shard, so
with BatchNorm the averaged gradient is not the full-batch gradient at all.

- :func:`start_workers`: N spawned processes in one gloo group; a wall-clock deadline, after
  which every worker is terminated and ``TimeoutError`` raised (never a hung notebook).
- :func:`ddp_task`: one worker's DDP runs (SGD steps; the first step's gradient, the rows it saw).
- :func:`sampler_shards`: the indices ``DistributedSampler`` gives each worker (no processes).
- :func:`sgd_on_batches`: the same SGD in one process, numpy, on the same global batches.

This module imports torch: import it only where torch is installed.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from course.distributed import launch, mlp_gradients
from course.mlp import MLP
from course.optim import SGD
from course.torch_bridge import torch_module

# ---------------------------------------------------------------- workers with a deadline


def start_workers(task, world_size: int, *args, timeout: float = 120.0) -> list:
    """Run ``task(rank, world_size, *args)`` in world_size spawned processes joined in one
    torch.distributed group (gloo, CPU); return their results in rank order.

    The processes are started by :func:`course.distributed.launch`: task must be a module-level
    function and its result picklable; when ``timeout`` seconds pass, every worker is stopped
    and TimeoutError raised. A worker that raises stops the others and the error is re-raised.
    """
    if getattr(task, "__module__", "__main__") == "__main__" or "<locals>" in getattr(
            task, "__qualname__", ""):
        raise ValueError(f"task {getattr(task, '__name__', task)!r} must be a module-level "
                         "function in an importable module (spawned workers import it by name)")
    return launch(_without_device, world_size, task, *args, device="cpu", timeout=timeout)


def _without_device(rank: int, world_size: int, device: str, task, *args):
    """launch's worker signature (with the device) for a task that takes none: gloo, CPU."""
    return task(rank, world_size, *args)


# ---------------------------------------------------------------- what a worker runs


def _course_names(names: dict, grads: bool) -> dict:
    """Course name -> numpy copy of each torch parameter (or its gradient), in course shapes."""
    out = {}
    for name, (p, transposed) in names.items():
        t = (p.grad if grads else p).detach()
        out[name] = (t.T if transposed else t).numpy().copy()
    return out


def ddp_run(rank: int, world_size: int, sizes, x, y, batch_per_worker: int, steps: int,
            lr: float, seed: int = 0, norm: str | None = None, sampler_seed: int = 0) -> dict:
    """One worker's DDP training: the course MLP(sizes, seed, norm) rebuilt from torch.nn
    (float64), wrapped in DistributedDataParallel, fed by a DistributedSampler (shuffled with
    sampler_seed, a new order each epoch) in full mini-batches of batch_per_worker rows (a
    shorter last one is dropped), trained with torch.optim.SGD for ``steps`` steps. Returns the
    loss on this worker's shard at each step, the data set rows of each step, the (all-reduced)
    gradient of the first step and the final parameters, under course names and shapes."""
    module, names = torch_module(MLP(sizes, seed=seed, norm=norm))
    model = DistributedDataParallel(module)
    data = TensorDataset(torch.as_tensor(x), torch.as_tensor(y), torch.arange(len(y)))
    sampler = DistributedSampler(data, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=sampler_seed)
    loader = DataLoader(data, batch_size=batch_per_worker, sampler=sampler, drop_last=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses, rows, first = [], [], None
    epoch = 0
    while len(losses) < steps:
        sampler.set_epoch(epoch)
        for xb, yb, ib in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            if first is None:
                first = _course_names(names, grads=True)
            optimizer.step()
            losses.append(loss.item())
            rows.append(ib.numpy())
            if len(losses) == steps:
                break
        epoch += 1
    return {"rank": rank, "losses": losses, "rows": rows, "first_grads": first,
            "params": _course_names(names, grads=False)}


def ddp_task(rank: int, world_size: int, runs: list[dict]) -> list[dict]:
    """Worker: :func:`ddp_run` once per dict of keyword arguments in ``runs``, in one group."""
    return [ddp_run(rank, world_size, **run) for run in runs]


# ---------------------------------------------------------------- in this process


def sampler_shards(n: int, world_size: int, drop_last: bool = False) -> list[list[int]]:
    """The row indices DistributedSampler gives each of world_size workers for a data set of n
    rows, in order (shuffle off): equal lengths, by repeating the first rows (or dropping the
    last ones with drop_last=True)."""
    data = range(n)
    return [list(DistributedSampler(data, num_replicas=world_size, rank=r, shuffle=False,
                                    drop_last=drop_last))
            for r in range(world_size)]


def sgd_on_batches(sizes, x, y, batches, lr: float, seed: int = 0) -> dict:
    """Plain SGD on the course MLP(sizes, seed) in numpy float64, one step per array of row
    indices in ``batches``. Returns the loss per step and the final parameters."""
    net = MLP(sizes, seed=seed)
    optimizer = SGD(net.parameters(), lr=lr)
    losses = []
    for idx in batches:
        loss, grads = mlp_gradients(net, x[idx], y[idx])
        optimizer.step(grads)
        losses.append(loss)
    return {"losses": losses, "params": {k: p.copy() for k, p in net.parameters().items()}}


def course_gradients(sizes, x, y, rows, seed: int = 0, norm: str | None = None) -> dict:
    """The course MLP(sizes, seed, norm)'s gradient (numpy float64, training mode) of the mean
    loss on the rows ``rows`` of (x, y)."""
    return mlp_gradients(MLP(sizes, seed=seed, norm=norm), x[rows], y[rows])[1]


def global_batches(workers: list[dict]) -> list[np.ndarray]:
    """The global mini-batch of each step: the rows of every worker at that step, joined."""
    return [np.concatenate(step) for step in zip(*(w["rows"] for w in workers))]
