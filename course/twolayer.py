"""A two-layer ReLU network, vectorised: h = relu(x @ W1 + b1), yhat = h @ W2 + b2,
L = mean over the batch of sum_j (yhat - y)^2 / 2; ``train`` runs full-batch gradient descent
on it; ``worked_example`` is the scalar network with one hidden unit, every number of its
forward and backward pass. Lesson 03's learner writes ``worked_example``,
``TwoLayerNet.forward``, ``TwoLayerNet.backward`` and ``train``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _require(name: str, arr, shape: tuple) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != len(shape) or any(e is not None and e != g for e, g in zip(shape, arr.shape)):
        want = tuple("n" if e is None else e for e in shape)
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    return arr.astype(np.float64, copy=False)


class TwoLayerNet:
    """W1 (d_in, d_hidden), b1 (d_hidden,), W2 (d_hidden, d_out), b2 (d_out,), He-initialised."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": rng.normal(size=(d_in, d_hidden)) * np.sqrt(2.0 / d_in),
            "b1": np.zeros(d_hidden),
            "W2": rng.normal(size=(d_hidden, d_out)) * np.sqrt(1.0 / d_hidden),
            "b2": np.zeros(d_out),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cache = None

    def forward(self, x, y) -> float:
        """x (n, d_in), y (n, d_out) -> mean loss; caches x, z1, h, yhat, y."""
        d_in, d_out = self.params["W1"].shape[0], self.params["W2"].shape[1]
        x = _require("x", x, (None, d_in))
        y = _require("y", y, (x.shape[0], d_out))
        z1 = x @ self.params["W1"] + self.params["b1"]
        h = np.maximum(z1, 0.0)
        yhat = h @ self.params["W2"] + self.params["b2"]
        self.cache = (x, z1, h, yhat, y)
        return float(0.5 * np.sum((yhat - y) ** 2) / x.shape[0])

    def backward(self) -> np.ndarray:
        """Fills ``grads`` (same keys and shapes as ``params``); returns dL/dx (n, d_in)."""
        if self.cache is None:
            raise RuntimeError("call forward(x, y) before backward()")
        x, z1, h, yhat, y = self.cache
        d2 = (yhat - y) / x.shape[0]
        self.grads["W2"] = h.T @ d2
        self.grads["b2"] = d2.sum(axis=0)
        d1 = (d2 @ self.params["W2"].T) * (z1 > 0)
        self.grads["W1"] = x.T @ d1
        self.grads["b1"] = d1.sum(axis=0)
        return d1 @ self.params["W1"].T


def train(net, x, y, lr: float, steps: int) -> np.ndarray:
    """Full-batch gradient descent on ``net`` (a TwoLayerNet), in place: each step runs forward
    on all of (x, y), backward, then moves every parameter by -lr times its gradient.

    x (n, d_in), y (n, d_out) -> the loss before each step, an array (steps,).
    """
    losses = []
    for _ in range(steps):
        losses.append(net.forward(x, y))
        net.backward()
        for name, p in net.params.items():
            p -= lr * net.grads[name]
    return np.array(losses)


# ---------------------------------------------------------------- the worked example

WORKED_FORWARD = ("z1", "h", "yhat", "L")
WORKED_BACKWARD = ("dL_dyhat", "dL_dw2", "dL_db2", "dL_dh", "dL_dz1", "dL_dw1", "dL_db1")


@dataclass(frozen=True)
class WorkedExample:
    """Every number of one forward and backward pass through the smallest two-layer ReLU net:
    a scalar input x, one hidden ReLU unit, a linear output and the squared error

        z1 = w1 x + b1,  h = relu(z1),  yhat = w2 h + b2,  L = (yhat - y)^2 / 2.

    Backward, each line is upstream x local:
        dL/dyhat = yhat - y;  dL/dw2 = dL/dyhat h;  dL/db2 = dL/dyhat;  dL/dh = dL/dyhat w2;
        dL/dz1 = dL/dh [z1 > 0];  dL/dw1 = dL/dz1 x;  dL/db1 = dL/dz1.
    When z1 <= 0 the unit is dead for this example: w1 and b1 get zero gradient.
    """

    x: float
    y: float
    w1: float
    b1: float
    w2: float
    b2: float
    z1: float
    h: float
    yhat: float
    L: float
    dL_dyhat: float
    dL_dw2: float
    dL_db2: float
    dL_dh: float
    dL_dz1: float
    dL_dw1: float
    dL_db1: float

    def grads(self) -> dict[str, float]:
        return {"w1": self.dL_dw1, "b1": self.dL_db1, "w2": self.dL_dw2, "b2": self.dL_db2}

    def table(self) -> str:
        """The forward values, then the backward ones, one per line."""
        rows = ["forward"] + [f"  {k:<9}= {getattr(self, k):+.4f}" for k in WORKED_FORWARD]
        rows += ["backward"] + [f"  {k:<9}= {getattr(self, k):+.4f}" for k in WORKED_BACKWARD]
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()


def worked_example(x: float, y: float, w1: float, b1: float, w2: float,
                   b2: float) -> WorkedExample:
    """Run the worked example (see WorkedExample) on plain numbers; returns every intermediate."""
    args = {"x": x, "y": y, "w1": w1, "b1": b1, "w2": w2, "b2": b2}
    for name, v in args.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    x, y, w1, b1, w2, b2 = (float(v) for v in args.values())
    z1 = w1 * x + b1
    h = max(z1, 0.0)
    yhat = w2 * h + b2
    dyhat = yhat - y
    dh = dyhat * w2
    dz1 = dh * (1.0 if z1 > 0 else 0.0)
    return WorkedExample(x, y, w1, b1, w2, b2, z1, h, yhat, 0.5 * dyhat**2, dyhat, dyhat * h,
                         dyhat, dh, dz1, dz1 * x, dz1)
