"""A scalar reverse-mode autodiff engine (``Value``) and forward-mode dual numbers (``Dual``).

Every operation returns a new ``Value`` that records its parents and its local derivatives
d out / d parent, evaluated in the forward pass (``*`` stores ``(b, a)``, ``tanh`` stores
``(1 - t^2,)``). ``backward()`` visits the nodes in reverse topological order and adds
``node.grad * local`` into each parent's ``grad``: the chain rule, one edge at a time.
A node refers only to its parents, never to its outputs, so graphs hold no reference cycles
and are freed as soon as the last ``Value`` that reaches them goes out of scope.

``backward()`` ACCUMULATES into ``.grad`` (calling it twice doubles the gradients);
call ``zero_grad()`` on the output to reset every node of its graph to 0.
"""

from __future__ import annotations

import math
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


def _lift(other) -> Value:
    return other if type(other) is Value else Value(_number("other", other))


class Value:
    """A scalar node of a computational graph: ``data`` (float), ``grad`` (dL/d this), ``op``."""

    __slots__ = ("data", "grad", "_parents", "_local", "op", "label", "__weakref__")

    def __init__(self, data, _parents=(), op="", label="", _local=()):
        self.data = data if type(data) is float else _number("data", data)
        self.grad = 0.0
        self._parents = _parents
        self._local = _local  # d data / d parent, one per parent
        self.op = op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def _unary(self, data, op, local):
        return Value(data, (self,), op, _local=(local,))

    def __add__(self, other):
        other = _lift(other)
        return Value(self.data + other.data, (self, other), "+", _local=(1.0, 1.0))

    def __mul__(self, other):
        other = _lift(other)
        return Value(self.data * other.data, (self, other), "*", _local=(other.data, self.data))

    def __pow__(self, k):
        k = _number("exponent", k)
        return self._unary(self.data**k, f"**{k:g}", k * self.data ** (k - 1))

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-_lift(other))

    def __truediv__(self, other):
        return self * _lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _lift(other) - self

    def __rtruediv__(self, other):
        return _lift(other) / self

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, "exp", e)

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        return self._unary(math.log(self.data), "log", 1.0 / self.data)

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, "tanh", 1.0 - t * t)

    def sigmoid(self):
        s = sigmoid(self.data)
        return self._unary(s, "sigmoid", s * (1.0 - s))

    def relu(self):
        return self._unary(max(self.data, 0.0), "relu", 1.0 if self.data > 0 else 0.0)

    def topological_order(self) -> list[Value]:
        """Every node of the graph ending here, parents before children (iterative DFS).

        A node is expanded the first time it is popped: it goes back on the stack behind a
        ``None`` marker, with its unvisited parents above. Popping the marker means every
        ancestor of the node has been placed, so the node is placed next.
        """
        order, visited, stack = [], set(), [self]
        while stack:
            node = stack.pop()
            if node is None:
                order.append(stack.pop())
            elif node not in visited:
                visited.add(node)
                stack.append(node)
                stack.append(None)
                for p in node._parents:
                    if p not in visited:
                        stack.append(p)
        return order

    def backward(self, grad: float = 1.0) -> None:
        """Add d self / d node (times ``grad``) into every node's ``grad``.

        The pass runs on zeroed gradients in reverse topological order; the nonzero gradients
        held before the call are then added back, so repeated calls accumulate.
        """
        upstream = _number("grad", grad)
        order = self.topological_order()
        held = [(node, node.grad) for node in order if node.grad]
        for node, _ in held:
            node.grad = 0.0
        self.grad = upstream
        for node in reversed(order):
            up = node.grad
            for parent, local in zip(node._parents, node._local):
                parent.grad += up * local
        for node, old in held:
            node.grad += old

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of the graph ending here."""
        for node in self.topological_order():
            node.grad = 0.0


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
