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
