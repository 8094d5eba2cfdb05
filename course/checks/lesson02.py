"""Lesson 02 (computational graphs and autodiff): the learner writes the engine the library is.

Every exercise's reference is the library's own object: ``course.autodiff.Value`` (its
operations with their backward closures, then ``topological_order``, ``backward`` and
``zero_grad``), ``course.autodiff.MLP`` (with ``Neuron`` and ``Layer``), ``course.autodiff.fit``
(the training loop) and ``course.autodiff.Dual`` (forward mode). A ``run`` driver builds small
graphs with the class it is given and returns plain numbers to compare; each planted mistake is
the library's class (or function) with one classic slip.

The drivers of 02.4 build their graphs with the class's own ``__init__`` and closures written
here, so ``backward`` is checked on its own, whatever the learner's operations do.
"""

from __future__ import annotations

import math
import random

import numpy as np

from course.autodiff import MLP, Dual, Value, fit, mean_squared_error
from course.checks.core import Exercise, Mistake

# ---------------------------------------------------------------- drivers


def _fresh(cls, data: float, grad: float):
    node = cls(data)
    if node is not None:
        node.grad = grad
    return node


def _closure_run(out, upstream: float) -> None:
    """One node's closure, as backward would call it: out.grad holds the upstream gradient."""
    out.grad = upstream
    out._backward()


def _run_add_mul(Value, a, b, upstream, a_grad, b_grad):
    """x = Value(a), y = Value(b) already holding a_grad, b_grad; for x + y, x * y, x * x,
    x + 2 and 3 * y: the output's data and the inputs' grads after the output's closure ran
    with ``upstream`` in its grad. -> dict of 12 floats, named by expression."""
    results = {}
    for name, make in (("x + y", lambda x, y: x + y), ("x * y", lambda x, y: x * y),
                       ("x * x", lambda x, y: x * x), ("x + 2", lambda x, y: x + 2.0),
                       ("3 * y", lambda x, y: 3.0 * y)):
        x, y = _fresh(Value, a, a_grad), _fresh(Value, b, b_grad)
        if x is None:
            return None
        out = make(x, y)
        _closure_run(out, upstream)
        results[f"{name}: data"] = out.data
        for node, label in ((x, "x"), (y, "y")):
            if label in name:
                results[f"{name}: {label}.grad"] = node.grad
    return results


def _run_pow(Value, a, k, upstream, a_grad):
    """x = Value(a) holding a_grad; x ** k: its data and x.grad after its closure ran."""
    x = _fresh(Value, a, a_grad)
    if x is None:
        return None
    out = x**k
    _closure_run(out, upstream)
    return {"x ** k: data": out.data, "x.grad": x.grad}


def _run_unary(Value, x, upstream, x_grad):
    """For tanh, exp and relu of a fresh Value(x) holding x_grad: the output's data and x.grad
    after the output's closure ran -> dict of six floats."""
    results = {}
    for name in ("tanh", "exp", "relu"):
        node = _fresh(Value, x, x_grad)
        if node is None:
            return None
        out = getattr(node, name)()
        _closure_run(out, upstream)
        results[f"{name}: data"] = out.data
        results[f"{name}: x.grad"] = node.grad
    return results


def _node(cls, data, parents, op, local):
    """A node of ``cls`` made with its ``__init__`` only, with a closure written here that
    adds local[i] * out.grad into parents[i].grad; labelled by its operation and parents."""
    names = [p.label or f"{p.data:g}" for p in parents]
    label = f"{op}({', '.join(names)})" if len(parents) == 1 else op.join(names)
    out = cls(data, tuple(parents), op, label)

    def _backward():
        for parent, d in zip(parents, local):
            parent.grad += d * out.grad

    out._backward = _backward
    return out


def _mul(cls, a, b):
    return _node(cls, a.data * b.data, (a, b), "*", (b.data, a.data))


def _add(cls, a, b):
    return _node(cls, a.data + b.data, (a, b), "+", (1.0, 1.0))


def _tanh(cls, a):
    t = math.tanh(a.data)
    return _node(cls, t, (a,), "tanh", (1 - t * t,))


def _exp(cls, a):
    e = math.exp(a.data)
    return _node(cls, e, (a,), "exp", (e,))


def _square(cls, a):
    return _node(cls, a.data**2, (a,), "**2", (2 * a.data,))


def _graph_chain(cls):
    """c = exp(tanh(a))."""
    a = cls(0.5, label="a")
    b = _tanh(cls, a)
    return [a, b, _exp(cls, b)]


def _graph_square(cls):
    """y = x * x: one node used as both factors."""
    x = cls(3.0, label="x")
    return [x, _mul(cls, x, x)]


def _graph_two_depths(cls):
    """L = exp(tanh(u)) * u with u = x y: u is used at depth 1 and at depth 3."""
    x, y = cls(0.7, label="x"), cls(-1.2, label="y")
    u = _mul(cls, x, y)
    u.label = "u"
    t = _tanh(cls, u)
    s = _exp(cls, t)
    return [x, y, u, t, s, _mul(cls, s, u)]


def _graph_neuron(cls):
    """L = (tanh(x1 w1 + x2 w2 + b) - 0.5)^2."""
    x1, w1, x2, w2, b = (cls(v, label=n) for v, n in
                         ((1.5, "x1"), (0.8, "w1"), (-0.5, "x2"), (-1.2, "w2"), (0.1, "b")))
    p1, p2 = _mul(cls, x1, w1), _mul(cls, x2, w2)
    s = _add(cls, p1, p2)
    z = _add(cls, s, b)
    a = _tanh(cls, z)
    err = _add(cls, a, cls(-0.5))
    return [x1, w1, x2, w2, b, p1, p2, s, z, a, err, _square(cls, err)]


def _graph_wide(cls):
    """L = exp(x y) * (x + y)^2 + x y: leaves and x y used many times, at several depths."""
    x, y = cls(0.3, label="x"), cls(-0.7, label="y")
    xy = _mul(cls, x, y)
    e = _exp(cls, xy)
    s2 = _square(cls, _add(cls, x, y))
    m = _mul(cls, e, s2)
    return [x, y, xy, e, s2, m, _add(cls, m, xy)]


def _graph_deep_diamonds(cls):
    """Three diamonds in a row: h -> (h * 3, tanh h) -> their product, and again."""
    h = cls(0.4, label="h0")
    nodes = [h]
    for k in range(1, 4):
        u, v = _mul(cls, h, cls(3.0)), _tanh(cls, h)
        h = _tanh(cls, _mul(cls, u, v))
        h.label = f"h{k}"
        nodes += [u, v, h]
    return nodes


GRAPHS = {"chain": _graph_chain, "square": _graph_square, "two-depths": _graph_two_depths,
          "neuron": _graph_neuron, "wide": _graph_wide, "deep-diamonds": _graph_deep_diamonds}


def _run_backward(Value, graph, calls):
    """Build the graph ``graph`` (a name in GRAPHS) from Values, call the root's methods named
    in ``calls`` in turn (e.g. "backward, zero_grad, backward"); returns every node's grad,
    named by the node's label."""
    if Value(0.0) is None:
        return None
    nodes = GRAPHS[graph](Value)
    root = nodes[-1]
    for name in calls.split(", "):
        getattr(root, name)()
    return {f"{node.label}.grad": node.grad for node in nodes}


def _run_mlp(MLP, nin, nouts, act, x, seed):
    """MLP(nin, nouts, act) with its parameters set, in the order of ``parameters()``, to uniform
    numbers from ``seed``; runs it on the list x and backward from sum_k (k + 1) out_k.
    -> dict: the number of parameters, the outputs' data, every parameter's grad."""
    state = random.getstate()
    try:
        random.seed(seed)
        model = MLP(nin, list(nouts), act)
    finally:
        random.setstate(state)
    if model is None:
        return None
    params = model.parameters()
    for p, v in zip(params, np.random.default_rng(seed).uniform(-1, 1, len(params))):
        p.data = float(v)
    out = model(list(x))
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    total = outs[0] * 1.0
    for k, o in enumerate(outs[1:], start=2):
        total = total + o * float(k)
    total.backward()
    return {"number of parameters": len(params), "outputs": [o.data for o in outs],
            "grads of parameters()": [p.grad for p in params]}


def _model_class(fit_):
    """The ``MLP`` of the module ``fit_`` was written in (the notebook's own, so the loop meets
    networks made of the same ``Value`` class it builds its loss with), else the course's."""
    cls = getattr(fit_, "__globals__", {}).get("MLP")
    return cls if isinstance(cls, type) else MLP


def _run_fit(fit, xs, ys, steps, lr):
    """fit(model, xs, ys, steps, lr) on a fresh MLP(2, [3, 1]) (Python's random seeded with 0,
    the MLP class taken from where ``fit`` was written). -> dict: the returned losses and the
    parameters after training."""
    state = random.getstate()
    try:
        random.seed(0)
        model = _model_class(fit)(2, [3, 1])
    finally:
        random.setstate(state)
    losses = fit(model, xs, ys, steps, lr)
    if losses is None:
        return None
    return {"losses returned": [float(v) for v in losses],
            "parameters after training": [p.data for p in model.parameters()]}


def _run_dual(Dual, a, a_dot, b, b_dot):
    """x = Dual(a, a_dot), y = Dual(b, b_dot): val and dot of x * y and of tanh(x) (a dict)."""
    x, y = Dual(a, a_dot), Dual(b, b_dot)
    if x is None:
        return None
    prod, t = x * y, Dual(a, a_dot).tanh()
    return {"x * y: val": prod.val, "x * y: dot": prod.dot, "tanh(x): val": t.val,
            "tanh(x): dot": t.dot}


# ---------------------------------------------------------------- cases


def _add_mul_cases(seed):
    if seed == 0:
        return [(2.0, -3.0, 1.0, 0.0, 0.0), (0.5, 4.0, -2.0, 0.5, -0.25),
                (-1.5, 0.25, 3.0, 1.0, 2.0)]
    rng = np.random.default_rng(200 + seed)
    return [tuple(float(v) for v in rng.normal(size=5)) for _ in range(6)]


def _pow_cases(seed):
    if seed == 0:
        return [(2.0, 3.0, 1.0, 0.0), (1.5, 2.0, 0.5, 0.25), (0.5, -1.0, 2.0, 0.0),
                (4.0, 0.5, -1.0, 1.0)]
    rng = np.random.default_rng(210 + seed)
    return [(float(rng.uniform(0.2, 3.0)), k, float(rng.normal()), float(rng.normal()))
            for k in (2.0, 3.0, -1.0, -2.0, 0.5, 1.5)]


def _unary_cases(seed):
    if seed == 0:
        return [(0.5, 1.0, 0.0), (-0.8, 2.0, 0.5), (1.3, -0.5, -1.0)]
    rng = np.random.default_rng(220 + seed)
    return [tuple(float(v) for v in rng.normal(size=3)) for _ in range(6)]


def _backward_cases(seed):
    if seed == 0:
        return [("chain", "backward"), ("square", "backward"), ("two-depths", "backward"),
                ("neuron", "backward"), ("two-depths", "backward, backward"),
                ("neuron", "backward, zero_grad, backward")]
    if seed == 1:
        return [("wide", "backward"), ("deep-diamonds", "backward")]
    return [("wide", "backward, backward"),
            ("deep-diamonds", "backward, zero_grad, backward, backward")]


def _mlp_cases(seed):
    if seed == 0:
        return [(2, (3, 1), "tanh", (0.5, -1.0), 0), (3, (4, 2), "relu", (1.0, 0.2, -0.7), 1)]
    return [(2, (4, 4, 1), "tanh", (0.3, 0.9), 10 + seed),
            (4, (2, 3), "relu", (0.1, -0.2, 0.3, 0.4), 20 + seed)]


def _fit_cases(seed):
    if seed == 0:
        return [([[0.5, -1.0], [1.0, 0.2], [-0.3, 0.8]], [1.0, -1.0, 0.5], 3, 0.1)]
    rng = np.random.default_rng(230 + seed)
    xs = rng.uniform(-1, 1, size=(5, 2))
    return [(xs.tolist(), np.sign(xs[:, 0]).tolist(), 4, 0.2)]


def _dual_cases(seed):
    if seed == 0:
        return [(2.0, 1.0, 3.0, 0.0), (2.0, 0.0, 3.0, 1.0), (-1.5, 0.5, 4.0, 2.0),
                (0.25, -1.0, -2.0, 3.0)]
    rng = np.random.default_rng(240 + seed)
    return [tuple(float(v) for v in rng.normal(size=4)) for _ in range(6)]


# ---------------------------------------------------------------- planted mistakes: operations


def _node_of(out_data, parents, op, backward):
    out = Value(out_data, parents, op)
    out._backward = lambda: backward(out)
    return out


class _AddMulAssign(Value):
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad = out.grad
            other.grad = out.grad
        return _node_of(self.data + other.data, (self, other), "+", back)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        return _node_of(self.data * other.data, (self, other), "*", back)

    __radd__, __rmul__ = __add__, __mul__


class _MulOwnFactor(Value):
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad += self.data * out.grad
            other.grad += other.data * out.grad
        return _node_of(self.data * other.data, (self, other), "*", back)

    __rmul__ = __mul__


class _AddMulNoUpstream(Value):
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad += 1.0
            other.grad += 1.0
        return _node_of(self.data + other.data, (self, other), "+", back)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad += other.data
            other.grad += self.data
        return _node_of(self.data * other.data, (self, other), "*", back)

    __radd__, __rmul__ = __add__, __mul__


class _AddHalves(Value):
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad += out.grad / 2
            other.grad += out.grad / 2
        return _node_of(self.data + other.data, (self, other), "+", back)

    __radd__ = __add__


class _AddLikeMul(Value):
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def back(out):
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        return _node_of(self.data + other.data, (self, other), "+", back)

    __radd__ = __add__


def _pow_class(slope):
    """The library's Value whose ** adds slope(x, k, upstream, old grad) into x.grad
    (``slope`` returns the new grad)."""

    class _Pow(Value):
        def __pow__(self, k):
            def back(out):
                self.grad = slope(self.data, k, out.grad, self.grad)
            return _node_of(self.data**k, (self,), f"**{k:g}", back)

    return _Pow


_PowNotLowered = _pow_class(lambda x, k, g, old: old + k * x**k * g)
_PowNoFactorK = _pow_class(lambda x, k, g, old: old + x ** (k - 1) * g)
_PowNoUpstream = _pow_class(lambda x, k, g, old: old + k * x ** (k - 1))
_PowAssigns = _pow_class(lambda x, k, g, old: k * x ** (k - 1) * g)
_PowExponentRule = _pow_class(lambda x, k, g, old: old + x**k * math.log(x) * g)


def _unary_class(tanh_rule=None, exp_rule=None, relu_rule=None, assign=False):
    """The library's Value with chosen local rules: rule(x, out, upstream) -> the gradient
    added into x.grad (assigned instead when ``assign``)."""
    rules = {"tanh": tanh_rule or (lambda x, t, g: (1 - t * t) * g),
             "exp": exp_rule or (lambda x, e, g: e * g),
             "relu": relu_rule or (lambda x, r, g: (1.0 if x > 0 else 0.0) * g)}
    forward = {"tanh": math.tanh, "exp": math.exp, "relu": lambda x: max(x, 0.0)}

    def make(name):
        def method(self):
            def back(out):
                d = rules[name](self.data, out.data, out.grad)
                self.grad = d if assign else self.grad + d
            return _node_of(forward[name](self.data), (self,), name, back)
        return method

    return type("_Unary", (Value,), {name: make(name) for name in rules})


# ---------------------------------------------------------------- planted mistakes: backward


def _bfs_order(root):
    order, seen, queue = [], {root}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for p in node.parents:
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return order[::-1]


def _no_visited_order(root):
    order = []

    def visit(node):
        for p in node.parents:
            visit(p)
        order.append(node)

    visit(root)
    return order


def _backward_class(order=None, reverse=True, seed=True, reset=True, zero_all=True):
    """The library's Value with one part of backward / zero_grad changed."""

    class _Backward(Value):
        def topological_order(self):
            return order(self) if order else Value.topological_order(self)

        def backward(self, grad=1.0):
            nodes = self.topological_order()
            if reset:
                for node in nodes:
                    if node.parents:
                        node.grad = 0.0
            if seed:
                self.grad += grad
            for node in (reversed(nodes) if reverse else nodes):
                node._backward()

        def zero_grad(self):
            for node in (self.topological_order() if zero_all else [self]):
                node.grad = 0.0

    return _Backward


# ---------------------------------------------------------------- planted mistakes: MLP, fit


class _MLPActOnOutput(MLP):
    def __init__(self, nin, nouts, act="tanh"):
        super().__init__(nin, nouts, act)
        for neuron in self.layers[-1].neurons:
            neuron.act = act


class _MLPNoHiddenAct(MLP):
    def __init__(self, nin, nouts, act="tanh"):
        super().__init__(nin, nouts, "linear")


class _MLPBiasUnused(MLP):
    def __call__(self, x):
        for layer in self.layers:
            x = [_without_bias(neuron, x) for neuron in layer.neurons]
        return x[0] if len(x) == 1 else x


def _without_bias(neuron, x):
    z = neuron.w[0] * x[0]
    for w_i, x_i in zip(neuron.w[1:], x[1:]):
        z = z + w_i * x_i
    return z if neuron.act == "linear" else getattr(z, neuron.act)()


class _MLPParamsWithoutBias(MLP):
    def parameters(self):
        return [w for layer in self.layers for n in layer.neurons for w in n.w]


def _fit_variant(zero="before", sign=-1.0, mean=True):
    """fit with one slip: zero = "before" (right), "never" or "after-backward"; sign of the
    update; mean or sum of the squared errors."""

    def fit_(model, xs, ys, steps, lr):
        losses = []
        for _ in range(steps):
            if zero == "before":
                for p in model.parameters():
                    p.grad = 0.0
            loss = mean_squared_error(model, xs, ys)
            if not mean:
                loss = loss * float(len(xs))
            loss.backward()
            if zero == "after-backward":
                for p in model.parameters():
                    p.grad = 0.0
            for p in model.parameters():
                p.data += sign * lr * p.grad
            losses.append(loss.data)
        return losses

    return fit_


# ---------------------------------------------------------------- planted mistakes: Dual


def _dual_class(mul_dot=None, tanh_dot=None):
    """The library's Dual with its product's dot, or tanh's dot, computed by another rule."""

    class _Dual(Dual):
        def __mul__(self, other):
            o = other if isinstance(other, Dual) else Dual(other)
            dot = (mul_dot or (lambda a, ad, b, bd: ad * b + a * bd))(
                self.val, self.dot, o.val, o.dot)
            return Dual(self.val * o.val, dot)

        def tanh(self):
            t = math.tanh(self.val)
            rule = tanh_dot or (lambda a, t_, ad: (1 - t_ * t_) * ad)
            return Dual(t, rule(self.val, t, self.dot))

    return _Dual


# ---------------------------------------------------------------- exercises

_ENGINE = "§'The engine'"

EXERCISES = [
    Exercise(
        id="02.1",
        title="Value: addition and multiplication, with their backward closures",
        points=2,
        reference=Value,
        run=_run_add_mul,
        cases=_add_mul_cases,
        section=f"{_ENGINE}, 'Addition and multiplication'",
        mistakes=[
            Mistake("assigns", "your closures replace the inputs' gradients: an input that "
                    "already held a gradient (or is used twice, as in x * x) lost it",
                    _AddMulAssign, hint="a closure must ADD into each parent's grad: a node "
                    "can receive gradient from several uses"),
            Mistake("mul-own-factor", "in multiplication each input received a gradient "
                    "built from its own value", _MulOwnFactor,
                    hint="d(x y)/dx is the OTHER factor: hold y fixed and differentiate"),
            Mistake("no-upstream", "your closures ignore the gradient arriving at the output: "
                    "they pass on the local derivative alone", _AddMulNoUpstream,
                    hint="the chain rule multiplies the local derivative by out.grad, the "
                    "upstream gradient"),
            Mistake("add-halves", "addition split the upstream gradient in half between its "
                    "inputs", _AddHalves, hint="d(x + y)/dx is 1: addition hands the whole "
                    "upstream gradient to each input"),
            Mistake("add-like-mul", "addition sent back gradients scaled by the other "
                    "input's value, as multiplication does", _AddLikeMul,
                    hint="the local derivative of a sum does not depend on the values"),
        ],
    ),
    Exercise(
        id="02.2",
        title="Value: a power with a constant exponent",
        points=1,
        reference=Value,
        run=_run_pow,
        cases=_pow_cases,
        section=f"{_ENGINE}, 'Powers'",
        mistakes=[
            Mistake("power-not-lowered", "your power's gradient keeps the full power of x",
                    _PowNotLowered, hint="the power rule lowers the exponent by one"),
            Mistake("no-factor-k", "your power's gradient is missing the exponent as a "
                    "factor", _PowNoFactorK, hint="the exponent comes down in front"),
            Mistake("no-upstream", "your power's closure ignores the gradient arriving at the "
                    "output", _PowNoUpstream, hint="multiply by out.grad (the chain rule)"),
            Mistake("assigns", "your power's closure replaces x's gradient instead of adding "
                    "to it", _PowAssigns, hint="use += on self.grad: x may be used elsewhere "
                    "too"),
            Mistake("exponent-rule", "your power's gradient is the derivative with respect to "
                    "the exponent", _PowExponentRule, hint="k is a constant: differentiate "
                    "with respect to the base x"),
        ],
    ),
    Exercise(
        id="02.3",
        title="Value: tanh, exp and relu",
        points=2,
        reference=Value,
        run=_run_unary,
        cases=_unary_cases,
        section=f"{_ENGINE}, 'tanh, exp and relu'",
        mistakes=[
            Mistake("tanh-one-minus-out", "tanh's local derivative is wrong: it is not squared "
                    "where it should be", _unary_class(tanh_rule=lambda x, t, g: (1 - t) * g),
                    hint="rewrite 1/cosh^2 with tanh alone: the square stays"),
            Mistake("tanh-at-input", "tanh's local derivative is taken at the input x, not "
                    "written with the output", _unary_class(
                        tanh_rule=lambda x, t, g: (1 - x * x) * g),
                    hint="the derivative is a function of tanh(x), the node's data"),
            Mistake("exp-of-output", "exp's local derivative applies exp a second time",
                    _unary_class(exp_rule=lambda x, e, g: math.exp(e) * g),
                    hint="out.data is already exp(x)"),
            Mistake("relu-passes-all", "relu passes the gradient on for negative inputs too",
                    _unary_class(relu_rule=lambda x, r, g: g),
                    hint="where the input is negative, relu is flat: its slope is 0"),
            Mistake("relu-gate-upstream", "relu decides whether to pass the gradient by the "
                    "sign of the upstream gradient", _unary_class(
                        relu_rule=lambda x, r, g: g if g > 0 else 0.0),
                    hint="the gate is the sign of the forward input, not of the gradient"),
            Mistake("no-upstream", "your closures ignore the gradient arriving at the output",
                    _unary_class(tanh_rule=lambda x, t, g: 1 - t * t,
                                 exp_rule=lambda x, e, g: e,
                                 relu_rule=lambda x, r, g: 1.0 if x > 0 else 0.0),
                    hint="multiply each local derivative by out.grad"),
            Mistake("assigns", "your closures replace the input's gradient instead of adding "
                    "to it", _unary_class(assign=True), hint="use += on self.grad"),
        ],
    ),
    Exercise(
        id="02.4",
        title="Value: topological_order, backward and zero_grad",
        points=3,
        reference=Value,
        run=_run_backward,
        cases=_backward_cases,
        section=f"{_ENGINE}, 'The order of the backward pass'",
        mistakes=[
            Mistake("bfs-order", "on the graph where u is used at two depths (two-depths), u "
                    "passed its gradient on before it had received all of it: your order is "
                    "breadth-first", _backward_class(order=_bfs_order),
                    hint="a node must come after ALL of its parents: place a node only after "
                    "placing every parent (depth-first, appending after the parents)"),
            Mistake("not-reversed", "your backward calls the closures from the leaves to the "
                    "root", _backward_class(reverse=False),
                    hint="the closures run in REVERSE topological order, the root first"),
            Mistake("no-seed", "every gradient is 0: nothing started the backward pass",
                    _backward_class(seed=False),
                    hint="d root / d root is 1: put it into the root's grad first"),
            Mistake("no-visited", "a node reached along two paths is visited twice, so its "
                    "closure runs twice", _backward_class(order=_no_visited_order),
                    hint="keep a set of the nodes already placed"),
            Mistake("intermediates-kept", "on a second backward the intermediate nodes still "
                    "hold the first pass's gradient, so the leaves get more than twice",
                    _backward_class(reset=False),
                    hint="start backward by setting the grad of every node that has parents "
                    "to 0; leaves keep theirs"),
            Mistake("zero-grad-root-only", "after zero_grad the leaves still hold their "
                    "gradient", _backward_class(zero_all=False),
                    hint="zero_grad walks the whole graph, not only the node it is called on"),
        ],
    ),
    Exercise(
        id="02.5",
        title="Neuron, Layer and MLP on Values",
        points=2,
        reference=MLP,
        run=_run_mlp,
        cases=_mlp_cases,
        section="§'A network made of Values'",
        mistakes=[
            Mistake("act-on-output", "your last layer applies the activation: the output "
                    "layer is linear", _MLPActOnOutput,
                    hint="the hidden layers get act, the last one 'linear'"),
            Mistake("no-hidden-act", "your hidden layers are linear", _MLPNoHiddenAct,
                    hint="pass act to every layer but the last"),
            Mistake("bias-unused", "the biases receive no gradient: they are not used in the "
                    "forward pass", _MLPBiasUnused, hint="start the sum z at the bias"),
            Mistake("params-without-bias", "parameters() leaves the biases out",
                    _MLPParamsWithoutBias,
                    hint="each neuron's parameters are its weights, then its bias"),
        ],
    ),
    Exercise(
        id="02.6",
        title="the training loop",
        points=2,
        reference=fit,
        run=_run_fit,
        cases=_fit_cases,
        section="§'Training the network'",
        mistakes=[
            Mistake("no-zero-grad", "from the second step on, your steps use the sum of all "
                    "earlier gradients", _fit_variant(zero="never"),
                    hint="backward adds into the parameters' grads: zero them every step"),
            Mistake("ascent", "your loss goes up: the parameters move along the gradient",
                    _fit_variant(sign=1.0), hint="step against the gradient"),
            Mistake("zero-after-backward", "the parameters never move: their gradients are "
                    "erased before the update", _fit_variant(zero="after-backward"),
                    hint="zero the grads before backward, not between backward and the "
                    "update"),
            Mistake("sum-not-mean", "your loss is too large by the number of points",
                    _fit_variant(mean=False), hint="the loss is the MEAN squared error"),
        ],
    ),
    Exercise(
        id="02.7",
        title="forward mode: the product and tanh of dual numbers",
        points=2,
        reference=Dual,
        run=_run_dual,
        cases=_dual_cases,
        section="§'Forward mode: dual numbers'",
        mistakes=[
            Mistake("dots-multiplied", "your product's dot multiplies the two dots",
                    _dual_class(mul_dot=lambda a, ad, b, bd: ad * bd),
                    hint="the product rule has two terms, each one dot times the other value"),
            Mistake("one-term", "your product's dot keeps one term of the product rule only",
                    _dual_class(mul_dot=lambda a, ad, b, bd: ad * b),
                    hint="both factors can change: each contributes a term"),
            Mistake("own-value", "in your product's dot each dot is paired with its own "
                    "value", _dual_class(mul_dot=lambda a, ad, b, bd: ad * a + b * bd),
                    hint="each dot goes with the OTHER factor's value"),
            Mistake("tanh-no-dot", "your tanh's dot ignores the incoming dot",
                    _dual_class(tanh_dot=lambda a, t, ad: 1 - t * t),
                    hint="the chain rule: local derivative times the incoming dot"),
            Mistake("tanh-at-input", "your tanh's local derivative is written with the input, "
                    "not with tanh of it", _dual_class(tanh_dot=lambda a, t, ad: (1 - a * a) * ad),
                    hint="the local derivative is a function of tanh(a)"),
        ],
    ),
]
