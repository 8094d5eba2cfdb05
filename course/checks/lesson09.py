"""Lesson 09 (scaling up with PyTorch): a batch onto the device, the idiomatic torch training
loop, the backward of a Linear layer as a ``torch.autograd.Function`` writes it (skipping the
gradients torch does not need), per-shard gradients combined into the full-batch gradient as
data parallel training does, and PyTorch training as its users write it: a ``Dataset``, the
train and evaluation loops, saving and resuming a run, a mixed-precision step.

torch is imported only when a case is built or an answer is checked, so loading the exercises of
other lessons never needs it. The references of 09.5-09.10 are the library's own functions in
``course.torch_bridge``, reached through :func:`_library` for that reason.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from course.backend import is_torch, to_numpy
from course.checks.core import Exercise, Mistake

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
    """The same number of losses, each a Python number equal to round-off. A loss tensor kept in
    the list (shown as KEPT by the run) is refused: it holds its step's whole graph alive."""
    return _agree(got, expected, rtol=1e-9, atol=1e-12)


def _tensors_kept(model, optimizer, batches):
    import torch.nn.functional as F

    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses


def _run_loop(fn, model, optimizer, batches):
    """fn's losses, a kept tensor shown as such (never converted: it may hold a graph)."""
    return _numbers(fn(model, optimizer, batches))


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




# -------------------------------------------- 09.5-09.10: training as users write it


def _library(name: str):
    """The library's own ``course.torch_bridge.<name>``, imported (with torch) on first call."""

    def reference(*args, **kwargs):
        from course import torch_bridge

        return getattr(torch_bridge, name)(*args, **kwargs)

    reference.__name__ = reference.__qualname__ = name
    return reference


def _agree(got, expected, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """The same nested structure (tuples, lists) of the same kinds of leaves: numbers and arrays
    close (NaNs equal), anything else (None, text, booleans) equal."""
    if isinstance(expected, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                and all(_agree(g, e, rtol, atol) for g, e in zip(got, expected)))
    if expected is None or isinstance(expected, (str, bool)):
        return type(got) is type(expected) and got == expected
    if got is None or isinstance(got, (str, bool)):
        return False
    g, e = np.asarray(to_numpy(got)), np.asarray(to_numpy(expected))
    if g.shape != e.shape or g.dtype.kind not in "biuf" or g.dtype.kind != e.dtype.kind:
        return False
    if e.dtype.kind == "f" and g.dtype != e.dtype:
        return False
    return bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))


KEPT = "a tensor (with its graph), not a number"


def _numbers(values):
    """Losses as the check compares them: a Python number stays, a tensor becomes KEPT."""
    if values is None:
        return None
    return [KEPT if is_torch(v) else v for v in values]


class Setup:
    """One case of a training exercise: a seed and sizes, from which ``run`` builds a fresh
    model, data, optimizer (and scaler or scheduler) for every answer; shown as ``text``."""

    def __init__(self, text: str, seed: int, d: int, h: int, c: int, n: int, batch: int,
                 **extra):
        self.text, self.seed, self.d, self.h, self.c, self.n, self.batch = (
            text, seed, d, h, c, n, batch)
        self.extra = extra

    def __repr__(self):
        return self.text

    def model(self, norm: bool = True, dropout: float = 0.5):
        """Linear(d, h) -> [BatchNorm1d(h)] -> ReLU -> [Dropout] -> Linear(h, c), float32."""
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        layers = [nn.Linear(self.d, self.h)] + ([nn.BatchNorm1d(self.h)] if norm else [])
        layers += [nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        return nn.Sequential(*layers, nn.Linear(self.h, self.c))

    def data(self):
        """(x (n, d) float32 numpy, y (n,) int64 numpy): rows with a class signal."""
        rng = np.random.default_rng(self.seed)
        y = rng.integers(0, self.c, self.n)
        x = rng.normal(size=(self.n, self.d)) + 1.5 * np.eye(self.c, self.d)[y]
        return x.astype(np.float32), y

    def loader(self, shuffle: bool = False):
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        x, y = self.data()
        data = TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
        return DataLoader(data, batch_size=self.batch, shuffle=shuffle,
                          generator=torch.Generator().manual_seed(self.seed))


def _params(model) -> tuple:
    """Every entry of the model's state_dict (weights and buffers) as float arrays."""
    return tuple(to_numpy(v.detach()).astype(np.float64)
                 for v in model.state_dict().values() if v.dtype.is_floating_point)


# ---------------------------------------------------------------- 09.5 a Dataset


def _dataset_cases(seed: int):
    """(x, y): seed 0 a 5 x 3 set (rows and columns told apart) and a larger one; others random."""
    rng = np.random.default_rng(950 + seed)
    if seed == 0:
        x = np.arange(15, dtype=np.float64).reshape(5, 3) / 10
        return [(x, np.array([2, 0, 1, 2, 1])),
                (rng.normal(size=(9, 4)), rng.integers(0, 10, 9))]
    n, d = rng.integers(2, 40), rng.integers(1, 70)
    return [(rng.normal(size=(n, d)), rng.integers(0, 10, n))]


def _run_dataset(cls, x, y):
    """len, the first and last items, and the first batch a DataLoader(batch_size=2) makes."""
    from torch.utils.data import DataLoader

    data = cls(x, y)
    if data is None:
        return None
    n = len(data)
    first_batch = next(iter(DataLoader(data, batch_size=2, shuffle=False)))
    return n, tuple(data[0]), tuple(data[n - 1]), tuple(first_batch)


def _dataset_variant(kind: str):
    def make(x, y):
        import torch
        from torch.utils.data import Dataset

        class Variant(Dataset):
            def __init__(self, x, y):
                if kind == "numpy-kept":
                    self.x, self.y = x, y
                    return
                if kind == "inputs-changed":
                    x -= x.mean(0)
                self.x = torch.as_tensor(x, dtype=torch.float32)
                self.y = torch.as_tensor(y, dtype=torch.float32 if kind == "labels-float"
                                         else torch.int64)

            def __len__(self):
                return self.x.shape[1] if kind == "len-features" else len(self.y)

            def __getitem__(self, i):
                return (self.y[i], self.x[i]) if kind == "pair-swapped" else (self.x[i], self.y[i])

        return Variant(x, y)

    return make


# ---------------------------------------------------------------- 09.6 evaluation, 09.7 an epoch


def _eval_cases(seed: int):
    if seed == 0:
        return [(Setup("8 rows in batches of 3 (the last batch holds 2), model "
                       "Linear(4, 6) -> BatchNorm1d -> ReLU -> Dropout(0.5) -> Linear(6, 3)",
                       96, 4, 6, 3, 8, 3),),
                (Setup("20 rows in batches of 8, the same kind of model, sizes 5, 8, 4",
                       97, 5, 8, 4, 20, 8),)]
    return [(Setup(f"random case {seed}", 960 + seed, 6, 10, 5, 23 + seed, 4 + seed),)]


def _run_evaluate(fn, setup):
    """Build the model (in training mode, BatchNorm's running statistics moved away from their
    start), then call fn(model, loader, 'cpu'); returns (loss, accuracy, whether any forward
    pass recorded a graph)."""
    import torch

    with torch.random.fork_rng():
        model = setup.model()
        with torch.no_grad():
            for _ in range(3):
                model(torch.as_tensor(setup.data()[0]) * 2 + 1)
        recorded = []
        model.register_forward_hook(lambda *_: recorded.append(torch.is_grad_enabled()))
        torch.manual_seed(setup.seed + 1)
        out = fn(model, setup.loader(), "cpu")
    if out is None:
        return None
    loss, acc = out
    return _numbers([loss])[0], _numbers([acc])[0], any(recorded)


def _evaluate_variant(kind: str):
    def evaluate(model, loader, device):
        import contextlib

        import torch
        import torch.nn.functional as F

        if kind != "no-eval-mode":
            model.eval()
        losses, accs, sizes = [], [], []
        guard = contextlib.nullcontext() if kind == "no-no-grad" else torch.no_grad()
        with guard:
            for x, y in loader:
                logits = model(x.to(device))
                losses.append(F.cross_entropy(logits, y, reduction="sum").item())
                accs.append((logits.argmax(1) == y).sum().item())
                sizes.append(len(y))
        n = sum(sizes)
        if kind == "mean-of-batch-means":
            return float(np.mean([s / k for s, k in zip(losses, sizes)])), sum(accs) / n
        if kind == "accuracy-per-batch":
            return sum(losses) / n, float(np.mean([a / k for a, k in zip(accs, sizes)]))
        return sum(losses) / n, sum(accs) / n

    return evaluate


def _epoch_cases(seed: int):
    if seed == 0:
        return [(Setup("8 rows in batches of 3, model Linear(4, 6) -> BatchNorm1d -> ReLU -> "
                       "Dropout(0.5) -> Linear(6, 3), left in evaluation mode; SGD(lr=0.5), "
                       "max_norm=0.5", 98, 4, 6, 3, 8, 3, max_norm=0.5),),
                (Setup("16 rows in batches of 4, sizes 5, 8, 4; SGD(lr=0.5), max_norm=0.5",
                       99, 5, 8, 4, 16, 4, max_norm=0.5),)]
    return [(Setup(f"random case {seed}", 980 + seed, 6, 10, 5, 22 + seed, 4 + seed,
                   max_norm=0.3 + seed),)]


def _run_epoch(fn, setup):
    """A fresh model (in evaluation mode, as after an evaluation) and SGD; one call of
    fn(model, loader, optimizer, max_norm, 'cpu'); returns (losses, the model's state)."""
    import torch

    with torch.random.fork_rng():
        model = setup.model().eval()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        torch.manual_seed(setup.seed + 1)
        losses = fn(model, setup.loader(), optimizer, setup.extra["max_norm"], "cpu")
    if losses is None:
        return None
    return _numbers(losses), _params(model)


def _epoch_variant(kind: str):
    def train_epoch(model, loader, optimizer, max_norm, device):
        import torch.nn.functional as F
        from torch import nn

        if kind != "no-train-mode":
            model.train()
        losses = []
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            if kind != "no-zero-grad":
                optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if kind == "clip-by-value":
                nn.utils.clip_grad_value_(model.parameters(), max_norm)
            elif kind != "no-clip":
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            losses.append(loss if kind == "tensors-kept" else loss.item())
        return losses

    return train_epoch


# ---------------------------------------------------------------- 09.8 save, 09.9 resume


def _resume_cases(seed: int):
    if seed == 0:
        return [(Setup("model Linear(4, 6) -> BatchNorm1d -> ReLU -> Linear(6, 3), AdamW(lr=0.05, "
                       "weight_decay=0.1), StepLR(step_size=2, gamma=0.5); 3 steps, save, "
                       "resume in fresh objects, 1 more step", 100, 4, 6, 3, 8, 8, steps=3),)]
    return [(Setup(f"random case {seed}", 1000 + seed, 5, 7, 4, 12, 12, steps=2 + seed),)]


def _training_objects(setup, seed_offset: int = 0):
    """A model (BatchNorm, no Dropout), AdamW and a StepLR scheduler, seeded."""
    import torch

    model = setup.model(dropout=0.0)
    if seed_offset:
        torch.manual_seed(setup.seed + seed_offset)
        for p in model.parameters():
            p.data.normal_()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _one_step(model, optimizer, scheduler, x, y):
    import torch.nn.functional as F

    model.train()
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    scheduler.step()


def _resumed(setup, save, load):
    """Train ``steps`` steps, save with ``save``, build fresh (differently initialised) objects,
    restore with ``load``, take one more step: (restored step, learning rate, model state)."""
    import tempfile
    from pathlib import Path

    import torch

    x, y = (torch.as_tensor(a) for a in setup.data())
    with torch.random.fork_rng(), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        model, optimizer, scheduler = _training_objects(setup)
        for _ in range(setup.extra["steps"]):
            _one_step(model, optimizer, scheduler, x, y)
        save(path, setup.extra["steps"], model, optimizer, scheduler)
        if not path.exists():
            return None
        model, optimizer, scheduler = _training_objects(setup, seed_offset=7)
        step = load(path, model, optimizer, scheduler)
        _one_step(model, optimizer, scheduler, x, y)
    return step, optimizer.param_groups[0]["lr"], _params(model)


def _load_what_is_there(path, model, optimizer, scheduler):
    """The reference's restore, lenient: what a checkpoint lacks stays as freshly built."""
    import torch

    checkpoint = torch.load(path, map_location="cpu")
    for key, obj in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        if isinstance(checkpoint, dict) and key in checkpoint:
            obj.load_state_dict(checkpoint[key])
    return checkpoint.get("step") if isinstance(checkpoint, dict) else None


def _run_save(save, setup):
    return _resumed(setup, save, _load_what_is_there)


def _run_load(load, setup):
    return _resumed(setup, _library("save_checkpoint"), load)


def _save_variant(kind: str):
    def save_checkpoint(path, step, model, optimizer, scheduler):
        import torch

        checkpoint = {"step": step, "model": model.state_dict(),
                      "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
        if kind == "model-only":
            checkpoint = {"step": step, "model": model.state_dict()}
        elif kind == "no-scheduler":
            del checkpoint["scheduler"]
        elif kind == "no-step":
            del checkpoint["step"]
        elif kind == "no-model":
            del checkpoint["model"]
        torch.save(checkpoint, path)

    return save_checkpoint


def _load_variant(kind: str):
    def load_checkpoint(path, model, optimizer, scheduler):
        import torch

        checkpoint = torch.load(path, map_location="cpu")
        if kind != "model-not-restored":
            model.load_state_dict(checkpoint["model"])
        if kind != "optimizer-not-restored":
            optimizer.load_state_dict(checkpoint["optimizer"])
        if kind != "scheduler-not-restored":
            scheduler.load_state_dict(checkpoint["scheduler"])
        return 0 if kind == "step-not-returned" else checkpoint["step"]

    return load_checkpoint


# ---------------------------------------------------------------- 09.10 a mixed-precision step


def _amp_cases(seed: int):
    if seed == 0:
        return [(Setup("float16 on the CPU, GradScaler(init_scale=16, growth_interval=1); "
                       "3 steps of SGD(lr=0.1) on 6 rows, model Linear(4, 8) -> ReLU -> "
                       "Linear(8, 3)", 101, 4, 8, 3, 6, 6, dtype="float16", scale=16.0,
                       enabled=True),),
                (Setup("float16, GradScaler(init_scale=2**24): the first scaled gradients "
                       "overflow", 102, 4, 8, 3, 6, 6, dtype="float16", scale=2.0**24,
                       enabled=True),),
                (Setup("bfloat16 on the CPU, GradScaler(enabled=False)", 103, 5, 8, 4, 8, 8,
                       dtype="bfloat16", scale=1.0, enabled=False),)]
    return [(Setup(f"random case {seed}", 1010 + seed, 6, 12, 5, 10, 10,
                   dtype=("float16", "bfloat16")[seed % 2], scale=2.0 ** (4 * seed),
                   enabled=seed % 2 == 1),)]


def _run_amp(fn, setup):
    """Three calls of fn(model, optimizer, scaler, x, y, dtype) on a fresh float32 model, SGD
    and a CPU GradScaler; returns (losses, the scaler's scale, the model's state)."""
    import torch

    x, y = (torch.as_tensor(a) for a in setup.data())
    dtype = getattr(torch, setup.extra["dtype"])
    with torch.random.fork_rng():
        model = setup.model(norm=False, dropout=0.0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=setup.extra["scale"], growth_interval=1,
                                      enabled=setup.extra["enabled"])
        losses = [fn(model, optimizer, scaler, x, y, dtype) for _ in range(3)]
    if all(v is None for v in losses):
        return None
    return _numbers(losses), float(scaler.get_scale()), _params(model)


def _amp_variant(kind: str):
    def amp_step(model, optimizer, scaler, x, y, dtype):
        import contextlib

        import torch
        import torch.nn.functional as F

        if kind != "no-zero-grad":
            optimizer.zero_grad()
        cast = (contextlib.nullcontext() if kind == "no-autocast"
                else torch.autocast(device_type=x.device.type, dtype=dtype))
        with cast:
            logits = model(x)
            if kind != "loss-outside-autocast":
                loss = F.cross_entropy(logits, y)
        if kind == "loss-outside-autocast":
            loss = F.cross_entropy(logits, y)
        scaled = scaler.scale(loss)
        scaled.backward()
        scaler.step(optimizer)
        scaler.update()
        if kind == "scaled-loss-returned":
            return scaled.item()
        return loss if kind == "tensor-returned" else loss.item()

    return amp_step


SECTION_LOOP = "§3, 'The training loop as PyTorch users write it'"
SECTION_TRAIN = "§7, 'Training on the digits as PyTorch users write it'"

EXERCISES = [
    Exercise(
        id="09.1",
        title="a batch onto the device",
        points=1,
        reference=_to_device,
        cases=_device_cases,
        hidden_cases=_device_hidden_cases,
        compare=_same_arrays,
        section="§1, 'The same code on other arrays': library, device and dtype must agree",
        mistakes=[
            Mistake("device-ignored", "your tensors stay on the CPU whatever `device` says",
                    _device_ignored,
                    hint="torch.as_tensor takes a device= argument; the check asks for the "
                         "'meta' device too"),
            Mistake("x-float64", "your x keeps numpy's float64: a float32 network refuses it",
                    _kept_float64, hint="name the dtype of x explicitly: float32"),
            Mistake("labels-float", "your labels became floats: cross-entropy takes integer "
                    "class indices", _float_labels,
                    hint="class labels index a row of the logits: int64 (torch.long)"),
            Mistake("labels-numpy", "your labels are still a numpy array: every array in one "
                    "computation must be a tensor on the same device", _labels_left_numpy,
                    hint="convert y with torch.as_tensor too"),
            Mistake("x-numpy", "your x has the right dtype but is still a numpy array, not a "
                    "torch tensor", _x_left_numpy,
                    hint="numpy's astype keeps a numpy array; torch.as_tensor makes a tensor"),
            Mistake("labels-int32", "your labels kept the input's integer type (int32 here): "
                    "cross-entropy wants int64", _labels_int32,
                    hint="give y's dtype explicitly: torch.int64"),
        ],
    ),
    Exercise(
        id="09.2",
        title="the torch training loop",
        points=2,
        reference=_train_steps,
        cases=_loop_cases,
        hidden_cases=_loop_hidden_cases,
        run=_run_loop,
        compare=_same_losses,
        mutates=True,
        section=SECTION_LOOP,
        mistakes=[
            Mistake("no-zero-grad", "from the second step on, your updates are too large: the "
                    "gradients of earlier steps are still in .grad", _no_zero_grad,
                    hint="loss.backward() adds into .grad; something must clear it every step"),
            Mistake("never-updates", "the parameters never change: every loss is measured on "
                    "the starting weights", _never_updates,
                    hint="look at the order: clear, then backward, then step"),
            Mistake("double-softmax", "your losses are wrong from the first step: the model's "
                    "outputs go through softmax twice", _double_softmax,
                    hint="F.cross_entropy applies log-softmax itself: give it the raw logits"),
            Mistake("sum-not-mean", "your losses and steps are batch-size times too large: the "
                    "loss is summed over the batch", _summed_loss,
                    hint="the course's loss is the mean, F.cross_entropy's default reduction"),
            Mistake("loss-after-step", "your losses are measured after each update, not on the "
                    "forward pass you backpropagated", _loss_after_step,
                    hint="record the loss you called backward on, before its step"),
            Mistake("tensors-kept", "your list holds loss tensors, not numbers: each one keeps "
                    "its step's whole graph (every saved activation) alive", _tensors_kept,
                    hint="keep a Python float per step: loss.item()"),
        ],
    ),
    Exercise(
        id="09.3",
        title="the backward of z = x @ W + b in a torch.autograd.Function",
        points=2,
        reference=_linear_backward,
        cases=_linear_cases,
        hidden_cases=_linear_hidden_cases,
        compare=_same_gradients,
        section="§4, 'Our backward inside torch: torch.autograd.Function'",
        mistakes=[
            Mistake("needs-ignored", "you computed every gradient, also those torch said it "
                    "does not need", _all_gradients,
                    hint="return None where ctx.needs_input_grad is False, and skip that work"),
            Mistake("bias-mean", "your dL/db is batch-size times too small", _bias_mean,
                    hint="the mean over the batch is already inside grad_z: the bias collects "
                         "the rows' gradients as they are"),
            Mistake("dw-transposed", "your dL/dW has the shape of W turned around",
                    _dW_transposed,
                    hint="each gradient has its input's shape: W is (d_in, d_out)"),
            Mistake("wrong-order", "your gradients come back in the wrong order", _wrong_order,
                    hint="backward returns one gradient per forward input, in the order of "
                         "forward's arguments (x, W, b)"),
            Mistake("numpy-returned", "you returned numpy arrays: a torch backward must return "
                    "torch tensors", _numpy_gradients,
                    hint="write it with torch operations; no .numpy()"),
            Mistake("list-returned", "you returned a list: torch reads it as one gradient",
                    _list_returned, hint="return a tuple, one entry per input"),
        ],
    ),
    Exercise(
        id="09.4",
        title="the full-batch gradient from per-shard gradients",
        points=2,
        reference=_combine,
        cases=_combine_cases,
        hidden_cases=_combine_hidden_cases,
        section="§8, 'Data parallel: many workers, one gradient'",
        mistakes=[
            Mistake("sum-not-average", "your gradient is as many times too large as there are "
                    "shards (an all-reduce SUM alone)", lambda grads, sizes: sum(grads),
                    hint="each shard's gradient must be weighted, and the weights sum to one"),
            Mistake("plain-average", "your gradient is right only when every shard has the same "
                    "size", lambda grads, sizes: sum(grads) / len(grads),
                    hint="a shard with more rows holds more of the full batch's terms"),
            Mistake("never-normalised", "your gradient is weighted by shard size but far too "
                    "large: the weights do not sum to one",
                    lambda grads, sizes: sum(g * n_r for g, n_r in zip(grads, sizes)),
                    hint="divide by the number of rows of the whole batch"),
            Mistake("divided-twice", "your gradient is too small by the number of workers",
                    lambda grads, sizes: _combine(grads, sizes) / len(grads),
                    hint="the size weights already sum to one: nothing more to divide by"),
        ],
    ),
    Exercise(
        id="09.5",
        title="a Dataset of the digits",
        points=1,
        reference=_library("DigitsDataset"),
        cases=_dataset_cases,
        run=_run_dataset,
        compare=_agree,
        section=SECTION_TRAIN + ": the Dataset and the DataLoader",
        mistakes=[
            Mistake("len-features", "your len() counts the columns (pixels) of x, not its rows",
                    _dataset_variant("len-features"),
                    hint="a DataLoader asks len() for the number of examples"),
            Mistake("numpy-kept", "your items are numpy float64 arrays, not float32 tensors",
                    _dataset_variant("numpy-kept"),
                    hint="convert once, in __init__, with torch.as_tensor and a dtype"),
            Mistake("labels-float", "your labels are floats: cross-entropy takes int64 class "
                    "indices", _dataset_variant("labels-float"),
                    hint="give y's dtype explicitly: torch.int64"),
            Mistake("pair-swapped", "your items come as (label, image), the wrong way round",
                    _dataset_variant("pair-swapped"),
                    hint="the loop unpacks `for x, y in loader`: the input first"),
            Mistake("inputs-changed", "your Dataset changed the caller's x in place",
                    _dataset_variant("inputs-changed"),
                    hint="an augmented assignment on x writes into the caller's array: keep "
                         "preprocessing out of __init__ or make a new array"),
        ],
    ),
    Exercise(
        id="09.6",
        title="evaluation: eval mode, no graph, a mean over rows",
        points=2,
        reference=_library("evaluate"),
        cases=_eval_cases,
        run=_run_evaluate,
        compare=_agree,
        section=SECTION_TRAIN + ": train() and eval()",
        mistakes=[
            Mistake("no-eval-mode", "your evaluation ran in training mode: Dropout dropped "
                    "units and BatchNorm used each batch's own statistics",
                    _evaluate_variant("no-eval-mode"),
                    hint="a module has two modes; switch it before the loop"),
            Mistake("no-no-grad", "your forward passes recorded a graph for a backward that "
                    "never comes", _evaluate_variant("no-no-grad"),
                    hint="wrap the loop in torch.no_grad() (or torch.inference_mode())"),
            Mistake("mean-of-batch-means", "your loss weighs the small last batch as much as "
                    "the full ones", _evaluate_variant("mean-of-batch-means"),
                    hint="add up per-row losses and divide once by the number of rows"),
            Mistake("accuracy-per-batch", "your accuracy weighs the small last batch as much as "
                    "the full ones", _evaluate_variant("accuracy-per-batch"),
                    hint="count correct rows over the whole loader, divide once"),
        ],
    ),
    Exercise(
        id="09.7",
        title="one training epoch",
        points=2,
        reference=_library("train_epoch"),
        cases=_epoch_cases,
        run=_run_epoch,
        compare=_agree,
        section=SECTION_TRAIN + ": one epoch",
        mistakes=[
            Mistake("no-train-mode", "your epoch trained the model in evaluation mode (it came "
                    "in that way): Dropout was off, BatchNorm used its running statistics",
                    _epoch_variant("no-train-mode"),
                    hint="an evaluation leaves the model in eval mode: switch it back first"),
            Mistake("no-clip", "your updates are larger than max_norm allows",
                    _epoch_variant("no-clip"),
                    hint="clip after backward and before the step"),
            Mistake("clip-by-value", "your clipping cut each gradient entry separately, which "
                    "changes the gradient's direction", _epoch_variant("clip-by-value"),
                    hint="clip the global norm of all gradients together, not each value"),
            Mistake("no-zero-grad", "from the second batch on, your updates carry the earlier "
                    "batches' gradients", _epoch_variant("no-zero-grad"),
                    hint="loss.backward() adds into .grad; clear it every step"),
            Mistake("tensors-kept", "your list holds loss tensors, not numbers: each one keeps "
                    "its step's whole graph alive", _epoch_variant("tensors-kept"),
                    hint="keep a Python float per step"),
        ],
    ),
    Exercise(
        id="09.8",
        title="save a checkpoint",
        points=1,
        reference=_library("save_checkpoint"),
        cases=_resume_cases,
        run=_run_save,
        compare=_agree,
        section=SECTION_TRAIN + ": save and resume",
        mistakes=[
            Mistake("model-only", "your checkpoint holds the model but not the optimizer's or "
                    "the scheduler's state: the resumed step differs", _save_variant("model-only"),
                    hint="AdamW keeps two moments per weight; they are part of the run"),
            Mistake("no-scheduler", "your checkpoint lacks the scheduler: the resumed run "
                    "restarts the learning-rate schedule", _save_variant("no-scheduler"),
                    hint="a scheduler has a state_dict too"),
            Mistake("no-step", "your checkpoint does not say which step it was written at",
                    _save_variant("no-step"), hint="save the step next to the state_dicts"),
            Mistake("no-model", "your checkpoint lacks the model's weights: an optimizer's "
                    "state_dict holds its moments, not the parameters", _save_variant("no-model"),
                    hint="model.state_dict() holds the weights and buffers"),
        ],
    ),
    Exercise(
        id="09.9",
        title="resume from a checkpoint",
        points=1,
        reference=_library("load_checkpoint"),
        cases=_resume_cases,
        run=_run_load,
        compare=_agree,
        section=SECTION_TRAIN + ": save and resume",
        mistakes=[
            Mistake("model-not-restored", "your resumed model starts from its fresh weights",
                    _load_variant("model-not-restored"),
                    hint="load_state_dict copies saved tensors into a built model"),
            Mistake("optimizer-not-restored", "your resumed optimizer starts with empty "
                    "moments: the next step differs", _load_variant("optimizer-not-restored"),
                    hint="the optimizer has its own load_state_dict"),
            Mistake("scheduler-not-restored", "your resumed run uses the schedule's first "
                    "learning rate", _load_variant("scheduler-not-restored"),
                    hint="the scheduler has its own load_state_dict"),
            Mistake("step-not-returned", "your function does not return the saved step",
                    _load_variant("step-not-returned"),
                    hint="return the step stored in the checkpoint"),
        ],
    ),
    Exercise(
        id="09.10",
        title="a mixed-precision training step",
        points=2,
        reference=_library("amp_step"),
        cases=_amp_cases,
        run=_run_amp,
        compare=_agree,
        section=SECTION_TRAIN + ": mixed precision",
        mistakes=[
            Mistake("no-autocast", "your forward pass ran in float32: nothing was cast to the "
                    "16-bit dtype", _amp_variant("no-autocast"),
                    hint="the forward pass and the loss go inside torch.autocast"),
            Mistake("loss-outside-autocast", "your loss was computed outside autocast, in the "
                    "16-bit dtype of the logits", _amp_variant("loss-outside-autocast"),
                    hint="the loss belongs inside the autocast block, which runs cross-entropy "
                         "in float32"),
            Mistake("scaled-loss-returned", "you returned the loss multiplied by the scaler's "
                    "scale", _amp_variant("scaled-loss-returned"),
                    hint="the scaled loss is only for backward: report the loss itself"),
            Mistake("tensor-returned", "you returned the loss tensor, not a number",
                    _amp_variant("tensor-returned"), hint="return a Python float"),
            Mistake("no-zero-grad", "from the second step on, your gradients include the "
                    "earlier steps'", _amp_variant("no-zero-grad"),
                    hint="clear the gradients at the start of every step"),
        ],
    ),
]
