"""Gradient descent on one sigmoid neuron, and a learning-rate slider that shows what it does.

Two layers, kept apart so the behaviour can be tested without a browser:

- pure compute: :func:`neuron_data` (the toy data set), :func:`loss_and_grads` (forward and
  backward of the neuron over the data), :func:`descend` (a gradient-descent run returning a
  :class:`Run` with its verdict: converges, crawls, oscillates or diverges);
- :class:`NeuronExplorer`, the widget wiring: a log-scale learning-rate slider, one persistent
  matplotlib figure whose lines are updated in place and rendered (Agg) into an
  ``ipywidgets.Image``, and a status line that says "diverged at step k" instead of a traceback.

The neuron: ``z = w x + b``, ``a = sigmoid(z)``, ``L = mean((a - y)^2)`` over the data points.
In a notebook::

    from course.explore_neuron import explore_learning_rate
    explore_learning_rate()
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

TRUE_W, TRUE_B = 2.0, -0.5
START_W, START_B = 1.0, 0.0
STEPS = 100
CONVERGED_FRACTION = 0.01
LR_MIN, LR_MAX = 1e-2, 1e3


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, stable for any z (exp of a non-positive number only); (n,) -> (n,)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def neuron_data(n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """``n`` inputs evenly spaced on [-2, 2] and targets ``sigmoid(2 x - 0.5)``: x (n,), y (n,).

    The targets are made by a neuron with w = 2, b = -0.5, so the smallest loss is exactly 0.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    x = np.linspace(-2.0, 2.0, n)
    return x, sigmoid(TRUE_W * x + TRUE_B)


def loss_and_grads(w: float, b: float, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Mean squared error of the neuron on (x, y) and its gradient: (L, dL/dw, dL/db).

    x, y: (n,). Chain rule per point: dL/da = 2 (a - y) / n, dL/dz = dL/da * a (1 - a),
    dL/dw = sum(dL/dz * x), dL/db = sum(dL/dz).
    """
    a = sigmoid(w * x + b)
    dz = 2.0 * (a - y) * a * (1.0 - a) / x.size
    return float(np.mean((a - y) ** 2)), float(np.sum(dz * x)), float(np.sum(dz))


@dataclass(frozen=True)
class Run:
    """One gradient-descent run.

    lr: the learning rate; loss: (k + 1,) the loss before each step and after the last one
    (shorter than steps + 1 when the run stopped on a non-finite value); w, b: (k + 1,) the
    parameters along the way; diverged_at: the first step whose loss is above the starting loss
    or not finite (None if none); outcome: "converges", "crawls", "oscillates" or "diverges".
    """

    lr: float
    loss: np.ndarray
    w: np.ndarray
    b: np.ndarray
    diverged_at: int | None
    outcome: str

    def describe(self) -> str:
        """One line for a status bar: the outcome and the numbers behind it."""
        final = self.loss[-1]
        if self.diverged_at is not None:
            bad = self.loss[self.diverged_at]
            reason = ("became NaN or infinite" if not np.isfinite(bad)
                      else f"rose above its start: {self.loss[0]:.3g} -> {bad:.3g}")
            return f"lr = {self.lr:.3g}: diverged at step {self.diverged_at}: the loss {reason}"
        return (f"lr = {self.lr:.3g}: {self.outcome}: loss {self.loss[0]:.3g} -> {final:.3g}"
                f" after {self.loss.size - 1} steps")


def _check_lr(lr) -> float:
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise TypeError(f"lr must be a positive number, got {lr!r}") from None
    if not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    return lr


def descend(lr: float, steps: int = STEPS, w: float = START_W, b: float = START_B,
            x: np.ndarray | None = None, y: np.ndarray | None = None) -> Run:
    """Run ``steps`` steps of gradient descent ``w -= lr dL/dw``, ``b -= lr dL/db``.

    x, y: (n,) data (default :func:`neuron_data`). A non-finite loss or parameter stops the run
    at that step instead of raising. Outcome: "diverges" if the loss ever rises above its starting
    value or stops being finite; "converges" if the final loss is below ``CONVERGED_FRACTION``
    (1%) of the starting loss; "oscillates" if not, and the loss rose on some step (overshooting
    back and forth, but never above the start); "crawls" otherwise (every step downhill, too few
    of them).
    """
    lr = _check_lr(lr)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if x is None or y is None:
        x, y = neuron_data()
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must both have shape (n,), got {x.shape} and {y.shape}")
    losses, ws, bs = [], [w], [b]
    with np.errstate(all="ignore"):
        for _ in range(steps + 1):
            loss, dw, db = loss_and_grads(w, b, x, y)
            losses.append(loss)
            if not (math.isfinite(loss) and math.isfinite(w) and math.isfinite(b)):
                break
            if len(losses) == steps + 1:
                break
            w, b = w - lr * dw, b - lr * db
            ws.append(w)
            bs.append(b)
    loss = np.array(losses)
    return Run(lr, loss, np.array(ws[: loss.size]), np.array(bs[: loss.size]),
               *_outcome(loss))


def _outcome(loss: np.ndarray) -> tuple[int | None, str]:
    bad = ~np.isfinite(loss) | (loss > loss[0])
    if bad.any():
        return int(np.argmax(bad)), "diverges"
    if loss[-1] < CONVERGED_FRACTION * loss[0]:
        return None, "converges"
    if np.any(np.diff(loss) > 0):
        return None, "oscillates"
    return None, "crawls"


class NeuronExplorer:
    """A learning-rate slider (log scale), a status line and one figure updated in place.

    Left panel: the loss at each step (log axis); right panel: the data and the neuron's output
    after the run. ``widget`` is the ipywidgets box to display; ``set_lr(lr)`` redraws.
    """

    def __init__(self, lr: float = 1.0, steps: int = STEPS):
        import ipywidgets as widgets

        self.steps = steps
        self.x, self.y = neuron_data()
        self.slider = widgets.FloatLogSlider(
            value=_check_lr(lr), base=10, min=math.log10(LR_MIN), max=math.log10(LR_MAX),
            step=0.05, description="learning rate", readout_format=".3g",
            style={"description_width": "initial"}, continuous_update=True,
            layout=widgets.Layout(width="60%"))
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self._build_figure()
        self.slider.observe(lambda change: self.set_lr(change["new"]), names="value")
        self.widget = widgets.VBox([self.slider, self.status, self.image])
        self.set_lr(self.slider.value)

    def _build_figure(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(8, 3.5), dpi=90)
        FigureCanvasAgg(self.figure)
        ax_loss, ax_fit = self.figure.subplots(1, 2)
        (self.loss_line,) = ax_loss.semilogy([], [], lw=2)
        ax_loss.set(xlim=(0, self.steps), ylim=(1e-12, 1.0), xlabel="step",
                    ylabel="loss (mean squared error)", title="loss during training")
        ax_loss.grid(alpha=0.3)
        grid = np.linspace(-2.5, 2.5, 101)
        ax_fit.scatter(self.x, self.y, color="black", zorder=3, label="data")
        (self.fit_line,) = ax_fit.plot(grid, np.zeros_like(grid), lw=2, label="neuron after run")
        ax_fit.set(xlim=(-2.5, 2.5), ylim=(-0.05, 1.05), xlabel="input x",
                   ylabel="output a = sigmoid(w x + b)", title="the neuron's fit")
        ax_fit.legend(loc="upper left")
        ax_fit.grid(alpha=0.3)
        self.figure.tight_layout()

    def set_lr(self, lr: float) -> Run:
        """Run gradient descent at ``lr``, update the lines and the status; return the Run."""
        run = descend(lr, self.steps, x=self.x, y=self.y)
        finite = np.isfinite(run.loss)
        self.loss_line.set_data(np.arange(run.loss.size)[finite],
                                np.maximum(run.loss[finite], 1e-12))
        grid = self.fit_line.get_xdata()
        self.fit_line.set_ydata(sigmoid(run.w[-1] * grid + run.b[-1]))
        colour = {"converges": "#1a7f37", "crawls": "#9a6700",
                  "oscillates": "#8250df"}.get(run.outcome, "#cf222e")
        self.loss_line.set_color(colour)
        self.status.value = f"<b style='color:{colour}'>{run.describe()}</b>"
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png")
        self.image.value = buf.getvalue()
        return run


def explore_learning_rate(lr: float = 1.0, steps: int = STEPS):
    """Display the learning-rate explorer and return the widget box."""
    return NeuronExplorer(lr, steps).widget
