"""Gradient checking: central differences in float64 and the norm-wise relative error.

The one rule used everywhere in the course (library, tests and lessons)::

    relative_error(a, b) = ||a - b|| / max(||a||, ||b||, TINY)

with ``a`` the analytic and ``b`` the numerical gradient. Elementwise maxima are reported
(the worst single entry, with its index and both values) but do not decide: near-zero
entries are dominated by finite-difference round-off.

    error <= PASS        pass
    error <= SUSPICIOUS  suspicious
    otherwise            fail
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from course.table import format_table

PASS = 1e-7
SUSPICIOUS = 1e-5
TINY = 1e-300
EPS = 1e-6


def relative_error(a, b) -> float:
    """Norm-wise relative error ``||a - b|| / max(||a||, ||b||, TINY)`` of two arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: a has shape {a.shape} but b has shape {b.shape}")
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), TINY)
    return float(np.linalg.norm(a - b)) / scale


def verdict(error: float) -> str:
    """'pass', 'suspicious' or 'fail' for a relative error, against PASS and SUSPICIOUS."""
    if not np.isfinite(error):
        return "fail"
    if error <= PASS:
        return "pass"
    return "suspicious" if error <= SUSPICIOUS else "fail"


def _require_float64(name: str, x) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of float64, got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(
            f"{name} must have dtype float64 for a finite-difference check, got {x.dtype}"
            " (integer or float32 arrays cannot resolve a step of 1e-6; use x.astype(np.float64))"
        )
    return x


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = EPS) -> np.ndarray:
    """Central-difference gradient of the scalar ``f(x)`` with respect to the array ``x``.

    ``x`` (any shape, float64) is perturbed in place, one entry at a time, ``f(x)`` evaluated at
    ``x + eps e_i`` and ``x - eps e_i``, and the entry restored:
    ``df/dx[i] ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``. Because the array itself is
    perturbed, ``f`` may read it through its argument or through a closure (a loss that reads a
    layer's weights: ``numerical_gradient(lambda _: loss(), layer.params["W"])``). Costs
    ``2 * x.size`` calls of f. Returns an array of ``x``'s shape; ``x`` is left as it was.
    """
    _require_float64("x", x)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = float(f(x))
        x[i] = old - eps
        minus = float(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@dataclass(frozen=True)
class ParamCheck:
    """One parameter's comparison of analytic and numerical gradients."""

    name: str
    shape: tuple
    error: float
    worst_index: tuple
    worst_analytic: float
    worst_numerical: float

    @property
    def status(self) -> str:
        return verdict(self.error)


@dataclass(frozen=True)
class GradReport:
    """Per-parameter results of a gradient check; ``ok`` is True when every parameter passes."""

    checks: tuple

    @property
    def ok(self) -> bool:
        return all(c.status == "pass" for c in self.checks)

    @property
    def max_error(self) -> float:
        return max((c.error for c in self.checks), default=0.0)

    def __getitem__(self, name: str) -> ParamCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def _rows(self):
        head = ("parameter", "shape", "rel. error", "status", "worst entry (analytic vs numerical)")
        rows = [
            (
                c.name,
                "x".join(map(str, c.shape)) or "scalar",
                f"{c.error:.2e}",
                c.status,
                f"{list(c.worst_index)}: {c.worst_analytic:+.6e} vs {c.worst_numerical:+.6e}",
            )
            for c in self.checks
        ]
        return head, rows

    def __str__(self) -> str:
        head, rows = self._rows()
        lines = format_table(head, rows)
        lines.append(
            f"relative error = ||a - b|| / max(||a||, ||b||); pass <= {PASS:.0e}, "
            f"suspicious <= {SUSPICIOUS:.0e}, fail above"
        )
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colours = {"pass": "#1a7f37", "suspicious": "#9a6700", "fail": "#cf222e"}
        head, rows = self._rows()
        th = "".join(f"<th>{h}</th>" for h in head)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="color:{colours[r[3]]}">{v}</td>' if i == 3 else f"<td>{v}</td>"
                for i, v in enumerate(r)
            )
            + "</tr>"
            for r in rows
        )
        return f"<table><tr>{th}</tr>{body}</table>"


def compare(name: str, analytic, numerical) -> ParamCheck:
    """Compare one parameter's analytic and numerical gradients (same shape)."""
    a = np.asarray(analytic, dtype=np.float64)
    b = np.asarray(numerical, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"gradient of {name!r}: analytic shape {a.shape} differs from numerical shape {b.shape}"
        )
    diff = np.abs(a - b)
    idx = np.unravel_index(int(np.argmax(diff)), a.shape) if a.size else ()
    return ParamCheck(
        name=name,
        shape=tuple(a.shape),
        error=relative_error(a, b),
        worst_index=tuple(int(i) for i in idx),
        worst_analytic=float(a[idx]) if a.size else 0.0,
        worst_numerical=float(b[idx]) if a.size else 0.0,
    )


def check_gradients(
    loss: Callable[[], float],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    eps: float = EPS,
) -> GradReport:
    """Check analytic ``grads`` against central differences of ``loss()`` for each of ``params``.

    ``params`` maps names to float64 arrays that ``loss()`` reads (each is perturbed in place
    and restored by :func:`numerical_gradient`, with ``f = lambda _: loss()``); ``grads`` maps
    the same names to the analytic gradients, same shapes.
    """
    missing = set(params) - set(grads)
    if missing:
        raise KeyError(f"grads has no entry for parameter(s) {sorted(missing)}")
    checks = []
    for name, p in params.items():
        _require_float64(f"params[{name!r}]", p)
        checks.append(compare(name, grads[name], numerical_gradient(lambda _: loss(), p, eps)))
    return GradReport(tuple(checks))


def check_layer(layer, x: np.ndarray, upstream: np.ndarray) -> dict[str, float]:
    """Check one layer alone: its backward against central differences of the surrogate loss
    ``L = sum(layer.forward(x) * upstream)``, whose gradient with respect to the layer's output
    is exactly ``upstream`` (a random array, so that no direction is missed).

    layer: has ``forward``, ``backward(upstream)``, ``params`` and ``grads``; x (n, d_in) and
    upstream (n, d_out) float64. -> {"x": relative error of dL/dx, and one entry per name in
    ``layer.params``}. x and the parameters are perturbed in place and restored.
    """

    def loss(_):
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    analytic = {"x": layer.backward(upstream), **layer.grads}
    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x))}
    for name, p in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, p))
    return errors
