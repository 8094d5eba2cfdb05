"""The numeric claims lessons 01 and 02 make, asserted with the library functions they call."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course.autodiff_cost import (
    forward_mode_gradient,
    measure_costs,
    reverse_mode_gradient,
    ring,
    ring_gradient,
)
from course.checks import lesson01, lesson02
from course.explore_neuron import descend, loss_and_grads, neuron_data, sigmoid
from course.gradcheck import numerical_gradient, relative_error, verdict

ROOT = Path(__file__).resolve().parent.parent
LESSON_02 = ROOT / "solutions" / "02_computational_graphs.ipynb"


def _lesson02_engine() -> dict:
    """The Value and Dual classes exactly as lesson 02 defines them, with the reference rules."""
    cells = [c.source for c in nbformat.read(LESSON_02, as_version=4).cells
             if c.cell_type == "code"]
    namespace = {"math": math, "add_backward": lesson02._add_backward,
                 "mul_backward": lesson02._mul_backward, "pow_backward": lesson02._pow_backward,
                 "tanh_backward": lesson02._tanh_backward, "exp_backward": lesson02._exp_backward,
                 "topological_order": lesson02._topological_order, "backward": lesson02._backward,
                 "dual_mul": lesson02._dual_mul, "dual_tanh": lesson02._dual_tanh}
    for header in ("class Value", "class Dual"):
        source = next((s for s in cells if s.startswith(header)), None)
        assert source is not None, f"lesson 02 has no cell starting with {header!r}"
        exec(source, namespace)
    return namespace


@pytest.fixture(scope="module")
def engine():
    return _lesson02_engine()


# ---------------------------------------------------------------- lesson 01


def test_lesson01_worked_example_numbers():
    x, y, w, b = 1.5, 0.2, 0.8, -0.3
    loss, dw, db = loss_and_grads(w, b, np.array([x]), np.array([y]))
    a = float(sigmoid(np.array(w * x + b)))
    assert (round(a, 4), round(loss, 4)) == (0.7109, 0.2611)
    assert (round(dw, 4), round(db, 4)) == (0.315, 0.21)
    assert np.allclose(lesson01._neuron_grads(x, y, w, b), (dw, db))
    assert math.isclose(lesson01._dL_dz(a, y), db)


def test_lesson01_hand_gradient_passes_and_forgotten_derivative_fails_the_check():
    x, y = 1.5, 0.2
    params = np.array([0.8, -0.3])
    numerical = numerical_gradient(
        lambda _: float((sigmoid(np.array(params[0] * x + params[1])) - y) ** 2), params)
    assert verdict(relative_error(np.array(lesson01._neuron_grads(x, y, 0.8, -0.3)),
                                  numerical)) == "pass"
    forgot = lesson01.EXERCISES[2].mistakes["forgot the sigmoid's derivative a (1 - a)"]
    err = relative_error(np.array(forgot(x, y, 0.8, -0.3)), numerical)
    assert verdict(err) == "fail" and round(err, 2) == 0.79


def test_lesson01_step_size_sweep_has_a_sweet_spot_between_round_off_and_truncation():
    x, y, w, b = 1.5, 0.2, 0.8, -0.3
    exact = lesson01._neuron_grads(x, y, w, b)[0]

    def loss_of_w(w_):
        return float((sigmoid(np.array(w_ * x + b)) - y) ** 2)

    hs = np.logspace(-12, -1, 45)
    errors = np.array([abs((loss_of_w(w + h) - loss_of_w(w - h)) / (2 * h) - exact) / abs(exact)
                       for h in hs])
    assert 1e-8 < hs[np.argmin(errors)] < 1e-3 and errors.min() < 1e-9
    assert errors[0] > 1e-7 and f"{errors[-1]:.1e}" == "2.8e-03"


def test_lesson01_learning_rates_descend_converge_and_overshoot_into_saturation():
    slow, fast, good, big = descend(0.1), descend(1.0), descend(10.0), descend(300.0)
    for run in (slow, fast, good):
        assert np.all(np.diff(run.loss) <= 0)
    assert f"{slow.loss[-1]:.3g}" == "0.00657" and 0.98 < 1 - fast.loss[-1] / fast.loss[0] < 0.99
    assert good.loss[-1] < 1e-12 and np.isclose(good.w[-1], 2.0) and np.isclose(good.b[-1], -0.5)
    assert big.loss[1] > big.loss[0] and f"{big.loss[1]:.3g}" == "0.0334"
    assert np.all(np.isfinite(big.loss)) and big.loss.max() < 1
    x, _ = neuron_data()
    assert round(big.w[1], 1) == 12.8 and np.mean(np.abs(big.w[1] * x + big.b[1]) > 5) > 0.8


def test_lesson01_curvature_sets_the_stable_learning_rate():
    x, y = neuron_data()
    s = sigmoid(2.0 * x - 0.5) * (1 - sigmoid(2.0 * x - 0.5))
    features = np.stack([x, np.ones_like(x)], 1)
    hessian = 2 * (features * s[:, None] ** 2).T @ features / x.size
    h = 1e-5
    numerical = np.stack([
        (np.array(loss_and_grads(2.0 + e[0], -0.5 + e[1], x, y)[1:])
         - np.array(loss_and_grads(2.0 - e[0], -0.5 - e[1], x, y)[1:])) / (2 * h)
        for e in ((h, 0.0), (0.0, h))], 1)
    assert np.allclose(hessian, numerical, rtol=1e-5, atol=1e-9)
    edge = 2 / np.linalg.eigvalsh(hessian).max()
    assert f"{edge:.1f}" == "49.7"
    below, above = descend(0.9 * edge), descend(1.1 * edge)
    assert below.loss[-1] < 1e-20 and np.all(np.diff(below.loss) <= 0)
    assert above.loss[-1] > 1e-3 and np.any(np.diff(above.loss) > 0)
    assert above.loss.max() <= above.loss[0]


def test_lesson01_sigmoid_slope_is_at_most_a_quarter():
    zs = np.linspace(-10, 10, 2001)
    slope = sigmoid(zs) * (1 - sigmoid(zs))
    assert np.isclose(slope.max(), 0.25) and zs[np.argmax(slope)] == 0.0
    assert f"{slope[-1]:.2g}" == "4.5e-05"


# ---------------------------------------------------------------- lesson 02


def test_lesson02_local_rules_agree_with_torch_autograd():
    torch = pytest.importorskip("torch")
    x = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    (torch.exp(x) * 1.5 + x**3 * 0.5).backward()
    assert math.isclose(lesson02._exp_backward(math.exp(0.4), 1.5)
                        + lesson02._pow_backward(0.4, 3.0, 0.5), x.grad.item())
    a = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-0.7, dtype=torch.float64, requires_grad=True)
    (torch.tanh(a) * 2.5).backward()
    assert math.isclose(lesson02._tanh_backward(math.tanh(1.3), 2.5), a.grad.item())
    a.grad = None
    (a * b * 0.5).backward()
    assert np.allclose(lesson02._mul_backward(1.3, -0.7, 0.5), (a.grad.item(), b.grad.item()))


def test_lesson02_engine_matches_torch_on_the_worked_expression(engine):
    torch = pytest.importorskip("torch")
    value = engine["Value"]
    point = {"x1": 1.5, "x2": -0.5, "w1": 0.8, "w2": -1.2, "b": 0.1}
    v = {k: value(x) for k, x in point.items()}
    err = (v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]).tanh() - 0.5
    (err * err).backward()
    t = {k: torch.tensor(x, dtype=torch.float64, requires_grad=True) for k, x in point.items()}
    ((torch.tanh(t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"]) - 0.5) ** 2).backward()
    assert np.allclose([v[k].grad for k in point], [t[k].grad.item() for k in point],
                       rtol=1e-12, atol=0)


def test_lesson02_node_used_twice_gets_the_summed_gradient(engine):
    value = engine["Value"]
    x = value(2.0)
    (x * x).backward()
    assert x.grad == 4.0
    x = value(2.0)
    ((x * 3.0) * (x + 1.0)).backward()
    assert x.grad == 15.0


def test_lesson02_backward_twice_doubles_and_zero_grad_resets(engine):
    value = engine["Value"]
    w = value(0.8)
    out = (w * 1.5 + 0.1).tanh()
    out.backward()
    once = w.grad
    out.backward()
    assert w.grad == 2 * once
    out.zero_grad()
    out.backward()
    assert w.grad == once


def test_lesson02_topological_order_of_the_diamond_puts_every_node_after_its_parents(engine):
    value = engine["Value"]
    x = value(2.0, label="x")
    u, v = x * 3.0, x + 1.0
    d = u * v
    order = lesson02._topological_order(d)
    assert len(order) == 6 and order[-1] is d and sum(n is x for n in order) == 1
    assert lesson02._is_topological(order)


def test_lesson02_topological_order_handles_a_long_chain_without_recursion(engine):
    value = engine["Value"]
    node = first = value(0.5)
    for _ in range(5_000):
        node = node + 1.0
    order = lesson02._topological_order(node)
    assert len(order) == 10_001 and order[0] is first and order[-1] is node


def test_lesson02_any_valid_topological_order_passes_the_check():
    from course.checks.core import evaluate, get_exercise

    def parents_reversed(root):
        order, seen = [], set()

        def place(n):
            if n in seen:
                return
            seen.add(n)
            for p in reversed(n.parents):
                place(p)
            order.append(n)

        place(root)
        return order

    assert evaluate(get_exercise("02.6"), parents_reversed).passed


def test_lesson02_engine_trains_the_small_network_on_the_circle(engine):
    value = engine["Value"]
    points = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    labels = np.where((points**2).sum(axis=1) < 0.5, 1.0, -1.0)
    init = np.random.default_rng(2)
    w1 = [[value(float(v)) for v in row] for row in init.normal(size=(2, 4))]
    b1 = [value(0.0) for _ in range(4)]
    w2 = [value(float(v)) for v in 0.5 * init.normal(size=4)]
    b2 = value(0.0)
    params = [w for row in w1 for w in row] + b1 + w2 + [b2]

    def predict(pt):
        out = b2
        for j in range(4):
            out = out + (pt[0] * w1[0][j] + pt[1] * w1[1][j] + b1[j]).tanh() * w2[j]
        return out.tanh()

    losses = []
    for _ in range(40):
        total = value(0.0)
        for pt, t in zip(points, labels):
            total = total + (predict(pt) - float(t)) ** 2
        loss = total * (1.0 / len(points))
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= 0.4 * p.grad
        losses.append(loss.data)
    assert (round(losses[0], 3), round(losses[-1], 3)) == (1.011, 0.245)
    assert np.all(np.diff(losses) < 0)
    assert all(np.sign(predict(pt).data) == t for pt, t in zip(points, labels))


def test_lesson02_forward_mode_gives_many_outputs_in_one_pass(engine):
    dual, value = engine["Dual"], engine["Value"]
    x0, m = 0.3, 64
    exact = [k * (1 - math.tanh(k * x0) ** 2) for k in range(1, m + 1)]
    assert np.allclose([(dual(x0, 1.0) * float(k)).tanh().dot for k in range(1, m + 1)], exact)
    x_node = value(x0)
    outs = [(x_node * float(k)).tanh() for k in range(1, m + 1)]
    grads = []
    for out in outs:
        x_node.grad = 0.0
        out.backward()
        grads.append(x_node.grad)
    assert np.allclose(grads, exact)


def test_ring_gradient_agrees_with_central_differences():
    xs = np.random.default_rng(3).uniform(-1, 1, size=7)
    numerical = numerical_gradient(lambda v: float(np.sum(np.tanh(v * np.roll(v, -1)))), xs)
    assert verdict(relative_error(ring_gradient(xs), numerical)) == "pass"


def test_lesson02_forward_mode_takes_n_passes_and_reverse_mode_one(engine):
    xs = np.random.default_rng(0).uniform(-1, 1, size=8)
    fwd = forward_mode_gradient(ring, xs, engine["Dual"])
    rev = reverse_mode_gradient(ring, xs, engine["Value"])
    assert (fwd.forward_passes, rev.forward_passes, rev.backward_passes) == (8, 1, 1)
    assert np.allclose(fwd.grad, ring_gradient(xs)) and np.allclose(rev.grad, ring_gradient(xs))


def test_lesson02_forward_mode_time_grows_quadratically_and_reverse_linearly(engine):
    costs = measure_costs(engine["Dual"], engine["Value"], sizes=(4, 8, 16, 32, 64), repeats=3)
    fwd_slope, rev_slope = costs.slopes()
    assert 1.4 < fwd_slope < 2.6 and 0.5 < rev_slope < 1.5
    assert costs.forward_seconds[-1] / costs.reverse_seconds[-1] > 4
    assert list(costs.forward_passes) == [4, 8, 16, 32, 64] and set(costs.reverse_passes) == {1}


def test_ring_rejects_an_empty_input():
    with pytest.raises(ValueError, match="at least one input"):
        ring([])


def test_course_autodiff_engines_cost_n_forward_passes_against_one_reverse():
    from course import autodiff

    xs = np.random.default_rng(1).uniform(-1, 1, size=16)
    fwd = forward_mode_gradient(ring, xs, autodiff.Dual)
    rev = reverse_mode_gradient(ring, xs, autodiff.Value)
    assert (fwd.forward_passes, rev.forward_passes, rev.backward_passes) == (16, 1, 1)
    assert np.allclose(fwd.grad, ring_gradient(xs)) and np.allclose(rev.grad, ring_gradient(xs))


def test_lesson01_worked_example_agrees_with_course_neuron():
    from course import neuron

    fwd = neuron.forward(0.8, -0.3, 1.5, 0.2)
    grads = neuron.backward(fwd)
    assert np.allclose((grads.dL_dw, grads.dL_db), lesson01._neuron_grads(1.5, 0.2, 0.8, -0.3))
    assert math.isclose(grads.dL_dz, lesson01._dL_dz(fwd.a, 0.2))


def test_lesson01_gradient_predicts_a_small_nudge_and_misses_a_large_one():
    x, y, w, b = 1.5, 0.2, 0.8, -0.3

    def loss(w_):
        return float((sigmoid(np.array(w_ * x + b)) - y) ** 2)

    gaps = {}
    for step in (0.01, 1.0):
        predicted = lesson01._predict_loss(x, y, w, b, step, 0.0) - loss(w)
        gaps[step] = abs(predicted - (loss(w + step) - loss(w))) / abs(loss(w + step) - loss(w))
    assert gaps[0.01] < 0.01 and gaps[1.0] > 0.1 and f"{gaps[1.0]:.1%}" == "24.6%"
