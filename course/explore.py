"""Interactive explorers: what depth, activation, initialisation, residual connections,
normalisation, clipping, the optimizer and the learning rate do to a network's gradients.

Two layers, kept apart so the physics can be tested without a browser:

- pure compute functions of a :class:`Settings` (no widgets, no figures):
  :func:`gradient_profile` (one forward/backward at initialisation: per-layer gradient norms,
  activations, dead units), :func:`jacobian_norms` (the spectral norm of each layer's Jacobian and
  their running product), :func:`train_run` (a short training run: loss curve, divergence, the
  decision boundary) and :func:`clipped_update_norm` (the size of one clipped SGD step);
- :class:`Explorer`, the widget wiring: controls, one persistent matplotlib figure whose artists
  are updated in place and rendered (Agg) into an ``ipywidgets.Image``, results cached per
  setting, and a status line that says "diverged at step k" instead of showing a traceback.

In a notebook::

    from course.explore import explore
    explore(depth=30, activation="sigmoid", init="small normal")
"""

from __future__ import annotations

import asyncio
import html
import io
import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace

import numpy as np

ACTIVATIONS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "leaky relu": "leaky_relu"}
INITS = ("small normal", "xavier", "he", "large normal")
INIT_STD = {"small normal": 0.01, "large normal": 1.0}
NORMS = ("none", "layernorm", "batchnorm")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
CLIP_CHOICES = ("off", 0.1, 0.3, 1.0, 3.0, 10.0)
VIEWS = ("gradients", "activations", "loss", "boundary")
CONTROLS = ("lr", "depth", "width", "activation", "init", "residual", "norm", "clip",
            "optimizer")
N_POINTS = 200
GRID = 60
CACHE_SIZE = 128


@dataclass(frozen=True)
class Settings:
    """One point in the explorer's control space.

    depth: number of hidden layers (1-50), each ``width`` units wide; the network maps 2 inputs
    to 2 class scores. activation: one of ACTIVATIONS; init: one of INITS; norm: one of NORMS,
    placed before each hidden activation; residual: hidden layers become h + f(h).
    lr, optimizer (one of OPTIMIZERS), clip (global-norm threshold tau, None for off) and
    steps (full-batch steps) configure the training run; seed fixes data, weights and order.
    """

    depth: int = 10
    width: int = 32
    activation: str = "tanh"
    init: str = "xavier"
    residual: bool = False
    norm: str = "none"
    lr: float = 0.03
    optimizer: str = "adam"
    clip: float | None = None
    steps: int = 40
    seed: int = 0

    def __post_init__(self):
        _require_int("depth", self.depth, 1, 50)
        _require_int("width", self.width, 1, 1024)
        _require_int("steps", self.steps, 1, 100_000)
        _require_choice("activation", self.activation, tuple(ACTIVATIONS))
        _require_choice("init", self.init, INITS)
        _require_choice("norm", self.norm, NORMS)
        _require_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.clip is not None and not (isinstance(self.clip, (int, float)) and self.clip > 0):
            raise ValueError(f"clip must be a number > 0 or None (no clipping), got {self.clip!r}")


def _require_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            low <= value <= high):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def _require_choice(name: str, value, choices: tuple) -> None:
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
    norm = None if s.norm == "none" else s.norm
    return MLP([2] + [s.width] * s.depth + [2], activation=ACTIVATIONS[s.activation],
               init=init, residual=s.residual, norm=norm, seed=s.seed)


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


def _is_activation(layer) -> bool:
    return type(layer).__name__ in ("Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU")


def _sublayers(layer) -> list:
    """The layers inside a container layer (a residual block), [] for a plain layer."""
    inner = getattr(layer, "layers", None)
    if inner is None:
        inner = getattr(layer, "block", None)
        inner = getattr(inner, "layers", inner)
    if inner is None:
        return []
    return list(inner) if isinstance(inner, (list, tuple)) else [inner]


def _activation_outputs(layers, h, outs: list):
    """Run h through ``layers``, appending each activation layer's output (n, width) to outs."""
    for layer in layers:
        inner = _sublayers(layer)
        if inner:
            _activation_outputs(inner, h, outs)
        h = layer.forward(h)
        if _is_activation(layer):
            outs.append(h)
    return h


def gradient_profile(s: Settings, n: int = N_POINTS) -> GradientProfile:
    """Per-layer gradient norms, activations and dead fractions of a fresh net (see the class)."""
    x, y = two_moons(n, seed=s.seed)
    net = build_net(s)
    loss_fn = _loss()
    with np.errstate(all="ignore"):
        outs: list = []
        _activation_outputs(net.layers, x, outs)
        activations = [np.asarray(a, dtype=np.float64) for a in outs]
        loss = float(loss_fn.forward(net.forward(x), y))
        signal = _backward_signal(net.layers, loss_fn.backward())
    norms = np.array([_norm(layer.grads["W"]) for layer in net.linear_layers()])
    dead = np.array([float(np.mean(np.all(a <= 0, axis=0)))
                     if s.activation in ("relu", "leaky relu") else 0.0 for a in activations])
    return GradientProfile(norms, signal, activations, dead, loss)


def _backward_signal(layers, upstream) -> np.ndarray:
    """Backpropagate through ``layers`` (as net.backward does, last layer first) and return
    ||dL/d input|| of each block (Linear layer or residual block), input side first."""
    norms = []
    for layer in reversed(layers):
        upstream = layer.backward(upstream)
        if "W" in getattr(layer, "params", {}) or _sublayers(layer):
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

    Uses the first ``examples`` points of the two-moons batch. Raises ValueError for residual
    or normalised networks, whose layers are not of the form phi(h W + b).
    """
    if s.residual or s.norm != "none":
        raise ValueError("jacobian_norms needs a plain network: residual=False and norm='none'")
    x, _ = two_moons(n, seed=s.seed)
    linears = build_net(s).linear_layers()
    phi, dphi = _ACT_FUNCS[s.activation]
    h = x[:examples]
    sigma_max, rms = [], []
    with np.errstate(all="ignore"):
        for i, layer in enumerate(linears[:-1]):
            w = np.asarray(layer.params["W"], dtype=np.float64)
            z = h @ w + np.asarray(layer.params["b"], dtype=np.float64)
            if i > 0:
                jac = dphi(z)[:, :, None] * w.T[None, :, :]
                sigma_max.append(float(np.mean(np.linalg.norm(jac, 2, axis=(1, 2)))))
                rms.append(float(np.sqrt(np.mean(np.sum(jac**2, axis=(1, 2)) / w.shape[0]))))
            h = phi(z)
    return JacobianNorms(np.array(sigma_max), np.array(rms))


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


_ACT_FUNCS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "leaky relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
}


# ---------------------------------------------------------------- compute: training


@dataclass
class TrainingRun:
    """A short full-batch training run on two moons.

    loss: (steps run,) the loss before each step; diverged_at: 1-based step or None;
    message: "" or "diverged at step k (...)"; boundary: (GRID, GRID) predicted labels over
    ``extent`` = (x_min, x_max, y_min, y_max); accuracy: training accuracy at the end (nan if
    diverged).
    """

    loss: np.ndarray
    diverged_at: int | None
    message: str
    boundary: np.ndarray
    extent: tuple
    accuracy: float


def train_run(s: Settings, n: int = N_POINTS) -> TrainingRun:
    """Train a fresh net for s.steps full-batch steps; never raises on NaN/inf (see the class)."""
    from course.plots import boundary_grid
    from course.train import accuracy, fit, predict

    x, y = two_moons(n, seed=s.seed)
    net = build_net(s)
    opt = _optimizer(s, net.parameters())
    history = fit(net, _loss(), opt, x, y, steps=s.steps, batch_size=None, clip=s.clip,
                  seed=s.seed, progress=False, verbose=False)
    xx, yy, points = boundary_grid(x, GRID)
    extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
    if history.diverged:
        return TrainingRun(np.array(history.loss), history.diverged_at, history.message,
                           np.full(xx.shape, np.nan), extent, math.nan)
    labels = np.asarray(predict(net, points), dtype=np.float64).reshape(xx.shape)
    return TrainingRun(np.array(history.loss), None, "", labels, extent, accuracy(net, x, y))


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


# ---------------------------------------------------------------- cache


class _Cache:
    """A small least-recently-used cache of compute results keyed by (function name, settings)."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self.items: OrderedDict = OrderedDict()

    def get(self, name: str, func, s: Settings):
        key = (name, s)
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = func(s)
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def _at_initialisation(s: Settings) -> Settings:
    """s with the training settings (lr, optimizer, clip, steps) at their defaults: one key for
    every setting that shares the network at initialisation, and so its gradient profile."""
    default = Settings()
    return replace(s, lr=default.lr, optimizer=default.optimizer, clip=default.clip,
                   steps=default.steps)


# ---------------------------------------------------------------- the widget


class Explorer:
    """Controls plus one persistent figure, redrawn in place whenever a control changes.

    settings: the starting point; controls: which of CONTROLS to show (the rest stay fixed);
    views: which of VIEWS to draw, left to right. ``widget`` is the ipywidgets box to display;
    ``image`` the ipywidgets.Image holding the rendered PNG; ``status`` a line of text.
    ``set(**changes)`` changes settings programmatically (as moving the controls would).
    """

    def __init__(self, settings: Settings | None = None, controls=CONTROLS, views=VIEWS,
                 dpi: int = 72):
        for c in controls:
            _require_choice("controls entry", c, CONTROLS)
        for v in views:
            _require_choice("views entry", v, VIEWS)
        self.settings = settings or Settings()
        self.views = tuple(views)
        self.cache = _Cache()
        self.dpi = dpi
        self.pending = None
        self._generation = 0
        self._build_figure()
        self._build_widgets(tuple(controls))
        self.update()

    # -------------------------------------------------- widgets

    def _build_widgets(self, controls: tuple) -> None:
        import ipywidgets as w

        s = self.settings
        style = {"description_width": "88px"}
        layout = w.Layout(width="300px")
        make = {
            "lr": lambda: w.FloatLogSlider(value=s.lr, base=10, min=-4, max=1, step=0.25,
                                           description="learning rate", readout_format=".2g"),
            "depth": lambda: w.IntSlider(value=s.depth, min=1, max=50, description="depth"),
            "width": lambda: w.IntSlider(value=s.width, min=4, max=128, step=4,
                                         description="width"),
            "activation": lambda: w.Dropdown(options=list(ACTIVATIONS), value=s.activation,
                                             description="activation"),
            "init": lambda: w.Dropdown(options=list(INITS), value=s.init, description="init"),
            "residual": lambda: w.Checkbox(value=s.residual, description="residual",
                                           indent=False),
            "norm": lambda: w.Dropdown(options=list(NORMS), value=s.norm,
                                       description="normalise"),
            "clip": lambda: w.SelectionSlider(options=list(CLIP_CHOICES),
                                              value="off" if s.clip is None else s.clip,
                                              description="clip at tau"),
            "optimizer": lambda: w.Dropdown(options=list(OPTIMIZERS), value=s.optimizer,
                                            description="optimizer"),
        }
        self.controls = {}
        for name in controls:
            widget = make[name]()
            widget.style = style
            widget.layout = layout
            if hasattr(widget, "continuous_update"):
                widget.continuous_update = False
            widget.observe(self._on_change, names="value")
            self.controls[name] = widget
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.status = w.HTML()
        column = w.VBox(list(self.controls.values()), layout=w.Layout(min_width="310px"))
        # the figure moves below the controls when both do not fit side by side at 600 px
        figure = w.VBox([self.image, self.status], layout=w.Layout(min_width="600px", flex="1"))
        self.widget = w.HBox([column, figure], layout=w.Layout(flex_flow="row wrap"))
        self.widget.add_class("course-explorer")

    def _on_change(self, change) -> None:
        values = {name: c.value for name, c in self.controls.items()}
        if "clip" in values:
            values["clip"] = None if values["clip"] == "off" else float(values["clip"])
        self.settings = replace(self.settings, **values)
        self.update()

    def set(self, **changes) -> None:
        """Move controls to new values (or change hidden settings) and redraw once."""
        hidden = {k: v for k, v in changes.items() if k not in self.controls}
        self.settings = replace(self.settings, **hidden)
        for name, value in changes.items():
            if name in self.controls:
                shown = "off" if name == "clip" and value is None else value
                widget = self.controls[name]
                widget.unobserve(self._on_change, names="value")
                try:
                    widget.value = shown
                finally:
                    widget.observe(self._on_change, names="value")
        self._on_change(None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -------------------------------------------------- figure

    def _build_figure(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        n = len(self.views)
        self.figure = Figure(figsize=(3.3 * n, 3.3), dpi=self.dpi)
        self.figure.subplots_adjust(left=0.3 / n, right=1 - 0.05 / n, bottom=0.16, top=0.9,
                                    wspace=0.45)
        FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(1, n, squeeze=False)[0]
        self.axes = dict(zip(self.views, axes))
        self.artists: dict = {}
        setup = {"gradients": self._setup_gradients, "activations": self._setup_activations,
                 "loss": self._setup_loss, "boundary": self._setup_boundary}
        for view, ax in self.axes.items():
            setup[view](ax)
        self._slots = self._panel_slots()
        self._drawn: dict = {}

    def _panel_slots(self) -> dict:
        """Per view, the figure's pixel columns [x0, x1) that hold its axes, ticks and labels,
        and that column band of the figure showing only the view's fixed text (title and axis
        labels), to wipe the panel before redrawing it.

        Panels are redrawn one at a time (``figure.draw_artist``): a change of depth redraws
        the two views computed at initialisation, not the training views beside them. The
        fixed text sits at fixed positions and is drawn once, here.
        """
        from matplotlib.transforms import Bbox

        canvas = self.figure.canvas
        fixed = []
        for ax in self.axes.values():
            ax.set_title(ax.get_title(), y=1.0)
            ax.xaxis.set_label_coords(0.5, -0.12)
            ax.yaxis.set_label_coords(-0.34, 0.5)
            fixed += [ax.title, ax.xaxis.label, ax.yaxis.label]
            ax.set_visible(False)
        canvas.draw()
        for text in fixed:
            self.figure.draw_artist(text)
            text.set_visible(False)
        width, height = canvas.get_width_height()
        rights = [int(math.ceil(ax.get_window_extent().x1)) + 2 for ax in self.axes.values()]
        edges = [0] + rights[:-1] + [width]
        slots = {}
        for view, x0, x1 in zip(self.axes, edges[:-1], edges[1:]):
            blank = canvas.copy_from_bbox(Bbox.from_extents(x0, 0, x1, height))
            slots[view] = (x0, x1, blank)
        for ax in self.axes.values():
            ax.set_visible(True)
        return slots

    def _setup_gradients(self, ax) -> None:
        (self.artists["grad"],) = ax.plot([], [], "o-", ms=3, lw=1.5, color="C3",
                                          label="||dL/dW||")
        (self.artists["signal"],) = ax.plot([], [], "s--", ms=2, lw=1, color="C7",
                                            label="||dL/dh||")
        _log_y(ax)
        ax.set(xlabel="layer (1 = input side)", ylabel="gradient norm",
               title="gradient norm per layer")
        _integer_x(ax)
        ax.legend(fontsize="small", loc="lower right")
        ax.grid(True, which="major", alpha=0.3)

    def _setup_activations(self, ax) -> None:
        from matplotlib.collections import PolyCollection

        (self.artists["median"],) = ax.plot([], [], color="C0", lw=1.5, label="median")
        self.artists["bands"] = [PolyCollection([], facecolors="C0", alpha=alpha, linewidths=0)
                                 for alpha in (0.2, 0.4)]
        for band in self.artists["bands"]:
            ax.add_collection(band, autolim=False)
        ax.set(xlabel="layer (1 = input side)", ylabel="activation",
               title="activations: 5-95, 25-75 %")
        _compact_y(ax)
        _integer_x(ax)

    def _setup_loss(self, ax) -> None:
        (self.artists["loss"],) = ax.plot([], [], color="C2", lw=1.5)
        (self.artists["loss_end"],) = ax.plot([], [], "x", color="C3", ms=8, mew=2)
        ax.set(xlabel="step", ylabel="loss", title="training loss")
        _integer_x(ax)
        ax.grid(True, which="major", alpha=0.3)

    def _setup_boundary(self, ax) -> None:
        from matplotlib.colors import ListedColormap

        from course.plots import CLASS_COLOURS

        x, y = two_moons(N_POINTS, seed=self.settings.seed)
        cmap = ListedColormap(CLASS_COLOURS[:2]).with_extremes(bad="#dddddd")
        self.artists["boundary"] = ax.imshow(np.full((GRID, GRID), np.nan), origin="lower",
                                             cmap=cmap, vmin=0, vmax=1, alpha=0.3,
                                             aspect="auto")
        ax.scatter(x[:, 0], x[:, 1], c=[CLASS_COLOURS[k] for k in y], s=6)
        ax.set(xlabel="$x_1$", ylabel="$x_2$", title="decision boundary")

    # -------------------------------------------------- update

    def compute(self, s: Settings) -> dict:
        """Every result the chosen views need for settings s (from the cache when there)."""
        out = self._ready_results(s)
        if self._trains:
            out["run"] = self.cache.get("run", train_run, s)
        return out

    @property
    def _trains(self) -> bool:
        return bool({"loss", "boundary"} & set(self.views))

    def _ready_results(self, s: Settings) -> dict:
        """The cheap results (one forward/backward pass) plus a training run if cached."""
        out = {}
        if {"gradients", "activations"} & set(self.views):
            out["profile"] = self.cache.get("profile", gradient_profile, _at_initialisation(s))
        if self._trains and ("run", s) in self.cache.items:
            out["run"] = self.cache.get("run", train_run, s)
        return out

    def update(self) -> None:
        """Redraw for the current settings: at once what is cheap or cached, then the rest.

        The views computed from one forward/backward pass (gradients, activations) and a cached
        training run are drawn immediately. A training run not yet cached is computed next:
        straight away when no event loop is running (scripts, tests), else as a callback on the
        running loop (a notebook kernel), so the image updates first and a newer change
        supersedes a pending run instead of queueing behind it (debounce).
        """
        self._generation += 1
        s = self.settings
        try:
            results = self._ready_results(s)
        except Exception as error:  # a setting the library rejects is shown, not raised
            self._show_error(error)
            return
        waiting = self._trains and "run" not in results
        self._draw(results, waiting)
        if waiting:
            self._schedule(self._finish, self._generation, s)

    def _schedule(self, func, *args) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            func(*args)
            return
        self.pending = loop.call_soon(func, *args)

    def _finish(self, generation: int, s: Settings) -> None:
        """Compute the training run for s and redraw, unless a newer change came first."""
        self.pending = None
        if generation != self._generation:
            return
        try:
            results = self.compute(s)
        except Exception as error:
            self._show_error(error)
            return
        self._draw(results, waiting=False)

    def _show_error(self, error: Exception) -> None:
        message = html.escape(str(error))
        self.status.value = f"<b style='color:#cf222e'>cannot compute: {message}</b>"

    def _draw(self, results: dict, waiting: bool) -> None:
        """Update the views whose result changed, redraw only their panels, show the image.

        While a training run is being computed its two views keep their last picture, faded.
        """
        canvas = self.figure.canvas
        faded = []
        for view in self.views:
            result = results.get("run" if view in ("loss", "boundary") else "profile")
            if result is None:
                faded.append(view)
            elif self._drawn.get(view) is not result:
                getattr(self, f"_draw_{view}")(self.axes[view], results)
                x0, x1, blank = self._slots[view]
                canvas.restore_region(blank)
                self.figure.draw_artist(self.axes[view])
                self._drawn[view] = result
        text = self._status_text(results)
        self.status.value = f"{text}; training..." if waiting and text else (
            "training..." if waiting else text)
        self.image.value = self.render(faded)

    def render(self, faded=()) -> bytes:
        """The figure's current pixels as PNG bytes (lightly compressed), the views named in
        ``faded`` washed out towards white."""
        from PIL import Image

        rgb = np.array(np.asarray(self.figure.canvas.buffer_rgba())[..., :3])
        for view in faded:
            x0, x1, _ = self._slots[view]
            rgb[:, x0:x1] = 255 - (255 - rgb[:, x0:x1]) // 6
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def _status_text(self, results: dict) -> str:
        parts = []
        if "profile" in results:
            p = results["profile"]
            parts.append(f"||dL/dh|| first/last hidden layer {p.ratio:.2g}")
            off = f"{100 * float(np.mean(p.dead)):.0f} %"
            if self.settings.activation == "relu":
                parts.append(f"dead units {off}")
            elif self.settings.activation == "leaky relu":
                parts.append(f"units off on every example {off} (leaky: they still learn)")
        if "run" in results:
            run = results["run"]
            if run.diverged_at is not None:
                return (f"<b style='color:#cf222e'>diverged at step {run.diverged_at}</b>; "
                        + "; ".join(parts))
            parts.append(f"final loss {run.loss[-1]:.3g}, accuracy {100 * run.accuracy:.0f} %")
        return "; ".join(parts)

    def _draw_gradients(self, ax, results: dict) -> None:
        profile = results["profile"]
        norms = profile.grad_norms
        shown = np.where(np.isfinite(norms) & (norms > 0), norms, np.nan)
        self.artists["grad"].set_data(np.arange(1, norms.size + 1), shown)
        signal = profile.signal_norms[1:]
        signal = np.where(np.isfinite(signal) & (signal > 0), signal, np.nan)
        self.artists["signal"].set_data(np.arange(1, signal.size + 1), signal)
        both = np.concatenate([shown, signal])
        finite = both[np.isfinite(both)]
        ax.set_xlim(0.5, norms.size + 0.5)
        if finite.size:
            _set_log_ylim(ax, finite.min() / 3, finite.max() * 3)

    def _draw_activations(self, ax, results: dict) -> None:
        from course.plots import activation_quantiles

        q = activation_quantiles(results["profile"].activations)
        layers = np.arange(1, q.shape[0] + 1)
        ok = np.all(np.isfinite(q), axis=1)
        for band, (lo, hi) in zip(self.artists["bands"], [(0, 4), (1, 3)]):
            x = layers[ok]
            band.set_verts([np.column_stack([np.r_[x, x[::-1]],
                                             np.r_[q[ok, lo], q[ok, hi][::-1]]])])
        self.artists["median"].set_data(layers, q[:, 2])
        finite = q[np.isfinite(q)]
        ax.set_xlim(0.5, max(q.shape[0], 1) + 0.5)
        if finite.size:
            _set_padded_ylim(ax, finite.min(), finite.max())

    def _draw_loss(self, ax, results: dict) -> None:
        """The loss before each step; an x marks the last finite loss of a diverged run."""
        loss = results["run"].loss
        shown = np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)
        self.artists["loss"].set_data(np.arange(1, loss.size + 1), shown)
        ax.set_xlim(0, self.settings.steps + 1)
        finite = shown[np.isfinite(shown)]
        if finite.size and finite.max() > 10 * finite.min():
            _log_y(ax)
            _set_log_ylim(ax, finite.min() / 1.5, finite.max() * 1.5)
        elif finite.size:
            ax.set_yscale("linear")
            _compact_y(ax)
            _set_padded_ylim(ax, finite.min(), finite.max(), floor=0.0)
        last = np.flatnonzero(np.isfinite(shown))
        diverged = results["run"].diverged_at is not None and last.size > 0
        self.artists["loss_end"].set_data(last[-1:] + 1 if diverged else [],
                                          shown[last[-1:]] if diverged else [])

    def _draw_boundary(self, ax, results: dict) -> None:
        run = results["run"]
        self.artists["boundary"].set_data(np.ma.masked_invalid(run.boundary))
        self.artists["boundary"].set_extent(run.extent)


def _integer_x(ax) -> None:
    """x ticks on whole numbers only (layers, steps)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))


def _compact_y(ax) -> None:
    """Linear y tick labels with 3 significant digits ('8e+16', '0.75'), no offset text."""
    from matplotlib.ticker import FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))


def _set_padded_ylim(ax, lo: float, hi: float, floor: float = -math.inf) -> None:
    """Linear y limits around [lo, hi] with 5 % padding (never a zero-height range)."""
    pad = 0.05 * (hi - lo) + 1e-3 * max(1.0, abs(lo), abs(hi))
    ax.set_ylim(max(lo - pad, floor), hi + pad)


def _log_y(ax) -> None:
    """A log y axis with at most 6 labelled decades and no minor ticks (cheap to redraw)."""
    from matplotlib.ticker import LogLocator, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(numticks=6))
    ax.yaxis.set_minor_locator(NullLocator())


def _set_log_ylim(ax, lo: float, hi: float) -> None:
    """Log y limits [lo, hi]; labels at 1, 2, 5 x 10^k when the range spans under 2 decades."""
    from matplotlib.ticker import LogLocator

    ax.set_ylim(lo, hi)
    subs = (1.0, 2.0, 5.0) if hi / lo < 100 else (1.0,)
    ax.yaxis.set_major_locator(LogLocator(subs=subs, numticks=6))


def explore(controls=CONTROLS, views=VIEWS, **settings) -> Explorer:
    """An :class:`Explorer` starting at ``Settings(**settings)``; display it as a cell's value."""
    return Explorer(Settings(**settings), controls=controls, views=views)


def settings_dict(s: Settings) -> dict:
    """The settings as a plain dict (for printing or logging)."""
    return asdict(s)
