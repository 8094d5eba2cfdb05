"""The numbers lesson 04 states, computed with the lesson's references and the library."""

from __future__ import annotations

import numpy as np

from course.checks.lesson04 import (
    _ce_delta,
    _ce_loss,
    _check_layer,
    _mlp_backward,
    _mlp_forward,
    _numerical_gradient,
    _rel_error,
)
from course.data import spiral
from course.gradcheck import check_gradients, verdict
from course.layers import LayerNorm, Linear, ReLU
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD, Adam


def _make_layers(widths, seed=0):
    """The lesson's make_layers, on course.layers: He-initialised Linear, ReLU in between."""
    gen = np.random.default_rng(seed)
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        linear = Linear(d_in, d_out)
        linear.params["W"] = gen.normal(size=(d_in, d_out)) * np.sqrt(2 / d_in)
        layers += [linear, ReLU()]
    return layers[:-1]


def _grads_of(layers):
    return np.concatenate([layer.grads[k].ravel() for layer in layers for k in layer.params])


def test_naive_softmax_overflows_at_logit_1000_and_the_stable_loss_is_exactly_1000():
    logits = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(all="ignore"):
        naive = -np.log(np.exp(logits[0, 1]) / np.exp(logits).sum())
    assert np.isinf(naive)
    assert _ce_loss(logits, np.array([1])) == 1000.0


def test_the_library_relu_passes_nothing_at_0_where_central_differences_report_0_5():
    """The course's ReLU layer (not a copy): backward at exactly z = 0 is 0, the convention
    lesson 04 states; one-sided slopes of its forward are 0 and 1, the central one 0.5."""
    h, relu = 1e-6, ReLU()

    def a(z: float) -> float:
        return float(relu.forward(np.array([[z]]))[0, 0])

    assert (a(0.0) - a(-h)) / h == 0.0 and (a(h) - a(0.0)) / h == 1.0
    assert (a(h) - a(-h)) / (2 * h) == 0.5
    relu.forward(np.array([[0.0, h, -h]]))
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[0.0, 1.0, 0.0]])


def test_initial_loss_1_1357_is_within_0_05_of_ln_3_and_zero_logits_give_ln_3():
    x, y = spiral(300, seed=0)
    first = _ce_loss(_mlp_forward(_make_layers([2, 32, 32, 3]), x), y)
    assert round(first, 4) == 1.1357 and round(np.log(3), 4) == 1.0986
    assert abs(first - np.log(3)) < 0.05
    assert np.isclose(_ce_loss(np.zeros((300, 3)), y), np.log(3))


def test_the_layer_loops_agree_with_course_mlp():
    x, y = spiral(300, seed=0)
    layers = _make_layers([2, 32, 32, 3])
    net = MLP([2, 32, 32, 3], activation="relu", seed=0)
    for mine, lib in zip(layers[::2], net.layers[::2]):
        lib.params["W"][...], lib.params["b"][...] = mine.params["W"], mine.params["b"]
    out = _mlp_forward(layers, x)
    assert np.allclose(out, net.forward(x))
    assert np.allclose(_mlp_backward(layers, _ce_delta(out, y)),
                       net.backward(_ce_delta(out, y)))


def test_backward_is_the_vector_jacobian_product_and_a_784_256_jacobian_has_3_3e9_entries():
    rng = np.random.default_rng(0)
    small = _make_layers([3, 4, 2], seed=1)
    x1, g = rng.normal(size=(1, 3)), rng.normal(size=(1, 2))
    z1 = small[0].forward(x1)
    _mlp_forward(small, x1)
    vjp = g @ small[2].params["W"].T @ np.diag((z1[0] > 0).astype(float)) @ small[0].params["W"].T
    assert np.allclose(vjp, _mlp_backward(small, g))
    assert 128 * 256 * 128 * 784 == 3_288_334_336


def _sgd_train(steps=1000, batch=32, lr=0.5, seed=0):
    x, y = spiral(300, seed=0)
    layers = _make_layers([2, 32, 32, 3])
    draw = np.random.default_rng(seed)
    first = _ce_loss(_mlp_forward(layers, x), y)
    for _ in range(steps):
        idx = draw.choice(len(x), size=batch, replace=False)
        out = _mlp_forward(layers, x[idx])
        _mlp_backward(layers, _ce_delta(out, y[idx]))
        for layer in layers:
            for name, p in layer.params.items():
                p -= lr * layer.grads[name]
    return layers, first, x, y


def test_sgd_on_random_batches_of_32_fits_the_spiral_from_1_136_to_0_0030_with_accuracy_1():
    layers, first, x, y = _sgd_train()
    out = _mlp_forward(layers, x)
    assert round(first, 3) == 1.136 and round(_ce_loss(out, y), 4) == 0.0030
    assert np.mean(np.argmax(out, axis=1) == y) == 1.0


def test_the_batch_gradient_is_the_average_of_per_example_gradients():
    probe = _make_layers([2, 16, 16, 3])
    x8, y8 = spiral(8, seed=1)
    per = []
    for i in range(8):
        _mlp_backward(probe, _ce_delta(_mlp_forward(probe, x8[i:i + 1]), y8[i:i + 1]))
        per.append(_grads_of(probe))
    _mlp_backward(probe, _ce_delta(_mlp_forward(probe, x8), y8))
    assert _rel_error(_grads_of(probe), np.mean(per, axis=0)) < 1e-12


def test_from_batch_8_to_300_the_mean_gradient_changes_1_7x_and_the_sum_22x():
    x, y = spiral(300, seed=0)
    fresh = _make_layers([2, 32, 32, 3])
    draw = np.random.default_rng(1)
    norms = {}
    for size in (8, 32, 128, 300):
        runs = []
        for _ in range(20):
            idx = draw.choice(len(x), size=size, replace=False)
            _mlp_backward(fresh, _ce_delta(_mlp_forward(fresh, x[idx]), y[idx]))
            runs.append(np.linalg.norm(_grads_of(fresh)))
        norms[size] = np.mean(runs)
    assert round(norms[8] / norms[300], 1) == 1.7
    assert round(300 * norms[300] / (8 * norms[8])) == 22


def test_ce_delta_passes_against_central_differences_of_ce_loss():
    rng = np.random.default_rng(0)
    z, labels = rng.normal(size=(4, 3)), np.array([0, 2, 1, 1])
    err = _rel_error(_ce_delta(z, labels), _numerical_gradient(lambda v: _ce_loss(v, labels), z))
    assert verdict(err) == "pass"


def test_a_u_of_ones_hides_a_layernorm_backward_missing_a_term_and_a_random_u_fails_it():
    class Buggy(LayerNorm):
        def backward(self, upstream):
            dx = super().backward(upstream)
            xhat, inv_std = self.cache
            g = upstream * self.params["gamma"]
            return dx + inv_std * xhat * np.mean(g * xhat, axis=1, keepdims=True)

    rng = np.random.default_rng(0)
    inp, ones, u = rng.normal(size=(4, 5)), np.ones((4, 5)), rng.normal(size=(4, 5))
    for layer in (LayerNorm(5), Buggy(5)):
        layer.forward(inp)
        assert np.linalg.norm(layer.backward(ones)) < 1e-12
    assert verdict(_check_layer(LayerNorm(5), inp, u)["x"]) == "pass"
    assert verdict(_check_layer(Buggy(5), inp, u)["x"]) == "fail"


def test_a_relu_input_3e_7_from_the_kink_gives_slope_0_65_and_fails_the_check():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 5))
    z[1, 2] = 3e-7
    assert round((np.maximum(3e-7 + 1e-6, 0) - np.maximum(3e-7 - 1e-6, 0)) / 2e-6, 2) == 0.65
    assert verdict(_check_layer(ReLU(), z, rng.normal(size=(4, 5)))["x"]) == "fail"


def test_every_layer_passes_the_check_and_a_doubled_gradient_is_named():
    x, y = spiral(30, seed=0)
    net, loss_fn = MLP([2, 8, 8, 8, 3], activation="tanh", norm="layernorm"), SoftmaxCrossEntropy()

    def loss():
        return float(loss_fn.forward(net.forward(x), y))

    loss()
    net.backward(loss_fn.backward())
    assert check_gradients(loss, net.parameters(), net.gradients()).ok
    grads = {**net.gradients(), "3.W": 2 * net.gradients()["3.W"]}
    report = check_gradients(loss, net.parameters(), grads)
    assert [c.name for c in report.checks if c.status != "pass"] == ["3.W"]


def test_one_gradient_fed_to_sgd_and_adam_gives_update_norms_0_057_and_0_995():
    """And Adam's first step moves each of the 99 parameters by lr = 0.1 to 4 digits."""
    x, y = spiral(300, seed=0)
    net, loss_fn = MLP([2, 16, 3], seed=0), SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    grads = {k: g.copy() for k, g in net.gradients().items()}
    norms, moves = [], []
    for make in (lambda p: SGD(p, 0.1), lambda p: Adam(p, 0.1)):
        fresh = MLP([2, 16, 3], seed=0)
        before = {k: p.copy() for k, p in fresh.parameters().items()}
        make(fresh.parameters()).step(grads)
        moves.append(np.concatenate([(fresh.parameters()[k] - before[k]).ravel() for k in before]))
        norms.append(np.linalg.norm(moves[-1]))
    assert [round(float(n), 3) for n in norms] == [0.057, 0.995]
    adam_moves = np.abs(moves[1])
    assert adam_moves.size == 99
    assert round(adam_moves.min(), 4) == 0.0999 and round(adam_moves.max(), 4) == 0.1


def test_input_gradient_norm_tracks_confidence_rank_correlation_0_95():
    layers, _, x, y = _sgd_train()
    out = _mlp_forward(layers, x)
    sensitivity = np.linalg.norm(_mlp_backward(layers, _ce_delta(out, y) * len(x)), axis=1)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    p_true = (e / e.sum(axis=1, keepdims=True))[np.arange(len(y)), y]
    most = np.argsort(sensitivity)[-20:]

    def ranks(v):
        return np.argsort(np.argsort(v))

    rho = np.corrcoef(ranks(sensitivity), ranks(1 - p_true))[0, 1]
    assert round(rho, 2) == 0.95
    assert round(1 - p_true[most].mean(), 3) == 0.034 and round(1 - np.median(p_true), 4) == 0.0004
