"""Lesson 09 (scaling up with PyTorch): a batch onto the device, the backward of a Linear layer
as a ``torch.autograd.Function`` would return it, and per-shard gradients combined into the
full-batch gradient as data parallel training does.

torch is imported only when a case is built or an answer is checked, so loading the exercises of
other lessons never needs it.
"""

from __future__ import annotations

import numpy as np

from course.backend import to_numpy
from course.checks.core import Exercise

# ---------------------------------------------------------------- 09.1 a batch onto the device


def _to_device(x, y, device):
    """x: numpy (n, d) float64 -> float32 tensor on device; y: numpy (n,) int -> int64 tensor."""
    import torch

    return (torch.as_tensor(x, dtype=torch.float32, device=device),
            torch.as_tensor(y, dtype=torch.int64, device=device))


def _device_cases():
    rng = np.random.default_rng(91)
    return [(rng.normal(size=(2, 3)), np.array([0, 2]), "cpu"),
            (rng.normal(size=(5, 4)), rng.integers(0, 10, 5), "cpu"),
            (rng.normal(size=(8, 64)), rng.integers(0, 10, 8).astype(np.int32), "cpu")]


def _device_hidden_cases():
    rng = np.random.default_rng(191)
    return [(rng.normal(size=(n, d)), rng.integers(0, 10, n), "cpu")
            for n, d in ((1, 1), (7, 2), (32, 64))]


def _same_arrays(got, expected) -> bool:
    """Two tuples of arrays of the same kind (numpy or torch), dtype, device and values."""
    if not isinstance(got, tuple) or len(got) != len(expected):
        return False
    for g, e in zip(got, expected):
        if type(g) is not type(e) or str(g.dtype) != str(e.dtype):
            return False
        if str(getattr(g, "device", "cpu")) != str(getattr(e, "device", "cpu")):
            return False
        if tuple(g.shape) != tuple(e.shape) or not np.allclose(to_numpy(g), to_numpy(e)):
            return False
    return True


def _kept_float64(x, y, device):
    import torch

    return torch.as_tensor(x, device=device), _to_device(x, y, device)[1]


def _float_labels(x, y, device):
    import torch

    return _to_device(x, y, device)[0], torch.as_tensor(y, dtype=torch.float32, device=device)


def _labels_left_numpy(x, y, device):
    return _to_device(x, y, device)[0], np.asarray(y)


def _x_left_numpy(x, y, device):
    return np.asarray(x, dtype=np.float32), _to_device(x, y, device)[1]


# ---------------------------------------------------------------- 09.2 Linear backward for torch


def _linear_backward(x, W, grad_z):
    """Backward of z = x @ W + b as torch.autograd.Function.backward returns it: one gradient
    per forward input, in order. x (n, d_in), W (d_in, d_out), grad_z = dL/dz (n, d_out) ->
    (dL/dx (n, d_in), dL/dW (d_in, d_out), dL/db (d_out,))."""
    return grad_z @ W.T, x.T @ grad_z, grad_z.sum(0)


def _linear_cases(seeds_and_shapes=((92, 1, 2, 1), (93, 3, 4, 2), (94, 5, 3, 6))):
    import torch

    cases = []
    for seed, n, d_in, d_out in seeds_and_shapes:
        g = torch.Generator().manual_seed(seed)
        cases.append(tuple(torch.randn(*shape, generator=g, dtype=torch.float64)
                           for shape in ((n, d_in), (d_in, d_out), (n, d_out))))
    return cases


def _linear_hidden_cases():
    return _linear_cases(((192, 2, 7, 3), (193, 16, 8, 4), (194, 64, 10, 10)))


def _bias_mean(x, W, grad_z):
    dx, dW, _ = _linear_backward(x, W, grad_z)
    return dx, dW, grad_z.mean(0)


def _dW_transposed(x, W, grad_z):
    dx, _, db = _linear_backward(x, W, grad_z)
    return dx, grad_z.T @ x, db


def _wrong_order(x, W, grad_z):
    dx, dW, db = _linear_backward(x, W, grad_z)
    return dW, dx, db


def _wrong_sign(x, W, grad_z):
    return tuple(-g for g in _linear_backward(x, W, grad_z))


# ---------------------------------------------------------------- 09.3 combining shard gradients


def _combine(shard_grads, shard_sizes):
    """The full-batch gradient of the mean loss from per-shard mean-loss gradients:
    sum_r (n_r / n) g_r. shard_grads: list of arrays of one shape; shard_sizes: list of ints."""
    n = sum(shard_sizes)
    return sum(g * (n_r / n) for g, n_r in zip(shard_grads, shard_sizes))


def _combine_cases():
    rng = np.random.default_rng(95)
    return [([np.array([1.0, -2.0]), np.array([3.0, 0.5])], [2, 2]),
            ([np.array([1.0, -2.0]), np.array([3.0, 0.5])], [3, 1]),
            ([rng.normal(size=(4, 3)) for _ in range(3)], [5, 4, 4]),
            ([rng.normal(size=(2,)) for _ in range(4)], [26, 25, 25, 25])]


def _combine_hidden_cases():
    rng = np.random.default_rng(195)
    return [([rng.normal(size=(3, 2)) for _ in range(k)], list(rng.integers(1, 40, k)))
            for k in (1, 2, 5)]


EXERCISES = [
    Exercise(
        id="09.1",
        title="a batch onto the device",
        points=1,
        reference=_to_device,
        cases=_device_cases,
        hidden_cases=_device_hidden_cases,
        compare=_same_arrays,
        mistakes={
            "x kept as float64 (numpy's default): a float32 network refuses it": _kept_float64,
            "labels turned into floats: cross-entropy takes integer class indices (int64)":
                _float_labels,
            "labels left as a numpy array: every array in one computation must be a tensor on "
            "the same device": _labels_left_numpy,
            "x made float32 but left as a numpy array, not a torch tensor": _x_left_numpy,
        },
    ),
    Exercise(
        id="09.2",
        title="the backward of z = x @ W + b for a torch.autograd.Function",
        points=2,
        reference=_linear_backward,
        cases=_linear_cases,
        hidden_cases=_linear_hidden_cases,
        mistakes={
            "dL/db averaged over the batch: the mean over the batch is already inside grad_z "
            "(sum it)": _bias_mean,
            "dL/dW transposed (grad_z.T @ x): each gradient must have its input's shape, "
            "W is (d_in, d_out)": _dW_transposed,
            "gradients in the wrong order: backward returns one per forward input, in the order "
            "(x, W, b)": _wrong_order,
            "wrong sign on every gradient": _wrong_sign,
        },
    ),
    Exercise(
        id="09.3",
        title="the full-batch gradient from per-shard gradients",
        points=2,
        reference=_combine,
        cases=_combine_cases,
        hidden_cases=_combine_hidden_cases,
        mistakes={
            "summed the shard gradients without averaging (an all-reduce SUM alone)":
                lambda grads, sizes: sum(grads),
            "plain average over workers: right only when every shard has the same size":
                lambda grads, sizes: sum(grads) / len(grads),
            "weighted by shard size but never divided by the total n":
                lambda grads, sizes: sum(g * n_r for g, n_r in zip(grads, sizes)),
            "divided by the number of workers as well: the weights n_r / n already sum to one":
                lambda grads, sizes: _combine(grads, sizes) / len(grads),
        },
    ),
]
