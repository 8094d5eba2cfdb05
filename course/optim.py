"""Optimizers and gradient clipping over dicts of named arrays (numpy arrays or torch tensors).

Every optimizer holds the live parameter arrays (``net.parameters()``: name -> array) and updates
them IN PLACE from a dict of gradients with the same names (``net.gradients()``)::

    opt = Adam(net.parameters(), lr=1e-3)
    opt.step(net.gradients())

The update rules follow ``torch.optim`` exactly (same defaults, same order of operations), so a
step here and a step there agree to rounding on identical gradients. Arrays keep their dtype and
device; the state (momentum buffers, moment estimates) is kept per parameter name in
``opt.state[name]``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Mapping

from course.backend import copy, is_array, is_torch, namespace, sum_of_squares


class Optimizer:
    """Base class: validates the parameters and the gradients and keeps per-name state.

    params: dict name -> array (any shape); the optimizer updates these arrays in place.
    """

    def __init__(self, params: Mapping, lr: float):
        if not isinstance(params, Mapping) or not params:
            raise TypeError(
                f"params must be a non-empty dict name -> array (net.parameters()), got "
                f"{type(params).__name__}"
            )
        for name, p in params.items():
            if not is_array(p):
                raise TypeError(
                    f"params[{name!r}] must be a numpy array or torch tensor, "
                    f"got {type(p).__name__}"
                )
        self.params = dict(params)
        self.lr = lr
        self.state: dict[str, dict] = {name: {} for name in self.params}
        self.steps = 0
        self._torch = any(is_torch(p) for p in self.params.values())

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise ValueError(f"lr must be a finite number >= 0, got {value!r}")
        self._lr = float(value)

    def _check_grads(self, grads: Mapping) -> None:
        if not isinstance(grads, Mapping):
            raise TypeError(f"grads must be a dict name -> array, got {type(grads).__name__}")
        missing = [name for name in self.params if name not in grads]
        if missing:
            raise KeyError(
                f"grads is missing the parameter(s) {missing}; "
                f"expected the names {list(self.params)}"
            )
        extra = [name for name in grads if name not in self.params]
        if extra:
            raise KeyError(f"grads has name(s) {extra} that are not parameters of this optimizer")
        for name, p in self.params.items():
            g = grads[name]
            if tuple(g.shape) != tuple(p.shape):
                raise ValueError(
                    f"gradient of parameter {name!r} has shape {tuple(g.shape)}, "
                    f"expected {tuple(p.shape)} (the parameter's shape)"
                )

    def step(self, grads: Mapping) -> None:
        """Update every parameter in place from ``grads`` (dict name -> array of its shape)."""
        self._check_grads(grads)
        self.steps += 1
        with self._no_grad():
            for name, p in self.params.items():
                self._update(name, p, grads[name], self.state[name])

    def _no_grad(self):
        """torch.no_grad() for torch parameters (in-place updates of leaves need it)."""
        if not self._torch:
            return contextlib.nullcontext()
        import torch

        return torch.no_grad()

    def _update(self, name, p, g, state) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update")


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    torch.optim.SGD's rule (dampening 0)::

        g <- g + weight_decay * p
        v <- g                      on the first step
        v <- momentum * v + g       afterwards
        p <- p - lr * (g + momentum * v)   if nesterov, else   p <- p - lr * v
    """

    def __init__(self, params: Mapping, lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    def _update(self, name, p, g, state) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = copy(g)
            else:
                state["velocity"] *= self.momentum
                state["velocity"] += g
            v = state["velocity"]
            g = g + self.momentum * v if self.nesterov else v
        p -= self.lr * g


class RMSprop(Optimizer):
    """RMSProp (torch.optim.RMSprop's rule, no momentum, not centred)::

        s <- alpha s + (1 - alpha) g^2
        p <- p - lr * g / (sqrt(s) + eps)
    """

    def __init__(self, params: Mapping, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must lie in [0, 1), got {alpha!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.alpha = float(alpha)
        self.eps = float(eps)

    def _update(self, name, p, g, state) -> None:
        if "s" not in state:
            state["s"] = namespace(p).zeros_like(p)
            state["xp"] = namespace(p)
        s, xp = state["s"], state["xp"]
        s *= self.alpha
        s += (1.0 - self.alpha) * (g * g)
        p -= self.lr * (g / (xp.sqrt(s) + self.eps))


class Adam(Optimizer):
    """Adam with bias correction (torch.optim.Adam's rule; weight_decay is L2 added to g)::

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    decoupled = False

    def __init__(self, params: Mapping, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must both lie in [0, 1), got {betas!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, name, p, g, state) -> None:
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                p *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        if "m" not in state:
            xp = namespace(p)
            state["m"] = xp.zeros_like(p)
            state["v"] = xp.zeros_like(p)
            state["t"] = 0
            state["xp"] = xp
        state["t"] += 1
        t, m, v, xp = state["t"], state["m"], state["v"], state["xp"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        step_size = self.lr / (1.0 - b1**t)
        denom = xp.sqrt(v) / math.sqrt(1.0 - b2**t) + self.eps
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW): first p <- p (1 - lr wd), then Adam."""

    decoupled = True

    def __init__(self, params: Mapping, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)


def warmup_cosine(step: int, steps: int, warmup: int) -> float:
    """The learning-rate factor at ``step`` (1-based) of a run of ``steps`` steps.

    A linear warm-up over the first ``warmup`` steps (step / warmup, so step 1 takes 1/warmup of
    the rate), then a cosine decay from 1 to 0 over the remaining steps:
    0.5 (1 + cos(pi (step - warmup) / (steps - warmup))). ``fit(..., schedule=...)`` multiplies
    the optimizer's rate by it before every step.
    """
    if not (isinstance(steps, numbers.Integral) and isinstance(warmup, numbers.Integral)
            and 0 <= warmup < steps):
        raise ValueError(f"need integers 0 <= warmup < steps, got warmup={warmup!r}, "
                         f"steps={steps!r}")
    if not (isinstance(step, numbers.Integral) and 1 <= step <= steps):
        raise ValueError(f"step must be an integer in [1, {steps}], got {step!r}")
    if step <= warmup:
        return step / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (steps - warmup)))


def global_norm(grads: Mapping) -> float:
    """sqrt(sum over all arrays of sum(g**2)): the norm of all gradients seen as one vector."""
    return math.sqrt(sum(sum_of_squares(g) for g in grads.values()))


def clip_grad_norm(grads: Mapping, max_norm: float) -> float:
    """Scale every gradient in place by min(1, max_norm / ||g||), ||g|| the global norm.

    grads: dict name -> array (any shapes). Returns the global norm BEFORE clipping. A non-finite
    norm (NaN/inf in a gradient) is returned as it is and the gradients are left untouched, so the
    caller can report the divergence instead of silently zeroing or spreading NaN.
    """
    if not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"max_norm must be a number > 0, got {max_norm!r}")
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict name -> array, got {type(grads).__name__}")
    norm = global_norm(grads)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= scale
    return norm
