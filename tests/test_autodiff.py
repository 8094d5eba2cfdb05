import gc
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mathcases import CASES, LOSS_CASES

from course.autodiff import Dual, Value
from course.gradcheck import PASS, relative_error


def _points(case):
    lo, hi = case.domain
    return st.floats(lo, hi, allow_nan=False).filter(
        lambda x: case.name not in ("relu", "leaky_relu") or abs(x) > 1e-3)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_value_and_dual_match_derivative_and_central_difference(case):
    @settings(max_examples=25, deadline=None)
    @given(_points(case))
    def run(x):
        v = Value(x)
        out = case.scalar(v)
        out.backward()
        d = case.scalar(Dual(x, 1.0))
        eps = 1e-6
        fd = (float(case.numpy(x + eps)) - float(case.numpy(x - eps))) / (2 * eps)
        assert math.isclose(out.data, float(case.numpy(x)), rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(d.val, out.data, rel_tol=1e-12, abs_tol=1e-12)
        assert relative_error(v.grad, float(case.derivative(x))) <= PASS
        assert relative_error(d.dot, v.grad) <= PASS
        assert abs(v.grad - fd) <= 1e-6 * max(1.0, abs(fd))

    run()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_value_matches_torch_autograd(case):
    torch = pytest.importorskip("torch")
    xs = np.linspace(*case.domain, 7) + 0.013
    for x in xs:
        v = Value(float(x))
        case.scalar(v).backward()
        t = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
        case.torch(t).backward()
        assert relative_error(v.grad, t.grad.item()) <= PASS


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.name)
def test_scalar_losses_give_the_course_losses_value_and_delta(case):
    from course import losses

    pred, target = case.make(np.random.default_rng(4))
    values = [[Value(float(z)) for z in row] if pred.ndim == 2 else Value(float(row))
              for row in pred]
    loss = case.scalar(values, target.tolist())
    loss.backward()
    course_loss = getattr(losses, case.course)()
    assert math.isclose(loss.data, float(course_loss.forward(pred, target)), rel_tol=1e-12)
    grads = np.array([[v.grad for v in row] if pred.ndim == 2 else row.grad for row in values])
    assert relative_error(grads, course_loss.backward()) <= PASS
    assert math.isclose(loss.data, case.numpy(pred, target), rel_tol=1e-12)


def _expr(a, b, c):
    return (
        (a * b + c.tanh()) ** 2 / (1 + b.sigmoid()) - a.exp() * c + (a * a).relu()
    ).tanh() * 3 - b


@settings(max_examples=40, deadline=None)
@given(st.tuples(*[st.floats(-2, 2, allow_nan=False)] * 3))
def test_forward_and_reverse_mode_agree_on_an_expression(xs):
    vals = [Value(x) for x in xs]
    _expr(*vals).backward()
    for i in range(3):
        duals = [Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)]
        assert relative_error(_expr(*duals).dot, vals[i].grad) <= PASS


def test_chain_of_ten_thousand_nodes_backpropagates():
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_node_used_twice_sums_its_gradients():
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_diamond_graph_sums_both_paths():
    x = Value(2.0)
    a, b = x * 3, x.exp()
    (a * b).backward()
    assert math.isclose(x.grad, 3 * math.exp(2) + 6 * math.exp(2))


def test_backward_twice_accumulates_and_zero_grad_resets():
    x = Value(2.0)
    y = x**3
    y.backward()
    y.backward()
    assert x.grad == 24.0
    y.zero_grad()
    assert x.grad == 0.0 and y.grad == 0.0


def test_a_graph_is_freed_by_the_cycle_collector_once_unreachable():
    import weakref

    x = Value(1.0)
    y = (x * 2).tanh() + x
    y.backward()
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is None


def test_cycle_collector_paused_restores_its_state():
    from course.autodiff import cycle_collector_paused

    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_forward_never_fails_where_the_value_is_defined():
    zero = Value(0.0)
    assert (zero**0).data == 1.0 and (zero**0.5).data == 0.0
    root = zero**0.5
    root.backward()
    assert zero.grad == math.inf
    flat = Value(0.0)
    (flat**0).backward()
    assert flat.grad == 0.0


def test_division_by_zero_says_so():
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        Value(1.0) / Value(0.0)


def test_backward_resets_intermediates_and_accumulates_into_leaves():
    x = Value(2.0)
    h = x * 3.0
    y = h.tanh() * h
    y.backward()
    once = (x.grad, h.grad)
    y.backward()
    assert x.grad == 2 * once[0] and h.grad == once[1]


def test_each_closure_adds_into_its_parents():
    x, y = Value(2.0), Value(-3.0)
    x.grad, y.grad = 0.5, 0.25
    out = x * y
    out.grad = 2.0
    out._backward()
    assert (x.grad, y.grad) == (0.5 + 2.0 * -3.0, 0.25 + 2.0 * 2.0)


def test_mlp_fit_lowers_the_loss_and_counts_parameters():
    import random

    from course.autodiff import MLP, fit

    random.seed(0)
    model = MLP(2, [3, 1])
    assert len(model.parameters()) == 3 * 3 + 4
    xs, ys = [[0.5, -1.0], [1.0, 0.2], [-0.3, 0.8]], [1.0, -1.0, 0.5]
    losses = fit(model, xs, ys, steps=30, lr=0.1)
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("bad", ["a", None, [1.0], True])
def test_value_of_a_non_number_raises_type_error_naming_data(bad):
    with pytest.raises(TypeError, match="data must be a real number"):
        Value(bad)


def test_operand_of_wrong_type_raises_type_error_naming_other():
    with pytest.raises(TypeError, match="other"):
        Value(1.0) + "x"


def test_log_of_non_positive_raises_value_error():
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()


def test_topological_order_places_a_shared_intermediate_before_every_user():
    x = Value(2.0)
    h = x * 1.0
    r = h + h * 3.0
    order = r.topological_order()
    pos = {id(node): i for i, node in enumerate(order)}
    assert len(order) == len({id(n) for n in order})
    for node in order:
        assert all(pos[id(p)] < pos[id(node)] for p in node.parents)
    r.backward()
    assert x.grad == 4.0


def test_a_scalar_tanh_network_on_values_matches_the_vectorised_backward():
    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(5, 2)), rng.normal(size=5)
    sizes = [2, 3, 3, 1]
    Ws = [rng.normal(size=(i, o)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(size=o) for o in sizes[1:]]
    VW = [[[Value(float(w)) for w in row] for row in W] for W in Ws]
    Vb = [[Value(float(b)) for b in bias] for bias in bs]

    def net(x):
        h = [Value(v) for v in x]
        for k, (W, b) in enumerate(zip(VW, Vb)):
            z = [sum((h[i] * W[i][j] for i in range(len(h))), b[j]) for j in range(len(b))]
            h = z if k == len(VW) - 1 else [v.tanh() for v in z]
        return h[0]

    loss = sum(((net(x) - y) ** 2 for x, y in zip(xs.tolist(), ys.tolist())), Value(0.0)) / 5
    loss.backward()
    hs = [xs]
    for k, (W, b) in enumerate(zip(Ws, bs)):
        z = hs[-1] @ W + b
        hs.append(z if k == len(Ws) - 1 else np.tanh(z))
    assert math.isclose(loss.data, float(np.mean((hs[-1][:, 0] - ys) ** 2)), rel_tol=1e-12)
    delta = 2 * (hs[-1] - ys[:, None]) / len(xs)
    for k in reversed(range(len(Ws))):
        dW = np.array([[v.grad for v in row] for row in VW[k]])
        assert relative_error(dW, hs[k].T @ delta) <= PASS
        assert relative_error(np.array([v.grad for v in Vb[k]]), delta.sum(0)) <= PASS
        delta = (delta @ Ws[k].T) * (1 - hs[k] ** 2)
