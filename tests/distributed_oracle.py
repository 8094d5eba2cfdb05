"""Data parallel SGD and the single-process SGD it must retrace: the oracle of
tests/test_distributed.py (a module of its own: spawned workers import their task by name).

Every worker takes its shard of the same global mini-batch, all-reduces its gradient (weighted
by shard size) and applies the same SGD update; in one process the same batches give the same
parameters.
"""

from __future__ import annotations

import numpy as np

from course.backend import convert, to_numpy
from course.distributed import all_reduce_gradients, launch, mlp_gradients, shard_slices
from course.mlp import MLP
from course.optim import SGD


def batch_schedule(n: int, batch_size: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """The global mini-batches (row indices) of ``steps`` steps: a fresh permutation of range(n)
    per epoch cut into batches; every worker draws the same schedule from the same seed."""
    rng = np.random.default_rng(seed)
    per_epoch = max(1, n // batch_size)
    batches: list[np.ndarray] = []
    while len(batches) < steps:
        order = rng.permutation(n)
        batches += [order[i * batch_size:(i + 1) * batch_size] for i in range(per_epoch)]
    return batches[:steps]


def train_task(rank: int, world_size: int, device: str, sizes, x, y, steps: int, lr: float,
               batch_size: int, seed: int = 0, dtype: str = "float32") -> dict:
    """Worker: data parallel SGD. Each step every worker takes its shard of the same global
    mini-batch, computes its gradient, all-reduces it (weighted by shard size) and applies the
    same SGD update. Returns the global batch loss per step and the final parameters (numpy)."""
    import torch
    import torch.distributed as dist

    net = MLP(sizes, seed=seed, dtype=dtype).to("torch", device)
    for p in net.parameters().values():
        dist.broadcast(p, src=0)
    x_all = convert(x, "torch", device, dtype)
    y_all = torch.as_tensor(y, device=device)
    opt = SGD(net.parameters(), lr=lr)
    losses = []
    for idx in batch_schedule(x.shape[0], batch_size, steps, seed):
        mine = torch.as_tensor(idx[shard_slices(len(idx), world_size)[rank]], device=device)
        loss, local = mlp_gradients(net, x_all[mine], y_all[mine])
        grads, (batch_loss,) = all_reduce_gradients(local, len(mine) / len(idx), [loss])
        opt.step(grads)
        losses.append(batch_loss)
    return {"rank": rank, "losses": losses,
            "params": {k: to_numpy(p) for k, p in net.parameters().items()}}


def data_parallel_train(sizes, x, y, world_size: int = 2, steps: int = 100, lr: float = 0.1,
                        batch_size: int = 64, seed: int = 0, dtype: str = "float32",
                        device: str = "cpu") -> list[dict]:
    """Per-worker results of :func:`train_task` (SGD for ``steps`` steps on global mini-batches
    of batch_size rows, each split over world_size workers)."""
    x, y = np.asarray(x), np.asarray(y)
    return launch(train_task, world_size, list(sizes), x, y, steps, lr, batch_size, seed, dtype,
                  device=device)


def single_process_train(sizes, x, y, steps: int = 100, lr: float = 0.1, batch_size: int = 64,
                         seed: int = 0, dtype: str = "float32") -> dict:
    """The same SGD on the same global mini-batches in this process, numpy: what data parallel
    training must reproduce. Returns the loss per step and the final parameters."""
    x, y = np.asarray(x).astype(dtype), np.asarray(y)
    net = MLP(sizes, seed=seed, dtype=dtype)
    opt = SGD(net.parameters(), lr=lr)
    losses = []
    for idx in batch_schedule(x.shape[0], batch_size, steps, seed):
        loss, grads = mlp_gradients(net, x[idx], y[idx])
        opt.step(grads)
        losses.append(loss)
    return {"losses": losses, "params": {k: p.copy() for k, p in net.parameters().items()}}
