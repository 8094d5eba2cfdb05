"""The lessons 05-06 explorer: controls plus one persistent figure redrawn in place.

The compute is ``course.explore`` (gradient profile, training run); this module only wires it to
ipywidgets and matplotlib. A change redraws, in the same figure, only the panels whose result
changed (blitting: each panel's pixels are restored from a blank and its axes drawn again); the
training panels stream in: the loss curve grows every few steps while the run is computed on
the kernel's event loop, and a newer change supersedes a run still in progress.
"""

from __future__ import annotations

import asyncio
import html
import math
from collections import OrderedDict
from dataclasses import replace

import numpy as np

from course.explore import (
    ACTIVATIONS,
    GRID,
    INITS,
    N_POINTS,
    OPTIMIZERS,
    Settings,
    at_initialisation,
    gradient_profile,
    require_choice,
    train_run,
    train_stream,
    two_moons,
)
from course.widgets.figure import DPI, distinct_ticks, new_figure, png, style_axes

CONTROLS = ("lr", "depth", "width", "activation", "init", "residual", "norm", "clip",
            "optimizer")
VIEWS = ("gradients", "activations", "loss", "boundary")
CLIP_CHOICES = ("off", 0.1, 0.3, 1.0, 3.0, 10.0)
ACTIVATION_LABELS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
                     "leaky_relu": "leaky relu"}
NORM_LABELS = {"none": None, "layernorm": "layernorm", "batchnorm": "batchnorm"}
LR_EXPONENT_STEP = 0.25
WIDTH_PX = 680
LEFT_PX = 100
YLABEL_PX = 88
PANEL_HEIGHT_PX = 235
CACHE_SIZE = 128
STREAM_REDRAW_S = 0.1


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
        return self.put(name, s, func(s))

    def put(self, name: str, s: Settings, value):
        self.items[(name, s)] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns of the panels: side by side up to three, else two per row."""
    return (1, n) if n <= 3 else (math.ceil(n / 2), 2)


class Explorer:
    """Controls plus one persistent figure, redrawn in place whenever a control changes.

    settings: the starting point; controls: which of CONTROLS to show (the rest stay fixed);
    views: which of VIEWS to draw, in reading order. ``widget`` is the ipywidgets box to
    display; ``image`` the ipywidgets.Image holding the rendered PNG; ``status`` a line of text;
    ``pending`` the scheduled training work (None when the picture is complete).
    ``set(**changes)`` changes settings programmatically (as moving the controls would).
    """

    def __init__(self, settings: Settings | None = None, controls=CONTROLS, views=VIEWS,
                 dpi: int = DPI):
        for c in controls:
            require_choice("controls entry", c, CONTROLS)
        for v in views:
            require_choice("views entry", v, VIEWS)
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
        norm_label = next(k for k, v in NORM_LABELS.items() if v == s.norm)
        make = {
            "lr": lambda: w.FloatLogSlider(value=s.lr, base=10, min=-4, max=1,
                                           step=LR_EXPONENT_STEP, description="learning rate",
                                           readout_format=".3g"),
            "depth": lambda: w.IntSlider(value=s.depth, min=1, max=50, description="depth"),
            "width": lambda: w.IntSlider(value=s.width, min=4, max=128, step=4,
                                         description="width"),
            "activation": lambda: w.Dropdown(options=[(ACTIVATION_LABELS[a], a)
                                                      for a in ACTIVATIONS],
                                             value=s.activation, description="activation"),
            "init": lambda: w.Dropdown(options=list(INITS), value=s.init, description="init"),
            "residual": lambda: w.Checkbox(value=s.residual, description="residual",
                                           indent=False),
            "norm": lambda: w.Dropdown(options=list(NORM_LABELS), value=norm_label,
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
        width = self.figure.canvas.get_width_height()[0]
        self.image = w.Image(format="png", layout=w.Layout(width=f"{width}px", max_width="100%"))
        self.status = w.HTML()
        column = w.VBox(list(self.controls.values()), layout=w.Layout(min_width="310px"))
        # the figure moves below the controls when both do not fit side by side
        figure = w.VBox([self.image, self.status],
                        layout=w.Layout(min_width=f"{min(width, 600)}px", flex="1"))
        self.widget = w.HBox([column, figure], layout=w.Layout(flex_flow="row wrap"))
        self.widget.add_class("course-explorer")

    @staticmethod
    def _setting(name: str, value):
        """A control's value as a Settings value ('off' clip -> None, 'none' norm -> None)."""
        if name == "clip":
            return None if value == "off" else float(value)
        if name == "norm":
            return NORM_LABELS[value]
        return value

    @staticmethod
    def _shown(name: str, value):
        """A Settings value as its control shows it."""
        if name == "clip":
            return "off" if value is None else value
        if name == "norm":
            return next(k for k, v in NORM_LABELS.items() if v == value)
        return value

    def _on_change(self, change) -> None:
        values = {name: self._setting(name, c.value) for name, c in self.controls.items()}
        self.settings = replace(self.settings, **values)
        self.update()

    def set(self, **changes) -> None:
        """Move controls to new values (or change hidden settings) and redraw once."""
        hidden = {k: v for k, v in changes.items() if k not in self.controls}
        self.settings = replace(self.settings, **hidden)
        for name, value in changes.items():
            if name in self.controls:
                widget = self.controls[name]
                widget.unobserve(self._on_change, names="value")
                try:
                    widget.value = self._shown(name, value)
                finally:
                    widget.observe(self._on_change, names="value")
        self._on_change(None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -------------------------------------------------- figure

    def _build_figure(self) -> None:
        n = len(self.views)
        rows, cols = _grid(n)
        width = WIDTH_PX if cols > 1 else WIDTH_PX * 2 // 3
        self.figure = new_figure(width, PANEL_HEIGHT_PX * rows, self.dpi)
        top_px, bottom_px = 28, 48
        height = PANEL_HEIGHT_PX * rows
        axes_px = (width - LEFT_PX - 12 - (cols - 1) * LEFT_PX) / cols
        self.figure.subplots_adjust(left=LEFT_PX / width, right=1 - 12 / width,
                                    bottom=bottom_px / height, top=1 - top_px / height,
                                    wspace=LEFT_PX / axes_px, hspace=(top_px + bottom_px + 10) / (
                                        PANEL_HEIGHT_PX - top_px - bottom_px))
        self._ylabel_x = -YLABEL_PX / axes_px
        grid = self.figure.add_gridspec(rows, cols)
        axes = [self.figure.add_subplot(grid[k // cols, k % cols]) for k in range(n)]
        self.axes = dict(zip(self.views, axes))
        self.artists: dict = {}
        setup = {"gradients": self._setup_gradients, "activations": self._setup_activations,
                 "loss": self._setup_loss, "boundary": self._setup_boundary}
        for view, ax in self.axes.items():
            setup[view](ax)
            style_axes(ax, 11 * 72 / self.dpi)
        self._slots = self._panel_slots(rows, cols)
        self._drawn: dict = {}

    def _panel_slots(self, rows: int, cols: int) -> dict:
        """Per view, the pixel box (x0, y0, x1, y1; top-left origin) holding its axes, ticks
        and labels, and that box of the figure showing only the view's fixed text (title and
        axis labels), to wipe the panel before redrawing it.

        Panels are redrawn one at a time (``figure.draw_artist``): a change of depth redraws
        the two views computed at initialisation, not the training views beside them. The
        fixed text sits at fixed positions and is drawn once, here.
        """
        from matplotlib.transforms import Bbox

        canvas = self.figure.canvas
        fixed = []
        for ax in self.axes.values():
            ax.set_title(ax.get_title(), y=1.0)
            ax.xaxis.set_label_coords(0.5, -0.14)
            ax.yaxis.set_label_coords(self._ylabel_x, 0.5)
            fixed += [ax.title, ax.xaxis.label, ax.yaxis.label]
            ax.set_visible(False)
        canvas.draw()
        for text in fixed:
            self.figure.draw_artist(text)
            text.set_visible(False)
        width, height = canvas.get_width_height()
        extents = [ax.get_window_extent() for ax in self.axes.values()]
        col_edges = [0] + [int(math.ceil(extents[c].x1)) + 2 for c in range(cols - 1)] + [width]
        # rows split halfway between one row's axes bottom and the next row's axes top
        row_edges = [height] + [int((extents[r * cols].y0 + extents[(r + 1) * cols].y1) / 2)
                                for r in range(rows - 1)] + [0]
        slots = {}
        for k, view in enumerate(self.axes):
            r, c = divmod(k, cols)
            x0, x1, y_top, y_bottom = col_edges[c], col_edges[c + 1], row_edges[r], row_edges[r + 1]
            blank = canvas.copy_from_bbox(Bbox.from_extents(x0, y_bottom, x1, y_top))
            slots[view] = ((x0, height - y_top, x1, height - y_bottom), blank)
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
        ax.legend(fontsize=10, loc="lower right")
        ax.grid(True, which="major", alpha=0.3)

    def _setup_activations(self, ax) -> None:
        from matplotlib.collections import PolyCollection

        (self.artists["median"],) = ax.plot([], [], color="C0", lw=1.5, marker="o", ms=3,
                                            label="median")
        self.artists["bands"] = [PolyCollection([], facecolors="C0", alpha=alpha, linewidths=0)
                                 for alpha in (0.2, 0.4)]
        for band in self.artists["bands"]:
            ax.add_collection(band, autolim=False)
        ax.set(xlabel="layer (1 = input side)", ylabel="activation",
               title="activations: 5-95, 25-75 %")
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
            out["profile"] = self.cache.get("profile", gradient_profile, at_initialisation(s))
        if self._trains and ("run", s) in self.cache.items:
            out["run"] = self.cache.get("run", train_run, s)
        return out

    def update(self) -> None:
        """Redraw for the current settings: at once what is cheap or cached, then the rest.

        The views computed from one forward/backward pass (gradients, activations) and a cached
        training run are drawn immediately. A training run not yet cached comes next: straight
        away when no event loop is running (scripts, tests), else in pieces scheduled on the
        running loop (a notebook kernel): the loss curve is redrawn as it grows (at most every
        STREAM_REDRAW_S seconds), and a newer change supersedes the run in progress.
        """
        self._generation += 1
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        s = self.settings
        try:
            results = self._ready_results(s)
        except Exception as error:  # a setting the library rejects is shown, not raised
            self._show_error(error)
            return
        waiting = self._trains and "run" not in results
        self._draw(results, waiting)
        if not waiting:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._finish(self._generation, s)
            return
        stream = train_stream(s)
        self.pending = asyncio.get_running_loop().call_soon(
            self._advance, self._generation, s, stream, results, 0.0)

    def _advance(self, generation: int, s: Settings, stream, results: dict,
                 last_draw: float) -> None:
        """Run the next piece of the training run; redraw its partial loss curve now and then,
        or the finished picture; stop when a newer change came first."""
        import time

        self.pending = None
        if generation != self._generation:
            return
        try:
            run = next(stream)
        except Exception as error:
            self._show_error(error)
            return
        if run.done:
            self.cache.put("run", s, run)
            self._draw({**results, "run": run}, waiting=False)
            return
        now = time.perf_counter()
        if now - last_draw >= STREAM_REDRAW_S:
            self._draw({**results, "partial": run}, waiting=True)
            last_draw = now
        self.pending = asyncio.get_running_loop().call_soon(
            self._advance, generation, s, stream, results, last_draw)

    def _finish(self, generation: int, s: Settings) -> None:
        """Compute the whole training run for s and redraw, unless a newer change came first."""
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

        While a training run is being computed its views keep their last picture, faded; the
        loss view shows the partial curve when there is one.
        """
        canvas = self.figure.canvas
        faded = []
        for view in self.views:
            if view == "loss":
                result = results.get("run", results.get("partial"))
            elif view == "boundary":
                result = results.get("run")
            else:
                result = results.get("profile")
            if result is None:
                faded.append(self._slots[view][0])
            elif self._drawn.get(view) is not result:
                getattr(self, f"_draw_{view}")(self.axes[view], result)
                canvas.restore_region(self._slots[view][1])
                self.figure.draw_artist(self.axes[view])
                self._drawn[view] = result
        text = self._status_text(results)
        if waiting:
            partial = results.get("partial")
            progress = (f"training... step {partial.loss.size} of {self.settings.steps}"
                        if partial is not None else "training...")
            text = f"{text}; {progress}" if text else progress
        self.status.value = text
        self.image.value = png(self.figure, draw=False, faded=faded)

    def render(self, faded=()) -> bytes:
        """The figure's current pixels as PNG bytes, the views named in ``faded`` washed out."""
        return png(self.figure, draw=False, faded=[self._slots[v][0] for v in faded])

    def _status_text(self, results: dict) -> str:
        parts = []
        if "lr" in self.controls:
            lr = self.settings.lr
            exponent = math.log10(lr) / LR_EXPONENT_STEP
            if abs(exponent - round(exponent)) < 1e-9 and round(exponent) % 4:
                parts.append(f"learning rate {lr:.3g} (the slider snaps to 1, 1.78, 3.16, "
                             f"5.62 x 10^k)")
        if "profile" in results:
            p = results["profile"]
            parts.append(f"||dL/dh|| first/last hidden layer {p.ratio:.2g}")
            off = f"{100 * float(np.mean(p.dead)):.0f} %"
            if self.settings.activation == "relu":
                parts.append(f"dead units {off}")
            elif self.settings.activation == "leaky_relu":
                parts.append(f"units off on every example {off} (leaky: they still learn)")
        if "run" in results:
            run = results["run"]
            if run.diverged_at is not None:
                return (f"<b style='color:#cf222e'>diverged at step {run.diverged_at}</b>; "
                        + "; ".join(parts))
            parts.append(f"final loss {run.loss[-1]:.3g}, accuracy {100 * run.accuracy:.0f} %")
        return "; ".join(parts)

    def _draw_gradients(self, ax, profile) -> None:
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

    def _draw_activations(self, ax, profile) -> None:
        """Quantile bands per layer; a single layer is drawn as a bar of width 0.5 around it,
        so depth 1 shows its spread instead of an empty panel."""
        from course.plots import activation_quantiles

        q = activation_quantiles(profile.activations)
        layers = np.arange(1, q.shape[0] + 1, dtype=np.float64)
        ok = np.all(np.isfinite(q), axis=1)
        x, qs = layers[ok], q[ok]
        if x.size == 1:
            x, qs = np.array([x[0] - 0.25, x[0] + 0.25]), np.repeat(qs, 2, axis=0)
        for band, (lo, hi) in zip(self.artists["bands"], [(0, 4), (1, 3)]):
            band.set_verts([np.column_stack([np.r_[x, x[::-1]], np.r_[qs[:, lo], qs[::-1, hi]]])]
                           if x.size else [])
        self.artists["median"].set_data(layers, q[:, 2])
        finite = q[np.isfinite(q)]
        ax.set_xlim(0.5, max(q.shape[0], 1) + 0.5)
        if finite.size:
            _set_padded_ylim(ax, finite.min(), finite.max())
            distinct_ticks(ax)

    def _draw_loss(self, ax, run) -> None:
        """The loss before each step; an x marks the last finite loss of a diverged run."""
        loss = run.loss
        shown = np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)
        self.artists["loss"].set_data(np.arange(1, loss.size + 1), shown)
        ax.set_xlim(0, self.settings.steps + 1)
        finite = shown[np.isfinite(shown)]
        if finite.size and finite.max() > 10 * finite.min():
            _log_y(ax)
            _set_log_ylim(ax, finite.min() / 1.5, finite.max() * 1.5)
        elif finite.size:
            ax.set_yscale("linear")
            from matplotlib.ticker import MaxNLocator

            ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
            _set_padded_ylim(ax, finite.min(), finite.max(), floor=0.0)
            distinct_ticks(ax)
        last = np.flatnonzero(np.isfinite(shown))
        diverged = run.diverged_at is not None and last.size > 0
        self.artists["loss_end"].set_data(last[-1:] + 1 if diverged else [],
                                          shown[last[-1:]] if diverged else [])

    def _draw_boundary(self, ax, run) -> None:
        self.artists["boundary"].set_data(np.ma.masked_invalid(run.boundary))
        self.artists["boundary"].set_extent(run.extent)


def _integer_x(ax) -> None:
    """x ticks on whole numbers only (layers, steps)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))


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


def explore(controls=None, views=None, **settings) -> Explorer:
    """An :class:`Explorer` starting at ``Settings(**settings)``; display it as a cell's value.

    controls, views: None for all of CONTROLS and VIEWS."""
    return Explorer(Settings(**settings), controls=CONTROLS if controls is None else controls,
                    views=VIEWS if views is None else views)
