"""Lesson 02 (computational graphs and autodiff): local backward rules and topological order."""

from __future__ import annotations

import math

import numpy as np

from course.checks.core import Exercise


def _mul_backward(a: float, b: float, out_grad: float) -> tuple[float, float]:
    """Gradients reaching a and b from out = a * b, given dL/dout; floats -> (float, float)."""
    return out_grad * b, out_grad * a


def _mul_cases():
    return [(2.0, 3.0, 1.0), (-1.5, 4.0, 0.5), (0.25, -2.0, -3.0), (1.2, 0.7, 2.5)]


def _mul_hidden_cases():
    rng = np.random.default_rng(201)
    return [tuple(float(v) for v in rng.normal(size=3)) for _ in range(10)]


def _tanh_backward(out: float, out_grad: float) -> float:
    """Gradient reaching x from out = tanh(x), given out and dL/dout; floats -> float."""
    return (1.0 - out * out) * out_grad


def _tanh_cases():
    return [(0.5, 1.0), (-0.8, 2.0), (0.96, -0.5), (math.tanh(0.3), 3.0)]


def _tanh_hidden_cases():
    rng = np.random.default_rng(202)
    return [(float(math.tanh(x)), float(g)) for x, g in rng.normal(size=(10, 2))]


def _topological_order(parents: dict, root) -> list:
    """Every node reachable from root, each after all of its parents (depth-first post-order).

    parents: node -> list of its parent nodes (leaves may be missing or map to []); root: a node.
    Parents are visited in their listed order and each node appears once.
    """
    order, seen, stack = [], {root}, [(root, iter(parents.get(root, [])))]
    while stack:
        node, todo = stack[-1]
        nxt = next((p for p in todo if p not in seen), None)
        if nxt is None:
            order.append(node)
            stack.pop()
        else:
            seen.add(nxt)
            stack.append((nxt, iter(parents.get(nxt, []))))
    return order


def _topo_cases():
    chain = {"c": ["b"], "b": ["a"]}
    diamond = {"d": ["b", "c"], "b": ["a"], "c": ["a"]}
    expression = {"L": ["e", "f"], "e": ["c", "d"], "f": ["d"], "c": ["a", "b"], "d": ["b"]}
    square = {"y": ["x", "x"]}
    return [(chain, "c"), (diamond, "d"), (square, "y"), (expression, "L")]


def _no_visited_set(parents, root):
    order = []

    def visit(node):
        for p in parents.get(node, []):
            visit(p)
        order.append(node)

    visit(root)
    return order


def _pre_order(parents, root):
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        order.append(node)
        for p in parents.get(node, []):
            visit(p)

    visit(root)
    return order


def _root_parents_only(parents, root):
    return list(dict.fromkeys(parents.get(root, []))) + [root]


EXERCISES = [
    Exercise(
        id="02.1",
        title="the local backward rule of multiplication",
        points=2,
        reference=_mul_backward,
        cases=_mul_cases,
        hidden_cases=_mul_hidden_cases,
        mistakes={
            "each input got its own value: d(a b)/da is b, the OTHER factor":
                lambda a, b, g: (g * a, g * b),
            "forgot to multiply by the upstream gradient out_grad": lambda a, b, g: (b, a),
            "treated it like addition: both inputs got out_grad unchanged":
                lambda a, b, g: (g, g),
            "wrong sign": lambda a, b, g: (-g * b, -g * a),
        },
    ),
    Exercise(
        id="02.2",
        title="the local backward rule of tanh",
        points=2,
        reference=_tanh_backward,
        cases=_tanh_cases,
        hidden_cases=_tanh_hidden_cases,
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
        id="02.3",
        title="topological order of a graph",
        points=3,
        reference=_topological_order,
        cases=_topo_cases,
        mistakes={
            "a node used twice is listed twice: keep a set of visited nodes": _no_visited_set,
            "each node is listed before its parents (pre-order): append after visiting parents":
                _pre_order,
            "the order is reversed: the root must come last (reverse it only for backward)":
                lambda parents, root: _topological_order(parents, root)[::-1],
            "only the root's direct parents: visit parents of parents too": _root_parents_only,
        },
    ),
]
