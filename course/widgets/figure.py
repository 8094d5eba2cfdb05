"""A persistent Agg figure rendered to PNG bytes: what every widget's image shows."""

from __future__ import annotations

import io

import numpy as np

DPI = 72
FONT_PX = 11


def new_figure(width_px: int, height_px: int, dpi: int = DPI):
    """A matplotlib Figure of width_px x height_px pixels with its own Agg canvas (no pyplot),
    its text at FONT_PX pixels (at dpi 72 a point is a pixel): readable when JupyterLab shows it
    at its default notebook width of about 660-800 px."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def style_axes(ax, size: float = FONT_PX * DPI / 72) -> None:
    """Tick labels, axis labels and title of ``ax`` at ``size`` points."""
    ax.tick_params(labelsize=size)
    ax.xaxis.label.set_size(size)
    ax.yaxis.label.set_size(size)
    ax.title.set_size(size + 1)


def png(figure, draw: bool = True, faded=()) -> bytes:
    """The figure's pixels as PNG bytes (lightly compressed: encoding dominates otherwise).

    draw: redraw the whole figure first (False when the caller blitted what changed).
    faded: (x0, y0, x1, y1) pixel boxes (top-left origin) washed out towards white.
    """
    from PIL import Image

    if draw:
        figure.canvas.draw()
    rgb = np.array(np.asarray(figure.canvas.buffer_rgba())[..., :3])
    for x0, y0, x1, y1 in faded:
        rgb[y0:y1, x0:x1] = 255 - (255 - rgb[y0:y1, x0:x1]) // 6
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def distinct_ticks(ax, axis: str = "y", max_digits: int = 8) -> None:
    """Label a linear axis with the fewest significant digits (at least 3) that keep every tick
    label different: a nearly flat curve at 1.0123e17 gets '1.0123e+17', '1.0124e+17', never
    four identical '1.01e+17'."""
    from matplotlib.ticker import FormatStrFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    ticks = [t for t in target.get_major_locator().tick_values(lo, hi) if lo <= t <= hi]
    digits = 3
    while digits < max_digits and len({f"{t:.{digits}g}" for t in ticks}) < len(ticks):
        digits += 1
    target.set_major_formatter(FormatStrFormatter(f"%.{digits}g"))
