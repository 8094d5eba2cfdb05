"""course.distributed: shards, the weighted combination, and real torch.distributed workers
(gloo, 2 spawned processes) whose all-reduced gradient equals the full-batch gradient to 1e-12
in float64 and 1e-6 in float32, and whose data parallel SGD retraces single-process SGD."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from distributed_oracle import batch_schedule, data_parallel_train, single_process_train  # noqa: E402

from course.checks.core import lesson_exercises  # noqa: E402
from course.data import spiral  # noqa: E402
from course.distributed import (  # noqa: E402
    data_parallel_gradients,
    free_port,
    launch,
    mlp_gradients,
    shard_slices,
)
from course.mlp import MLP  # noqa: E402
from course.torch_bridge import gradient_errors  # noqa: E402

SIZES = [2, 16, 3]


@pytest.fixture(scope="module")
def data():
    return spiral(101, seed=0)  # 101 rows: two shards of 51 and 50


# ---------------------------------------------------------------- in one process


@pytest.mark.parametrize(("n", "world"), [(1, 1), (10, 2), (101, 2), (7, 3), (5, 5)])
def test_shard_slices_cover_every_row_once_with_sizes_differing_by_at_most_one(n, world):
    slices = shard_slices(n, world)
    rows = np.concatenate([np.arange(n)[s] for s in slices])
    assert np.array_equal(rows, np.arange(n))
    sizes = [s.stop - s.start for s in slices]
    assert max(sizes) - min(sizes) <= 1 and len(sizes) == world


def test_shard_slices_reject_bad_arguments():
    with pytest.raises(ValueError, match="world_size"):
        shard_slices(3, 4)
    with pytest.raises(ValueError, match="n must be"):
        shard_slices(0, 1)


def test_weighted_combination_is_the_full_batch_gradient_and_plain_averaging_is_not(data):
    x, y = data
    _, full = mlp_gradients(MLP(SIZES, seed=0), x, y)
    slices = shard_slices(len(y), 2)
    shards = [mlp_gradients(MLP(SIZES, seed=0), x[s], y[s])[1] for s in slices]
    sizes = [s.stop - s.start for s in slices]
    combine = next(ex.reference for ex in lesson_exercises("09")
                   if getattr(ex.reference, "__name__", "") == "_combine")
    combined = {k: combine([g[k] for g in shards], sizes) for k in full}
    assert max(gradient_errors(combined, full).values()) < 1e-12
    plain = {k: (shards[0][k] + shards[1][k]) / 2 for k in full}
    assert max(gradient_errors(plain, full).values()) > 1e-5


def test_batch_schedule_is_seeded_and_draws_each_row_once_per_epoch():
    a, b = batch_schedule(10, 3, 7, seed=1), batch_schedule(10, 3, 7, seed=1)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert len(a) == 7 and all(len(i) == 3 for i in a)
    assert len(set(np.concatenate(a[:3]).tolist())) == 9  # 3 batches of the first epoch


def test_launch_refuses_functions_spawned_workers_cannot_import():
    def local_task(rank, world_size, device):
        return rank

    local_task.__module__ = "__main__"
    with pytest.raises(ValueError, match="import module-level functions"):
        launch(local_task, 2)
    local_task.__module__ = __name__
    with pytest.raises(ValueError, match="inside a function"):
        launch(local_task, 2)
    with pytest.raises(ValueError, match="one CUDA GPU per worker"):
        launch(mlp_gradients, 64, device="cuda")


def test_free_port_can_be_bound():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port()))


# ---------------------------------------------------------------- real workers


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-12), ("float32", 1e-6)])
def test_all_reduced_gradient_equals_the_full_batch_gradient(data, dtype, tol):
    x, y = data
    workers = data_parallel_gradients(SIZES, x, y, world_size=2, seed=0, dtype=dtype)
    full_loss, full = mlp_gradients(MLP(SIZES, seed=0), x, y)  # float64, one process
    assert [w["rank"] for w in workers] == [0, 1]
    assert [w["rows"] for w in workers] == [(0, 51), (51, 101)]
    for w in workers:
        assert max(gradient_errors(w["full_grads"], full).values()) < tol
        assert abs(w["full_loss"] - full_loss) < tol * full_loss
        assert all(g.dtype == np.dtype(dtype) for g in w["grads"].values())
    shard_only = max(gradient_errors(workers[0]["grads"], full).values())
    assert shard_only > 1e-3, "one shard's gradient alone is not the full-batch gradient"


def test_data_parallel_sgd_retraces_single_process_sgd(data):
    x, y = data
    args = dict(steps=40, lr=0.5, batch_size=33, seed=0, dtype="float64")
    runs = data_parallel_train(SIZES, x, y, world_size=2, **args)
    alone = single_process_train(SIZES, x, y, **args)
    for name, p in alone["params"].items():
        assert np.array_equal(runs[0]["params"][name], runs[1]["params"][name])
        assert np.allclose(runs[0]["params"][name], p, rtol=1e-10, atol=1e-12)
    assert np.allclose(runs[0]["losses"], alone["losses"], rtol=1e-10)
    assert runs[0]["losses"][-1] < 0.8 * runs[0]["losses"][0]
