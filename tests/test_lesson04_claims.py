"""The numbers lesson 04 states, computed with the library's objects (course.layers,
course.losses, course.mlp, course.gradcheck), not the copies the lesson's learner writes.

One home per claim: a claim a notebook cell asserts (and nbval checks in CI) is not asserted here
again unless the test adds something (other seeds, sizes or data, the library object rather than
the notebook's copy, exact numbers the notebook only prints, an edge the notebook does not run);
each test's docstring starts with what it adds."""

from __future__ import annotations

import numpy as np

from course.data import spiral
from course.gradcheck import (
    check_gradients,
    check_layer,
    numerical_gradient,
    relative_error,
    verdict,
)
from course.layers import LayerNorm, ReLU
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP, sgd_train
from course.optim import SGD, Adam


def _loss(logits, labels):
    return float(SoftmaxCrossEntropy().forward(logits, labels))


def _gradient_at(net, x, y):
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    return np.concatenate([g.ravel() for g in net.gradients().values()])


def test_naive_softmax_overflows_at_logit_1000_and_the_stable_loss_is_exactly_1000():
    """Adds the library's course.losses.SoftmaxCrossEntropy (the notebook checks its own copy):
    the stable loss at logit 1000 is exactly 1000."""
    logits = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(all="ignore"):
        naive = -np.log(np.exp(logits[0, 1]) / np.exp(logits).sum())
    assert np.isinf(naive)
    assert _loss(logits, np.array([1])) == 1000.0


def test_a_confident_wrong_prediction_sends_minus_and_plus_1_over_n_to_two_logits_only():
    """Adds the library's SoftmaxCrossEntropy (the notebook checks its own copy) and that the
    other three logits get less than 2e-4."""
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(np.array([[0.0, 9.0, 0.0, 0.0, 0.0]]), np.array([0]))
    delta = loss_fn.backward()
    assert np.allclose(delta, [[-1, 1, 0, 0, 0]], atol=1e-3)
    assert np.all(np.abs(delta[0, 2:]) < 2e-4)


def test_the_library_relu_passes_nothing_at_0_where_central_differences_report_0_5():
    """Adds the library's ReLU layer (the notebook checks a plain function and its own layer):
    backward at exactly z = 0 is 0, the convention lesson 04 states; one-sided slopes of its
    forward are 0 and 1, the central one 0.5."""
    h, relu = 1e-6, ReLU()

    def a(z: float) -> float:
        return float(relu.forward(np.array([[z]]))[0, 0])

    assert (a(0.0) - a(-h)) / h == 0.0 and (a(h) - a(0.0)) / h == 1.0
    assert (a(h) - a(-h)) / (2 * h) == 0.5
    relu.forward(np.array([[0.0, h, -h]]))
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[0.0, 1.0, 0.0]])


def test_initial_loss_1_1357_is_within_0_05_of_ln_3_and_zero_logits_give_ln_3():
    """Adds the library's MLP and loss (the notebook uses its own copies) and pins the initial
    loss at 1.1357."""
    x, y = spiral(300, seed=0)
    first = _loss(MLP([2, 32, 32, 3], seed=0).forward(x), y)
    assert round(first, 4) == 1.1357 and round(np.log(3), 4) == 1.0986
    assert abs(first - np.log(3)) < 0.05
    assert np.isclose(_loss(np.zeros((300, 3)), y), np.log(3))


def test_backward_is_the_vector_jacobian_product_and_a_784_256_jacobian_has_3_3e9_entries():
    """Adds the library's MLP (the notebook checks its own copy) and the Jacobian's entry count,
    which the notebook only prints."""
    rng = np.random.default_rng(0)
    small = MLP([3, 4, 2], seed=1)
    x1, g = rng.normal(size=(1, 3)), rng.normal(size=(1, 2))
    z1 = small.layers[0].forward(x1)
    small.forward(x1)
    vjp = (g @ small.layers[2].params["W"].T @ np.diag((z1[0] > 0).astype(float))
           @ small.layers[0].params["W"].T)
    assert np.allclose(vjp, small.backward(g))
    assert 128 * 256 * 128 * 784 == 3_288_334_336


def _trained(seed=0):
    x, y = spiral(300, seed=0)
    net = MLP([2, 32, 32, 3], seed=seed)
    history = sgd_train(net, SoftmaxCrossEntropy(), x, y, lr=0.5, lam=1e-4, batch=32,
                        steps=1000, seed=seed)
    return net, history, x, y


def test_sgd_train_on_the_spiral_reaches_validation_accuracy_1_on_the_lessons_seed():
    """Adds the library's sgd_train (the notebook runs its own copy) and pins the printed
    numbers: validation loss 1.151 -> 0.006, accuracy 0.33 -> 1.0, all 300 points right."""
    net, history, x, y = _trained()
    assert round(history["val_loss"][0], 3) == 1.151 and round(history["val_loss"][-1], 3) == 0.006
    assert round(history["val_acc"][0], 2) == 0.33
    assert history["val_acc"][-1] == 1.0
    assert np.mean(np.argmax(net.forward(x), axis=1) == y) == 1.0


def test_sgd_train_passes_the_lessons_assertion_on_five_seeds():
    """Adds seeds 1-4 to the lesson's seed 0 (weights, split and batches all drawn from the
    seed): validation accuracy >= 0.95 and a validation loss below 0.3 of its start."""
    for seed in range(5):
        _, history, _, _ = _trained(seed)
        assert history["val_acc"][-1] >= 0.95, seed
        assert history["val_loss"][-1] < 0.3 * history["val_loss"][0], seed


def test_the_batch_gradient_is_the_average_of_per_example_gradients():
    """Adds the library's MLP and SoftmaxCrossEntropy (the notebook uses its own copies): the
    batch gradient is the mean of the 8 per-example gradients."""
    probe = MLP([2, 16, 16, 3], seed=0)
    x8, y8 = spiral(8, seed=1)
    per = [_gradient_at(probe, x8[i:i + 1], y8[i:i + 1]) for i in range(8)]
    assert relative_error(_gradient_at(probe, x8, y8), np.mean(per, axis=0)) < 1e-12


def test_from_batch_8_to_300_the_mean_gradient_changes_1_7x_and_the_sum_22x():
    """Adds the library's objects and pins the factors the notebook only bounds: 1.7 for the
    mean, 22 for the sum."""
    x, y = spiral(300, seed=0)
    fresh = MLP([2, 32, 32, 3], seed=0)
    draw = np.random.default_rng(1)
    norms = {}
    for size in (8, 32, 128, 300):
        runs = []
        for _ in range(20):
            idx = draw.choice(len(x), size=size, replace=False)
            runs.append(np.linalg.norm(_gradient_at(fresh, x[idx], y[idx])))
        norms[size] = np.mean(runs)
    assert round(norms[8] / norms[300], 1) == 1.7
    assert round(300 * norms[300] / (8 * norms[8])) == 22


def test_softmax_cross_entropy_delta_passes_against_central_differences_of_its_loss():
    """Adds the library's SoftmaxCrossEntropy and gradcheck functions (the notebook checks its
    own copies) on a fresh rng(0) draw."""
    rng = np.random.default_rng(0)
    z, labels = rng.normal(size=(4, 3)), np.array([0, 2, 1, 1])
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(z, labels)
    delta = loss_fn.backward()
    err = relative_error(delta, numerical_gradient(lambda v: _loss(v, labels), z))
    assert verdict(err) == "pass"


def test_a_u_of_ones_hides_a_layernorm_backward_missing_a_term_and_a_random_u_fails_it():
    """Adds other data (a fresh rng(0) draw; the notebook continues its shared generator) and
    the library's check_layer (the notebook uses its own copy)."""
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
    assert verdict(check_layer(LayerNorm(5), inp, u)["x"]) == "pass"
    uneven = LayerNorm(5)
    uneven.params["gamma"] = rng.uniform(0.5, 2.0, 5)
    uneven.forward(inp)
    assert np.linalg.norm(uneven.backward(ones)) > 0.1
    assert verdict(check_layer(Buggy(5), inp, u)["x"]) == "fail"


def test_a_relu_input_3e_7_from_the_kink_gives_slope_0_65_and_fails_the_check():
    """Adds the library's ReLU and check_layer (the notebook checks its own copies) and pins the
    central slope at 0.65."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 5))
    z[1, 2] = 3e-7
    assert round((np.maximum(3e-7 + 1e-6, 0) - np.maximum(3e-7 - 1e-6, 0)) / 2e-6, 2) == 0.65
    assert verdict(check_layer(ReLU(), z, rng.normal(size=(4, 5)))["x"]) == "fail"


def test_every_layer_passes_the_check_and_a_doubled_gradient_is_named():
    """Adds the library's course.mlp.MLP (the notebook runs its own MLP subclass): every
    parameter passes check_gradients and a doubled 3.W is the one named."""
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
    """Adds the library's MLP (the notebook runs its own subclass) and pins what the notebook
    only bounds: update norms 0.057 and 0.995; Adam moves each of the 99 parameters by lr = 0.1
    to 4 digits."""
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


def test_input_gradient_norm_tracks_confidence_where_all_are_right_but_not_doubt():
    """Adds the library's MLP and sgd_train (the notebook runs its own copies) and pins the rank
    correlation at 0.94 with 1 - p(true) on the training points, all classified right; the most
    confident point given a wrong label has a larger ||dL/dx|| than any of them."""
    net, _, x, y = _trained()
    loss_fn = SoftmaxCrossEntropy()
    out = net.forward(x)
    loss_fn.forward(out, y)
    sensitivity = np.linalg.norm(net.backward(loss_fn.backward() * len(x)), axis=1)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    p_true = (e / e.sum(axis=1, keepdims=True))[np.arange(len(y)), y]

    def ranks(v):
        return np.argsort(np.argsort(v))

    rho = np.corrcoef(ranks(sensitivity), ranks(1 - p_true))[0, 1]
    assert round(rho, 2) == 0.94 and np.mean(np.argmax(out, axis=1) == y) == 1.0
    point = int(np.argmax(p_true))
    loss_fn.forward(net.forward(x[point:point + 1]), np.array([(y[point] + 1) % 3]))
    assert np.linalg.norm(net.backward(loss_fn.backward())) > sensitivity.max()


def test_on_the_digits_the_largest_lambda_is_by_far_the_worst_on_five_seeds():
    """Adds seeds 1-4 to the lesson's seed 0 (weights, validation split and batches): lambda 0.1
    has more than 3x the chosen lambda's validation loss; on seed 0 lambda 0 is chosen and
    reaches 0.947 on the test split, which is never used to choose."""
    from course.data import load_digits, split
    from course.mlp import tune_l2

    pixels, digit = load_digits()
    x_dev, y_dev, x_test, y_test = split(pixels / 16, digit, test_fraction=0.2, seed=0)
    for seed in range(5):
        best, scores = tune_l2(lambda s=seed: MLP([64, 64, 10], seed=s), x_dev, y_dev,
                               [0.0, 1e-3, 1e-2, 1e-1], 0.1, 1000, 64, seed)
        assert max(scores, key=scores.get) == 0.1 and scores[0.1] > 3 * scores[best], seed
        if seed == 0:
            net = MLP([64, 64, 10], seed=0)
            sgd_train(net, SoftmaxCrossEntropy(), x_dev, y_dev, 0.1, best, 64, 1000)
            accuracy = np.mean(np.argmax(net.forward(x_test), axis=1) == y_test)
            assert best == 0.0 and round(accuracy, 3) == 0.947
