"""Lesson 04 (backprop through an MLP): a Linear layer's backward, ReLU's backward, the softmax
cross-entropy loss and its delta, the forward and backward loops over a list of layers, and a
gradient checker (central differences, the relative error, each layer alone)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from course.checks.core import Exercise
from course.gradcheck import PASS
from course.layers import LayerNorm, Linear, ReLU, Tanh


def _linear_backward(x, W, delta):
    """Backward of z = x @ W + b.

    x (n, d_in), W (d_in, d_out), delta = dL/dz (n, d_out)
    -> (dx (n, d_in), dW (d_in, d_out), db (d_out,)).
    """
    return delta @ W.T, x.T @ delta, delta.sum(axis=0)


def _linear_cases():
    rng = np.random.default_rng(4)
    one = (np.array([[1.0, 2.0]]), np.array([[0.5], [-1.0]]), np.array([[3.0]]))
    return [one, (rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(5, 4)) / 5)]


def _linear_hidden_cases():
    rng = np.random.default_rng(40)
    return [(rng.normal(size=(3, 2)), rng.normal(size=(2, 2)), rng.normal(size=(3, 2)) / 3),
            (rng.normal(size=(7, 4)), rng.normal(size=(4, 1)), rng.normal(size=(7, 1)) / 7)]


def _relu_backward(upstream, z):
    """upstream = dL/da (n, d), z the ReLU's input (n, d) -> dL/dz (n, d); slope 0 at z = 0."""
    return upstream * (z > 0)


def _relu_cases():
    z = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.0]])
    rng = np.random.default_rng(5)
    return [(np.array([[1.0, 2.0, 3.0], [-1.0, 4.0, 5.0]]), z),
            (rng.normal(size=(4, 6)), rng.normal(size=(4, 6)))]


def _relu_hidden_cases():
    rng = np.random.default_rng(41)
    z = rng.normal(size=(5, 3))
    z[0, 0] = z[2, 1] = 0.0
    return [(rng.normal(size=(5, 3)), z), (rng.normal(size=(2, 8)), rng.normal(size=(2, 8)))]


def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _ce_loss(logits, labels):
    """Mean softmax cross-entropy: logits (n, k), labels (n,) in [0, k) -> float.

    -mean_i log p[i, y_i], with log p = z - max z - log sum exp(z - max z) per row.
    """
    return float(-_log_softmax(logits)[np.arange(len(labels)), labels].mean())


def _ce_loss_cases():
    rng = np.random.default_rng(42)
    return [(np.array([[2.0, 1.0, 0.0]]), np.array([0])),
            (np.array([[1.0, 3.0], [0.5, -0.5], [2.0, 2.0]]), np.array([1, 0, 1])),
            (rng.normal(size=(5, 4)), rng.integers(0, 4, 5)),
            (np.array([[1000.0, 999.0], [0.0, 1.0]]), np.array([1, 0])),
            (np.array([[1000.0, 0.0, -1000.0], [0.0, 1.0, 2.0]]), np.array([1, 2]))]


def _ce_loss_hidden_cases():
    rng = np.random.default_rng(43)
    return [(rng.normal(size=(6, 3)) * 3, rng.integers(0, 3, 6)),
            (np.array([[800.0, 790.0], [-5.0, 5.0]]), np.array([1, 0])),
            (np.array([[0.0, -800.0], [710.0, 0.0]]), np.array([1, 0]))]


def _naive_ce_loss(logits, labels):
    """Softmax straight from the formula: e^1000 overflows to inf, p = inf / inf or 0."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        e = np.exp(logits)
        p = e / e.sum(axis=1, keepdims=True)
        return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def _log_of_shifted_softmax(logits, labels):
    """Shifted softmax, then log p: p underflows to 0 for a logit 1000 below the max."""
    with np.errstate(divide="ignore"):
        return float(-np.log(_softmax(logits)[np.arange(len(labels)), labels]).mean())


def _ce_delta(logits, labels):
    """dL/dlogits of the mean softmax cross-entropy.

    logits (n, k), labels (n,) integers in [0, k) -> (n, k): (softmax(logits) - onehot) / n.
    """
    n, k = logits.shape
    return (_softmax(logits) - np.eye(k)[labels]) / n


def _ce_cases():
    rng = np.random.default_rng(6)
    return [(np.array([[2.0, 1.0, 0.0]]), np.array([0])),
            (np.array([[1.0, 3.0], [0.5, -0.5], [2.0, 2.0]]), np.array([1, 0, 1])),
            (rng.normal(size=(5, 4)), rng.integers(0, 4, 5)),
            (np.array([[709.5, 709.0], [0.0, 1.0]]), np.array([0, 1]))]


def _ce_hidden_cases():
    rng = np.random.default_rng(44)
    return [(rng.normal(size=(7, 3)) * 2, rng.integers(0, 3, 7)),
            (np.array([[710.0, 709.8, 0.0], [1.0, 1.0, 1.0]]), np.array([2, 1]))]


def _unshifted_ce_delta(logits, labels):
    """Softmax straight from the formula: e^709.5 + e^709 overflows to inf, so p = 0."""
    with np.errstate(over="ignore"):
        e = np.exp(logits)
        p = e / e.sum(axis=1, keepdims=True)
    return (p - np.eye(logits.shape[1])[labels]) / len(logits)


# ---------------------------------------------------------------- the loops over layers


def _mlp_forward(layers, x):
    """Run x (n, d_in) through each layer in order -> the last layer's output."""
    for layer in layers:
        x = layer.forward(x)
    return x


def _mlp_backward(layers, upstream):
    """dL/d(network output) (n, d_out) -> dL/dx (n, d_in), each layer storing its gradients."""
    for layer in reversed(layers):
        upstream = layer.backward(upstream)
    return upstream


class _Bare:
    """A course layer with only the lesson's protocol: forward, backward, params, grads.

    Not callable, like the lesson's own MyLinear and MyReLU: an answer that calls
    ``layer(x)`` instead of ``layer.forward(x)`` fails here, not later in the lesson.
    """

    def __init__(self, layer):
        self.layer = layer

    @property
    def params(self):
        return self.layer.params

    @property
    def grads(self):
        return self.layer.grads

    def forward(self, x):
        return self.layer.forward(x)

    def backward(self, upstream):
        return self.layer.backward(upstream)

    def __repr__(self):
        return repr(self.layer)


def _stack(widths, seed):
    """Linear, ReLU, Linear, ... for these widths (float64, He initialised, seeded)."""
    rng = np.random.default_rng(seed)
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        layers += [_Bare(Linear(d_in, d_out, init="he", rng=rng)), _Bare(ReLU())]
    return layers[:-1]


def _forward_cases():
    rng = np.random.default_rng(45)
    return [(_stack([3, 3, 3], 0), rng.normal(size=(2, 3))),
            (_stack([2, 4, 5, 3], 1), rng.normal(size=(6, 2)))]


def _forward_hidden_cases():
    rng = np.random.default_rng(46)
    return [(_stack([4, 4, 4, 4], 2), rng.normal(size=(3, 4))),
            (_stack([3, 6, 2], 3), rng.normal(size=(5, 3)))]


def _after_forward(layers, x, seed):
    _mlp_forward(layers, x)
    rng = np.random.default_rng(seed)
    return layers, rng.normal(size=(x.shape[0], layers[-1].params["W"].shape[1]))


def _backward_cases():
    return [_after_forward(*case, seed=k) for k, case in enumerate(_forward_cases())]


def _backward_hidden_cases():
    return [_after_forward(*case, seed=10 + k) for k, case in enumerate(_forward_hidden_cases())]


def _backward_same_upstream(layers, upstream):
    g = upstream
    for layer in reversed(layers):
        g = layer.backward(upstream)
    return g


# ---------------------------------------------------------------- the gradient checker


class _Fn:
    """A named test function of one array (the name is what a failing case shows)."""

    def __init__(self, name, func):
        self.name, self.func = name, func

    def __call__(self, x):
        return float(self.func(x))

    def __repr__(self):
        return f"f(x) = {self.name}"


def _cubic(x):
    v = x.ravel()
    return v.sum() ** 3 + np.sum(np.arange(1, v.size + 1) * v ** 2)


def _coupled(x):
    v = x.ravel()
    return np.exp(0.5 * v).sum() * v.sum() + np.prod(v[:2])


def _numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar f(x), x float64 of any shape, perturbed in place.

    Each entry x[i] is set to x[i] + eps, then x[i] - eps, then restored:
    grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps). Returns grad with x's shape.
    """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _numgrad_cases():
    return [(_Fn("sum(x)^3 + sum_i i x_i^2", _cubic), np.array([1.0, -2.0]), 0.1),
            (_Fn("sum(exp(x / 2)) sum(x) + x_0 x_1", _coupled),
             np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]]), 1e-6)]


def _numgrad_hidden_cases():
    rng = np.random.default_rng(47)
    return [(_Fn("sum(x)^3 + sum_i i x_i^2", _cubic), rng.normal(size=(3, 2)), 1e-5),
            (_Fn("sum(exp(x / 2)) sum(x) + x_0 x_1", _coupled), rng.normal(size=4), 1e-6)]


def _numgrad_variant(*, restore=True, one_sided=False, divisor=2.0, copy=False, all_at_once=False):
    """The reference with one habit changed, for planted mistakes."""

    def numgrad(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        if all_at_once:
            slope = (f(x + eps) - f(x - eps)) / (2 * eps)
            return np.full_like(x, slope)
        work = x.copy() if copy else x
        for i in np.ndindex(x.shape):
            old = work[i]
            work[i] = old + eps
            plus = f(x)
            if one_sided:
                work[i] = old
                grad[i] = (plus - f(x)) / eps
                continue
            work[i] = old - eps
            minus = f(x)
            if restore:
                work[i] = old
            grad[i] = (plus - minus) / (divisor * eps)
        return grad

    return numgrad


def _rel_error(a, b):
    """||a - b|| / max(||a||, ||b||, tiny) as a float; 0.0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


def _rel_cases():
    return [(np.array([3.0, 4.0]), np.array([3.0, 4.5])),
            (np.array([1.0, 1e-9, -2.0]), np.array([1.0, 2e-9, -2.0])),
            (np.array([0.5, 0.0]), np.zeros(2)),
            (np.zeros((2, 2)), np.zeros((2, 2)))]


def _rel_hidden_cases():
    rng = np.random.default_rng(48)
    a = rng.normal(size=(3, 4))
    return [(a, a + 1e-6 * rng.normal(size=(3, 4))), (np.zeros(3), np.array([0.0, 2.0, 0.0])),
            (np.zeros(5), np.zeros(5))]


def _same_or_both_nan(got, expected):
    """Floats compared with rtol 1e-6; nan matches only nan (for the no-zero-guard mistake)."""
    try:
        g, e = float(got), float(expected)
    except (TypeError, ValueError):
        return False
    if np.isnan(e) or np.isnan(g):
        return bool(np.isnan(e) and np.isnan(g))
    return bool(np.isclose(g, e, rtol=1e-6, atol=1e-12))


def _no_guard(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(np.linalg.norm(a - b)) / max(np.linalg.norm(a), np.linalg.norm(b)))


def _over_b(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(np.linalg.norm(a - b)) / np.linalg.norm(b))


def _elementwise(a, b):
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b) / scale))


def _over_sum(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def _check_layer(layer, x, upstream, surrogate=None, backward_with=None):
    """Check one layer alone, with the surrogate loss L = sum(layer.forward(x) * upstream).

    Its gradient with respect to the layer's output is exactly ``upstream``, so
    ``layer.backward(upstream)`` returns dL/dx and fills ``layer.grads``.
    -> {"x": error, name: error for each name in layer.params}: the relative error of the
    analytic gradient against central differences. (The keyword arguments plant mistakes.)
    """
    surrogate = surrogate or (lambda out, up: np.sum(out * up))

    def loss(_):
        return float(surrogate(layer.forward(x), upstream))

    numerical = {"x": _numerical_gradient(loss, x)}
    numerical.update({k: _numerical_gradient(loss, p) for k, p in layer.params.items()})
    layer.forward(x)
    analytic = {"x": layer.backward(upstream if backward_with is None else backward_with(upstream))}
    analytic.update(layer.grads)
    return {k: _rel_error(analytic[k], numerical[k]) for k in numerical}


class _BuggyLinear(Linear):
    """A Linear layer with a planted bug: backward doubles one parameter's gradient."""

    def __init__(self, d_in, d_out, rng, doubled):
        super().__init__(d_in, d_out, rng=rng)
        self.doubled = doubled

    def __repr__(self):
        return f"Linear {self.d_in} -> {self.d_out} with d{self.doubled} doubled (a planted bug)"

    def backward(self, upstream, accumulate=False, input_grad=True):
        dx = super().backward(upstream, accumulate, input_grad)
        self.grads[self.doubled] = 2 * self.grads[self.doubled]
        return dx


def _layer_cases():
    rng = np.random.default_rng(49)
    return [(_Bare(Linear(3, 2, rng=0)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))),
            (_Bare(Tanh()), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))),
            (_Bare(LayerNorm(4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))),
            (_Bare(_BuggyLinear(3, 2, 2, "W")), rng.normal(size=(4, 3)) * 5,
             rng.normal(size=(4, 2)))]


def _layer_hidden_cases():
    rng = np.random.default_rng(50)
    return [(_Bare(Linear(2, 5, rng=1)), rng.normal(size=(3, 2)), rng.normal(size=(3, 5))),
            (_Bare(LayerNorm(3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))),
            (_Bare(_BuggyLinear(4, 3, 3, "b")), rng.normal(size=(6, 4)),
             rng.normal(size=(6, 3)) * 5)]


def _same_errors(got, expected):
    """Same keys; each error either passes (<= PASS) in both, or agrees to 0.1%."""
    if not isinstance(got, Mapping) or set(got) != set(expected):
        return False
    for k, e in expected.items():
        g = float(got[k])
        if not ((g <= PASS and e <= PASS) or np.isclose(g, e, rtol=1e-3, atol=0.0)):
            return False
    return True


def _check_layer_absolute(layer, x, upstream):
    def loss(_):
        return float(np.sum(layer.forward(x) * upstream))

    numerical = {"x": _numerical_gradient(loss, x)}
    numerical.update({k: _numerical_gradient(loss, p) for k, p in layer.params.items()})
    layer.forward(x)
    analytic = {"x": layer.backward(upstream), **layer.grads}
    return {k: float(np.linalg.norm(analytic[k] - numerical[k])) for k in numerical}


def _check_layer_no_input(layer, x, upstream):
    return {k: e for k, e in _check_layer(layer, x, upstream).items() if k != "x"}


EXERCISES = [
    Exercise(
        id="04.1",
        title="a Linear layer's backward",
        points=3,
        reference=_linear_backward,
        cases=_linear_cases,
        hidden_cases=_linear_hidden_cases,
        mistakes={
            "averaged db over the batch: delta already carries the 1/n of the mean, so sum":
                lambda x, W, d: (d @ W.T, x.T @ d, d.mean(axis=0)),
            "forgot the bias gradient":
                lambda x, W, d: (d @ W.T, x.T @ d, np.zeros(W.shape[1])),
            "divided dW by n again: delta already carries the 1/n":
                lambda x, W, d: (d @ W.T, x.T @ d / len(x), d.sum(axis=0)),
            "dx = 0: the gradient was not passed on to the layer below":
                lambda x, W, d: (np.zeros_like(x), x.T @ d, d.sum(axis=0)),
            "dW transposed: delta.T @ x has shape (d_out, d_in), W has (d_in, d_out)":
                lambda x, W, d: (d @ W.T, d.T @ x, d.sum(axis=0)),
        },
    ),
    Exercise(
        id="04.2",
        title="ReLU's backward",
        points=2,
        reference=_relu_backward,
        cases=_relu_cases,
        hidden_cases=_relu_hidden_cases,
        mistakes={
            "used relu(z) instead of its derivative": lambda u, z: u * np.maximum(z, 0),
            "took slope 1 at z = 0 exactly (z >= 0): a valid choice in maths, but this course "
            "and PyTorch take 0 there (see the cell on ReLU at 0 below)":
                lambda u, z: u * (z >= 0),
            "forgot to multiply by the upstream gradient": lambda u, z: (z > 0).astype(float),
            "inverted mask: passed the gradient where the unit was off": lambda u, z: u * (z <= 0),
        },
    ),
    Exercise(
        id="04.3",
        title="the softmax cross-entropy loss, computed stably",
        points=3,
        reference=_ce_loss,
        cases=_ce_loss_cases,
        hidden_cases=_ce_loss_hidden_cases,
        compare=_same_or_both_nan,
        mistakes={
            "exponentiated the logits without subtracting each row's max: e^1000 overflows to "
            "inf, and p becomes inf / inf = nan or 1 / inf = 0": _naive_ce_loss,
            "took the log of the (shifted) softmax: p underflows to 0 for a logit 1000 below "
            "the row's max, and -log 0 = inf; take the log first, as a difference, so that only "
            "the sum of exponentials stays inside a log": _log_of_shifted_softmax,
            "summed over the batch instead of taking the mean":
                lambda z, y: float(-_log_softmax(z)[np.arange(len(y)), y].sum()),
            "forgot the minus sign: log p is negative, the loss -log p is positive":
                lambda z, y: float(_log_softmax(z)[np.arange(len(y)), y].mean()),
            "averaged -log p over every class instead of taking the true class's":
                lambda z, y: float(-_log_softmax(z).mean()),
            "subtracted the max inside the log-sum-exp but not from z_y: "
            "log p_y = (z_y - m) - log sum exp(z - m)":
                lambda z, y: float(-(z[np.arange(len(y)), y] - np.log(np.exp(
                    z - z.max(axis=1, keepdims=True)).sum(axis=1))).mean()),
        },
    ),
    Exercise(
        id="04.4",
        title="the delta of softmax cross-entropy",
        points=3,
        reference=_ce_delta,
        cases=_ce_cases,
        hidden_cases=_ce_hidden_cases,
        mistakes={
            "forgot the 1/n of the mean over the batch":
                lambda z, y: _softmax(z) - np.eye(z.shape[1])[y],
            "forgot the -onehot(y): the first term -z_y of the loss has derivative -1 at the "
            "true class": lambda z, y: _softmax(z) / len(z),
            "wrong sign: onehot(y) - p instead of p - onehot(y)":
                lambda z, y: (np.eye(z.shape[1])[y] - _softmax(z)) / len(z),
            "softmax over the batch (axis 0) instead of over the classes":
                lambda z, y: (_softmax(z, axis=0) - np.eye(z.shape[1])[y]) / len(z),
            "subtracted the one-hot labels from the logits, not the probabilities":
                lambda z, y: (z - np.eye(z.shape[1])[y]) / len(z),
            "exponentiated the logits without subtracting each row's max first: the sum "
            "overflows to inf for large logits":
                _unshifted_ce_delta,
        },
    ),
    Exercise(
        id="04.5",
        title="forward through a list of layers",
        points=2,
        reference=_mlp_forward,
        cases=_forward_cases,
        hidden_cases=_forward_hidden_cases,
        mistakes={
            "returned the input: each layer's output must become the next layer's input "
            "(x = layer.forward(x))":
                lambda layers, x: ([layer.forward(x) for layer in layers], x)[1],
            "fed the original x to every layer instead of the previous layer's output":
                lambda layers, x: [layer.forward(x) for layer in layers][-1],
            "ran the layers in reverse order: forward goes from the first layer to the last":
                lambda layers, x: _mlp_forward(layers[::-1], x),
            "stopped one layer early (the last layer's output is the network's output)":
                lambda layers, x: _mlp_forward(layers[:-1], x),
        },
    ),
    Exercise(
        id="04.6",
        title="backward through a list of layers",
        points=2,
        reference=_mlp_backward,
        cases=_backward_cases,
        hidden_cases=_backward_hidden_cases,
        mistakes={
            "went through the layers in forward order: backward starts at the last layer":
                lambda layers, g: _mlp_backward(layers[::-1], g),
            "gave every layer the network's upstream gradient instead of the gradient the "
            "layer above returned (g = layer.backward(g))": _backward_same_upstream,
            "stopped before the first layer: dL/dx comes out of layers[0].backward":
                lambda layers, g: _mlp_backward(layers[1:], g),
            "returned the upstream gradient unchanged: return what the last backward returned":
                lambda layers, g: ([layer.backward(g) for layer in reversed(layers)], g)[1],
        },
    ),
    Exercise(
        id="04.7",
        title="central differences, one entry at a time",
        points=3,
        reference=_numerical_gradient,
        cases=_numgrad_cases,
        hidden_cases=_numgrad_hidden_cases,
        rtol=1e-7,
        mistakes={
            "forgot to restore each entry after perturbing it: every later entry is measured "
            "at a shifted point": _numgrad_variant(restore=False),
            "one-sided difference (f(x + eps) - f(x)) / eps: its error is of order eps, "
            "central differences' is of order eps^2": _numgrad_variant(one_sided=True),
            "divided by eps instead of 2 eps: the two points are 2 eps apart":
                _numgrad_variant(divisor=1.0),
            "perturbed a copy of x: f(x) never sees the change, so every difference is 0":
                _numgrad_variant(copy=True),
            "perturbed every entry at once (x + eps): that is one directional derivative, not "
            "a gradient": _numgrad_variant(all_at_once=True),
        },
    ),
    Exercise(
        id="04.8",
        title="the relative error with its zero guard",
        points=2,
        reference=_rel_error,
        cases=_rel_cases,
        hidden_cases=_rel_hidden_cases,
        compare=_same_or_both_nan,
        mistakes={
            "no zero guard: when both gradients are zero, 0 / 0 = nan (the answer is 0)":
                _no_guard,
            "divided by ||b|| only: not symmetric, and infinite when b is zero": _over_b,
            "elementwise: the worst |a_i - b_i| / max(|a_i|, |b_i|) is dominated by near-zero "
            "entries; the rule is norm-wise": _elementwise,
            "divided by ||a|| + ||b||: a fine rule too, but half of this one, and "
            "course.gradcheck's thresholds are for max(||a||, ||b||)": _over_sum,
        },
    ),
    Exercise(
        id="04.9",
        title="check one layer alone against a random upstream gradient",
        points=3,
        reference=_check_layer,
        cases=_layer_cases,
        hidden_cases=_layer_hidden_cases,
        compare=_same_errors,
        mistakes={
            "the two sides differentiate different losses: backward got upstream but the "
            "numerical loss was sum(out) (or backward got ones and the loss was "
            "sum(out * upstream)); use L = sum(out * upstream) and backward(upstream)":
                lambda layer, x, u: _check_layer(layer, x, u,
                                                 surrogate=lambda out, up: np.sum(out)),
            "the surrogate loss was mean(out * upstream): its gradient is upstream / out.size, "
            "not upstream":
                lambda layer, x, u: _check_layer(layer, x, u,
                                                 surrogate=lambda out, up: np.mean(out * up)),
            "checked only the parameters: dL/dx is the gradient the layer passes down, check "
            "it too": _check_layer_no_input,
            "used a u of ones on both sides (L = sum(out), backward(ones)): LayerNorm's outputs "
            "sum to a constant, so its true dL/dx is 0 and the check compares round-off with "
            "round-off (relative error about 1); use the random upstream you are given":
                lambda layer, x, u: _check_layer(layer, x, np.ones_like(u)),
            "returned the absolute error ||a - b||: use your rel_error, so that one threshold "
            "fits gradients of every size": _check_layer_absolute,
        },
    ),
]
