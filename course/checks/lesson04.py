"""Lesson 04 (backprop through an MLP): the library's own pieces, written by the learner.

04.1-04.3 are the layer classes of ``course.layers`` and ``course.losses`` (``Linear``, ``ReLU``,
``SoftmaxCrossEntropy``): a forward that keeps the cache its backward needs, and the backward.
04.4 is ``course.mlp.MLP``'s two loops over the layers, 04.5 ``course.mlp.l2_penalty``, 04.6
``course.mlp.sgd_train`` (mini-batch SGD with a validation split), 04.7 ``course.mlp.tune_l2``
(lambda chosen on the validation split), 04.8-04.10 the gradient checker of ``course.gradcheck``
(``numerical_gradient``, ``relative_error``, ``check_layer``). Every
reference is the library's object; a class exercise's ``run`` builds the learner's class from a
case's plain arrays, drives it and returns what to compare.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from course import gradcheck, layers, losses, mlp
from course.checks.core import Exercise, Mistake
from course.data import spiral
from course.gradcheck import PASS

SECTION_LAYER = "§1, 'A layer is a forward/backward pair'"
SECTION_CE = "§2, 'Softmax cross-entropy'"
SECTION_LOOPS = "§3, 'Any depth: a list of layers'"
SECTION_TRAIN = "§4, 'Training on your own layers'"
SECTION_CHECK = "§5, 'Check the gradients: your gradient checker'"


def _copy(a):
    return None if a is None else np.array(a)


# ---------------------------------------------------------------- 04.1 Linear


def _run_linear(cls, x, W, b, upstream):
    """Build ``cls`` with these W and b; forward, backward, then backward again accumulating,
    then backward without the input gradient -> (out, dx, dW, db, dW after accumulating,
    whether that last backward returned None)."""
    layer = cls(*W.shape)
    if layer is None:
        return None
    layer.params["W"], layer.params["b"] = W, b
    out = layer.forward(x)
    dx = layer.backward(upstream)
    dW, db = _copy(layer.grads["W"]), _copy(layer.grads["b"])
    layer.backward(upstream, accumulate=True)
    accumulated = _copy(layer.grads["W"])
    skipped = layer.backward(upstream, input_grad=False) is None
    return out, dx, dW, db, accumulated, skipped


def _linear_cases(seed):
    if seed == 0:
        x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
        W = np.array([[0.5, -1.0, 0.0, 2.0], [1.5, 0.25, -0.5, 1.0], [-1.0, 2.0, 1.0, 0.5]])
        b = np.array([0.1, -0.2, 0.3, 0.0])
        up = np.array([[0.5, -1.0, 0.25, 2.0], [-1.5, 0.5, 1.0, -0.25]])
        rng = np.random.default_rng(40)
        return [(x, W, b, up),
                (rng.normal(size=(5, 2)), rng.normal(size=(2, 3)), rng.normal(size=3),
                 rng.normal(size=(5, 3)) / 5)]
    rng = np.random.default_rng(400 + seed)
    n, d_in, d_out = rng.integers(2, 8, size=3)
    return [(rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out),
             rng.normal(size=(n, d_out)) / n)]


class _LinearNoTranspose(layers.Linear):
    def backward(self, upstream, accumulate=False, input_grad=True):
        self._store("W", upstream.T @ self.cache, accumulate)
        self._store("b", upstream.sum(axis=0), accumulate)
        return upstream @ self.params["W"].T if input_grad else None


class _LinearMeanDb(layers.Linear):
    def backward(self, upstream, accumulate=False, input_grad=True):
        self._store("W", self.cache.T @ upstream, accumulate)
        self._store("b", upstream.mean(axis=0), accumulate)
        return upstream @ self.params["W"].T if input_grad else None


class _LinearKeepdims(layers.Linear):
    def backward(self, upstream, accumulate=False, input_grad=True):
        self._store("W", self.cache.T @ upstream, accumulate)
        self._store("b", upstream.sum(axis=0, keepdims=True), accumulate)
        return upstream @ self.params["W"].T if input_grad else None


class _LinearCachesOutput(layers.Linear):
    def forward(self, x):
        out = x @ self.params["W"] + self.params["b"]
        self.cache = out
        return out


class _LinearNoBias(layers.Linear):
    def forward(self, x):
        self.cache = x
        return x @ self.params["W"]


class _LinearOverwrites(layers.Linear):
    def backward(self, upstream, accumulate=False, input_grad=True):
        return super().backward(upstream, False, input_grad)


# ---------------------------------------------------------------- 04.2 ReLU


def _run_relu(cls, z, upstream):
    """-> (a, dL/dz) with the entries where z is exactly 0 set to 0: the slope there is a
    convention, and either 0 or 1 is accepted."""
    layer = cls()
    if layer is None:
        return None
    a = layer.forward(z)
    dz = layer.backward(upstream)
    if isinstance(dz, np.ndarray) and dz.shape == z.shape:
        dz = np.where(z == 0, 0.0, dz)
    return a, dz


def _relu_cases(seed):
    if seed == 0:
        z = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.0]])
        up = np.array([[1.0, 2.0, -3.0], [-1.0, 4.0, 5.0]])
        rng = np.random.default_rng(41)
        return [(z, up), (rng.normal(size=(4, 6)), rng.normal(size=(4, 6)))]
    rng = np.random.default_rng(410 + seed)
    z = rng.normal(size=(5, 3))
    z[0, 0] = 0.0
    return [(z, rng.normal(size=(5, 3))), (rng.normal(size=(2, 8)), rng.normal(size=(2, 8)))]


class _ReluCachesZ(layers.ReLU):
    def forward(self, z):
        self.cache = z
        return np.maximum(z, 0.0)


class _ReluMaskFromUpstream(_ReluCachesZ):
    def backward(self, upstream, accumulate=False):
        return upstream * (upstream > 0)


class _ReluValueNotSlope(_ReluCachesZ):
    def backward(self, upstream, accumulate=False):
        return upstream * np.maximum(self.cache, 0.0)


class _ReluInvertedMask(_ReluCachesZ):
    def backward(self, upstream, accumulate=False):
        return upstream * (self.cache <= 0)


class _ReluNoUpstream(_ReluCachesZ):
    def backward(self, upstream, accumulate=False):
        return (self.cache > 0).astype(float)


class _ReluInPlace(layers.ReLU):
    def forward(self, z):
        z[z < 0] = 0.0
        self.cache = z > 0
        return z


# ---------------------------------------------------------------- 04.3 SoftmaxCrossEntropy


def _run_ce(cls, logits, labels):
    """-> (the loss as a float, backward's delta)."""
    loss_fn = cls()
    if loss_fn is None:
        return None
    loss = loss_fn.forward(logits, labels)
    return float(loss), loss_fn.backward()


def _ce_cases(seed):
    if seed == 0:
        rng = np.random.default_rng(42)
        return [(np.array([[2.0, 1.0, 0.0], [0.5, -0.5, 1.5]]), np.array([0, 2])),
                (np.array([[1.0, 3.0], [0.5, -0.5], [2.0, 2.0]]), np.array([1, 0, 1])),
                (rng.normal(size=(5, 4)), rng.integers(0, 4, 5)),
                (np.array([[1000.0, 999.0], [0.0, 1.0]]), np.array([1, 0])),
                (np.array([[1000.0, 0.0, -1000.0], [0.0, 1.0, 2.0]]), np.array([2, 2]))]
    rng = np.random.default_rng(420 + seed)
    n, k = rng.integers(2, 7, size=2)
    return [(rng.normal(size=(n, k)) * 3, rng.integers(0, k, n)),
            (np.array([[800.0, 790.0], [-5.0, 5.0]]) * seed, np.array([1, 0]))]


def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class _CeVariant(losses.SoftmaxCrossEntropy):
    """A numpy softmax cross-entropy with one habit changed (for planted mistakes)."""

    def log_p(self, z):
        return _log_softmax(z)

    def loss(self, picked):
        return -picked.mean()

    def delta(self, z, onehot, n):
        return (_softmax(z) - onehot) / n

    def forward(self, logits, labels):
        n, k = logits.shape
        self.cache = self.delta(logits, np.eye(k)[labels], n)
        with np.errstate(all="ignore"):
            return self.loss(self.log_p(logits)[np.arange(n), labels])


class _CeNoShift(_CeVariant):
    def log_p(self, z):
        with np.errstate(all="ignore"):
            return np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))

    def delta(self, z, onehot, n):
        with np.errstate(all="ignore"):
            return (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) - onehot) / n


class _CeLogOfSoftmax(_CeVariant):
    def log_p(self, z):
        with np.errstate(divide="ignore"):
            return np.log(_softmax(z))


class _CeSum(_CeVariant):
    def loss(self, picked):
        return -picked.sum()

    def delta(self, z, onehot, n):
        return _softmax(z) - onehot


class _CeNoOnehot(_CeVariant):
    def delta(self, z, onehot, n):
        return _softmax(z) / n


class _CeSign(_CeVariant):
    def delta(self, z, onehot, n):
        return (onehot - _softmax(z)) / n


class _CeAxis0(_CeVariant):
    def delta(self, z, onehot, n):
        return (_softmax(z, axis=0) - onehot) / n


class _CeNoMinus(_CeVariant):
    def loss(self, picked):
        return picked.mean()


# ---------------------------------------------------------------- 04.4 the MLP's loops


def _run_mlp(cls, sizes, x, upstream):
    """The network ``cls(sizes)`` (ReLU, weights from seed 0) -> (output, dL/dx, every
    gradient, every gradient after a second, accumulating backward, whether backward with
    input_grad=False returned None)."""
    net = cls(sizes)
    if net is None:
        return None
    out = net.forward(x)
    dx = net.backward(upstream)
    grads = {k: _copy(g) for k, g in net.gradients().items()}
    net.backward(upstream, accumulate=True)
    accumulated = {k: _copy(g) for k, g in net.gradients().items()}
    skipped = net.backward(upstream, input_grad=False) is None
    return out, dx, grads, accumulated, skipped


def _mlp_cases(seed):
    rng = np.random.default_rng(44 + seed)
    if seed == 0:
        return [([3, 4, 2], rng.normal(size=(2, 3)), rng.normal(size=(2, 2))),
                ([2, 5, 4, 3], rng.normal(size=(6, 2)), rng.normal(size=(6, 3)) / 6)]
    sizes = [int(d) for d in rng.integers(2, 7, size=int(rng.integers(3, 6)))]
    n = int(rng.integers(2, 8))
    return [(sizes, rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1])))]


class _MlpReturnsInput(mlp.MLP):
    def forward(self, x):
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        return x


class _MlpSkipsFirst(mlp.MLP):
    def backward(self, upstream, accumulate=False, input_grad=True):
        g = upstream
        for layer in self.layers[:0:-1]:
            g = layer.backward(g, accumulate=accumulate)
        return g if input_grad else None


class _MlpReturnsUpstream(mlp.MLP):
    def backward(self, upstream, accumulate=False, input_grad=True):
        super().backward(upstream, accumulate, input_grad)
        return upstream if input_grad else None


class _MlpAlwaysInputGrad(mlp.MLP):
    def backward(self, upstream, accumulate=False, input_grad=True):
        return super().backward(upstream, accumulate)


class _MlpDropsAccumulate(mlp.MLP):
    def backward(self, upstream, accumulate=False, input_grad=True):
        return super().backward(upstream, False, input_grad)


# ---------------------------------------------------------------- 04.5 L2


def _run_l2(fn, sizes, seed, lam):
    """A network with random biases and random gradients; -> (penalty, its gradients after
    ``fn(net, lam)``, its parameters)."""
    net = mlp.MLP(sizes, seed=seed)
    rng = np.random.default_rng(450 + seed)
    for layer in net.linear_layers():
        layer.params["b"][...] = rng.normal(size=layer.params["b"].shape)
        layer.grads = {k: rng.normal(size=p.shape) for k, p in layer.params.items()}
    penalty = fn(net, lam)
    return penalty, net.gradients(), net.parameters()


def _l2_cases(seed):
    if seed == 0:
        return [([3, 4, 2], 0, 0.1), ([2, 5, 3, 2], 1, 0.5)]
    rng = np.random.default_rng(45 + seed)
    return [([int(d) for d in rng.integers(2, 6, size=3)], seed, float(rng.uniform(0.01, 1)))]


def _l2_variant(*, biases=False, factor=0.5, grad_factor=1.0, overwrite=False, decay=False):
    def l2_penalty(net, lam):
        penalty = 0.0
        for layer in net.linear_layers():
            for name in ("W", "b") if biases else ("W",):
                p = layer.params[name]
                penalty += factor * lam * float(np.sum(p * p))
                if decay:
                    layer.params[name] = p - lam * p
                else:
                    g = grad_factor * lam * p
                    layer.grads[name] = g if overwrite else layer.grads[name] + g
        return penalty

    return l2_penalty


# ---------------------------------------------------------------- 04.6 the training loop


def _run_train(fn, sizes, x, y, lr, lam, batch, steps, every):
    """Train a fresh MLP(sizes, seed=0) with ``fn``; -> (its history, the trained
    parameters)."""
    net = mlp.MLP(sizes, seed=0)
    history = fn(net, losses.SoftmaxCrossEntropy(), x, y, lr, lam, batch, steps, 0.2, every, 0)
    return None if history is None else (history, net.parameters())


def _train_cases(seed):
    x, y = spiral(30 + 10 * seed, seed=seed)
    if seed == 0:
        return [([2, 5, 3], x, y, 0.5, 0.1, 8, 6, 2)]
    return [([2, 6, 6, 3], x, y, 0.3, 0.01, 6, 9, 4)]


def _train_variant(*, sign=-1.0, split=True, penalty=True, report_penalty=True,
                   fixed_batch=False, first_val=True):
    def sgd_train(net, loss_fn, x, y, lr, lam=0.0, batch=32, steps=500, val_fraction=0.2,
                  every=50, seed=0):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(x))
        n_val = round(val_fraction * len(x))
        val, train = order[:n_val], (order[n_val:] if split else order)
        history = {"train": [], "val_loss": [], "val_acc": []}
        for step in range(steps + 1):
            if (step % every == 0 and (step or first_val)) or step == steps:
                out = net.forward(x[val])
                history["val_loss"].append(float(loss_fn.forward(out, y[val])))
                history["val_acc"].append(float(np.mean(np.argmax(out, axis=1) == y[val])))
            if step == steps:
                break
            pick = rng.choice(len(train), size=batch, replace=False)
            idx = train[:batch] if fixed_batch else train[pick]
            loss = float(loss_fn.forward(net.forward(x[idx]), y[idx]))
            net.backward(loss_fn.backward())
            extra = mlp.l2_penalty(net, lam) if penalty else 0.0
            history["train"].append(loss + (extra if report_penalty else 0.0))
            grads = net.gradients()
            for name, p in net.parameters().items():
                p += sign * lr * grads[name]
        return history

    return sgd_train


# ---------------------------------------------------------------- 04.7 tune_l2


def _run_tune(fn, sizes, x, y, lams, lr, steps, batch):
    """Tune with fresh networks MLP(sizes, seed=0) -> (the chosen lam, the scores)."""
    return fn(lambda: mlp.MLP(sizes, seed=0), x, y, lams, lr, steps, batch, 0)


def _tune_cases(seed):
    x, y = spiral(30 + 10 * seed, seed=seed)
    if seed == 0:
        return [([2, 6, 3], x, y, [0.0, 0.05, 1.0], 0.5, 8, 8)]
    return [([2, 5, 5, 3], x, y, [0.3, 0.0, 0.01], 0.3, 6, 6)]


def _tune_variant(*, worst=False, shared=False, score="val_loss", at=-1):
    def tune_l2(make_net, x, y, lams, lr, steps, batch=32, seed=0):
        scores, net = {}, make_net()
        for lam in lams:
            history = mlp.sgd_train(net if shared else make_net(),
                                    losses.SoftmaxCrossEntropy(), x, y, lr, lam, batch, steps,
                                    seed=seed)
            scores[lam] = history[score][at]
        pick = max if worst else min
        return pick(scores, key=scores.get), scores

    return tune_l2


# ---------------------------------------------------------------- 04.8 numerical_gradient


class _Fn:
    """A named test function of one array that reads its argument."""

    def __init__(self, name, func):
        self.name, self.func = name, func

    def __call__(self, x):
        return float(self.func(x))

    def __repr__(self):
        return f"f(x) = {self.name}"


class _Closed:
    """A test function that ignores its argument and reads the array it closes over, as a
    network's loss reads its weights (``lambda _: loss()``)."""

    def __init__(self, name, func, arr):
        self.name, self.func, self.arr = name, func, arr

    def __call__(self, _):
        return float(self.func(self.arr))

    def __repr__(self):
        return f"f(_) = {self.name}, reading the array x it closes over"


def _cubic(x):
    v = x.ravel()
    return v.sum() ** 3 + np.sum(np.arange(1, v.size + 1) * v ** 2)


def _coupled(x):
    v = x.ravel()
    return np.exp(0.5 * v).sum() * v.sum() + np.prod(v[:2])


def _numgrad_cases(seed):
    if seed == 0:
        w = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
        return [(_Fn("sum(x)^3 + sum_i i x_i^2", _cubic), np.array([1.0, -2.0]), 0.1),
                (_Fn("sum(exp(x / 2)) sum(x) + x_0 x_1", _coupled),
                 np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]]), 1e-6),
                (_Closed("sum(exp(x / 2)) sum(x) + x_0 x_1", _coupled, w), w, 1e-6)]
    rng = np.random.default_rng(47 + seed)
    w = rng.normal(size=(2, 3))
    return [(_Fn("sum(x)^3 + sum_i i x_i^2", _cubic), rng.normal(size=(3, 2)), 1e-5),
            (_Closed("sum(x)^3 + sum_i i x_i^2", _cubic, w), w, 1e-6)]


def _numgrad_variant(*, restore=True, one_sided=False, divisor=2.0, copy=False,
                     all_at_once=False):
    def numerical_gradient(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        if all_at_once:
            return np.full_like(x, (f(x + eps) - f(x - eps)) / (2 * eps))
        for i in np.ndindex(x.shape):
            work = x.copy() if copy else x
            old = work[i]
            work[i] = old + eps
            plus = f(work)
            if one_sided:
                work[i] = old
                grad[i] = (plus - f(work)) / eps
                continue
            work[i] = old - eps
            minus = f(work)
            if restore:
                work[i] = old
            grad[i] = (plus - minus) / (divisor * eps)
        return grad

    return numerical_gradient


# ---------------------------------------------------------------- 04.9 relative_error


def _rel_cases(seed):
    if seed == 0:
        return [(np.array([3.0, 4.0]), np.array([3.0, 4.5])),
                (np.array([1.0, 1e-9, -2.0]), np.array([1.0, 2e-9, -2.0])),
                (np.array([0.5, 0.0]), np.zeros(2)),
                (np.zeros((2, 2)), np.zeros((2, 2)))]
    rng = np.random.default_rng(48 + seed)
    a = rng.normal(size=(3, 4))
    return [(a, a + 1e-3 * rng.normal(size=(3, 4))), (np.zeros(3), np.array([0.0, 2.0, 0.0])),
            (np.zeros(5), np.zeros(5))]


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


# ---------------------------------------------------------------- 04.10 check_layer


class _Bare:
    """A course layer with only the lesson's protocol: forward, backward, params, grads.

    Not callable: an answer that calls ``layer(x)`` instead of ``layer.forward(x)`` fails here,
    not later in the lesson.
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


class _BuggyLinear(layers.Linear):
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


class _Make:
    """Builds a fresh layer for each call of the check (shown as the layer it builds)."""

    def __init__(self, build):
        self.build = build

    def __call__(self):
        return _Bare(self.build())

    def __repr__(self):
        return repr(self.build())


def _norm_with_gamma(d, seed):
    norm = layers.LayerNorm(d)
    norm.params["gamma"] = np.random.default_rng(seed).uniform(0.5, 2.0, d)
    return norm


def _run_check_layer(fn, make, x, upstream):
    return fn(make(), x, upstream)


def _layer_cases(seed):
    rng = np.random.default_rng(49 + seed)
    if seed == 0:
        return [(_Make(lambda: layers.Linear(3, 2, rng=0)), rng.normal(size=(4, 3)),
                 rng.normal(size=(4, 2))),
                (_Make(layers.Tanh), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))),
                (_Make(lambda: layers.LayerNorm(4)), rng.normal(size=(5, 4)),
                 rng.normal(size=(5, 4))),
                (_Make(lambda: _BuggyLinear(3, 2, 2, "W")), rng.normal(size=(4, 3)) * 5,
                 rng.normal(size=(4, 2)))]
    return [(_Make(lambda: layers.Linear(2, 5, rng=seed)), rng.normal(size=(3, 2)),
             rng.normal(size=(3, 5))),
            (_Make(lambda: _norm_with_gamma(3, seed)), rng.normal(size=(4, 3)),
             rng.normal(size=(4, 3))),
            (_Make(lambda: _BuggyLinear(4, 3, 3, "b")), rng.normal(size=(6, 4)),
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


def _check_layer_variant(*, surrogate=None, ones=False, wrt_x=True, absolute=False):
    numgrad, rel = gradcheck.numerical_gradient, gradcheck.relative_error

    def check_layer(layer, x, upstream):
        u = np.ones_like(upstream) if ones else upstream
        surr = surrogate or (lambda out, up: np.sum(out * up))

        def loss(_):
            return float(surr(layer.forward(x), u))

        def error(a, b):
            return float(np.linalg.norm(a - b)) if absolute else rel(a, b)

        layer.forward(x)
        analytic = {"x": layer.backward(u), **layer.grads}
        errors = {"x": error(analytic["x"], numgrad(loss, x))} if wrt_x else {}
        for name, p in layer.params.items():
            errors[name] = error(analytic[name], numgrad(loss, p))
        return errors

    return check_layer


EXERCISES = [
    Exercise(
        id="04.1",
        title="the Linear layer: forward with its cache, backward",
        points=4,
        reference=layers.Linear,
        run=_run_linear,
        cases=_linear_cases,
        section=SECTION_LAYER,
        mistakes=[
            Mistake("no-transpose",
                    "your dW has the shape of W turned around: the product that forms it "
                    "pairs the wrong axes",
                    _LinearNoTranspose,
                    hint="dW must have W's shape (d_in, d_out); sum over the batch axis, which "
                         "is the first axis of both the cached input and upstream"),
            Mistake("mean-not-sum",
                    "your db is n times too small: it averages over the batch",
                    _LinearMeanDb,
                    hint="upstream already carries the 1/n of the mean loss; b is used by "
                         "every row, so its gradient adds up every row's"),
            Mistake("keepdims",
                    "your db has shape (1, d_out) instead of (d_out,), the shape of b",
                    _LinearKeepdims,
                    hint="a gradient has the shape of what it differentiates: reduce over the "
                         "batch without keeping the axis"),
            Mistake("cache-output",
                    "your dW is built from the wrong cached tensor: forward kept its output, "
                    "backward needs its input",
                    _LinearCachesOutput,
                    hint="W multiplies the input x, so dW is made from x: keep x in the cache"),
            Mistake("forward-no-bias",
                    "your forward output misses the bias",
                    _LinearNoBias,
                    hint="z adds b to every row after the matrix product"),
            Mistake("accumulate-ignored",
                    "with accumulate=True your backward overwrites dW and db instead of adding "
                    "to them",
                    _LinearOverwrites,
                    hint="store the gradients with self._store(name, grad, accumulate), which "
                         "adds when accumulate is True"),
        ],
    ),
    Exercise(
        id="04.2",
        title="the ReLU layer: forward with its cache, backward",
        points=3,
        reference=layers.ReLU,
        run=_run_relu,
        cases=_relu_cases,
        section=SECTION_LAYER,
        mistakes=[
            Mistake("mask-from-upstream",
                    "your backward decides where to pass the gradient from the upstream "
                    "gradient's sign, not from whether the unit was on",
                    _ReluMaskFromUpstream,
                    hint="the gate is open where the forward input z was positive; the sign of "
                         "upstream does not matter"),
            Mistake("value-not-slope",
                    "your backward multiplies by ReLU's value instead of its slope",
                    _ReluValueNotSlope,
                    hint="ReLU's slope is 1 where the unit was on and 0 where it was off"),
            Mistake("inverted-mask",
                    "your backward passes the gradient where the unit was off and blocks it "
                    "where it was on",
                    _ReluInvertedMask,
                    hint="the gradient flows through units that were on in the forward pass"),
            Mistake("no-upstream",
                    "your backward returns the local slope without the upstream gradient",
                    _ReluNoUpstream,
                    hint="downstream = upstream x local, entry by entry"),
            Mistake("inputs-changed",
                    "your forward changed its input in place",
                    _ReluInPlace,
                    hint="z[z < 0] = 0 writes into the caller's array (the previous layer's "
                         "output): build a new array instead"),
        ],
    ),
    Exercise(
        id="04.3",
        title="softmax cross-entropy: the stable loss and its delta",
        points=4,
        reference=losses.SoftmaxCrossEntropy,
        run=_run_ce,
        cases=_ce_cases,
        equal_nan=True,
        section=SECTION_CE,
        mistakes=[
            Mistake("no-shift",
                    "your loss or delta overflows for large logits (nan or inf where the "
                    "answer is finite)",
                    _CeNoShift,
                    hint="subtract each row's largest logit before exponentiating: it changes "
                         "no probability"),
            Mistake("log-of-softmax",
                    "your loss is infinite when a true class's logit lies far below the "
                    "row's largest",
                    _CeLogOfSoftmax,
                    hint="the probability underflows to 0 before its log is taken: take the "
                         "log first, as a difference, keeping only the sum of exponentials "
                         "inside a log"),
            Mistake("sum-not-mean",
                    "your loss and delta are n times too large: they sum over the batch",
                    _CeSum,
                    hint="the loss is the mean over the n examples, and so carries a 1/n into "
                         "the delta"),
            Mistake("no-onehot",
                    "your delta is missing the term from the true class's logit",
                    _CeNoOnehot,
                    hint="the loss's first term, minus the true class's logit, contributes -1 "
                         "at the true class"),
            Mistake("sign",
                    "your delta has the wrong sign everywhere",
                    _CeSign,
                    hint="raising the true class's logit lowers the loss, so its delta is "
                         "negative"),
            Mistake("wrong-axis",
                    "your delta's softmax normalises over the batch, not over the classes",
                    _CeAxis0,
                    hint="each row's probabilities sum to 1: reduce along axis 1"),
            Mistake("no-minus",
                    "your loss is negative: it is the mean log-probability, without the minus",
                    _CeNoMinus,
                    hint="log p is at most 0, and the loss is its negative"),
        ],
    ),
    Exercise(
        id="04.4",
        title="the MLP's forward and backward loops over its layers",
        points=3,
        reference=mlp.MLP,
        run=_run_mlp,
        cases=_mlp_cases,
        section=SECTION_LOOPS,
        mistakes=[
            Mistake("returns-input",
                    "your forward returns the network's input instead of the last layer's "
                    "output",
                    _MlpReturnsInput,
                    hint="carry h from layer to layer and return it"),
            Mistake("skips-first-layer",
                    "your backward stops before the first layer: its gradients are never "
                    "stored and dL/dx has the first hidden layer's width",
                    _MlpSkipsFirst,
                    hint="the loop runs down to index 0 inclusive"),
            Mistake("returns-upstream",
                    "your backward returns the upstream gradient it was given instead of the "
                    "first layer's dL/dx",
                    _MlpReturnsUpstream,
                    hint="return what the first layer's backward returned"),
            Mistake("input-grad-ignored",
                    "with input_grad=False your backward still computes and returns dL/dx",
                    _MlpAlwaysInputGrad,
                    hint="pass input_grad to the first layer's backward, and return None"),
            Mistake("accumulate-dropped",
                    "with accumulate=True your network's gradients are overwritten, not added "
                    "to",
                    _MlpDropsAccumulate,
                    hint="pass accumulate on to every layer's backward"),
        ],
    ),
    Exercise(
        id="04.5",
        title="L2 regularisation: its loss term and its gradient",
        points=2,
        reference=mlp.l2_penalty,
        run=_run_l2,
        cases=_l2_cases,
        section=SECTION_TRAIN,
        mistakes=[
            Mistake("biases-penalised",
                    "you penalise the biases too: only the weights W are regularised",
                    _l2_variant(biases=True),
                    hint="loop over the Linear layers' W only"),
            Mistake("no-half",
                    "your penalty is twice the size, while its gradient is right",
                    _l2_variant(factor=1.0),
                    hint="the penalty carries a 1/2, which cancels the 2 of the square in the "
                         "gradient"),
            Mistake("gradient-doubled",
                    "the gradient you add is twice the derivative of your penalty",
                    _l2_variant(grad_factor=2.0),
                    hint="differentiate the penalty: the 1/2 and the 2 cancel"),
            Mistake("gradient-overwritten",
                    "your penalty's gradient replaces the loss's gradient instead of adding to "
                    "it",
                    _l2_variant(overwrite=True),
                    hint="the loss is a sum, so its gradient is the sum of both parts"),
            Mistake("weights-changed",
                    "you changed the weights instead of their gradients",
                    _l2_variant(decay=True),
                    hint="this function only adds to grads['W']; the training loop's step "
                         "moves the weights"),
        ],
    ),
    Exercise(
        id="04.6",
        title="mini-batch SGD with L2 and a validation split",
        points=4,
        reference=mlp.sgd_train,
        run=_run_train,
        cases=_train_cases,
        section=SECTION_TRAIN,
        mistakes=[
            Mistake("ascent",
                    "your parameters move with the gradient: the loss goes up",
                    _train_variant(sign=1.0),
                    hint="a step of gradient descent goes against the gradient"),
            Mistake("trains-on-validation",
                    "your batches are drawn from all the rows, the validation rows among them",
                    _train_variant(split=False),
                    hint="draw batch indices into the training split only"),
            Mistake("no-penalty",
                    "your loop never applies L2: neither the loss nor the gradients carry it",
                    _train_variant(penalty=False),
                    hint="call l2_penalty after backward and before the step"),
            Mistake("penalty-not-reported",
                    "your training losses leave out the L2 term that your gradients include",
                    _train_variant(report_penalty=False),
                    hint="add l2_penalty's return value to the batch's loss you record"),
            Mistake("fixed-batch",
                    "your loop trains on the same rows at every step",
                    _train_variant(fixed_batch=True),
                    hint="draw a fresh batch from the generator every step"),
            Mistake("no-first-validation",
                    "your validation history misses the measurement before the first step",
                    _train_variant(first_val=False),
                    hint="record the validation loss at step 0 too: it is the baseline"),
        ],
    ),
    Exercise(
        id="04.7",
        title="choose L2's lambda on the validation split",
        points=2,
        reference=mlp.tune_l2,
        run=_run_tune,
        cases=_tune_cases,
        section=SECTION_TRAIN,
        mistakes=[
            Mistake("picks-worst", "you chose the lambda with the highest validation loss",
                    _tune_variant(worst=True), hint="the best score is the lowest loss"),
            Mistake("shared-network",
                    "your later lambdas continue training the first lambda's network",
                    _tune_variant(shared=True),
                    hint="build a fresh network with make_net() for every lambda"),
            Mistake("training-loss",
                    "your scores are training losses: they reward fitting the training split",
                    _tune_variant(score="train"),
                    hint="score each lambda on the validation split, which it did not train on"),
            Mistake("first-validation",
                    "your scores are the validation losses before training",
                    _tune_variant(at=0),
                    hint="take the last entry of the validation history"),
        ],
    ),
    Exercise(
        id="04.8",
        title="central differences, one entry at a time",
        points=3,
        reference=gradcheck.numerical_gradient,
        cases=_numgrad_cases,
        rtol=1e-7,
        section=SECTION_CHECK,
        mistakes=[
            Mistake("inputs-changed",
                    "you did not put each entry back after perturbing it",
                    _numgrad_variant(restore=False),
                    hint="after the two evaluations, set the entry back to its old value"),
            Mistake("one-sided",
                    "your difference is one-sided: its error shrinks only like eps",
                    _numgrad_variant(one_sided=True),
                    hint="evaluate on both sides of the point, at +eps and -eps"),
            Mistake("wrong-distance",
                    "your differences are twice too large: the two points are farther apart "
                    "than you divide by",
                    _numgrad_variant(divisor=1.0),
                    hint="the two points are 2 eps apart"),
            Mistake("perturbed-copy",
                    "your gradient is zero for a function that reads the array itself: you "
                    "perturbed a copy of x",
                    _numgrad_variant(copy=True),
                    hint="perturb x itself, in place: a network's loss reads its weights, not "
                         "the argument you pass"),
            Mistake("all-at-once",
                    "you perturbed every entry at once: that is one directional derivative, "
                    "not a gradient",
                    _numgrad_variant(all_at_once=True),
                    hint="move one entry at a time, np.ndindex(x.shape) walks them"),
        ],
    ),
    Exercise(
        id="04.9",
        title="the relative error with its zero guard",
        points=2,
        reference=gradcheck.relative_error,
        cases=_rel_cases,
        equal_nan=True,
        section=SECTION_CHECK,
        mistakes=[
            Mistake("no-zero-guard", "when both gradients are zero your error is nan, not 0",
                    _no_guard,
                    hint="guard the denominator with a tiny positive number"),
            Mistake("over-b", "your error is not symmetric and is infinite when b is zero",
                    _over_b, hint="divide by the larger of both norms"),
            Mistake("elementwise",
                    "your error is the worst single entry's, so near-zero entries dominate it",
                    _elementwise, hint="the rule is norm-wise, over whole arrays"),
            Mistake("over-sum",
                    "your error is half the expected one: it divides by both norms together",
                    _over_sum,
                    hint="the thresholds of course.gradcheck are for the larger norm alone"),
        ],
    ),
    Exercise(
        id="04.10",
        title="check one layer alone against a random upstream gradient",
        points=3,
        reference=gradcheck.check_layer,
        run=_run_check_layer,
        cases=_layer_cases,
        compare=_same_errors,
        section=SECTION_CHECK,
        mistakes=[
            Mistake("different-losses",
                    "your numerical side differentiates another loss than your backward",
                    _check_layer_variant(surrogate=lambda out, up: np.sum(out)),
                    hint="the surrogate loss weights the output by upstream; backward gets "
                         "the same upstream"),
            Mistake("mean-surrogate",
                    "your surrogate loss averages instead of summing: its gradient is not "
                    "upstream",
                    _check_layer_variant(surrogate=lambda out, up: np.mean(out * up)),
                    hint="with a sum, dL/d(out) is exactly upstream"),
            Mistake("no-input-check",
                    "you checked only the parameters: dL/dx is missing",
                    _check_layer_variant(wrt_x=False),
                    hint="dL/dx is what the layer passes down: check it too"),
            Mistake("ones-upstream",
                    "you used an upstream of ones on both sides, not the random one given",
                    _check_layer_variant(ones=True),
                    hint="a sum checks a single direction: a normalisation layer with uniform "
                         "gamma has dL/dx = 0 in it, right or wrong"),
            Mistake("absolute-error",
                    "you returned absolute errors: one threshold cannot fit gradients of "
                    "every size",
                    _check_layer_variant(absolute=True),
                    hint="use your rel_error"),
        ],
    ),
]
