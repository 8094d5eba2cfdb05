import numpy as np
import pytest

from course.gradcheck import PASS, numerical_gradient, relative_error
from course.twolayer import TwoLayerNet


def test_backward_matches_central_differences():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    net = TwoLayerNet(3, 4, 2, seed=1)
    net.forward(x, y)
    net.backward()
    for name, p in net.params.items():
        num = numerical_gradient(lambda: net.forward(x, y), p)
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
