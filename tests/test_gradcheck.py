import numpy as np
import pytest

from course.gradcheck import (
    PASS,
    SUSPICIOUS,
    check_gradients,
    check_layer,
    numerical_gradient,
    relative_error,
    verdict,
)


def test_relative_error_is_normwise_and_symmetric():
    a = np.array([1.0, 2.0, 2.0])
    b = np.array([1.0, 2.0, 2.0 + 3e-3])
    assert relative_error(a, b) == pytest.approx(1e-3, rel=1e-3)
    assert relative_error(a, b) == relative_error(b, a)


def test_relative_error_of_two_zero_gradients_is_zero():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_relative_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(3), np.zeros(4))


def test_verdict_thresholds():
    assert verdict(PASS) == "pass"
    assert verdict(PASS * 10) == "suspicious"
    assert verdict(SUSPICIOUS * 10) == "fail"
    assert verdict(float("nan")) == "fail"


def test_numerical_gradient_matches_a_known_gradient_and_restores_x():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    before = x.copy()
    g = numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    assert relative_error(np.cos(before) * before + np.sin(before), g) < PASS
    assert np.array_equal(x, before)


def test_numerical_gradient_perturbs_the_array_itself_so_a_closure_sees_it():
    """f(x)-style, but a loss that reads the array it closes over (a layer's weights) sees the
    perturbation too: the array is perturbed in place, never a copy."""
    w = np.array([[0.5, -1.0, 2.0]])
    g = numerical_gradient(lambda _: float(np.sum(w**3)), w)
    assert relative_error(g, 3 * w**2) < PASS


def test_numerical_gradient_works_on_a_strided_view_and_restores_it():
    base = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    before = base.copy()
    view = base[:, ::2]
    g = numerical_gradient(lambda v: float(np.sum(v**2)), view)
    assert relative_error(g, 2 * before[:, ::2]) < PASS
    assert np.array_equal(base, before)


def test_numerical_gradient_rejects_integer_arrays_by_name():
    with pytest.raises(TypeError, match="x must have dtype float64"):
        numerical_gradient(lambda _: 0.0, np.arange(3))


def test_check_gradients_passes_right_and_fails_wrong_with_worst_entry():
    w = np.array([0.5, -1.5, 2.0])
    loss = lambda: float(np.sum(w**3))  # noqa: E731
    good = check_gradients(loss, {"w": w}, {"w": 3 * w**2})
    assert good.ok and good["w"].status == "pass"
    bad = check_gradients(loss, {"w": w}, {"w": 3 * w**2 + np.array([0, 0, 1.0])})
    assert not bad.ok and bad["w"].status == "fail"
    assert bad["w"].worst_index == (2,)
    assert "fail" in str(bad) and "w" in bad._repr_html_()


def test_check_gradients_names_integer_parameter():
    with pytest.raises(TypeError, match=r"params\['w'\]"):
        check_gradients(lambda: 0.0, {"w": np.arange(3)}, {"w": np.zeros(3)})


def test_check_layer_passes_a_right_layer_and_names_a_wrong_gradient():
    from course.layers import LayerNorm, Linear

    rng = np.random.default_rng(0)
    x, up = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    errors = check_layer(Linear(3, 2, rng=0), x, up)
    assert set(errors) == {"x", "W", "b"} and max(errors.values()) <= PASS

    class HalfDb(Linear):
        def backward(self, upstream, accumulate=False, input_grad=True):
            dx = super().backward(upstream, accumulate, input_grad)
            self.grads["b"] = self.grads["b"] / 2
            return dx

    errors = check_layer(HalfDb(3, 2, rng=0), x, up)
    assert verdict(errors["b"]) == "fail" and errors["W"] <= PASS and errors["x"] <= PASS
    norm = LayerNorm(5)
    norm.params["gamma"] = rng.uniform(0.5, 2.0, 5)
    assert max(check_layer(norm, rng.normal(size=(3, 5)), rng.normal(size=(3, 5))).values()) <= PASS
