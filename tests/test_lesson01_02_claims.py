"""The numeric claims lessons 01 and 02 make, asserted with the library functions they call and
with the classes lesson 02's learner writes (executed from the solution notebook); the shared
math cases (tests/mathcases.py) run over that learner-facing Value too.

One home per claim: a claim a notebook cell asserts (and nbval checks in CI) is not asserted here
again unless the test adds something (other seeds, sizes or data, the library object rather than
the notebook's copy, exact numbers the notebook only prints, an edge the notebook does not run);
each test's docstring starts with what it adds."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
from mathcases import CASES

from course import autodiff
from course.autodiff_cost import (
    forward_mode_gradient,
    measure_costs,
    reverse_mode_gradient,
    ring,
    ring_gradient,
)
from course.checks import lesson01
from course.gradcheck import PASS, numerical_gradient, relative_error, verdict
from course.neuron import (
    descend,
    descent_path,
    loss_and_grads,
    neuron_data,
    neuron_grads,
    predict_loss,
    sigmoid,
)

ROOT = Path(__file__).resolve().parent.parent
LESSON_02 = ROOT / "solutions" / "02_computational_graphs.ipynb"


def _lesson02_engine() -> dict:
    """Value, Neuron, Layer, MLP, fit and Dual exactly as lesson 02's solution writes them."""
    cells = [c.source for c in nbformat.read(LESSON_02, as_version=4).cells
             if c.cell_type == "code"]
    namespace = {"math": math, "random": __import__("random")}
    for header in ("class Value", "class Neuron", "def fit(", "class Dual"):
        source = next((s for s in cells if s.startswith(header)), None)
        assert source is not None, f"lesson 02 has no cell starting with {header!r}"
        exec(source, namespace)
    return namespace


@pytest.fixture(scope="module")
def engine():
    return _lesson02_engine()


# ---------------------------------------------------------------- lesson 01


def test_lesson01_worked_example_numbers():
    """Adds the library's course.neuron.loss_and_grads and neuron_grads (the notebook checks its
    own copy): a, L, dL/dw and dL/db to 4 digits, and lesson01's dL/dz."""
    x, y, w, b = 1.5, 0.2, 0.8, -0.3
    loss, dw, db = loss_and_grads(w, b, np.array([x]), np.array([y]))
    a = float(sigmoid(np.array(w * x + b)))
    assert (round(a, 4), round(loss, 4)) == (0.7109, 0.2611)
    assert (round(dw, 4), round(db, 4)) == (0.315, 0.21)
    assert np.allclose(neuron_grads(x, y, w, b), (dw, db))
    assert math.isclose(lesson01._dL_dz(a, y), db)


def test_lesson01_hand_gradient_passes_and_forgotten_derivative_fails_the_check():
    """Adds the library's neuron_grads and the checker's forgot-sigmoid mistake (the notebook
    checks its own copies), and pins the mistake's relative error at 0.79."""
    x, y = 1.5, 0.2
    params = np.array([0.8, -0.3])
    numerical = numerical_gradient(
        lambda _: float((sigmoid(np.array(params[0] * x + params[1])) - y) ** 2), params)
    assert verdict(relative_error(np.array(neuron_grads(x, y, 0.8, -0.3)),
                                  numerical)) == "pass"
    forgot = lesson01.EXERCISES[2].mistake("forgot-sigmoid").fn
    err = relative_error(np.array(forgot(x, y, 0.8, -0.3)), numerical)
    assert verdict(err) == "fail" and round(err, 2) == 0.79


def test_lesson01_step_size_sweep_has_a_sweet_spot_between_round_off_and_truncation():
    """Adds the library's neuron_grads as the exact value (the notebook uses its own copy) and
    pins the error at h = 0.1 to 2.8e-03."""
    x, y, w, b = 1.5, 0.2, 0.8, -0.3
    exact = neuron_grads(x, y, w, b)[0]

    def loss_of_w(w_):
        return float((sigmoid(np.array(w_ * x + b)) - y) ** 2)

    hs = np.logspace(-12, -1, 45)
    errors = np.array([abs((loss_of_w(w + h) - loss_of_w(w - h)) / (2 * h) - exact) / abs(exact)
                       for h in hs])
    assert 1e-8 < hs[np.argmin(errors)] < 1e-3 and errors.min() < 1e-9
    assert errors[0] > 1e-7 and f"{errors[-1]:.1e}" == "2.8e-03"


def test_lesson01_learning_rates_descend_converge_and_overshoot_into_saturation():
    """Not asserted in the notebook: the three smaller rates never raise the loss, lr 10 lands
    on (2, -0.5), and the printed numbers (0.00657, 0.0334, w = 12.8, over 80% saturated)."""
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
    """Adds the library's loss_and_grads for the finite-difference Hessian (the notebook uses
    its own copy), pins the edge at 49.7, and asserts below it the loss never rises and above it
    never exceeds its start."""
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


def test_lesson01_above_the_edge_the_run_settles_into_a_two_step_cycle():
    """Adds 400 steps to the lesson's 100: the two-step cycle is stable, not a slow growth; also
    pins the cycle's losses 0.00149 and 0.00192."""
    edge = 49.7184649850947
    for steps in (100, 400):
        above = descend(1.1 * edge, steps=steps)
        assert above.loss.min() < 1e-6 < 1e-3 < above.loss[-1]
        assert np.allclose(above.loss[-4:-2], above.loss[-2:], rtol=1e-4)
        assert np.allclose(above.w[-4:-2], above.w[-2:], atol=1e-5)
        assert above.b[-2] < -0.5 < above.b[-1] or above.b[-1] < -0.5 < above.b[-2]
        assert (f"{min(above.loss[-2:]):.5f}", f"{max(above.loss[-2:]):.5f}") == ("0.00149",
                                                                                  "0.00192")


def test_lesson01_descent_path_is_the_loop_descend_runs():
    """Adds the library's course.neuron.descent_path (the notebook checks its own copy with
    allclose): bitwise equal to descend, 101 entries each."""
    x, y = neuron_data()
    loss, w, b = descent_path(10.0, 100, 1.0, 0.0, x, y)
    run = descend(10.0)
    assert loss.shape == w.shape == b.shape == (101,)
    assert np.array_equal(loss, run.loss) and np.array_equal(w, run.w)


def test_lesson01_sigmoid_slope_is_at_most_a_quarter():
    """Adds the library's sigmoid (the notebook uses its own da_dz): the maximum 0.25 is at z =
    0, and the slope at z = 10 is 4.5e-05."""
    zs = np.linspace(-10, 10, 2001)
    slope = sigmoid(zs) * (1 - sigmoid(zs))
    assert np.isclose(slope.max(), 0.25) and zs[np.argmax(slope)] == 0.0
    assert f"{slope[-1]:.2g}" == "4.5e-05"


# ---------------------------------------------------------------- lesson 02


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_math_cases_hold_for_the_learners_value(engine, case):
    """Not asserted in the notebook: every shared math case whose operations the lesson's Value
    has (all but log and sigmoid, which only course.autodiff.Value adds)."""
    value = engine["Value"]
    if not case.runs_on(value):
        assert case.name in ("log", "sigmoid") and case.runs_on(autodiff.Value)
        return
    lo, hi = case.domain
    for x in np.linspace(lo, hi, 7) + 0.013:
        v = value(float(x))
        out = case.scalar(v)
        out.backward()
        assert math.isclose(out.data, float(case.numpy(x)), rel_tol=1e-12, abs_tol=1e-12)
        assert relative_error(v.grad, float(case.derivative(x))) <= PASS


def test_lesson02_backward_twice_doubles_leaves_and_zero_grad_resets(engine):
    """Adds another graph (an intermediate used twice, tanh(h) * h) to the lesson's worked
    expression: a second backward doubles the leaf, keeps the intermediate, and zero_grad
    resets."""
    value = engine["Value"]
    w = value(0.8)
    h = w * 1.5 + 0.1
    out = h.tanh() * h
    out.backward()
    once, h_once = w.grad, h.grad
    out.backward()
    assert w.grad == 2 * once and h.grad == h_once
    out.zero_grad()
    out.backward()
    assert w.grad == once


def test_lesson02_topological_order_of_the_diamond_puts_every_node_after_its_parents(engine):
    """Not asserted in the notebook: the diamond's topological order has 6 nodes, x once, d
    last, and every node after its parents."""
    value = engine["Value"]
    x = value(2.0, label="x")
    u, v = x * 3.0, x + 1.0
    d = u * v
    order = d.topological_order()
    assert len(order) == 6 and order[-1] is d and sum(n is x for n in order) == 1
    pos = {id(n): k for k, n in enumerate(order)}
    assert all(pos[id(p)] < pos[id(n)] for n in order for p in n.parents)


def test_course_autodiff_topological_order_handles_a_long_chain_without_recursion():
    """Not asserted in the notebook: course.autodiff.Value orders a 10,001-node chain without
    hitting the recursion limit."""
    node = first = autodiff.Value(0.5)
    for _ in range(5_000):
        node = node + 1.0
    order = node.topological_order()
    assert len(order) == 10_001 and order[0] is first and order[-1] is node


def test_lesson02_any_valid_topological_order_passes_the_check():
    """Not asserted in the notebook: the 02.4 check accepts a different valid topological order."""
    from course.checks.core import evaluate, get_exercise

    class ParentsReversed(autodiff.Value):
        def topological_order(self):
            order, seen = [], set()

            def place(n):
                if n in seen:
                    return
                seen.add(n)
                for p in reversed(n.parents):
                    place(p)
                order.append(n)

            place(self)
            return order

    assert evaluate(get_exercise("02.4"), ParentsReversed).passed


def test_lesson02_backward_returning_a_dict_is_judged_by_its_grad_fields():
    """Not asserted in the notebook: micrograd-style code may return the gradients too; the 02.4
    check reads the .grad fields."""
    from course.checks.core import evaluate, get_exercise

    class ReturnsDict(autodiff.Value):
        def backward(self, grad=1.0):
            super().backward(grad)
            return {node: node.grad for node in self.topological_order()}

    assert evaluate(get_exercise("02.4"), ReturnsDict).passed


def test_lesson02_learners_network_trains_on_the_circle(engine):
    """Adds course.autodiff's MLP and fit beside the learner's (seed 0, MLP(2, [8, 1]), 150
    steps at 0.1): the same losses, pinned at 1.371 -> 0.313."""
    import random

    points = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    labels = np.where((points**2).sum(axis=1) < 0.5, 1.0, -1.0)
    xs, ys = points.tolist(), labels.tolist()
    runs = []
    for mlp, fit in ((engine["MLP"], engine["fit"]), (autodiff.MLP, autodiff.fit)):
        random.seed(0)
        model = mlp(2, [8, 1])
        with autodiff.cycle_collector_paused():
            losses = fit(model, xs, ys, 150, 0.1)
        runs.append(losses)
        assert all(np.sign(model(x).data) == y for x, y in zip(xs, ys))
    assert np.allclose(runs[0], runs[1], rtol=1e-9)
    assert (round(runs[0][0], 3), round(runs[0][-1], 3)) == (1.371, 0.313)
    assert np.all(np.diff(runs[0]) < 0)


def test_ring_gradient_agrees_with_central_differences():
    """Not asserted in the notebook: course.autodiff_cost.ring_gradient passes the gradient
    check (seed 3, 7 inputs)."""
    xs = np.random.default_rng(3).uniform(-1, 1, size=7)
    numerical = numerical_gradient(lambda v: float(np.sum(np.tanh(v * np.roll(v, -1)))), xs)
    assert verdict(relative_error(ring_gradient(xs), numerical)) == "pass"


def test_lesson02_forward_mode_takes_n_passes_and_reverse_mode_one(engine):
    """Not asserted in the notebook (which asserts only the pass counts): both engines'
    gradients agree with ring_gradient."""
    xs = np.random.default_rng(0).uniform(-1, 1, size=8)
    fwd = forward_mode_gradient(ring, xs, engine["Dual"])
    rev = reverse_mode_gradient(ring, xs, engine["Value"])
    assert (fwd.forward_passes, rev.forward_passes, rev.backward_passes) == (8, 1, 1)
    assert np.allclose(fwd.grad, ring_gradient(xs)) and np.allclose(rev.grad, ring_gradient(xs))


def test_lesson02_forward_mode_time_grows_quadratically_and_reverse_linearly(engine):
    """Adds another size sweep (4-64, 3 repeats) to the lesson's (1-64, 5 repeats): the slopes
    and the 4x gap at n = 64 hold on a second measurement."""
    costs = measure_costs(engine["Dual"], engine["Value"], sizes=(4, 8, 16, 32, 64), repeats=3)
    fwd_slope, rev_slope = costs.slopes()
    assert 1.4 < fwd_slope < 2.6 and 0.5 < rev_slope < 1.5
    assert costs.forward_seconds[-1] / costs.reverse_seconds[-1] > 4
    assert list(costs.forward_passes) == [4, 8, 16, 32, 64] and set(costs.reverse_passes) == {1}


def test_ring_rejects_an_empty_input():
    """Not asserted in the notebook: ring([]) raises ValueError."""
    with pytest.raises(ValueError, match="at least one input"):
        ring([])


def test_course_autodiff_engines_cost_n_forward_passes_against_one_reverse():
    """Adds the library's course.autodiff Dual and Value and n = 16 (the lesson runs the
    learner's at n = 8): 16 forward passes against one, both exact."""
    xs = np.random.default_rng(1).uniform(-1, 1, size=16)
    fwd = forward_mode_gradient(ring, xs, autodiff.Dual)
    rev = reverse_mode_gradient(ring, xs, autodiff.Value)
    assert (fwd.forward_passes, rev.forward_passes, rev.backward_passes) == (16, 1, 1)
    assert np.allclose(fwd.grad, ring_gradient(xs)) and np.allclose(rev.grad, ring_gradient(xs))


def test_lesson01_worked_example_agrees_with_course_neuron():
    """Adds the library's neuron_grads and dL/dz (the notebook compares course.neuron with its
    own copy): course.neuron's gradients equal them exactly."""
    from course import neuron

    fwd = neuron.forward(0.8, -0.3, 1.5, 0.2)
    grads = neuron.backward(fwd)
    assert np.allclose((grads.dL_dw, grads.dL_db), neuron_grads(1.5, 0.2, 0.8, -0.3))
    assert math.isclose(grads.dL_dz, lesson01._dL_dz(fwd.a, 0.2))
    assert (grads.dL_dw, grads.dL_db) == neuron_grads(1.5, 0.2, 0.8, -0.3)


def test_lesson01_gradient_predicts_a_small_nudge_and_misses_a_large_one():
    """Adds the library's predict_loss (the notebook uses its own copy) and pins the large
    step's gap at 24.6%."""
    x, y, w, b = 1.5, 0.2, 0.8, -0.3

    def loss(w_):
        return float((sigmoid(np.array(w_ * x + b)) - y) ** 2)

    gaps = {}
    for step in (0.01, 1.0):
        predicted = predict_loss(x, y, w, b, step, 0.0) - loss(w)
        gaps[step] = abs(predicted - (loss(w + step) - loss(w))) / abs(loss(w + step) - loss(w))
    assert gaps[0.01] < 0.01 and gaps[1.0] > 0.1 and f"{gaps[1.0]:.1%}" == "24.6%"
