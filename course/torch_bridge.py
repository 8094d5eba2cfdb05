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

This module imports torch: import it only where torch is installed (``import course`` does not).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

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
