"""Matplotlib figures shared by the lessons and the explorers.

Each function draws into ``ax`` when given one (so a lesson can put several side by side) and
otherwise makes its own figure; it returns the axes it drew on. Nothing here calls ``plt.show``.
Conventions: layers are numbered from 1 (nearest the input) on the x axis; gradient norms use a
log axis; decision boundaries shade the predicted class over a grid around the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

FIGSIZE = (8, 3.5)
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def _axes(ax, figsize=FIGSIZE):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finite_positive(values) -> np.ndarray:
    """values as float64 with non-finite or non-positive entries replaced by NaN (not drawn)."""
    v = np.asarray(values, dtype=np.float64).copy()
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
OUTLIER_DECADES = 10


def legend_label(name: str) -> str:
    """A legend label with powers written as superscripts: 'N(0, 0.01^2)' -> 'N(0, 0.01²)'."""
    return re.sub(r"\^\{?(-?\d+)\}?", lambda m: m.group(1).translate(_SUPERSCRIPTS), name)


def loss_curves(curves: Mapping[str, Sequence[float]], ax=None, log: bool = True,
                title: str = "training loss"):
    """One line per run: name -> loss at each step (length = steps run; may differ per run).

    A run that diverged simply ends early; its last finite point is marked with an x.
    """
    ax = _axes(ax)
    for name, loss in curves.items():
        loss = np.asarray(loss, dtype=np.float64)
        (line,) = ax.plot(np.arange(1, loss.size + 1), loss, label=legend_label(name), lw=1.5)
        finite = np.flatnonzero(np.isfinite(loss))
        if finite.size and finite[-1] < loss.size - 1:
            ax.plot(finite[-1] + 1, loss[finite[-1]], "x", color=line.get_color(), ms=8)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title=title)
    if curves:
        ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


def boundary_grid(x: np.ndarray, resolution: int = 120, padding: float = 0.5):
    """A grid covering the 2-D points x (n, 2) plus ``padding``.

    Returns (xx, yy, points): xx, yy (resolution, resolution) and points (resolution**2, 2).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (n, 2) for a decision boundary, got {x.shape}")
    lo, hi = x.min(axis=0) - padding, x.max(axis=0) + padding
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], x, y, ax=None,
                      resolution: int = 120, title: str = "decision boundary"):
    """Shade the class ``predict`` gives each point of a grid around x, then scatter the data.

    predict: (m, 2) -> (m,) integer labels; x: (n, 2) inputs; y: (n,) integer labels.
    """
    ax = _axes(ax, (4.5, 4))
    x, y = np.asarray(x), np.asarray(y).astype(int).ravel()
    xx, yy, points = boundary_grid(x, resolution)
    with np.errstate(all="ignore"):
        labels = np.asarray(predict(points)).astype(int).reshape(xx.shape)
    k = max(int(y.max()), int(labels.max())) + 1
    colours = CLASS_COLOURS[:k]
    from matplotlib.colors import ListedColormap

    ax.contourf(xx, yy, labels, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colours),
                alpha=0.25)
    for c in range(k):
        pts = x[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=10, color=colours[c], label=f"class {c}",
                   edgecolor="white", linewidth=0.3)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.legend(fontsize="small", loc="upper right")
    return ax


def far_curves(norms: Mapping[str, Sequence[float]],
               decades: float = OUTLIER_DECADES) -> list[str]:
    """Names of the curves whose smallest finite value lies more than ``decades`` decades below
    the smallest of every other curve: drawn with them, they would squash the rest into a band."""
    lows = {name: np.nanmin(np.log10(v)) for name, v in
            ((n, _finite_positive(vals)) for n, vals in norms.items()) if np.isfinite(v).any()}
    if len(lows) < 3:
        return []
    far = []
    for name, low in lows.items():
        others = [v for n, v in lows.items() if n != name]
        if low < min(others) - decades:
            far.append(name)
    return far if len(far) < len(lows) - 1 else []


def gradient_norms(norms: Mapping[str, Sequence[float]], ax=None,
                   title: str = "gradient norm per layer",
                   ylabel: str = r"$\|\partial L/\partial W\|$", separate: bool = False):
    """Per-layer gradient norms on a log axis: name -> one norm per layer (layer 1 = input side).

    Zero, NaN or inf norms are left out of the line (a log axis cannot show them). Labels show
    powers as superscripts (:func:`legend_label`). separate: when this function makes the
    figure (``ax`` None), curves far below all the others (:func:`far_curves`) get their own
    panel on the left, so the rest keep their detail; returns the axes of the other curves.
    """
    far = far_curves(norms) if separate and ax is None else []
    if far:
        _, (ax_far, ax) = plt.subplots(1, 2, figsize=(FIGSIZE[0] * 1.4, FIGSIZE[1]),
                                       layout="constrained", width_ratios=(1, 1.6))
        _draw_norms(ax_far, {n: norms[n] for n in far}, ylabel,
                    f"far below the others (more than 1e{OUTLIER_DECADES} smaller)", legend=True)
    ax = _axes(ax)
    rest = {n: v for n, v in norms.items() if n not in far}
    _draw_norms(ax, rest, ylabel, title, legend=len(rest) > 1 or bool(far))
    return ax


def _draw_norms(ax, norms: Mapping[str, Sequence[float]], ylabel: str, title: str,
                legend: bool) -> None:
    for name, values in norms.items():
        v = _finite_positive(values)
        ax.plot(np.arange(1, v.size + 1), v, "o-", ms=3, lw=1.5, label=legend_label(name))
    ax.set_yscale("log")
    ax.set(xlabel="layer (1 = nearest the input)", ylabel=ylabel, title=title)
    if legend:
        ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)


def activation_quantiles(activations: Sequence[np.ndarray]) -> np.ndarray:
    """(layers, 5): the 5, 25, 50, 75 and 95 % quantiles of each layer (NaN if none finite)."""
    out = np.full((len(activations), 5), np.nan)
    for i, a in enumerate(activations):
        a = np.asarray(a, dtype=np.float64).ravel()
        a = a[np.isfinite(a)]
        if a.size:
            out[i] = np.percentile(a, [5, 25, 50, 75, 95])
    return out


def sweep(results: Mapping, axes=None, xlabel: str = "learning rate"):
    """Two panels per call: each method's training loss (log) and validation accuracy over its
    grid (``results``: name -> course.experiment.Result with numeric settings). A diverged run
    is a gap in the line, marked with an x at the bottom; a ring marks the chosen setting."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.6), layout="constrained")
    ax_loss, ax_val = axes
    for k, (name, r) in enumerate(results.items()):
        grid, colour = np.asarray(r.grid, dtype=np.float64), f"C{k}"
        ax_loss.loglog(grid, _finite_positive(r.train_loss), "o-", ms=3, color=colour,
                       label=legend_label(name))
        ax_val.semilogx(grid, r.val, "o-", ms=3, color=colour, label=legend_label(name))
        chosen = r.grid.index(r.best)
        ax_val.plot(grid[chosen], r.val[chosen], "o", ms=10, mfc="none", color=colour)
        gone = ~np.isfinite(r.val)
        ax_val.plot(grid[gone], np.zeros(gone.sum()), "x", color=colour)
    ax_loss.set(xlabel=xlabel, ylabel="training loss, last steps",
                title="training loss: lowest right before the cliff")
    ax_val.set(xlabel=xlabel, ylabel="validation accuracy",
               title="validation accuracy (ring: chosen; x: diverged)")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    ax_val.legend(fontsize="small")
    return axes


def seed_spread(results: Mapping, ax=None, baseline: float | None = None,
                title: str = "test accuracy over the seeds"):
    """Each method's test accuracy on every seed (dots) with its mean (bar) and the mean +- one
    standard deviation (line); ``baseline`` as a dashed line. results: name -> Result."""
    ax = _axes(ax)
    names = list(results)
    for k, name in enumerate(names):
        r = results[name]
        test = np.nan_to_num(r.test, nan=0.0)
        ax.bar(k, r.mean, color=f"C{k}", alpha=0.35, width=0.6)
        ax.errorbar(k, r.mean, yerr=r.spread, color="k", capsize=4, lw=1)
        ax.plot(np.full(test.size, k) + np.linspace(-0.15, 0.15, test.size), test, "o",
                ms=3, color=f"C{k}")
    if baseline is not None:
        ax.axhline(baseline, color="grey", ls="--", lw=1, label="baseline")
        ax.legend(fontsize="small", loc="lower left")
    ax.set_xticks(range(len(names)), [legend_label(n) for n in names], rotation=20,
                  ha="right", fontsize="small")
    ax.set(ylabel="test accuracy", title=title)
    ax.grid(alpha=0.3, axis="y")
    return ax


def watch(run, title: str = "", layers: Sequence[int] | None = None, axes=None):
    """Four panels of a course.diagnostics.RunWatch: the activation histograms and the
    log10 |dL/dh| histograms at the last recorded step (one line per watched layer, a few
    layers when there are many), the saturated or dead fraction per layer over the steps, and
    every weight matrix's update-to-weight ratio over the steps (log, 1e-3 dashed)."""
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(15, 3.2), layout="constrained")
    n = len(run.layers)
    layers = list(layers) if layers is not None else sorted(set(
        np.linspace(0, n - 1, min(n, 5)).round().astype(int)))
    mids_a = (run.act_edges[:-1] + run.act_edges[1:]) / 2
    mids_g = (run.grad_edges[:-1] + run.grad_edges[1:]) / 2
    cmap = plt.get_cmap("viridis")
    for j, i in enumerate(layers):
        colour = cmap(j / max(len(layers) - 1, 1))
        axes[0].plot(mids_a, run.act_hist[-1, i], color=colour, label=run.layers[i])
        axes[1].plot(mids_g, run.grad_hist[-1, i], color=colour, label=run.layers[i])
    axes[0].set(xlabel="activation", ylabel="count", title=f"{title} activations, step "
                f"{run.steps[-1]}")
    axes[1].set(xlabel="log10 |dL/dh|", ylabel="count", title="gradient at each layer")
    axes[0].legend(fontsize="x-small")
    im = axes[2].imshow(run.saturated.T, aspect="auto", origin="lower", vmin=0, vmax=1,
                        cmap="magma", extent=(run.steps[0], run.steps[-1], 0.5, n + 0.5))
    axes[2].set(xlabel="step", ylabel="watched layer (1 = input side)",
                title="saturated / dead fraction")
    plt.colorbar(im, ax=axes[2])
    ratio = _finite_positive(run.update_ratio)
    w = ratio.shape[1]
    for j in range(w):
        axes[3].semilogy(np.arange(1, ratio.shape[0] + 1), ratio[:, j],
                         color=cmap(j / max(w - 1, 1)), lw=0.8)
    axes[3].axhline(1e-3, color="k", ls="--", lw=1)
    axes[3].set(xlabel="step", ylabel="||update|| / ||W||",
                title="update-to-weight ratio (dark: input side)")
    for ax in (axes[0], axes[1], axes[3]):
        ax.grid(alpha=0.3)
    return axes
