
import numpy as np
import pytest

from course import neuron
from course.autodiff import Value
from course.gradcheck import PASS, numerical_gradient, relative_error


@pytest.mark.parametrize(
    "w,b,x,y", [(0.5, -0.3, 1.5, 1.0), (-2.0, 0.7, 0.3, 0.0), (3.0, 1.0, -2.0, 1.0)]
)
def test_hand_gradients_match_central_differences_and_autodiff(w, b, x, y):
    g = neuron.backward(neuron.forward(w, b, x, y))
    p = np.array([w, b])
    num = numerical_gradient(lambda p: neuron.forward(p[0], p[1], x, y).L, p)
    assert relative_error([g.dL_dw, g.dL_db], num) <= 1e-7 * 100
    vw, vb = Value(w), Value(b)
    ((vw * x + vb).sigmoid() - y).__pow__(2).backward()
    assert relative_error([g.dL_dw, g.dL_db], [vw.grad, vb.grad]) <= PASS


def test_hand_gradients_match_torch():
    torch = pytest.importorskip("torch")
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
    ((torch.sigmoid(w * 1.5 + b) - 1.0) ** 2).backward()
    g = neuron.backward(neuron.forward(0.5, -0.3, 1.5, 1.0))
    assert relative_error([g.dL_dw, g.dL_db], [w.grad.item(), b.grad.item()]) <= PASS


def test_sigmoid_is_stable_at_extremes():
    assert neuron.sigmoid(-1000.0) == 0.0 and neuron.sigmoid(1000.0) == 1.0
