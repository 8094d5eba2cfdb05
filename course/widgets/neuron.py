"""The lesson 01 learning-rate slider: gradient descent on one neuron (``course.neuron``), one
persistent figure whose lines are updated in place: the axes are drawn once and kept as a
background, and each move redraws only the two lines over it (blitting)."""

from __future__ import annotations

import math

import numpy as np

from course.neuron import LR_MAX, LR_MIN, STEPS, check_lr, descend, neuron_data, sigmoid
from course.widgets.figure import new_figure, png, style_axes

COLOURS = {"converges": "#1a7f37", "still descending": "#9a6700", "oscillates": "#8250df",
           "overshoots and saturates": "#bc4c00"}
DIVERGES = "#cf222e"


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
            value=check_lr(lr), base=10, min=math.log10(LR_MIN), max=math.log10(LR_MAX),
            step=0.05, description="learning rate", readout_format=".3g",
            style={"description_width": "initial"}, continuous_update=True,
            layout=widgets.Layout(width="60%"))
        self.status = widgets.HTML()
        self._build_figure()
        width = self.figure.canvas.get_width_height()[0]
        self.image = widgets.Image(format="png",
                                   layout=widgets.Layout(width=f"{width}px", max_width="100%"))
        self.slider.observe(lambda change: self.set_lr(change["new"]), names="value")
        self.widget = widgets.VBox([self.slider, self.status, self.image])
        self.set_lr(self.slider.value)

    def _build_figure(self) -> None:
        self.figure = new_figure(680, 300)
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
        ax_fit.legend(loc="upper left", fontsize=10)
        ax_fit.grid(alpha=0.3)
        for ax in (ax_loss, ax_fit):
            style_axes(ax)
        self.figure.tight_layout()
        for line in (self.loss_line, self.fit_line):
            line.set_animated(True)
        self.figure.canvas.draw()
        self.background = self.figure.canvas.copy_from_bbox(self.figure.bbox)

    def set_lr(self, lr: float):
        """Run gradient descent at ``lr``, update the lines and the status; return the Run."""
        run = descend(lr, self.steps, x=self.x, y=self.y)
        finite = np.isfinite(run.loss)
        self.loss_line.set_data(np.arange(run.loss.size)[finite],
                                np.maximum(run.loss[finite], 1e-12))
        grid = self.fit_line.get_xdata()
        self.fit_line.set_ydata(sigmoid(run.w[-1] * grid + run.b[-1]))
        colour = COLOURS.get(run.outcome, DIVERGES)
        self.loss_line.set_color(colour)
        self.status.value = f"<b style='color:{colour}'>{run.describe()}</b>"
        canvas = self.figure.canvas
        canvas.restore_region(self.background)
        for line in (self.loss_line, self.fit_line):
            line.axes.draw_artist(line)
        self.image.value = png(self.figure, draw=False)
        return run


def explore_learning_rate(lr: float = 1.0, steps: int = STEPS):
    """Display the learning-rate explorer and return the widget box."""
    return NeuronExplorer(lr, steps).widget
