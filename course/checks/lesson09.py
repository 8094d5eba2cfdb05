"""Lesson 09 (scaling up with PyTorch): a batch onto the device, the idiomatic torch training
loop, the backward of a Linear layer as a ``torch.autograd.Function`` writes it (skipping the
gradients torch does not need), and per-shard gradients combined into the full-batch gradient as
data parallel training does.

torch is imported only when a case is built or an answer is checked, so loading the exercises of
other lessons never needs it.
"""

from __future__ import annotations

from types import SimpleNamespace

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
    """CPU cases, then torch's "meta" device: tensors with a shape, dtype and device but no
    values, so a device other than the CPU is tested on any machine, GPU or not."""
    rng = np.random.default_rng(91)
    return [(rng.normal(size=(2, 3)), np.array([0, 2]), "cpu"),
            (rng.normal(size=(5, 4)), rng.integers(0, 10, 5), "cpu"),
            (rng.normal(size=(8, 64)), rng.integers(0, 10, 8).astype(np.int32), "cpu"),
            (rng.normal(size=(4, 3)), rng.integers(0, 10, 4), "meta")]


def _device_hidden_cases():
    rng = np.random.default_rng(191)
    return [(rng.normal(size=(n, d)), rng.integers(0, 10, n), device)
            for n, d, device in ((1, 1, "cpu"), (7, 2, "meta"), (32, 64, "cpu"), (3, 5, "meta"))]


def _same_arrays(got, expected) -> bool:
    """Two tuples of arrays of the same kind (numpy or torch), dtype, device and values (values
    only where they exist: a meta tensor has none)."""
    if not isinstance(got, tuple) or len(got) != len(expected):
        return False
    for g, e in zip(got, expected):
        if type(g) is not type(e) or str(g.dtype) != str(e.dtype):
            return False
        if str(getattr(g, "device", "cpu")) != str(getattr(e, "device", "cpu")):
            return False
        if tuple(g.shape) != tuple(e.shape):
            return False
        if not getattr(e, "is_meta", False) and not np.allclose(to_numpy(g), to_numpy(e)):
            return False
    return True


def _device_ignored(x, y, device):
    return _to_device(x, y, "cpu")


def _kept_float64(x, y, device):
    import torch

    return torch.as_tensor(x, device=device), _to_device(x, y, device)[1]


def _float_labels(x, y, device):
    import torch

    return _to_device(x, y, device)[0], torch.as_tensor(y, dtype=torch.float32, device=device)


def _labels_left_numpy(x, y, device):
    return _to_device(x, y, device)[0], np.asarray(y)


def _labels_int32(x, y, device):
    import torch

    return _to_device(x, y, device)[0], torch.as_tensor(y, device=device)


def _x_left_numpy(x, y, device):
    return np.asarray(x, dtype=np.float32), _to_device(x, y, device)[1]


# ---------------------------------------------------------------- 09.2 the torch training loop


def _train_steps(model, optimizer, batches):
    """One optimizer step per (x, y) in batches: clear the gradients, forward, mean
    cross-entropy, backward, step. Returns the loss of each step (floats, before its step)."""
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _short_repr(obj, text: str):
    """obj with a one-line repr (a check's message shows its inputs)."""
    obj.__class__ = type(type(obj).__name__, (type(obj),), {"__repr__": lambda self: text})
    return obj


def _loop_cases(specs=((90, 3, 4, 2, 4, 3, "sgd"), (91, 5, 8, 3, 16, 4, "sgd"))):
    """(model, optimizer, batches): a seeded float64 MLP d -> h -> c, its optimizer and a few
    different mini-batches. spec: (seed, d, h, c, batch, steps, optimizer)."""
    import torch
    from torch import nn

    cases = []
    for seed, d, h, c, n, steps, kind in specs:
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, c)).double()
        _short_repr(model, f"nn.Sequential(nn.Linear({d}, {h}), nn.ReLU(), nn.Linear({h}, {c}))")
        make, options = {"sgd": (torch.optim.SGD, {"lr": 0.5}),
                         "momentum": (torch.optim.SGD, {"lr": 0.2, "momentum": 0.9}),
                         "adam": (torch.optim.Adam, {"lr": 0.05})}[kind]
        optimizer = make(model.parameters(), **options)
        text = ", ".join(f"{k}={v}" for k, v in options.items())
        _short_repr(optimizer, f"torch.optim.{make.__name__}(model.parameters(), {text})")
        g = torch.Generator().manual_seed(seed + 1)
        batches = [(torch.randn(n, d, dtype=torch.float64, generator=g),
                    torch.randint(0, c, (n,), generator=g)) for _ in range(steps)]
        cases.append((model, optimizer, batches))
    return cases


def _loop_hidden_cases():
    return _loop_cases(((190, 2, 3, 2, 5, 4, "sgd"), (191, 6, 10, 4, 12, 5, "momentum"),
                        (192, 4, 6, 3, 32, 4, "adam")))


def _same_losses(got, expected) -> bool:
    """The same number of losses, each equal to round-off (Python floats or 0-d tensors)."""
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        return False
    try:
        values = [float(v.detach()) if hasattr(v, "detach") else float(v) for v in got]
    except (TypeError, ValueError, RuntimeError):
        return False
    return bool(np.allclose(values, expected, rtol=1e-9, atol=1e-12))


def _no_zero_grad(model, optimizer, batches):
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _never_updates(model, optimizer, batches):
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _double_softmax(model, optimizer, batches):
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(F.softmax(model(x), dim=1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _summed_loss(model, optimizer, batches):
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y, reduction="sum")
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _loss_after_step(model, optimizer, batches):
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        losses.append(F.cross_entropy(model(x), y).item())
    return losses


# ---------------------------------------------------------------- 09.3 Linear backward for torch


def _linear_backward(ctx, grad_z):
    """The backward of z = x @ W + b as torch.autograd.Function.backward returns it: one
    gradient per forward input (x, W, b), in order, None for each input torch does not need.
    ctx.saved_tensors = (x (n, d_in), W (d_in, d_out)); grad_z = dL/dz (n, d_out) ->
    (dL/dx (n, d_in), dL/dW (d_in, d_out), dL/db (d_out,))."""
    x, W = ctx.saved_tensors
    need_x, need_W, need_b = ctx.needs_input_grad
    dx = grad_z @ W.T if need_x else None
    dW = x.T @ grad_z if need_W else None
    db = grad_z.sum(0) if need_b else None
    return dx, dW, db


NEEDS = ((True, True, True), (False, True, True), (True, False, False))


def _linear_cases(specs=((92, 1, 2, 1, NEEDS[0]), (93, 3, 4, 2, NEEDS[0]),
                         (94, 5, 3, 6, NEEDS[1]), (95, 4, 2, 3, NEEDS[2]))):
    """(ctx, grad_z) with a stand-in for torch's ctx: saved_tensors (x, W), needs_input_grad."""
    import torch

    cases = []
    for seed, n, d_in, d_out, needs in specs:
        g = torch.Generator().manual_seed(seed)
        x, W, grad_z = (torch.randn(*shape, generator=g, dtype=torch.float64)
                        for shape in ((n, d_in), (d_in, d_out), (n, d_out)))
        cases.append((SimpleNamespace(saved_tensors=(x, W), needs_input_grad=needs), grad_z))
    return cases


def _linear_hidden_cases():
    return _linear_cases(((192, 2, 7, 3, NEEDS[1]), (193, 16, 8, 4, NEEDS[0]),
                          (194, 64, 10, 10, (False, True, False)), (195, 3, 5, 2, NEEDS[2])))


def _same_gradients(got, expected) -> bool:
    """The same container (torch wants a tuple) holding None where expected is None, else an
    array of the expected kind (a torch tensor: numpy arrays are refused, torch cannot use
    them), shape, dtype and values."""
    if type(got) is not type(expected) or len(got) != len(expected):
        return False
    for g, e in zip(got, expected):
        if e is None or g is None:
            if g is not e:
                return False
            continue
        if type(g) is not type(e) or g.dtype != e.dtype or tuple(g.shape) != tuple(e.shape):
            return False
        if not np.allclose(to_numpy(g), to_numpy(e), rtol=1e-10, atol=1e-12):
            return False
    return True


def _all_gradients(ctx, grad_z):
    x, W = ctx.saved_tensors
    return grad_z @ W.T, x.T @ grad_z, grad_z.sum(0)


def _bias_mean(ctx, grad_z):
    dx, dW, db = _linear_backward(ctx, grad_z)
    return dx, dW, None if db is None else grad_z.mean(0)


def _dW_transposed(ctx, grad_z):
    dx, dW, db = _linear_backward(ctx, grad_z)
    x, _ = ctx.saved_tensors
    return dx, None if dW is None else grad_z.T @ x, db


def _wrong_order(ctx, grad_z):
    dx, dW, db = _linear_backward(ctx, grad_z)
    return dW, dx, db


def _numpy_gradients(ctx, grad_z):
    return tuple(None if g is None else g.numpy() for g in _linear_backward(ctx, grad_z))


def _list_returned(ctx, grad_z):
    return list(_linear_backward(ctx, grad_z))


# ---------------------------------------------------------------- 09.4 combining shard gradients


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
            "device ignored: the tensors stay on the CPU whatever `device` says (pass "
            "device=device)": _device_ignored,
            "x kept as float64 (numpy's default): a float32 network refuses it": _kept_float64,
            "labels turned into floats: cross-entropy takes integer class indices (int64)":
                _float_labels,
            "labels left as a numpy array: every array in one computation must be a tensor on "
            "the same device": _labels_left_numpy,
            "x made float32 but left as a numpy array, not a torch tensor": _x_left_numpy,
            "labels kept in the input's integer type (int32 here): "
            "cross-entropy wants int64 (torch.long)": _labels_int32,
        },
    ),
    Exercise(
        id="09.2",
        title="the torch training loop",
        points=2,
        reference=_train_steps,
        cases=_loop_cases,
        hidden_cases=_loop_hidden_cases,
        compare=_same_losses,
        mistakes={
            "optimizer.zero_grad() never called: each loss.backward() adds to .grad, so step k "
            "applies the sum of the first k gradients": _no_zero_grad,
            "the parameters never change: the gradient is cleared (zero_grad) after "
            "loss.backward() and before optimizer.step(), or step comes before backward or is "
            "missing": _never_updates,
            "softmax applied before F.cross_entropy, which applies log-softmax itself: pass "
            "the raw outputs (logits)": _double_softmax,
            "loss summed over the batch (reduction='sum'): the course's loss is the mean, "
            "F.cross_entropy's default": _summed_loss,
            "loss measured again after optimizer.step(): record the loss of the forward pass "
            "you backpropagated, before its step": _loss_after_step,
        },
    ),
    Exercise(
        id="09.3",
        title="the backward of z = x @ W + b in a torch.autograd.Function",
        points=2,
        reference=_linear_backward,
        cases=_linear_cases,
        hidden_cases=_linear_hidden_cases,
        compare=_same_gradients,
        mistakes={
            "every gradient computed: return None where ctx.needs_input_grad is False (torch "
            "does not need it, and skipping it saves a matrix product)": _all_gradients,
            "dL/db averaged over the batch: the mean over the batch is already inside grad_z "
            "(sum it)": _bias_mean,
            "dL/dW transposed (grad_z.T @ x): each gradient must have its input's shape, "
            "W is (d_in, d_out)": _dW_transposed,
            "gradients in the wrong order: backward returns one per forward input, in the order "
            "(x, W, b)": _wrong_order,
            "numpy arrays returned: a torch backward must return torch tensors (no .numpy(); "
            "write it with torch operations)": _numpy_gradients,
            "a list returned: torch reads a list as one gradient; return a tuple "
            "(dx, dW, db)": _list_returned,
        },
    ),
    Exercise(
        id="09.4",
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
