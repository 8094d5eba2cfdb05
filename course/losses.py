"""Losses that carry both the loss and its delta: ``forward(pred, target)`` returns the mean loss
over the batch (a 0-d array of the input's kind; ``float()`` it to print) and keeps what
``backward()`` needs to return dL/d(pred), the delta that starts backpropagation.

All three are written to stay finite for logits of +-1000: softmax through log-sum-exp with the
row maximum subtracted, binary cross-entropy through softplus(z) = max(z, 0) + log1p(exp(-|z|)).
Infinite logits give the limit, never nan from inf * 0 or inf - inf: a -inf logit of a class
that is not the label costs nothing; a binary logit of +-inf costs 0 on the right side and inf
on the wrong one. (A +inf softmax logit, or a row of -inf, has no limit: nan, as in torch.)
"""

from __future__ import annotations

import math

from course.backend import device, dtype_name, is_array, is_float, namespace
from course.layers import sigmoid


class Loss:
    """Base class: call it like a function, backward after forward."""

    def __init__(self):
        self.cache = None

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _cached(self):
        if self.cache is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        return self.cache

    def _check_pred(self, pred, ndim: tuple[int, ...], shape: str) -> None:
        if not is_array(pred) or pred.ndim not in ndim:
            got = tuple(pred.shape) if is_array(pred) else type(pred).__name__
            raise ValueError(f"{self!r}: pred must be an array of shape {shape}, got {got}")
        if not is_float(pred):
            raise TypeError(f"{self!r}: pred must be float32 or float64, got {dtype_name(pred)}")


class MSE(Loss):
    """L = mean over all n*d entries of (yhat - y)^2; delta = 2 (yhat - y) / (n d).

    pred and target: the same shape, (n, d) or (n,).
    """

    def forward(self, pred, target):
        self._check_pred(pred, (1, 2), "(n, d) or (n,)")
        if not is_array(target) or tuple(target.shape) != tuple(pred.shape):
            got = tuple(target.shape) if is_array(target) else type(target).__name__
            raise ValueError(f"MSE(): target must have the shape of pred {tuple(pred.shape)}, "
                             f"got {got}")
        xp = namespace(pred)
        diff = pred - xp.astype(target, pred.dtype)
        self.cache = 2 * diff / math.prod(diff.shape)
        return xp.mean(diff * diff)

    def backward(self):
        return self._cached()


class SoftmaxCrossEntropy(Loss):
    """Softmax over k classes then the mean negative log-likelihood of the true labels.

    logits: (n, k) floats; labels: (n,) integers in [0, k).
    log p = z - max(z) - log(sum(exp(z - max(z)))) row by row; L = -mean(log p[i, y_i]).
    delta = (p - onehot(y)) / n, (n, k).
    """

    def forward(self, logits, labels):
        self._check_pred(logits, (2,), "(n, k)")
        n, k = logits.shape
        xp = namespace(logits)
        onehot = xp.astype(check_labels(self, labels, n, k, xp)[:, None]
                           == xp.arange(k, device=device(logits))[None, :], logits.dtype)
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        self.cache = (xp.exp(log_p) - onehot) / n
        # Select the true class's log p (not log_p * onehot: a -inf logit elsewhere is -inf * 0).
        return -xp.sum(xp.where(onehot > 0, log_p, xp.zeros_like(log_p))) / n

    def backward(self):
        return self._cached()


class BinaryCrossEntropy(Loss):
    """Sigmoid then binary cross-entropy, from logits z: (n,) or (n, 1), targets y in {0, 1}
    (or probabilities in [0, 1]) of the same shape.

    L = mean(softplus(z) - y z), softplus(z) = log(1 + e^z); delta = (sigmoid(z) - y) / n.
    """

    def forward(self, logits, targets):
        self._check_pred(logits, (1, 2), "(n,) or (n, 1)")
        if logits.ndim == 2 and logits.shape[1] != 1:
            raise ValueError(f"BinaryCrossEntropy(): logits must have shape (n,) or (n, 1), got "
                             f"{tuple(logits.shape)}; use SoftmaxCrossEntropy for k > 1 classes")
        if not is_array(targets) or tuple(targets.shape) != tuple(logits.shape):
            got = tuple(targets.shape) if is_array(targets) else type(targets).__name__
            raise ValueError(f"BinaryCrossEntropy(): targets must have the shape of logits "
                             f"{tuple(logits.shape)}, got {got}")
        xp = namespace(logits)
        y = xp.astype(targets, logits.dtype)
        if bool(xp.any((y < 0) | (y > 1))):
            raise ValueError("BinaryCrossEntropy(): targets must lie in [0, 1]")
        zero = xp.zeros_like(logits)
        # softplus(z) - y z = (1 - y) max(z, 0) + y max(-z, 0) + log1p(e^-|z|); each max is
        # taken as 0 where its weight is 0, so an infinite logit never meets a 0 (inf * 0).
        pos = xp.where((logits > 0) & (y < 1), logits, zero)
        neg = xp.where((logits < 0) & (y > 0), -logits, zero)
        n = logits.shape[0]
        self.cache = (sigmoid(logits) - y) / n
        return xp.mean((1 - y) * pos + y * neg + xp.log1p(xp.exp(-xp.abs(logits))))

    def backward(self):
        return self._cached()


def check_labels(loss: Loss, labels, n: int, k: int, xp):
    """labels as given, after checking they are n integers in [0, k)."""
    if not is_array(labels) or tuple(labels.shape) != (n,):
        got = tuple(labels.shape) if is_array(labels) else type(labels).__name__
        raise ValueError(f"{loss!r}: labels must have shape ({n},), one class index per row of "
                         f"the logits, got {got}")
    if "int" not in dtype_name(labels):
        raise TypeError(f"{loss!r}: labels must be integers (class indices), got "
                        f"{dtype_name(labels)}")
    low, high = int(xp.min(labels)), int(xp.max(labels))
    if low < 0 or high >= k:
        raise ValueError(f"{loss!r}: labels must lie in [0, {k - 1}] for {k} classes, got "
                         f"values from {low} to {high}")
    return labels
