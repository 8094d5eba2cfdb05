"""A two-layer ReLU network, vectorised: h = relu(x @ W1 + b1), yhat = h @ W2 + b2,
L = mean over the batch of sum_j (yhat - y)^2 / 2."""

from __future__ import annotations

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
