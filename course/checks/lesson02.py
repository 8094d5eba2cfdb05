"""Lesson 02 (computational graphs and autodiff): the scalar engine's local backward rules, the
topological order, ``backward`` itself, and forward mode's dual-number rules.

The graphs the checks build are made of :class:`Node`, which has what the lesson's ``Value`` has:
``data``, ``grad``, ``parents`` (a tuple, one entry per use, so ``x * x`` lists ``x`` twice),
``op``, ``label`` and ``local_backward(out_grad)``, returning one gradient per parent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from course.checks.core import Exercise

# ---------------------------------------------------------------- local rules


def _add_backward(a: float, b: float, out_grad: float) -> tuple[float, float]:
    """Gradients reaching a and b from out = a + b, given dL/dout; floats -> (float, float)."""
    return out_grad, out_grad


def _mul_backward(a: float, b: float, out_grad: float) -> tuple[float, float]:
    """Gradients reaching a and b from out = a * b, given dL/dout; floats -> (float, float)."""
    return out_grad * b, out_grad * a


def _pow_backward(a: float, k: float, out_grad: float) -> float:
    """Gradient reaching a from out = a ** k (k a constant), given dL/dout; floats -> float."""
    return out_grad * k * a ** (k - 1)


def _tanh_backward(out: float, out_grad: float) -> float:
    """Gradient reaching x from out = tanh(x), given out and dL/dout; floats -> float."""
    return (1.0 - out * out) * out_grad


def _exp_backward(out: float, out_grad: float) -> float:
    """Gradient reaching x from out = exp(x), given out and dL/dout; floats -> float."""
    return out * out_grad


def _pair_cases():
    return [(2.0, 3.0, 1.0), (-1.5, 4.0, 0.5), (0.25, -2.0, -3.0), (1.2, 0.7, 2.5)]


def _pair_hidden_cases(seed: int):
    def cases():
        rng = np.random.default_rng(seed)
        return [tuple(float(v) for v in rng.normal(size=3)) for _ in range(10)]
    return cases


def _pow_cases():
    return [(2.0, 3.0, 1.0), (1.5, 2.0, 0.5), (0.5, -1.0, 2.0), (3.0, 0.5, -1.0)]


def _pow_hidden_cases():
    rng = np.random.default_rng(203)
    return [(float(rng.uniform(0.2, 3.0)), float(k), float(rng.normal()))
            for k in (2.0, 3.0, -1.0, -2.0, 0.5, 1.5, 4.0, 2.0)]


def _out_cases(kind: str):
    def cases():
        xs = (0.5, -0.8, 1.3, 0.3)
        grads = (1.0, 2.0, -0.5, 3.0)
        f = math.tanh if kind == "tanh" else math.exp
        return [(f(x), g) for x, g in zip(xs, grads)]
    return cases


def _out_hidden_cases(kind: str, seed: int):
    def cases():
        rng = np.random.default_rng(seed)
        f = math.tanh if kind == "tanh" else math.exp
        return [(float(f(x)), float(g)) for x, g in rng.normal(size=(10, 2))]
    return cases


# ---------------------------------------------------------------- graphs for the checks


class Node:
    """A scalar graph node like the lesson's Value, with its local rule chosen by ``op``.

    data, grad: floats; parents: tuple of Nodes (one entry per use); op: "", "+", "*", "tanh",
    "exp" or "**k"; label: a unique name. Nodes hash by identity, as the lesson's Value does.
    """

    def __init__(self, data, parents=(), op="", label=""):
        self.data, self.grad = float(data), 0.0
        self.parents, self.op, self.label = tuple(parents), op, label

    def __repr__(self):
        return f"Node({self.label}: data={self.data:.4g}, grad={self.grad:.4g})"

    def local_backward(self, out_grad):
        """One gradient per parent, in the order of ``parents``."""
        p = self.parents
        if self.op == "+":
            return _add_backward(p[0].data, p[1].data, out_grad)
        if self.op == "*":
            return _mul_backward(p[0].data, p[1].data, out_grad)
        if self.op == "tanh":
            return (_tanh_backward(self.data, out_grad),)
        if self.op == "exp":
            return (_exp_backward(self.data, out_grad),)
        if self.op.startswith("**"):
            return (_pow_backward(p[0].data, float(self.op[2:]), out_grad),)
        return ()


def _op(op: str, label: str, *parents: Node) -> Node:
    values = [p.data for p in parents]
    if op == "+":
        data = values[0] + values[1]
    elif op == "*":
        data = values[0] * values[1]
    elif op == "tanh":
        data = math.tanh(values[0])
    elif op == "exp":
        data = math.exp(values[0])
    else:
        data = values[0] ** float(op[2:])
    return Node(data, parents, op, label)


def _chain() -> Node:
    a = Node(0.5, label="a")
    b = _op("tanh", "b", a)
    return _op("exp", "c", b)


def _square() -> Node:
    x = Node(3.0, label="x")
    return _op("*", "y", x, x)


def _diamond() -> Node:
    x, three, one = Node(2.0, label="x"), Node(3.0, label="3"), Node(1.0, label="1")
    u, v = _op("*", "u", x, three), _op("+", "v", x, one)
    return _op("*", "d", u, v)


def _neuron() -> Node:
    x1, w1, x2, w2 = (Node(v, label=n) for v, n in
                      ((1.5, "x1"), (0.8, "w1"), (-0.5, "x2"), (-1.2, "w2")))
    b = Node(0.1, label="b")
    z = _op("+", "z", _op("+", "s", _op("*", "p1", x1, w1), _op("*", "p2", x2, w2)), b)
    a = _op("tanh", "a", z)
    err = _op("+", "err", a, Node(-0.5, label="-0.5"))
    return _op("**2", "L", err)


def _wide() -> Node:
    """Leaves used many times, at different depths: L = exp(x y) * (x + y)^2 + x y."""
    x, y = Node(0.3, label="x"), Node(-0.7, label="y")
    xy = _op("*", "xy", x, y)
    e = _op("exp", "e", xy)
    s2 = _op("**2", "s2", _op("+", "s", x, y))
    return _op("+", "L", _op("*", "m", e, s2), xy)


def _with_old_grads(root: Node) -> Node:
    """The graph with a gradient left in each leaf by an earlier backward pass."""
    for k, node in enumerate(_topological_order(root)):
        if not node.parents:
            node.grad = 0.25 * (k + 1)
    return root


def _graph_cases():
    return [(_chain(),), (_square(),), (_diamond(),), (_neuron(),)]


def _backward_cases():
    return _graph_cases() + [(_with_old_grads(_diamond()),)]


def _backward_hidden_cases():
    return _graph_hidden_cases() + [(_with_old_grads(_wide()),)]


def _graph_hidden_cases():
    return [(_wide(),), (_op("tanh", "t", _diamond()),)]


# ---------------------------------------------------------------- topological order


def _topological_order(root) -> list:
    """Every node reachable from root through ``parents``, each once and after all of its
    parents (depth-first post-order, iterative, so deep graphs do not hit the recursion limit)."""
    order, seen, stack = [], {id(root)}, [(root, iter(root.parents))]
    while stack:
        node, todo = stack[-1]
        nxt = next((p for p in todo if id(p) not in seen), None)
        if nxt is None:
            order.append(node)
            stack.pop()
        else:
            seen.add(id(nxt))
            stack.append((nxt, iter(nxt.parents)))
    return order


def _labels(nodes) -> list | None:
    try:
        return [n.label for n in nodes]
    except (AttributeError, TypeError):
        return None


def _is_topological(nodes) -> bool:
    """Each node once, each after all of its parents, every parent of a listed node listed."""
    position = {}
    for k, node in enumerate(nodes):
        if id(node) in position:
            return False
        position[id(node)] = k
    return all(id(p) in position and position[id(p)] < position[id(n)]
               for n in nodes for p in n.parents)


def _same_order_or_both_valid(got, expected) -> bool:
    """Identical labels, or both valid topological orders of the same nodes (any valid order)."""
    if not isinstance(got, (list, tuple)):
        return False
    got_labels, expected_labels = _labels(got), _labels(expected)
    if got_labels is None:
        return False
    if got_labels == expected_labels:
        return True
    return (_is_topological(expected) and _is_topological(got)
            and sorted(got_labels) == sorted(expected_labels))


def _no_visited_set(root):
    order = []

    def visit(node):
        for p in node.parents:
            visit(p)
        order.append(node)

    visit(root)
    return order


def _pre_order(root):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        order.append(node)
        for p in node.parents:
            visit(p)

    visit(root)
    return order


def _root_parents_only(root):
    return list({id(p): p for p in root.parents}.values()) + [root]


# ---------------------------------------------------------------- backward


def _backward(root) -> dict:
    """Reverse mode: d root / d node for every node; adds it into node.grad, returns the dict."""
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    for node in reversed(order):
        for parent, g in zip(node.parents, node.local_backward(grads[node])):
            grads[parent] += g
    for node in order:
        node.grad += grads[node]
    return grads


def _gradient_table(result) -> dict | None:
    """label -> (gradient in the returned dict, node.grad) for a dict keyed by nodes."""
    if not isinstance(result, Mapping):
        return None
    try:
        return {node.label: (float(g), float(node.grad)) for node, g in result.items()}
    except (AttributeError, TypeError, ValueError):
        return None


def _same_gradients(got, expected) -> bool:
    g, e = _gradient_table(got), _gradient_table(expected)
    if g is None or e is None or set(g) != set(e):
        return False
    return all(np.allclose(g[k], e[k], rtol=1e-9, atol=1e-12) for k in e)


def _forward_order(root):
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    for node in order:
        for parent, g in zip(node.parents, node.local_backward(grads[node])):
            grads[parent] += g
    for node in order:
        node.grad += grads[node]
    return grads


def _overwrites(root):
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    for node in reversed(order):
        for parent, g in zip(node.parents, node.local_backward(grads[node])):
            grads[parent] = g
    for node in order:
        node.grad += grads[node]
    return grads


def _no_seed(root):
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    for node in reversed(order):
        for parent, g in zip(node.parents, node.local_backward(grads[node])):
            grads[parent] += g
    for node in order:
        node.grad += grads[node]
    return grads


def _grad_overwritten(root):
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    for node in reversed(order):
        for parent, g in zip(node.parents, node.local_backward(grads[node])):
            grads[parent] += g
    for node in order:
        node.grad = grads[node]
    return grads


def _handed_dot_grad(root):
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    for node in reversed(order):
        for parent, g in zip(node.parents, node.local_backward(node.grad)):
            grads[parent] += g
    for node in order:
        node.grad += grads[node]
    return grads


def _grad_not_stored(root):
    order = _topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    for node in reversed(order):
        for parent, g in zip(node.parents, node.local_backward(grads[node])):
            grads[parent] += g
    return grads


# ---------------------------------------------------------------- forward mode


def _dual_mul(a: float, a_dot: float, b: float, b_dot: float) -> tuple[float, float]:
    """(a, a_dot) * (b, b_dot) for dual numbers: (a b, a_dot b + a b_dot); floats."""
    return a * b, a_dot * b + a * b_dot


def _dual_tanh(a: float, a_dot: float) -> tuple[float, float]:
    """tanh of the dual number (a, a_dot): (tanh a, (1 - tanh^2 a) a_dot); floats."""
    t = math.tanh(a)
    return t, (1.0 - t * t) * a_dot


def _dual_mul_cases():
    return [(2.0, 1.0, 3.0, 0.0), (2.0, 0.0, 3.0, 1.0), (-1.5, 0.5, 4.0, 2.0),
            (0.25, -1.0, -2.0, 3.0)]


def _dual_mul_hidden_cases():
    rng = np.random.default_rng(206)
    return [tuple(float(v) for v in rng.normal(size=4)) for _ in range(10)]


def _dual_tanh_cases():
    return [(0.5, 1.0), (-0.8, 2.0), (1.3, -0.5), (0.0, 3.0)]


def _dual_tanh_hidden_cases():
    rng = np.random.default_rng(207)
    return [tuple(float(v) for v in rng.normal(size=2)) for _ in range(10)]


EXERCISES = [
    Exercise(
        id="02.1",
        title="the local backward rule of addition",
        points=1,
        reference=_add_backward,
        cases=_pair_cases,
        hidden_cases=_pair_hidden_cases(200),
        mistakes={
            "forgot the upstream gradient: each input gets out_grad x 1, not 1":
                lambda a, b, g: (1.0, 1.0),
            "used multiplication's rule: d(a + b)/da is 1, not b": lambda a, b, g: (g * b, g * a),
            "split the gradient in half: addition passes it on whole to both inputs":
                lambda a, b, g: (g / 2, g / 2),
            "passed the input values on instead of the gradient": lambda a, b, g: (a, b),
        },
    ),
    Exercise(
        id="02.2",
        title="the local backward rule of multiplication",
        points=1,
        reference=_mul_backward,
        cases=_pair_cases,
        hidden_cases=_pair_hidden_cases(201),
        mistakes={
            "each input got its own value: d(a b)/da is b, the OTHER factor":
                lambda a, b, g: (g * a, g * b),
            "forgot to multiply by the upstream gradient out_grad": lambda a, b, g: (b, a),
            "treated it like addition: both inputs got out_grad unchanged":
                lambda a, b, g: (g, g),
            "wrong sign": lambda a, b, g: (-g * b, -g * a),
            "both inputs got out_grad * b: a's gradient has b in it, b's gradient has a":
                lambda a, b, g: (g * b, g * b),
        },
    ),
    Exercise(
        id="02.3",
        title="the local backward rule of a power with a constant exponent",
        points=1,
        reference=_pow_backward,
        cases=_pow_cases,
        hidden_cases=_pow_hidden_cases,
        mistakes={
            "did not lower the exponent: d/da a^k = k a^(k-1), not k a^k":
                lambda a, k, g: g * k * a**k,
            "forgot the factor k in front": lambda a, k, g: g * a ** (k - 1),
            "forgot to multiply by the upstream gradient out_grad":
                lambda a, k, g: k * a ** (k - 1),
            "used the rule for the exponent (a^k ln a is d/dk, and k is a constant)":
                lambda a, k, g: g * a**k * math.log(a),
        },
    ),
    Exercise(
        id="02.4",
        title="the local backward rule of tanh",
        points=1,
        reference=_tanh_backward,
        cases=_out_cases("tanh"),
        hidden_cases=_out_hidden_cases("tanh", 204),
        mistakes={
            "used 1 - out instead of 1 - out**2": lambda out, g: (1.0 - out) * g,
            "forgot to multiply by the upstream gradient out_grad": lambda out, g: 1.0 - out * out,
            "wrong sign: d tanh/dx = 1 - tanh**2, not tanh**2 - 1":
                lambda out, g: (out * out - 1.0) * g,
            "used the sigmoid's derivative out (1 - out)": lambda out, g: out * (1.0 - out) * g,
            "applied tanh to out again: 1 - tanh(out)**2 (out is already tanh(x))":
                lambda out, g: (1.0 - math.tanh(out) ** 2) * g,
        },
    ),
    Exercise(
        id="02.5",
        title="the local backward rule of exp",
        points=1,
        reference=_exp_backward,
        cases=_out_cases("exp"),
        hidden_cases=_out_hidden_cases("exp", 205),
        mistakes={
            "forgot to multiply by the upstream gradient out_grad": lambda out, g: out,
            "passed out_grad through unchanged: the local derivative of exp is exp(x) = out, "
            "not 1": lambda out, g: g,
            "applied exp to out again: out is already exp(x)": lambda out, g: math.exp(out) * g,
            "used the input x = log(out) instead of the output": lambda out, g: math.log(out) * g,
        },
    ),
    Exercise(
        id="02.6",
        title="topological order of a graph",
        points=2,
        reference=_topological_order,
        cases=_graph_cases,
        hidden_cases=_graph_hidden_cases,
        compare=_same_order_or_both_valid,
        mistakes={
            "a node used twice is listed twice: keep a set of visited nodes": _no_visited_set,
            "each node is listed before its parents (pre-order): append after visiting parents":
                _pre_order,
            "the order is reversed: the root must come last (reverse it only for backward)":
                lambda root: _topological_order(root)[::-1],
            "only the root's direct parents: visit parents of parents too": _root_parents_only,
            "left the root out: every reachable node is listed, the root last":
                lambda root: _topological_order(root)[:-1],
        },
    ),
    Exercise(
        id="02.7",
        title="backward: reverse mode over the whole graph",
        points=3,
        reference=_backward,
        cases=_backward_cases,
        hidden_cases=_backward_hidden_cases,
        compare=_same_gradients,
        mistakes={
            "visited the nodes inputs first: a node passed its gradient on before it had received "
            "all of it (go through the topological order reversed)": _forward_order,
            "overwrote instead of adding: a node used twice keeps only its last use (use +=)":
                _overwrites,
            "forgot to seed the root: d root / d root = 1 starts the backward pass": _no_seed,
            "did not add the gradients into each node's .grad": _grad_not_stored,
            "overwrote .grad (node.grad = ...): add into it, it keeps what earlier backward "
            "passes left": _grad_overwritten,
            "handed node.grad to local_backward: the gradient collected so far is grads[node] "
            "(.grad is only filled in at the end)": _handed_dot_grad,
        },
    ),
    Exercise(
        id="02.8",
        title="forward mode: the product of two dual numbers",
        points=1,
        reference=_dual_mul,
        cases=_dual_mul_cases,
        hidden_cases=_dual_mul_hidden_cases,
        mistakes={
            "multiplied the dots: the product rule is a_dot b + a b_dot":
                lambda a, ad, b, bd: (a * b, ad * bd),
            "added the dots (that is the rule of addition)": lambda a, ad, b, bd: (a * b, ad + bd),
            "kept one term of the product rule: a_dot b + a b_dot has two":
                lambda a, ad, b, bd: (a * b, ad * b),
            "paired each dot with its own value: a_dot a + b b_dot (each dot goes with the OTHER "
            "factor)": lambda a, ad, b, bd: (a * b, ad * a + b * bd),
        },
    ),
    Exercise(
        id="02.9",
        title="forward mode: tanh of a dual number",
        points=1,
        reference=_dual_tanh,
        cases=_dual_tanh_cases,
        hidden_cases=_dual_tanh_hidden_cases,
        mistakes={
            "forgot to multiply by the incoming dot (the chain rule)":
                lambda a, ad: (math.tanh(a), 1.0 - math.tanh(a) ** 2),
            "used the input a instead of tanh(a): 1 - a**2":
                lambda a, ad: (math.tanh(a), (1.0 - a * a) * ad),
            "returned a as the value: the value of tanh(a, a_dot) is tanh(a)":
                lambda a, ad: (a, (1.0 - math.tanh(a) ** 2) * ad),
            "used tanh's own value as the derivative": lambda a, ad: (math.tanh(a),
                                                                       math.tanh(a) * ad),
        },
    ),
]
