"""A scalar reverse-mode autodiff engine (``Value``, micrograd's design), networks made of it
(``Neuron``, ``Layer``, ``MLP``, trained by ``fit``) and forward-mode dual numbers (``Dual``).

Lesson 02 has the learner write this ``Value`` (and ``Neuron``, ``Layer``, ``MLP``, ``fit``,
``Dual.__mul__``, ``Dual.tanh``): the exercises compare the learner's class with this one.

Every operation returns a new ``Value`` that records its ``parents`` (one entry per use: ``x * x``
lists ``x`` twice) and a closure ``_backward`` that adds ``local derivative * out.grad`` into
each parent's ``grad``. The local derivative is computed inside the closure, during the backward
pass: the forward pass never fails where the value itself is defined (``Value(0.0) ** 0`` is 1,
``Value(0.0) ** 0.5`` is 0 and only its gradient is infinite).

``backward()`` resets the intermediate nodes (those with parents), seeds the root, and calls the
closures in reverse topological order. Leaves ACCUMULATE (calling it twice doubles a parameter's
``.grad``, as in PyTorch); ``zero_grad()`` sets every node of the graph back to 0.

Each closure refers to the node it belongs to, so a graph is a set of reference cycles: Python's
cycle collector frees it, and a training step that builds tens of thousands of nodes spends most
of its time in that collector. ``cycle_collector_paused()`` turns it off for a step (``fit`` does).
"""

from __future__ import annotations

import contextlib
import gc
import math
import random
from collections.abc import Sequence
from numbers import Real


def _number(name: str, x) -> float:
    if type(x) is float:
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(
            f"{name} must be a real number (int or float), got {type(x).__name__}: {x!r}"
        )
    return float(x)


def sigmoid(x: float) -> float:
    """The logistic function of a float, stable for any x (exp of a non-positive number only):
    the scalar sigmoid of the course (``Value.sigmoid``, ``Dual.sigmoid``, ``course.neuron``)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _power(x: float, k: float) -> float:
    """x ** k for real x and a constant k, as a float (no complex results)."""
    if x == 0.0 and k < 0:
        raise ZeroDivisionError(f"0.0 cannot be raised to a negative power ({k:g})")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"a negative number ({x:g}) to a non-integer power ({k:g}) is not real")
    return x**k


def _power_slope(x: float, k: float) -> float:
    """d/dx x ** k: 0 for k = 0, infinite at x = 0 for 0 < k < 1."""
    if k == 0:
        return 0.0
    if x == 0.0 and k < 1:
        return math.inf
    return k * _power(x, k - 1)


def _lift(other) -> Value:
    """A Value as it is; a number as a constant leaf."""
    return other if isinstance(other, Value) else Value(_number("other", other))


def _leaf() -> None:
    """A leaf's backward: nothing further to pass on."""


@contextlib.contextmanager
def cycle_collector_paused():
    """Turn Python's cycle collector off inside the block (and back on if it was on)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class Value:
    """A scalar node of a computational graph.

    data: the float computed by the forward pass; grad: dL/d this node, filled in by
    ``backward``; parents: the nodes it was computed from (one entry per use); op: the operation
    ("+", "*", "**2", "tanh", ..., "" for a leaf); label: an optional name; _backward: the closure
    adding this node's gradient, times the local derivatives, into its parents' grads.
    """

    __slots__ = ("data", "grad", "parents", "op", "label", "_backward", "__weakref__")

    def __init__(self, data, parents=(), op="", label=""):
        self.data = data if type(data) is float else _number("data", data)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.op = op
        self.label = label
        self._backward = _leaf

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        other = _lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        k = _number("exponent", k)
        out = Value(_power(self.data, k), (self,), f"**{k:g}")

        def _backward():
            self.grad += _power_slope(self.data, k) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def sigmoid(self):
        s = sigmoid(self.data)
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        other = _lift(other)
        if other.data == 0.0:
            raise ZeroDivisionError("division by zero")
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _lift(other) - self

    def __rtruediv__(self, other):
        return _lift(other) / self

    def topological_order(self) -> list[Value]:
        """Every node of the graph ending here, each once, after all of its parents
        (depth-first, iterative, so a graph deeper than the recursion limit works)."""
        order, placed, stack = [], {self}, [(self, iter(self.parents))]
        while stack:
            node, todo = stack[-1]
            parent = next((p for p in todo if p not in placed), None)
            if parent is None:
                order.append(node)
                stack.pop()
            else:
                placed.add(parent)
                stack.append((parent, iter(parent.parents)))
        return order

    def backward(self, grad: float = 1.0) -> None:
        """Reverse mode: reset the intermediate nodes, add ``grad`` into this node's gradient,
        then call every node's closure, from this node back to the leaves."""
        upstream = _number("grad", grad)
        order = self.topological_order()
        for node in order:
            if node.parents:
                node.grad = 0.0
        self.grad += upstream
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of the graph ending here."""
        for node in self.topological_order():
            node.grad = 0.0


ACTIVATIONS = ("tanh", "relu", "linear")


class Neuron:
    """act(w . x + b) for a list of ``nin`` inputs; weights uniform in [-1, 1] (from Python's
    ``random``, so ``random.seed`` fixes them), bias 0. act: "tanh", "relu" or "linear"."""

    def __init__(self, nin: int, act: str = "tanh"):
        if act not in ACTIVATIONS:
            raise ValueError(f"act must be one of {ACTIVATIONS}, got {act!r}")
        self.w = [Value(random.uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.act = act

    def __call__(self, x: Sequence) -> Value:
        z = self.b
        for w_i, x_i in zip(self.w, x):
            z = z + w_i * x_i
        return z if self.act == "linear" else getattr(z, self.act)()

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return [*self.w, self.b]


class Layer:
    """``nout`` neurons reading the same ``nin`` inputs: list (nin) -> list (nout) of Values."""

    def __init__(self, nin: int, nout: int, act: str = "tanh"):
        self.neurons = [Neuron(nin, act) for _ in range(nout)]

    def __call__(self, x: Sequence) -> list[Value]:
        return [neuron(x) for neuron in self.neurons]

    def parameters(self) -> list[Value]:
        """Each neuron's parameters, neuron by neuron."""
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    """Layers of sizes nin -> nouts[0] -> ... -> nouts[-1]: ``act`` on every hidden layer, the
    last layer linear. Called on a list of nin numbers or Values: a Value when nouts[-1] is 1,
    else a list of nouts[-1] Values."""

    def __init__(self, nin: int, nouts: Sequence[int], act: str = "tanh"):
        sizes = [nin, *nouts]
        acts = [act] * (len(nouts) - 1) + ["linear"]
        self.layers = [Layer(i, o, a) for i, o, a in zip(sizes[:-1], sizes[1:], acts)]

    def __call__(self, x: Sequence):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        """Each layer's parameters, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]


def mean_squared_error(model, xs: Sequence, ys: Sequence[float]) -> Value:
    """mean over the points of (model(x) - y)^2, as a Value; model has one output."""
    total = Value(0.0)
    for x, y in zip(xs, ys):
        total = total + (model(x) - y) ** 2
    return total * (1.0 / len(xs))


def fit(model, xs: Sequence, ys: Sequence[float], steps: int, lr: float) -> list[float]:
    """``steps`` steps of gradient descent on the mean squared error of ``model`` over (xs, ys).

    Each step: zero every parameter's grad, forward (the loss), backward, then move every
    parameter by ``-lr * grad``. Updates the model's parameters in place; returns the loss
    before each step (``steps`` floats). The cycle collector is off during each step.
    """
    losses = []
    for _ in range(steps):
        with cycle_collector_paused():
            for p in model.parameters():
                p.grad = 0.0
            loss = mean_squared_error(model, xs, ys)
            loss.backward()
            for p in model.parameters():
                p.data -= lr * p.grad
        losses.append(loss.data)
    return losses


class Dual:
    """Forward-mode dual number ``val + dot * eps`` with eps^2 = 0; ``dot`` is d val / d input."""

    __slots__ = ("val", "dot")

    def __init__(self, val, dot=0.0):
        self.val = _number("val", val)
        self.dot = _number("dot", dot)

    def __repr__(self):
        return f"Dual(val={self.val:.6g}, dot={self.dot:.6g})"

    @staticmethod
    def _lift(other) -> Dual:
        return other if isinstance(other, Dual) else Dual(_number("other", other))

    def __add__(self, other):
        o = self._lift(other)
        return Dual(self.val + o.val, self.dot + o.dot)

    def __mul__(self, other):
        o = self._lift(other)
        return Dual(self.val * o.val, self.dot * o.val + self.val * o.dot)

    def __pow__(self, k):
        k = _number("exponent", k)
        return Dual(self.val**k, k * self.val ** (k - 1) * self.dot)

    def __neg__(self):
        return Dual(-self.val, -self.dot)

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def exp(self):
        e = math.exp(self.val)
        return Dual(e, e * self.dot)

    def log(self):
        if self.val <= 0:
            raise ValueError(f"log needs a positive input, got {self.val}")
        return Dual(math.log(self.val), self.dot / self.val)

    def tanh(self):
        t = math.tanh(self.val)
        return Dual(t, (1.0 - t * t) * self.dot)

    def sigmoid(self):
        s = sigmoid(self.val)
        return Dual(s, s * (1.0 - s) * self.dot)

    def relu(self):
        return Dual(max(self.val, 0.0), self.dot if self.val > 0 else 0.0)
