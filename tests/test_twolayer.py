import numpy as np
import pytest

from course.gradcheck import PASS, numerical_gradient, relative_error
from course.twolayer import TwoLayerNet, train


def test_backward_matches_central_differences():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    net = TwoLayerNet(3, 4, 2, seed=1)
    net.forward(x, y)
    net.backward()
    for name, p in net.params.items():
        num = numerical_gradient(lambda _: net.forward(x, y), p)
        assert relative_error(net.grads[name], num) <= PASS * 100, name


def test_backward_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    net = TwoLayerNet(3, 5, 1, seed=0)
    net.forward(x, y)
    net.backward()
    t = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    h = torch.relu(torch.tensor(x) @ t["W1"] + t["b1"])
    loss = 0.5 * ((h @ t["W2"] + t["b2"] - torch.tensor(y)) ** 2).sum() / 6
    loss.backward()
    for k in t:
        assert relative_error(net.grads[k], t[k].grad.numpy()) <= PASS


def test_mismatched_shapes_name_argument_expected_and_given():
    net = TwoLayerNet(3, 4, 2)
    with pytest.raises(ValueError, match=r"x must have shape \('n', 3\), got \(5, 2\)"):
        net.forward(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"y must have shape \(5, 2\), got \(4, 2\)"):
        net.forward(np.zeros((5, 3)), np.zeros((4, 2)))


# ---------------------------------------------------------------- the worked example

WORKED = {"x": 1.5, "y": 2.0, "w1": 0.8, "b1": 0.1, "w2": -1.2, "b2": 0.5}


def _loss_of(params: dict) -> float:
    from course.twolayer import worked_example

    return worked_example(**params).L


def test_worked_example_gradients_match_central_differences():
    from course.twolayer import worked_example

    ex = worked_example(**WORKED)
    for name in ("w1", "b1", "w2", "b2"):
        p = np.array([WORKED[name]])

        def loss(p, name=name):
            return _loss_of({**WORKED, name: float(p[0])})

        assert relative_error(ex.grads()[name], numerical_gradient(loss, p)[0]) <= PASS, name


def test_worked_example_matches_torch():
    torch = pytest.importorskip("torch")
    from course.twolayer import worked_example

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in WORKED.items()}
    yhat = t["w2"] * torch.relu(t["w1"] * t["x"] + t["b1"]) + t["b2"]
    loss = 0.5 * (yhat - t["y"]) ** 2
    loss.backward()
    ex = worked_example(**WORKED)
    assert abs(ex.L - loss.item()) < 1e-15
    for k, g in ex.grads().items():
        assert relative_error(g, t[k].grad.item()) <= 1e-15, k


def test_a_dead_hidden_unit_gives_w1_and_b1_exactly_zero_gradient():
    from course.twolayer import worked_example

    ex = worked_example(**{**WORKED, "b1": -5.0})
    assert ex.z1 < 0 and ex.h == 0.0
    assert ex.dL_dw1 == 0.0 and ex.dL_db1 == 0.0 and ex.dL_dw2 == 0.0
    assert ex.dL_db2 != 0.0


def test_worked_example_table_lists_every_intermediate_and_bad_input_is_named():
    from course.twolayer import WORKED_BACKWARD, WORKED_FORWARD, worked_example

    text = str(worked_example(**WORKED))
    assert all(k in text for k in WORKED_FORWARD + WORKED_BACKWARD)
    with pytest.raises(TypeError, match="w2 must be a real number, got str"):
        worked_example(**{**WORKED, "w2": "1"})


def test_train_is_full_batch_gradient_descent_recording_the_loss_before_each_step():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    net, by_hand = TwoLayerNet(2, 4, 1, seed=0), TwoLayerNet(2, 4, 1, seed=0)
    losses = train(net, x, y, lr=0.05, steps=3)
    expected = []
    for _ in range(3):
        expected.append(by_hand.forward(x, y))
        by_hand.backward()
        for k in by_hand.params:
            by_hand.params[k] = by_hand.params[k] - 0.05 * by_hand.grads[k]
    np.testing.assert_allclose(losses, expected)
    assert losses.shape == (3,) and losses[-1] < losses[0]
    for k in net.params:
        np.testing.assert_allclose(net.params[k], by_hand.params[k])
