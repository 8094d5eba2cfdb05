"""Per-layer health checks for a network: gradient norms, activation statistics, dead ReLUs,
saturated sigmoid/tanh units and update-to-weight ratios.

The array-level functions (``dead_fraction``, ``saturated_fraction``) take one layer's activations
(n, d); the network-level ones run a forward pass layer by layer through ``net.layers``. Results are
:class:`LayerTable` objects that print as aligned text in a notebook and give their columns back
with ``table[column]``. Statistics are computed in float64 numpy, whatever the backend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from course.backend import copy, sum_of_squares, to_numpy
from course.layers import ReLU, Sigmoid, Tanh
from course.table import format_table

SATURATION_TOL = 0.01
BOUNDS = {Sigmoid: (0.0, 1.0), Tanh: (-1.0, 1.0)}


@dataclass
class LayerTable:
    """A small per-layer table: ``rows[i]`` holds one value per column (None shows as '-')."""

    title: str
    columns: list[str]
    rows: list[list]

    def __getitem__(self, column: str) -> list:
        if column not in self.columns:
            raise KeyError(f"no column {column!r}; the columns are {self.columns}")
        k = self.columns.index(column)
        return [row[k] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        rows = [[_fmt(v) for v in row] for row in self.rows]
        return "\n".join([self.title, *format_table(self.columns, rows, numbers_right=True)])


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _layer_of(name: str) -> str:
    """The layer part of a parameter name: '2.W' -> '2' (everything before the last dot)."""
    return name.rsplit(".", 1)[0] if "." in name else name


def layer_gradient_norms(grads: Mapping) -> dict[str, float]:
    """Norm of all of one layer's parameter gradients together, per layer, in order.

    grads: dict parameter name -> array ('0.W', '0.b', '1.W', ...); parameters sharing the prefix
    before the last dot form one layer. Returns layer name -> float (inf/nan when a gradient is).
    """
    sums: dict[str, float] = {}
    for name, g in grads.items():
        layer = _layer_of(name)
        sums[layer] = sums.get(layer, 0.0) + sum_of_squares(g)
    return {layer: math.sqrt(s) if s >= 0 else s for layer, s in sums.items()}


def gradient_norms(grads: Mapping) -> LayerTable:
    """Per-parameter gradient norms as a table with columns parameter, shape, grad norm."""
    rows = [[name, "x".join(map(str, g.shape)), math.sqrt(sum_of_squares(g))]
            for name, g in grads.items()]
    return LayerTable("gradient norms", ["parameter", "shape", "grad norm"], rows)


def dead_fraction(a) -> float:
    """Fraction of units (columns of a (n, d)) that are zero (<= 0) for every row of the batch."""
    a = to_numpy(a, "float64")
    _require_2d("a", a)
    return float(np.mean(np.all(a <= 0.0, axis=0)))


def saturated_fraction(a, low: float, high: float, tol: float = SATURATION_TOL) -> float:
    """Fraction of entries of a (n, d) within ``tol`` of the bounds ``low`` or ``high``.

    For sigmoid low, high = 0, 1; for tanh -1, 1. There the local derivative is below about tol,
    so almost no gradient passes.
    """
    a = to_numpy(a, "float64")
    _require_2d("a", a)
    if not 0 < tol < (high - low) / 2:
        raise ValueError(f"tol must lie in (0, {(high - low) / 2}), got {tol!r}")
    return float(np.mean((a <= low + tol) | (a >= high - tol)))


def _require_2d(name: str, a: np.ndarray) -> None:
    if a.ndim != 2:
        raise ValueError(f"{name} must be activations of shape (n, d), got shape {a.shape}")


def layer_outputs(net, x) -> list[tuple[str, object]]:
    """Run x (n, d_in) through ``net.layers`` one by one; [(name, output (n, d))] per layer.

    Names are '<index> <LayerClass>', e.g. '1 ReLU'. The layers' caches are refreshed as by a
    forward pass of the whole network.
    """
    outputs = []
    h = x
    with np.errstate(all="ignore"):
        for i, layer in enumerate(net.layers):
            h = layer.forward(h)
            outputs.append((f"{i} {type(layer).__name__}", h))
    return outputs


def activation_stats(net, x, tol: float = SATURATION_TOL) -> LayerTable:
    """Per layer of ``net.layers`` on the batch x (n, d_in): output mean and std, and where it
    applies the dead-unit fraction (ReLU) or the saturated fraction (Sigmoid, Tanh, within tol).
    """
    rows = []
    for layer, (name, out) in zip(net.layers, layer_outputs(net, x)):
        a = to_numpy(out, "float64")
        dead = dead_fraction(a) if isinstance(layer, ReLU) else None
        bounds = next((b for cls, b in BOUNDS.items() if isinstance(layer, cls)), None)
        saturated = saturated_fraction(a, *bounds, tol) if bounds else None
        rows.append([name, float(a.mean()), float(a.std()), dead, saturated])
    return LayerTable("activations", ["layer", "mean", "std", "dead", "saturated"], rows)


def saturated_fractions(net, x, tol: float = SATURATION_TOL) -> dict[str, float]:
    """Layer name -> fraction of saturated activations, for each Sigmoid and Tanh layer."""
    table = activation_stats(net, x, tol)
    return {n: s for n, s in zip(table["layer"], table["saturated"]) if s is not None}


def snapshot(params: Mapping) -> dict:
    """Copies of every array in ``params`` (to compare with after an optimizer step)."""
    return {name: copy(p) for name, p in params.items()}


def update_to_weight(before: Mapping, after: Mapping) -> LayerTable:
    """||after - before|| / ||before|| for each weight matrix (parameters with ndim >= 2).

    before: snapshot(net.parameters()) taken before opt.step; after: net.parameters() after it.
    The step actually applied (lr times the optimizer's update direction) is after - before. A
    healthy ratio is often around 1e-3; much smaller means the layer barely learns.
    """
    rows = []
    for name, w0 in before.items():
        if name not in after:
            raise KeyError(f"parameter {name!r} of before is missing from after")
        if len(w0.shape) < 2:
            continue
        w0, w1 = to_numpy(w0, "float64"), to_numpy(after[name], "float64")
        if w0.shape != w1.shape:
            raise ValueError(f"parameter {name!r} has shape {w0.shape} before and {w1.shape} after")
        norm = float(np.linalg.norm(w0))
        ratio = float(np.linalg.norm(w1 - w0)) / norm if norm > 0 else math.inf
        rows.append([name, ratio])
    return LayerTable("update-to-weight ratio", ["parameter", "ratio"], rows)


# ---------------------------------------------------------------- watching a whole run
# Lesson 06's "watch a run, layer by layer": every few steps of a training run, each layer's
# activations and the gradient arriving at them as histograms, the saturated (or dead) fraction
# and every weight matrix's update-to-weight ratio.

WATCH_BINS = 41
WATCHED = (ReLU, Sigmoid, Tanh)


def layer_pass(net, loss_fn, x, y):
    """One forward and one backward pass through ``net.layers``, keeping every layer's output.

    x: (n, d_in), y: labels. Returns (loss, outputs, upstreams): loss a float; outputs[i] the
    output of net.layers[i] (n, d_i); upstreams[i] dL/d(outputs[i]), same shape. The layers'
    gradients are stored as by ``net.backward`` (the optimizer can step on them).
    """
    outputs, h = [], x
    for layer in net.layers:
        h = layer.forward(h)
        outputs.append(h)
    loss = float(loss_fn.forward(h, y))
    g = loss_fn.backward()
    upstreams = [None] * len(net.layers)
    for i in range(len(net.layers) - 1, -1, -1):
        upstreams[i] = g
        g = net.layers[i].backward(g)
    return loss, outputs, upstreams


@dataclass
class RunWatch:
    """What :func:`watch_run` saw.

    layers: names of the watched layers ('3 Tanh', input side first). steps: the steps recorded.
    act_hist, grad_hist: (len(steps), len(layers), bins) histogram counts of the activations
    and of |dL/dh| (log10) at each recorded step; act_edges, grad_edges: the bin edges.
    saturated: (len(steps), len(layers)) fraction of activations saturated (Sigmoid, Tanh) or
    zero (ReLU). grad_rms: (len(steps), len(layers)) root mean square of dL/dh. weights: names
    of the weight matrices; update_ratio: (number of steps run, len(weights)), each matrix's
    ||W_after - W_before|| / ||W_before|| at every step. loss: the loss at every step.
    """

    layers: list
    steps: list
    act_edges: np.ndarray
    act_hist: np.ndarray
    grad_edges: np.ndarray
    grad_hist: np.ndarray
    saturated: np.ndarray
    grad_rms: np.ndarray
    weights: list
    update_ratio: np.ndarray
    loss: list


def _saturation(layer, a: np.ndarray, tol: float) -> float:
    if isinstance(layer, ReLU):
        return float(np.mean(a <= 0.0))
    low, high = next(b for cls, b in BOUNDS.items() if isinstance(layer, cls))
    return float(np.mean((a <= low + tol) | (a >= high - tol)))


def watch_run(net, loss_fn, opt, x, y, steps: int, every: int = 10, pass_fn=None,
              act_range: tuple = (-1.0, 1.0), tol: float = SATURATION_TOL) -> RunWatch:
    """Train ``net`` full-batch for ``steps`` steps of ``opt`` and watch every layer.

    x: (n, d_in), y: labels. Each step runs ``pass_fn(net, loss_fn, x, y)`` (default
    :func:`layer_pass`: the learner's exercise 06.8 has its signature), then ``opt.step``.
    Activation layers (ReLU, Sigmoid, Tanh; inside residual blocks not opened) are watched at
    step 1 and every ``every`` steps: histograms of their outputs over ``act_range`` and of
    log10 |dL/dh| over [-12, 0], the saturated or dead fraction (within ``tol`` of a bound) and
    the rms gradient. Every weight matrix's update-to-weight ratio is kept at every step.
    """
    pass_fn = layer_pass if pass_fn is None else pass_fn
    watched = [i for i, layer in enumerate(net.layers) if isinstance(layer, WATCHED)]
    act_edges = np.linspace(*act_range, WATCH_BINS + 1)
    grad_edges = np.linspace(-12.0, 0.0, WATCH_BINS + 1)
    rec = {"steps": [], "act": [], "grad": [], "sat": [], "rms": []}
    ratios, losses = [], []
    with np.errstate(all="ignore"):
        for step in range(1, steps + 1):
            loss, outputs, upstreams = pass_fn(net, loss_fn, x, y)
            losses.append(float(loss))
            if step == 1 or step % every == 0:
                _record(rec, step, net, watched, outputs, upstreams, act_edges, grad_edges, tol)
            before = {k: copy(p) for k, p in net.parameters().items() if len(p.shape) >= 2}
            opt.step(net.gradients())
            table = update_to_weight(before, net.parameters())
            ratios.append(table["ratio"])
    return RunWatch([f"{i} {type(net.layers[i]).__name__}" for i in watched], rec["steps"],
                    act_edges, np.array(rec["act"]), grad_edges, np.array(rec["grad"]),
                    np.array(rec["sat"]), np.array(rec["rms"]), list(table["parameter"]),
                    np.array(ratios, dtype=np.float64), losses)


def _record(rec, step, net, watched, outputs, upstreams, act_edges, grad_edges, tol) -> None:
    rec["steps"].append(step)
    acts, grads, sats, rms = [], [], [], []
    for i in watched:
        a = to_numpy(outputs[i], "float64")
        g = np.abs(to_numpy(upstreams[i], "float64"))
        acts.append(np.histogram(np.clip(a, act_edges[0], act_edges[-1]), act_edges)[0])
        logs = np.log10(np.maximum(g, 1e-300))
        grads.append(np.histogram(np.clip(logs, grad_edges[0], grad_edges[-1]), grad_edges)[0])
        sats.append(_saturation(net.layers[i], a, tol))
        rms.append(float(np.sqrt(np.mean(g * g))))
    rec["act"].append(acts)
    rec["grad"].append(grads)
    rec["sat"].append(sats)
    rec["rms"].append(rms)
