"""Lesson 03 (the two-layer ReLU network): the library's own pieces, written by the learner.

03.1 is ``course.twolayer.worked_example`` (one hidden unit, every number forward and back),
03.2 ``TwoLayerNet.forward`` with its cache, 03.3 ``TwoLayerNet.backward``, 03.4
``course.twolayer.train`` (full-batch gradient descent). Every reference is the library's
object; ``run`` drives the learner's function or class and returns what to compare.

The lesson's loss is L = (yhat - y)^2 / 2 per example (mean over the batch): the 1/2 cancels the
2 of the square, so dL/dyhat = yhat - y. Lessons 01-02 used (a - y)^2 without the 1/2; an answer
carrying their factor 2 is diagnosed as that.
"""

from __future__ import annotations

import numpy as np

from course import twolayer
from course.checks.core import Exercise, Mistake
from course.twolayer import WORKED_BACKWARD, WORKED_FORWARD, WorkedExample

SECTION_WORKED = "§1, 'The worked example, by hand'"
SECTION_FORWARD = "§2, 'Vectorised: a batch and a whole hidden layer'"
SECTION_BACKWARD = "§2, 'A 2x2 worked case' and the backward pass after it"
SECTION_TRAIN = "§2, 'Training'"

FIELDS = WORKED_FORWARD + WORKED_BACKWARD


# ---------------------------------------------------------------- 03.1 the worked example


def _run_worked(fn, *args):
    """-> every forward and backward number of the answer's WorkedExample, in table order."""
    ex = fn(*args)
    return None if ex is None else tuple(float(getattr(ex, f)) for f in FIELDS)


def _worked_cases(seed):
    if seed == 0:
        return [(1.0, 0.0, 1.0, 0.0, 2.0, 0.0), (-2.0, 1.0, 0.5, 0.3, 1.5, -0.2),
                (0.5, -1.0, -1.0, -2.0, 1.0, 0.0), (2.0, 1.0, 0.7, -0.2, -0.5, 0.25)]
    rng = np.random.default_rng(30 + seed)
    return [tuple(float(v) for v in rng.normal(size=6).round(2)) for _ in range(4)]


def _worked_variant(*, mask=None, sign=1.0, factor=1.0, through=True, input_is_h=False,
                    slope_is_value=False):
    """The reference with one habit changed, for planted mistakes."""

    def worked_example(x, y, w1, b1, w2, b2):
        z1 = w1 * x + b1
        h = max(z1, 0.0)
        yhat = w2 * h + b2
        dyhat = factor * sign * (yhat - y)
        dh = dyhat * (w2 if through else 1.0)
        local = max(z1, 0.0) if slope_is_value else (1.0 if z1 > 0 else 0.0)
        dz1 = dh * (local if mask is None else mask)
        return WorkedExample(x, y, w1, b1, w2, b2, z1, h, yhat, 0.5 * (yhat - y) ** 2, dyhat,
                             dyhat * h, dyhat, dh, dz1, dz1 * (h if input_is_h else x), dz1)

    return worked_example


# ---------------------------------------------------------------- 03.2-03.3 TwoLayerNet


def _net(cls, x, y, W1, b1, W2, b2):
    net = cls(W1.shape[0], W1.shape[1], W2.shape[1])
    if net is not None:
        net.params.update(W1=W1, b1=b1, W2=W2, b2=b2)
    return net


def _run_forward(cls, x, y, W1, b1, W2, b2):
    """The answer's forward, then the library's backward on the cache it kept -> (loss, every
    gradient, dL/dx)."""
    net = _net(cls, x, y, W1, b1, W2, b2)
    if net is None:
        return None
    loss = float(net.forward(x, y))
    dx = twolayer.TwoLayerNet.backward(net)
    return loss, dict(net.grads), dx


def _run_backward(cls, x, y, W1, b1, W2, b2):
    """The answer's forward and backward -> (every gradient, dL/dx)."""
    net = _net(cls, x, y, W1, b1, W2, b2)
    if net is None:
        return None
    net.forward(x, y)
    dx = net.backward()
    return {k: np.array(g) for k, g in net.grads.items()}, dx


def _net_cases(seed):
    if seed == 0:
        x = np.array([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.25]])
        y = np.array([[1.0], [0.0], [1.0]])
        W1 = np.array([[0.5, -1.0, 0.75, 0.2], [0.25, 0.5, -0.5, 1.0]])
        b1 = np.array([0.1, -0.2, 0.3, 0.0])
        W2 = np.array([[1.0], [-0.5], [0.8], [-1.2]])
        rng = np.random.default_rng(32)
        n, d_in, d_h, d_out = 5, 3, 6, 2
        return [(x, y, W1, b1, W2, np.array([0.2])),
                (rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out)),
                 rng.normal(size=(d_in, d_h)), rng.normal(size=d_h),
                 rng.normal(size=(d_h, d_out)), rng.normal(size=d_out))]
    rng = np.random.default_rng(320 + seed)
    n, d_in, d_h, d_out = (int(v) for v in rng.integers(2, 8, size=4))
    return [(rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out)),
             rng.normal(size=(d_in, d_h)), rng.normal(size=d_h),
             rng.normal(size=(d_h, d_out)), rng.normal(size=d_out))]


class _Forward(twolayer.TwoLayerNet):
    """A forward with one habit changed, for planted mistakes."""

    relu_hidden, relu_output, scale = True, False, 0.5

    def divisor(self, diff):
        return diff.shape[0]

    def forward(self, x, y):
        z1 = x @ self.params["W1"] + self.params["b1"]
        h = np.maximum(z1, 0.0) if self.relu_hidden else z1
        yhat = h @ self.params["W2"] + self.params["b2"]
        if self.relu_output:
            yhat = np.maximum(yhat, 0.0)
        self.cache = (x, z1, h, yhat, y)
        return float(self.scale * np.sum((yhat - y) ** 2) / self.divisor(yhat))


class _ForwardSum(_Forward):
    def divisor(self, diff):
        return 1


class _ForwardNoHalf(_Forward):
    scale = 1.0


class _ForwardMeanOverEntries(_Forward):
    def divisor(self, diff):
        return diff.size


class _ForwardNoRelu(_Forward):
    relu_hidden = False


class _ForwardReluOutput(_Forward):
    relu_output = True


class _Backward(twolayer.TwoLayerNet):
    """A backward with one habit changed, for planted mistakes."""

    def delta_out(self, yhat, y):
        return (yhat - y) / len(y)

    def dW2(self, h, d2):
        return h.T @ d2

    def bias(self, d):
        return d.sum(axis=0)

    def local(self, z1, h, dh):
        return z1 > 0

    def backward(self):
        x, z1, h, yhat, y = self.cache
        d2 = self.delta_out(yhat, y)
        self.grads["W2"] = self.dW2(h, d2)
        self.grads["b2"] = self.bias(d2)
        dh = d2 @ self.params["W2"].T
        d1 = dh * self.local(z1, h, dh)
        self.grads["W1"] = x.T @ d1
        self.grads["b1"] = self.bias(d1)
        return d1 @ self.params["W1"].T


class _BackwardNoTranspose(_Backward):
    def dW2(self, h, d2):
        return d2.T @ h


class _BackwardMeanBias(_Backward):
    def bias(self, d):
        return d.mean(axis=0)


class _BackwardMaskFromUpstream(_Backward):
    def local(self, z1, h, dh):
        return dh > 0


class _BackwardValueNotSlope(_Backward):
    def local(self, z1, h, dh):
        return h


class _BackwardNoMean(_Backward):
    def delta_out(self, yhat, y):
        return yhat - y


class _BackwardFactor2(_Backward):
    def delta_out(self, yhat, y):
        return 2 * (yhat - y) / len(y)


# ---------------------------------------------------------------- 03.4 train


def _run_train(fn, x, y, lr, steps):
    """Train TwoLayerNet(d_in, 4, d_out, seed=0) with the answer -> (its losses, the trained
    parameters)."""
    net = twolayer.TwoLayerNet(x.shape[1], 4, y.shape[1], seed=0)
    losses = fn(net, x, y, lr, steps)
    return None if losses is None else (np.asarray(losses, dtype=float), net.params)


def _train_cases(seed):
    rng = np.random.default_rng(34 + seed)
    if seed == 0:
        x = np.array([[1.0, -0.5], [0.5, 1.5], [-1.0, 0.25], [2.0, 1.0], [-0.5, -1.5]])
        return [(x, np.array([[1.0], [0.0], [1.0], [0.0], [1.0]]), 0.1, 5)]
    n, d_in, d_out = (int(v) for v in rng.integers(2, 6, size=3))
    return [(rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out)), 0.05, 4 + seed)]


def _train_variant(*, sign=-1.0, stale=False, weights_only=False, after=False):
    def train(net, x, y, lr, steps):
        losses = []
        if stale:
            net.forward(x, y)
            net.backward()
        for _ in range(steps):
            loss = net.forward(x, y)
            if not stale:
                net.backward()
            for name, p in net.params.items():
                if not (weights_only and name.startswith("b")):
                    p += sign * lr * net.grads[name]
            losses.append(net.forward(x, y) if after else loss)
        return np.array(losses)

    return train


EXERCISES = [
    Exercise(
        id="03.1",
        title="the worked example, forward and backward",
        points=3,
        reference=twolayer.worked_example,
        run=_run_worked,
        cases=_worked_cases,
        section=SECTION_WORKED,
        mistakes=[
            Mistake("no-relu-slope",
                    "your gradient reaches w1 and b1 through a unit that was off",
                    _worked_variant(mask=1.0),
                    hint="ReLU's local derivative is 0 where z1 <= 0: a dead unit passes "
                         "nothing back"),
            Mistake("sign", "your dL/dyhat, and everything after it, has the wrong sign",
                    _worked_variant(sign=-1.0),
                    hint="the loss grows when yhat moves away from y above it"),
            Mistake("h-not-x", "your dL/dw1 multiplies by the wrong input",
                    _worked_variant(input_is_h=True),
                    hint="w1 multiplies x, so x is its local derivative"),
            Mistake("no-w2", "your dL/dh is missing the factor of the weight between h and "
                             "the output",
                    _worked_variant(through=False),
                    hint="yhat depends on h through w2: dyhat/dh is w2"),
            Mistake("value-not-slope",
                    "your dL/dz1 uses ReLU's value where its slope belongs",
                    _worked_variant(slope_is_value=True),
                    hint="the local derivative of relu is 0 or 1, not relu(z1)"),
            Mistake("factor-2",
                    "your dL/dyhat is twice too large: the derivative of lessons 01-02's loss",
                    _worked_variant(factor=2.0),
                    hint="this lesson's loss carries a 1/2, which cancels the 2 of the square"),
        ],
    ),
    Exercise(
        id="03.2",
        title="TwoLayerNet.forward: the mean loss and the cache",
        points=2,
        reference=twolayer.TwoLayerNet,
        run=_run_forward,
        cases=_net_cases,
        section=SECTION_FORWARD,
        mistakes=[
            Mistake("sum-not-mean", "your loss is n times too large: it sums over the batch",
                    _ForwardSum, hint="the loss is the mean over the n examples"),
            Mistake("no-half", "your loss is twice too large: the 1/2 is missing",
                    _ForwardNoHalf, hint="this lesson's squared error carries a 1/2"),
            Mistake("mean-over-entries",
                    "your loss divides by every entry of yhat, not by the number of examples",
                    _ForwardMeanOverEntries,
                    hint="each example's loss sums over its outputs; the mean is over examples "
                         "only (np.mean over the whole array divides by n d_out)"),
            Mistake("no-relu", "your hidden layer has no ReLU",
                    _ForwardNoRelu, hint="h is relu of z1"),
            Mistake("relu-on-output", "your output goes through a ReLU: it is linear",
                    _ForwardReluOutput,
                    hint="only the hidden layer has an activation; yhat may be negative"),
        ],
    ),
    Exercise(
        id="03.3",
        title="TwoLayerNet.backward: every gradient from the cache",
        points=4,
        reference=twolayer.TwoLayerNet,
        run=_run_backward,
        cases=_net_cases,
        section=SECTION_BACKWARD,
        mistakes=[
            Mistake("no-transpose",
                    "your dW2 has the shape of W2 turned around: the product that forms it "
                    "pairs the wrong axes",
                    _BackwardNoTranspose,
                    hint="dW2 must have W2's shape (d_h, d_out): sum over the batch, the first "
                         "axis of both h and the output delta"),
            Mistake("mean-not-sum",
                    "your bias gradients are n times too small: they average over the batch",
                    _BackwardMeanBias,
                    hint="the output delta already carries the 1/n of the mean; a bias used by "
                         "every example adds up every example's contribution"),
            Mistake("mask-from-upstream",
                    "your ReLU step decides where to pass the gradient from the sign of dL/dh, "
                    "not from whether the unit was on",
                    _BackwardMaskFromUpstream,
                    hint="the gate is open where z1 > 0 in the forward pass"),
            Mistake("value-not-slope",
                    "your ReLU step multiplies by the unit's value, not its slope",
                    _BackwardValueNotSlope,
                    hint="relu's slope is 0 or 1"),
            Mistake("no-mean",
                    "your gradients are n times too large: the output delta is missing the "
                    "mean's 1/n",
                    _BackwardNoMean,
                    hint="L is the mean over the batch: its derivative in each yhat carries 1/n"),
            Mistake("factor-2",
                    "your gradients are twice too large: the derivative of lessons 01-02's loss",
                    _BackwardFactor2,
                    hint="the 1/2 of this lesson's loss cancels the 2 of the square"),
        ],
    ),
    Exercise(
        id="03.4",
        title="train: full-batch gradient descent",
        points=2,
        reference=twolayer.train,
        run=_run_train,
        cases=_train_cases,
        section=SECTION_TRAIN,
        mistakes=[
            Mistake("ascent", "your parameters move with the gradient: the loss goes up",
                    _train_variant(sign=1.0),
                    hint="gradient descent steps against the gradient"),
            Mistake("stale-gradients",
                    "your loop reuses the first step's gradients at every step",
                    _train_variant(stale=True),
                    hint="run backward after every forward: the gradients change as the "
                         "parameters move"),
            Mistake("weights-only", "your loop never moves the biases",
                    _train_variant(weights_only=True),
                    hint="every entry of net.params has a gradient in net.grads"),
            Mistake("loss-after-step",
                    "your losses are recorded after each step, not before it",
                    _train_variant(after=True),
                    hint="record the loss forward returned, before the parameters move"),
        ],
    ),
]
