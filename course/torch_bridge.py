"""The course's networks next to torch: pick a device, let torch.autograd check our backward,
run a course layer's hand-written backward inside torch, and time one training step.

- :func:`pick_device` / :func:`describe_device`: CUDA when a GPU is visible, else the CPU.
- :func:`torch_module`: a course MLP rebuilt from ``torch.nn`` modules holding copies of its
  weights; :func:`autograd_gradients` differentiates it with ``torch.autograd`` and returns the
  gradients under the course's names and shapes, to compare with ``net.gradients()``.
- :class:`LayerFunction`: a ``torch.autograd.Function`` whose backward is the course layer's own
  ``backward`` (torch does not differentiate the layer), so ``torch.autograd.gradcheck`` can
  test it; :class:`HandWritten` is the same as a ``torch.nn.Module``.
- :func:`step_seconds`: the time of one training step of the course MLP on numpy or torch.
- PyTorch training as its users write it (lesson 09, section 7): :class:`DigitsDataset`,
  :func:`train_epoch`, :func:`evaluate`, :func:`save_checkpoint` / :func:`load_checkpoint`,
  :func:`amp_step`; the exercises of that section are these functions.
- What a GPU changes: :func:`checkpoint_peaks` (peak CUDA memory, gradients allocated before the
  window), :func:`loop_seconds` (``.item()`` as a synchronisation point), :func:`tf32_matmul`,
  :func:`compile_backend` (which ``torch.compile`` backend this machine can run).

This module imports torch: import it only where torch is installed (``import course`` does not).
"""

from __future__ import annotations

import importlib.util
import shutil
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from course.backend import is_torch, to_numpy
from course.gradcheck import relative_error
from course.layers import (
    GELU,
    BatchNorm,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    ReLU,
    Residual,
    Sigmoid,
    Tanh,
)
from course.losses import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD
from course.timing import timeit

# ---------------------------------------------------------------- devices


def pick_device(prefer: str | None = None) -> torch.device:
    """``cuda`` when torch sees a CUDA GPU, else ``cpu``; prefer='cpu' or 'cuda' to insist."""
    if prefer not in (None, "cpu", "cuda"):
        raise ValueError(f"prefer must be None, 'cpu' or 'cuda', got {prefer!r}")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("prefer='cuda' but torch sees no CUDA GPU "
                           f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})")
    if prefer == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def describe_device(device) -> str:
    """One line saying which device runs and why: 'cuda (NVIDIA ...)' or 'cpu (...)'."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda})"
    if torch.version.cuda is None:
        return f"cpu (torch {torch.__version__} is a CPU build)"
    if not torch.cuda.is_available():
        return f"cpu (torch {torch.__version__} is a CUDA build, but no GPU is visible)"
    return "cpu (chosen, although a CUDA GPU is available)"


# ---------------------------------------------------------------- the same network in torch.nn


class _ResidualModule(nn.Module):
    """out = x + body(x), as course.layers.Residual."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def _copy(p) -> torch.Tensor:
    """A copy of a numpy array (on the CPU) or a torch tensor (on its device), dtype kept."""
    return p.detach().clone() if is_torch(p) else torch.as_tensor(np.array(p))


def _as_parameter(p) -> nn.Parameter:
    return nn.Parameter(_copy(p))


def _module_of(layer, names: dict) -> nn.Module:
    """One course layer as a torch module; records course name -> (torch parameter, transposed)."""
    if isinstance(layer, Residual):
        return _ResidualModule(nn.Sequential(*(_module_of(sub, names) for sub in layer.layers)))
    params = layer.params
    if isinstance(layer, Linear):
        module = nn.Linear(layer.d_in, layer.d_out)
        module.weight = nn.Parameter(_copy(params["W"]).T.contiguous())
        module.bias = _as_parameter(params["b"])
        names[f"{layer.name}.W"] = (module.weight, True)
        names[f"{layer.name}.b"] = (module.bias, False)
        return module
    if isinstance(layer, (LayerNorm, BatchNorm)):
        if isinstance(layer, LayerNorm):
            module = nn.LayerNorm(layer.d, eps=layer.eps)
        else:
            module = nn.BatchNorm1d(layer.d, eps=layer.eps, momentum=layer.momentum)
            module.running_mean = _copy(layer.buffers["running_mean"])
            module.running_var = _copy(layer.buffers["running_var"])
            module.train(layer.training)
        module.weight = _as_parameter(params["gamma"])
        module.bias = _as_parameter(params["beta"])
        names[f"{layer.name}.gamma"] = (module.weight, False)
        names[f"{layer.name}.beta"] = (module.bias, False)
        return module
    if isinstance(layer, LeakyReLU):
        return nn.LeakyReLU(layer.slope)
    simple = {Sigmoid: nn.Sigmoid, Tanh: nn.Tanh, ReLU: nn.ReLU, Identity: nn.Identity,
              GELU: lambda: nn.GELU(approximate="tanh")}
    if type(layer) not in simple:
        raise TypeError(f"torch_module: no torch.nn counterpart for {layer!r}")
    return simple[type(layer)]()


def torch_module(net: MLP):
    """(module, names): ``net`` rebuilt from torch.nn modules with copies of its weights.

    module: a torch.nn.Sequential in the net's dtype, on the net's device (the CPU for a numpy
    net). names: course parameter name ('0.W', '0.b', ...) -> (the torch Parameter, True when
    it holds the transpose: nn.Linear keeps its weight as (d_out, d_in), the course W as
    (d_in, d_out)).
    """
    names: dict = {}
    module = nn.Sequential(*(_module_of(layer, names) for layer in net.layers))
    return module, names


_TORCH_LOSSES = {
    SoftmaxCrossEntropy: lambda out, y: nn.functional.cross_entropy(out, y),
    MSE: lambda out, y: nn.functional.mse_loss(out, y),
    BinaryCrossEntropy: lambda out, y: nn.functional.binary_cross_entropy_with_logits(
        out, y.to(out.dtype).reshape(out.shape)),
}


def autograd_gradients(net: MLP, loss_fn, x, y):
    """(loss, grads): torch.autograd's gradients of ``loss_fn`` on ``net`` for the batch (x, y).

    x: (n, d_in) numpy or torch; y: labels (n,) or targets (n, d_out); loss_fn: a course loss
    (SoftmaxCrossEntropy, MSE, BinaryCrossEntropy), replaced by torch's own. Runs on the net's
    device. grads: course name -> numpy array in the course's shape, the same keys as
    ``net.gradients()``.
    """
    if type(loss_fn) not in _TORCH_LOSSES:
        raise TypeError(f"loss_fn must be one of {[c.__name__ for c in _TORCH_LOSSES]}, "
                        f"got {loss_fn!r}")
    module, names = torch_module(net)
    device = next(iter(names.values()))[0].device
    xt = torch.as_tensor(to_numpy(x), device=device)
    yt = torch.as_tensor(to_numpy(y), device=device)
    loss = _TORCH_LOSSES[type(loss_fn)](module(xt), yt)
    loss.backward()
    grads = {name: to_numpy(p.grad.T if transposed else p.grad)
             for name, (p, transposed) in names.items()}
    return float(loss.detach()), grads


def gradient_errors(ours: dict, theirs: dict) -> dict:
    """name -> relative_error(ours[name], theirs[name]) for two gradient dicts with equal keys
    (numpy arrays or torch tensors on any device). A gradient that is zero in exact arithmetic
    (the bias just before a BatchNorm) compares two round-offs and shows a large error."""
    if set(ours) != set(theirs):
        raise ValueError(f"the gradient dicts name different parameters: {sorted(ours)} vs "
                         f"{sorted(theirs)}")
    return {k: relative_error(to_numpy(ours[k]), to_numpy(theirs[k])) for k in ours}


# ---------------------------------------------------------------- our backward inside torch


class LayerFunction(torch.autograd.Function):
    """A course layer as one torch operation: forward is ``layer.forward``, backward is the
    layer's hand-written ``layer.backward`` (torch records no graph inside the layer).

    Call ``LayerFunction.apply(layer, x, *params)`` with x (n, d_in) and the layer's parameter
    tensors in ``layer.params`` order; it returns the layer's output (n, d_out). The layer's
    params are bound to these tensors, its buffers (BatchNorm's running statistics) move to x's
    device and dtype, and each call keeps its own cache, so several forwards may run before
    their backwards.
    """

    @staticmethod
    def forward(ctx, layer, x, *params):
        names = list(layer.params)
        if len(params) != len(names):
            raise ValueError(f"LayerFunction: {layer!r} has parameters {names}; pass one tensor "
                             f"for each, got {len(params)}")
        layer.params = {k: p.detach() for k, p in zip(names, params)}
        layer.buffers = {k: torch.as_tensor(b, dtype=x.dtype, device=x.device)
                         for k, b in layer.buffers.items()}
        out = layer.forward(x.detach())
        ctx.layer, ctx.names, ctx.params, ctx.cache = layer, names, layer.params, layer.cache
        return out

    @staticmethod
    def backward(ctx, upstream):
        layer = ctx.layer
        layer.params, layer.cache = ctx.params, ctx.cache
        dx = layer.backward(upstream.contiguous())
        return (None, dx, *(layer.grads[k] for k in ctx.names))


class HandWritten(nn.Module):
    """A course layer as a torch.nn.Module whose gradients come from the layer's own backward.

    Its parameters become ``nn.Parameter`` s (torch tensors, same names), so torch optimizers and
    torch.nn.Sequential can use it next to torch's own modules.
    """

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.names = list(layer.params)
        for k, p in layer.params.items():
            self.register_parameter(k, nn.Parameter(torch.as_tensor(to_numpy(p)).clone()))

    def forward(self, x):
        return LayerFunction.apply(self.layer, x, *(getattr(self, k) for k in self.names))


# ---------------------------------------------------------------- timing


def step_seconds(sizes, batch: int, xp: str = "numpy", device=None, dtype: str = "float32",
                 repeats: int = 5, seed: int = 0) -> float:
    """Seconds of one training step (forward, loss, backward, SGD update) of the course
    MLP(sizes) on a random batch (batch, sizes[0]) with softmax cross-entropy.

    xp: 'numpy' or 'torch' (on ``device``); the same course code runs in both. Two warm-up steps
    come first, then the fastest of ``repeats`` timed steps is returned (as timeit does: on a
    shared machine a step is only ever slowed down by others, never sped up); on a GPU the
    clock is read after torch.cuda.synchronize.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    rng = np.random.default_rng(seed)
    net = MLP(sizes, seed=seed, dtype=dtype).to(xp, device)
    x = rng.normal(size=(batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch)
    if xp == "torch":
        x, y = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)
    loss_fn, opt = SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.01)
    cuda = xp == "torch" and torch.device(device or "cpu").type == "cuda"

    def step():
        loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward(), input_grad=False)
        opt.step(net.gradients())

    return timeit(step, repeats, warmup=2, stat="min",
                  sync=torch.cuda.synchronize if cuda else None)


# ------------------------------------------------ PyTorch training as users write it


class DigitsDataset(Dataset):
    """Numpy arrays as a map-style torch Dataset: x (n, d) float -> float32 tensor, y (n,) int
    -> int64 tensor, converted once; item i is (x[i] (d,), y[i] ()); len is n rows."""

    def __init__(self, x, y):
        self.x = torch.as_tensor(x, dtype=torch.float32)
        self.y = torch.as_tensor(y, dtype=torch.int64)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def train_epoch(model, loader, optimizer, max_norm, device="cpu"):
    """One pass over ``loader`` in training mode: per batch clear the gradients, forward, mean
    cross-entropy, backward, clip the gradients' global norm to ``max_norm``, step. Returns the
    loss of each batch (Python floats, before its step)."""
    model.train()
    losses = []
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


def evaluate(model, loader, device="cpu"):
    """(mean cross-entropy per row, accuracy) over every row of ``loader``, in evaluation mode
    (Dropout off, BatchNorm on its running statistics) and without recording a graph."""
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += len(y)
    return total / n, correct / n


def save_checkpoint(path, step, model, optimizer, scheduler):
    """Write everything a run needs to continue exactly: the step, and the state_dicts of the
    model (weights and buffers), the optimizer (its moments and step counts) and the scheduler."""
    torch.save({"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, path)


def load_checkpoint(path, model, optimizer, scheduler):
    """Restore what :func:`save_checkpoint` wrote into freshly built objects; returns the step.
    Tensors load onto the CPU first (a checkpoint written on a GPU opens anywhere);
    load_state_dict copies them to wherever the model and optimizer live."""
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint["step"]


def amp_step(model, optimizer, scaler, x, y, dtype):
    """One mixed-precision training step: the forward pass and the loss under autocast in
    ``dtype`` on x's device, backward through the scaler's scaled loss, the scaler's step (it
    unscales the gradients and skips the step when one is inf or NaN) and its update. Returns
    the loss as a Python float."""
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=dtype):
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()


# ---------------------------------------------------------------- what a GPU changes


def checkpoint_peaks(module: nn.Module, x, y, segments: int) -> dict:
    """label -> peak CUDA bytes allocated above the start of one forward + backward, for
    'plain' and 'checkpoint_sequential': what the forward pass keeps plus backward's
    temporaries. A warm-up forward + backward comes first (CUDA's workspaces and the gradient
    buffers are allocated then, outside the measured window), and the gradients are zeroed in
    place, not freed: the window holds activations, not gradients or weights."""
    from torch.utils.checkpoint import checkpoint_sequential

    runs = {"plain": lambda: module(x),
            "checkpoint_sequential": lambda: checkpoint_sequential(module, segments, x,
                                                                   use_reentrant=False)}
    F.cross_entropy(module(x), y).backward()  # warm-up: workspaces and .grad buffers
    peaks = {}
    for label, run in runs.items():
        module.zero_grad(set_to_none=False)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        F.cross_entropy(run(), y).backward()
        torch.cuda.synchronize()
        peaks[label] = torch.cuda.max_memory_allocated() - start
    return peaks


def loop_seconds(model: nn.Module, x, y, steps: int, item_every_step: bool) -> float:
    """Wall-clock seconds of ``steps`` SGD steps on one batch: with ``loss.item()`` in every
    step (the CPU waits for the device each time) or the losses summed on the device and read
    once at the end. Both end with the device finished (synchronised)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    cuda = x.device.type == "cuda"

    def run():
        total = torch.zeros((), device=x.device)
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if item_every_step:
                loss.item()
            else:
                total += loss.detach()
        total.item()

    run()  # warm-up
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def tf32_matmul(device, n: int = 4096, repeats: int = 5) -> dict | None:
    """For a float32 (n, n) @ (n, n) on a CUDA GPU with TF32 (compute capability 8.0 or later):
    {'float32 s', 'tf32 s', 'float32 error', 'tf32 error'}: fastest time of ``repeats`` and the
    relative error against float64. None on the CPU or a GPU without TF32. The precision setting
    is restored afterwards."""
    device = torch.device(device)
    if device.type != "cuda" or torch.cuda.get_device_capability(device)[0] < 8:
        return None
    g = torch.Generator(device=device).manual_seed(0)
    a, b = (torch.randn(n, n, device=device, generator=g) for _ in range(2))
    exact = a.double() @ b.double()
    before = torch.get_float32_matmul_precision()
    out = {}
    try:
        for label, precision in (("float32", "highest"), ("tf32", "high")):
            torch.set_float32_matmul_precision(precision)
            seconds = timeit(lambda: a @ b, repeats, warmup=2, stat="min",
                             sync=torch.cuda.synchronize)
            err = float((a @ b).double().sub(exact).norm() / exact.norm())
            out[f"{label} s"], out[f"{label} error"] = seconds, err
    finally:
        torch.set_float32_matmul_precision(before)
    return out


def compile_backend(device) -> tuple[str | None, str]:
    """(backend, why): which torch.compile backend this run can use on ``device``.

    'inductor' (code generation: Triton kernels on a GPU) on CUDA when Triton is installed;
    'aot_eager' on the CPU, where inductor would first compile C++ for minutes on a small
    machine: it captures the same graphs (TorchDynamo, AOTAutograd) and runs them with torch's
    own kernels (a first inductor compile of a tiny MLP took 55 s on a 2-core machine). None,
    with the reason, where torch.compile cannot run here.
    """
    device = torch.device(device)
    try:
        import torch._dynamo as dynamo
        supported = dynamo.is_dynamo_supported()
    except Exception as exc:  # an old or unusual build
        return None, f"torch.compile is not available in this torch build ({exc})"
    if not supported:
        return None, ("torch.compile does not support this Python or platform yet "
                      "(TorchDynamo is unavailable); the lesson runs without it")
    if device.type == "cuda":
        if importlib.util.find_spec("triton") is None:
            return None, "torch.compile on CUDA needs Triton, which is not installed here"
        if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
            return "aot_eager", ("aot_eager: graph capture only (Triton needs a C compiler to "
                                 "build its kernel launcher, and this machine has none)")
        return "inductor", "inductor: Triton kernels generated for this GPU"
    if shutil.which("c++") is None and shutil.which("g++") is None:
        return "aot_eager", ("aot_eager: graph capture only (no C++ compiler on this machine "
                             "for inductor's CPU code)")
    return "aot_eager", ("aot_eager: graph capture only (inductor's first C++ build takes about "
                         "a minute on a 2-core machine; pass backend='inductor' to try it)")
