"""The lesson 00 tangent slider: a function, its derivative, and the tangent line at x0, one
persistent figure whose lines are updated in place as x0 moves."""

from __future__ import annotations

import numpy as np

from course.widgets.figure import new_figure, png, style_axes


class TangentSlider:
    """A slider for x0 and one figure: p(x), the tangent at x0 (slope p'(x0)) and the point.

    p, p_prime: vectorised functions of an array (n,) -> (n,); xs: (n,) the x values drawn;
    x0, lo, hi, step: the slider's start, range and step; ylim: the y range (None: p's range
    over xs, padded). ``widget`` is the ipywidgets box to display; ``set_x(x0)`` redraws.
    """

    def __init__(self, p, p_prime, xs, x0: float = 1.0, lo: float = -1.0, hi: float = 1.5,
                 step: float = 0.05, ylim=None):
        import ipywidgets as widgets

        self.p, self.p_prime = p, p_prime
        self.xs = np.asarray(xs, dtype=np.float64)
        if self.xs.ndim != 1 or self.xs.size < 2:
            raise ValueError(f"xs must be a 1-d array of at least 2 x values, got shape "
                             f"{self.xs.shape}")
        if not lo < hi:
            raise ValueError(f"lo must be below hi, got lo={lo!r}, hi={hi!r}")
        self.ys = np.asarray(p(self.xs), dtype=np.float64)
        if ylim is None:
            pad = 0.1 * (self.ys.max() - self.ys.min()) or 1.0
            ylim = (self.ys.min() - pad, self.ys.max() + pad)
        self.slider = widgets.FloatSlider(value=x0, min=lo, max=hi, step=step, description="x",
                                          continuous_update=True, readout_format=".2f")
        self._build_figure(ylim)
        width = self.figure.canvas.get_width_height()[0]
        self.image = widgets.Image(format="png",
                                   layout=widgets.Layout(width=f"{width}px", max_width="100%"))
        self.slider.observe(lambda change: self.set_x(change["new"]), names="value")
        self.widget = widgets.VBox([self.slider, self.image])
        self.set_x(self.slider.value)

    def _build_figure(self, ylim) -> None:
        self.figure = new_figure(680, 300)
        ax = self.figure.subplots()
        ax.plot(self.xs, self.ys, label="p(x)")
        (self.tangent,) = ax.plot([], [], "--", label="tangent")
        (self.point,) = ax.plot([], [], "o", color="black", zorder=3)
        ax.set(xlim=(self.xs.min(), self.xs.max()), ylim=ylim, xlabel="x", ylabel="value")
        self.legend = ax.legend(loc="upper left", fontsize=11)
        ax.grid(alpha=0.3)
        style_axes(ax)
        self.ax = ax
        self.figure.tight_layout()

    def set_x(self, x0: float) -> float:
        """Move the tangent to x0; redraw; return the slope p'(x0)."""
        x0 = float(x0)
        y0 = float(np.asarray(self.p(np.array([x0])), dtype=np.float64)[0])
        slope = float(np.asarray(self.p_prime(np.array([x0])), dtype=np.float64)[0])
        self.tangent.set_data(self.xs, y0 + slope * (self.xs - x0))
        self.point.set_data([x0], [y0])
        self.legend.get_texts()[1].set_text(f"tangent at x = {x0:.2f}, slope {slope:.3g}")
        self.image.value = png(self.figure)
        return slope

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def tangent_slider(p, p_prime, xs, x0: float = 1.0, lo: float = -1.0, hi: float = 1.5,
                   step: float = 0.05, ylim=None) -> TangentSlider:
    """A :class:`TangentSlider`; display it as a cell's value."""
    return TangentSlider(p, p_prime, xs, x0, lo, hi, step, ylim)
