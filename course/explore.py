"""Lessons 05-06 experiments: what depth, activation, initialisation, residual connections,
normalisation, clipping, the optimizer and the learning rate do to a network's gradients.

Plain compute functions of a :class:`Settings` (no widgets, no figures; importable without
ipywidgets), built on ``course.mlp``, ``course.layers`` and ``course.diagnostics``:
:func:`gradient_profile` (one forward/backward at initialisation: per-layer gradient norms,
activations, dead units), :func:`jacobian_norms` (the spectral norm of each layer's Jacobian and
their running product), :func:`train_run` (a short training run: loss curve, divergence, the
decision boundary; :func:`train_stream` yields it piece by piece) and
:func:`clipped_update_norm` (the size of one clipped SGD step).

The interactive explorer that draws them lives in ``course.widgets`` (which imports this
module, never the other way round)::

    from course.widgets import explore
    explore(depth=30, activation="sigmoid", init="small normal")
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from course.diagnostics import dead_fraction
from course.layers import ACTIVATIONS as LAYER_ACTIVATIONS
from course.layers import NORMS as LAYER_NORMS
from course.layers import Linear, Residual

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
INITS = ("small normal", "xavier", "he", "large normal")
INIT_STD = {"small normal": 0.01, "large normal": 1.0}
NORMS = (None, *LAYER_NORMS)
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
N_POINTS = 200
GRID = 60
STREAM_CHUNK = 5


@dataclass(frozen=True)
class Settings:
    """One point in the explorer's control space.

    depth: number of hidden layers (1-50), each ``width`` units wide; the network maps 2 inputs
    to 2 class scores. activation: one of ACTIVATIONS (the MLP's names); init: one of INITS;
    norm: None, 'layernorm' or 'batchnorm', placed before each hidden activation; residual:
    hidden layers become h + f(h). lr, optimizer (one of OPTIMIZERS), clip (global-norm
    threshold tau, None for off) and steps (full-batch steps) configure the training run;
    seed fixes data, weights and order.
    """

    depth: int = 10
    width: int = 32
    activation: str = "tanh"
    init: str = "xavier"
    residual: bool = False
    norm: str | None = None
    lr: float = 0.03
    optimizer: str = "adam"
    clip: float | None = None
    steps: int = 40
    seed: int = 0

    def __post_init__(self):
        require_int("depth", self.depth, 1, 50)
        require_int("width", self.width, 1, 1024)
        require_int("steps", self.steps, 1, 100_000)
        require_choice("activation", self.activation, ACTIVATIONS)
        require_choice("init", self.init, INITS)
        require_choice("norm", self.norm, NORMS)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.clip is not None and not (isinstance(self.clip, (int, float)) and self.clip > 0):
            raise ValueError(f"clip must be a number > 0 or None (no clipping), got {self.clip!r}")


def require_int(name: str, value, low: int, high: int) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            low <= value <= high):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def require_choice(name: str, value, choices: tuple) -> None:
    """Raise ValueError naming ``name`` and the choices unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


# ---------------------------------------------------------------- data and network


def two_moons(n: int = N_POINTS, noise: float = 0.15, seed: int = 0):
    """course.data.moons, standardised to zero mean and unit variance per feature.

    Returns x (n, 2) float64 and y (n,) int64 labels in {0, 1}.
    """
    from course.data import moons

    x, y = moons(n, noise=noise, seed=seed)
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def build_net(s: Settings):
    """The MLP for settings ``s``: sizes [2] + [width] * depth + [2], weights seeded by s.seed."""
    from course.mlp import MLP

    init = s.init if s.init in ("xavier", "he") else ("normal", INIT_STD[s.init])
    return MLP([2] + [s.width] * s.depth + [2], activation=s.activation, init=init,
               residual=s.residual, norm=s.norm, seed=s.seed)


def _loss():
    from course.losses import SoftmaxCrossEntropy

    return SoftmaxCrossEntropy()


def _optimizer(s: Settings, params):
    from course.optim import SGD, Adam, AdamW

    if s.optimizer == "sgd":
        return SGD(params, s.lr)
    if s.optimizer == "momentum":
        return SGD(params, s.lr, momentum=0.9)
    if s.optimizer == "adam":
        return Adam(params, s.lr)
    return AdamW(params, s.lr, weight_decay=0.01)


# ---------------------------------------------------------------- compute: at initialisation


@dataclass
class GradientProfile:
    """One forward/backward pass at initialisation on the two-moons batch.

    grad_norms: (depth + 1,) ||dL/dW|| of each Linear layer, input side first.
    signal_norms: ||dL/dh|| at the input of each block (a Linear layer or a residual block),
    input side first: the gradient signal travelling back through the layers. Entry 0 is the
    gradient with respect to the data x, entry 1 that at the first hidden layer's output.
    activations: depth arrays (n, width), the output of each hidden activation.
    dead: (depth,) fraction of units inactive (output <= 0) on the whole batch, for ReLU and
    leaky ReLU (whose inactive units still pass slope times the gradient); 0 otherwise.
    loss: the loss at initialisation (nan or inf when the forward pass overflowed).
    """

    grad_norms: np.ndarray
    signal_norms: np.ndarray
    activations: list
    dead: np.ndarray
    loss: float

    @property
    def ratio(self) -> float:
        """||dL/dh|| at the first hidden layer over that at the last: ~1 healthy.

        << 1: the gradient vanishes on its way back; >> 1: it explodes. This is the product of
        the depth - 1 hidden-to-hidden Jacobians applied to the gradient (1 when depth is 1).
        """
        first, last = self.signal_norms[1], self.signal_norms[-1]
        return float(first / last) if last > 0 and np.isfinite(last) else math.nan

    @property
    def weight_ratio(self) -> float:
        """||dL/dW|| of the first Linear layer over that of the last one."""
        first, last = self.grad_norms[0], self.grad_norms[-1]
        return float(first / last) if last > 0 and np.isfinite(last) else math.nan


_ACTIVATION_LAYERS = tuple(cls for name, cls in LAYER_ACTIVATIONS.items() if name != "identity")


def _forward_recording(net, x) -> list:
    """net.forward(x), returning the output (n, width) of every hidden activation layer, input
    side first (residual blocks opened; each block's inner layers run once more to record)."""
    outs: list = []
    h = x
    for layer in net.layers:
        if isinstance(layer, Residual):
            inner = h
            for sub in layer.layers:
                inner = sub.forward(inner)
                if isinstance(sub, _ACTIVATION_LAYERS):
                    outs.append(inner)
        h = layer.forward(h)
        if isinstance(layer, _ACTIVATION_LAYERS):
            outs.append(h)
    return outs


def gradient_profile(s: Settings, n: int = N_POINTS) -> GradientProfile:
    """Per-layer gradient norms, activations and dead fractions of a fresh net (see the class)."""
    x, y = two_moons(n, seed=s.seed)
    net = build_net(s)
    loss_fn = _loss()
    with np.errstate(all="ignore"):
        activations = [np.asarray(a, dtype=np.float64) for a in _forward_recording(net, x)]
        loss = float(loss_fn.forward(net.forward(x), y))
        signal = _backward_signal(net.layers, loss_fn.backward())
    norms = np.array([_norm(layer.grads["W"]) for layer in net.linear_layers()])
    relu_like = s.activation in ("relu", "leaky_relu")
    dead = np.array([dead_fraction(a) if relu_like else 0.0 for a in activations])
    return GradientProfile(norms, signal, activations, dead, loss)


def _backward_signal(layers, upstream) -> np.ndarray:
    """net.backward, one top-level layer at a time (last first), returning ||dL/d input|| of
    each block (a Linear layer or a residual block), input side first."""
    norms = []
    for layer in reversed(layers):
        upstream = layer.backward(upstream)
        if isinstance(layer, (Linear, Residual)):
            norms.append(_norm(upstream))
    return np.array(norms[::-1])


def _norm(a) -> float:
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.sum(np.square(np.asarray(a, dtype=np.float64)))))


@dataclass
class JacobianNorms:
    """How much each hidden layer stretches a gradient, for layers 2 .. depth of a plain net.

    For h_l = phi(h_(l-1) W_l + b_l) the Jacobian of one example, acting on row gradients, is
    J_l = diag(phi'(z_l)) W_l^T. sigma_max: (depth - 1,) its largest singular value (the most
    it can stretch any gradient), averaged over examples; rms: (depth - 1,) the root mean square
    of its singular values, ||J_l||_F / sqrt(width) (the stretch of a gradient pointing in a
    random direction). The running products bound and estimate the gradient's growth.
    """

    sigma_max: np.ndarray
    rms: np.ndarray

    @property
    def bound(self) -> np.ndarray:
        """Running product of sigma_max: an upper bound on ||g_first|| / ||g_last||."""
        return np.cumprod(self.sigma_max)

    @property
    def typical(self) -> np.ndarray:
        """Running product of the rms stretch: the growth of a randomly oriented gradient."""
        return np.cumprod(self.rms)


def jacobian_norms(s: Settings, n: int = N_POINTS, examples: int = 16) -> JacobianNorms:
    """The singular-value picture of a plain network at initialisation (see JacobianNorms).

    Uses the first ``examples`` points of the two-moons batch; phi and phi' are those of the
    network's own activation layers (phi' as the layer's backward of ones). Raises ValueError
    for residual or normalised networks, whose layers are not of the form phi(h W + b).
    """
    if s.residual or s.norm is not None:
        raise ValueError("jacobian_norms needs a plain network: residual=False and norm=None")
    x, _ = two_moons(n, seed=s.seed)
    net = build_net(s)
    h = x[:examples]
    sigma_max, rms = [], []
    with np.errstate(all="ignore"):
        for i, layer in enumerate(net.layers[:-1]):
            out = layer.forward(h)
            if isinstance(layer, _ACTIVATION_LAYERS) and i > 1:
                w = np.asarray(net.layers[i - 1].params["W"], dtype=np.float64)
                dphi = layer.backward(np.ones_like(out))
                jac = dphi[:, :, None] * w.T[None, :, :]
                sigma_max.append(float(np.mean(np.linalg.norm(jac, 2, axis=(1, 2)))))
                rms.append(float(np.sqrt(np.mean(np.sum(jac**2, axis=(1, 2)) / w.shape[0]))))
            h = out
    return JacobianNorms(np.array(sigma_max), np.array(rms))


# ---------------------------------------------------------------- compute: training


@dataclass
class TrainingRun:
    """A short full-batch training run on two moons.

    loss: (steps run,) the loss before each step; diverged_at: 1-based step or None;
    message: "" or "diverged at step k (...)"; boundary: (GRID, GRID) predicted labels over
    ``extent`` = (x_min, x_max, y_min, y_max) (None while the run is partial); accuracy:
    training accuracy at the end (nan if diverged or partial); done: False for the partial
    runs :func:`train_stream` yields before the last.
    """

    loss: np.ndarray
    diverged_at: int | None
    message: str
    boundary: np.ndarray | None
    extent: tuple | None
    accuracy: float
    done: bool = True


def train_stream(s: Settings, n: int = N_POINTS, chunk: int = STREAM_CHUNK):
    """Train a fresh net for s.steps full-batch steps, yielding a partial :class:`TrainingRun`
    (the loss so far, done=False) every ``chunk`` steps and the finished one last. The steps
    are those of one uninterrupted run, so the last yield equals :func:`train_run`."""
    from course.plots import boundary_grid
    from course.train import accuracy, fit, predict

    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    x, y = two_moons(n, seed=s.seed)
    net = build_net(s)
    opt, loss_fn = _optimizer(s, net.parameters()), _loss()
    losses: list = []
    diverged_at, message = None, ""
    for first in range(1, s.steps + 1, chunk):
        steps = min(chunk, s.steps - first + 1)
        history = fit(net, loss_fn, opt, x, y, steps=steps, batch_size=None, clip=s.clip,
                      seed=s.seed, progress=False, verbose=False, first_step=first)
        losses += history.loss
        if history.diverged:
            diverged_at, message = history.diverged_at, history.message
            break
        if first + steps <= s.steps:
            yield TrainingRun(np.array(losses), None, "", None, None, math.nan, done=False)
    xx, yy, points = boundary_grid(x, GRID)
    extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
    if diverged_at is not None:
        yield TrainingRun(np.array(losses), diverged_at, message, np.full(xx.shape, np.nan),
                          extent, math.nan)
        return
    labels = np.asarray(predict(net, points), dtype=np.float64).reshape(xx.shape)
    yield TrainingRun(np.array(losses), None, "", labels, extent, accuracy(net, x, y))


def train_run(s: Settings, n: int = N_POINTS) -> TrainingRun:
    """Train a fresh net for s.steps full-batch steps; never raises on NaN/inf (see the class)."""
    return list(train_stream(s, n, chunk=s.steps))[-1]


def clipped_update_norm(s: Settings, n: int = N_POINTS) -> float:
    """Norm of the parameter change made by ONE plain SGD step (lr = s.lr, clip = s.clip).

    With clipping at tau the step is at most lr * tau, however large the raw gradient.
    Returns inf or nan when the raw gradient is not finite.
    """
    from course.optim import SGD, clip_grad_norm

    x, y = two_moons(n, seed=s.seed)
    net = build_net(s)
    loss_fn = _loss()
    with np.errstate(all="ignore"):
        loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward())
        grads = net.gradients()
        if s.clip is not None:
            clip_grad_norm(grads, s.clip)
        before = {k: np.array(v, copy=True) for k, v in net.parameters().items()}
        SGD(net.parameters(), s.lr).step(grads)
        return math.sqrt(sum(float(np.sum((p - before[k]) ** 2))
                             for k, p in net.parameters().items()))


def at_initialisation(s: Settings) -> Settings:
    """s with the training settings (lr, optimizer, clip, steps) at their defaults: one key for
    every setting that shares the network at initialisation, and so its gradient profile."""
    default = Settings()
    return replace(s, lr=default.lr, optimizer=default.optimizer, clip=default.clip,
                   steps=default.steps)
