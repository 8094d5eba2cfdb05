"""Every layer's hand backward against central differences (float64, hypothesis-drawn shapes and
values), and the errors a learner meets when a layer is given the wrong thing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mathcases import CASES

from course.gradcheck import PASS, check_gradients, numerical_gradient, relative_error
from course.layers import (
    GELU,
    BatchNorm,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    ReLU,
    Residual,
    Sigmoid,
    Tanh,
    iter_layers,
)

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True, database=None)
dims = st.integers(1, 6)
# Values on a grid offset from zero: never exactly at ReLU's kink, distinct when unique=True.
grid = st.integers(-300, 300).map(lambda k: k / 100 + 0.005)


def matrix(n, d, unique=False):
    return hnp.arrays(np.float64, (n, d), elements=grid, unique=unique)


def upstream_for(out, seed=0):
    return np.random.default_rng(seed).normal(size=out.shape)


def assert_backward_matches_differences(layer, x, seed=0):
    """With L = sum(out * R) for a fixed random R, backward(R) must equal dL/dx and dL/dparams."""
    r = upstream_for(layer.forward(x), seed)
    dx = layer.backward(r)

    def loss():
        return float(np.sum(layer.forward(x) * r))

    report = check_gradients(loss, {"x": x, **layer.params}, {"x": dx, **layer.grads})
    assert report.ok, str(report)


@EXAMPLES
@given(st.data(), dims, dims, dims)
def test_linear_backward_matches_central_differences(data, n, d_in, d_out):
    layer = Linear(d_in, d_out, rng=data.draw(st.integers(0, 2**32 - 1)))
    layer.params["b"][:] = data.draw(hnp.arrays(np.float64, d_out, elements=grid))
    assert_backward_matches_differences(layer, data.draw(matrix(n, d_in)))


ACTIVATIONS = [Sigmoid, Tanh, ReLU, LeakyReLU, GELU, Identity]


@pytest.mark.parametrize("cls", ACTIVATIONS, ids=lambda c: c.__name__)
@EXAMPLES
@given(st.data(), dims, dims)
def test_activation_backward_matches_central_differences(cls, data, n, d):
    assert_backward_matches_differences(cls(), data.draw(matrix(n, d)))


LAYER_CASES = [c for c in CASES if c.layer is not None]


def test_every_activation_layer_has_a_shared_math_case():
    assert {c.layer for c in LAYER_CASES} == {cls.__name__ for cls in ACTIVATIONS}


@pytest.mark.parametrize("c", LAYER_CASES, ids=lambda c: c.name)
def test_activations_agree_with_the_shared_math_cases_used_by_the_scalar_engine(c):
    z = np.linspace(*c.domain, 41).reshape(1, -1) + 0.005
    layer = {cls.__name__: cls for cls in ACTIVATIONS}[c.layer]()
    np.testing.assert_allclose(layer.forward(z), c.numpy(z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(np.ones_like(z)), c.derivative(z),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("c", LAYER_CASES, ids=lambda c: c.name)
def test_activation_layers_match_torch_autograd_on_the_shared_cases(c):
    torch = pytest.importorskip("torch")
    z = np.linspace(*c.domain, 41).reshape(1, -1) + 0.005
    layer = {cls.__name__: cls for cls in ACTIVATIONS}[c.layer]()
    t = torch.tensor(z, requires_grad=True)
    out = c.torch(t)
    out.backward(torch.ones_like(out))
    np.testing.assert_allclose(layer.forward(z), out.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(np.ones_like(z)), t.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


@EXAMPLES
@given(st.data(), dims, dims)
def test_residual_block_backward_matches_central_differences(data, n, d):
    # Weights of std 0.3 keep tanh off its flat tails, where gradients are ~1e-4 and central
    # differences resolve them only to ~1e-7.
    w_rng = data.draw(st.integers(0, 2**32 - 1))
    block = Residual([Linear(d, d, init=("normal", 0.3), rng=w_rng), Tanh()])
    x = data.draw(matrix(n, d))
    r = upstream_for(block.forward(x))
    dx = block.backward(r)
    inner = block.layers[0]

    def loss():
        return float(np.sum(block.forward(x) * r))

    report = check_gradients(loss, {"x": x, **inner.params}, {"x": dx, **inner.grads})
    assert report.ok, str(report)


# d >= 3 and n >= 3: with two entries the normalised values are +-1 whatever x is, the gradient
# is ~0 and central differences measure only round-off (not a well-conditioned point).
@EXAMPLES
@given(st.data(), dims, st.integers(3, 6))
def test_layernorm_backward_matches_central_differences(data, n, d):
    layer = LayerNorm(d)
    layer.params["gamma"][:] = data.draw(hnp.arrays(np.float64, d, elements=grid))
    layer.params["beta"][:] = data.draw(hnp.arrays(np.float64, d, elements=grid))
    assert_backward_matches_differences(layer, data.draw(matrix(n, d, unique=True)))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@EXAMPLES
@given(st.data(), st.integers(3, 6), dims)
def test_batchnorm_backward_matches_central_differences(training, data, n, d):
    layer = BatchNorm(d)
    layer.params["gamma"][:] = data.draw(hnp.arrays(np.float64, d, elements=grid))
    layer.buffers["running_mean"][:] = data.draw(hnp.arrays(np.float64, d, elements=grid))
    layer.training = training
    x = data.draw(matrix(n, d, unique=True))
    if training:
        # Running statistics change on every forward; differences must see the same function.
        frozen = dict(layer.buffers)
        forward = layer.forward

        def forward_frozen(x_):
            out = forward(x_)
            layer.buffers = dict(frozen)
            return out

        layer.forward = forward_frozen
    assert_backward_matches_differences(layer, x)


def test_batchnorm_running_statistics_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = BatchNorm(4), torch.nn.BatchNorm1d(4, dtype=torch.float64)
    for _ in range(5):
        x = rng.normal(2.0, 3.0, size=(16, 4))
        np.testing.assert_allclose(ours.forward(x), theirs(torch.tensor(x)).detach().numpy(),
                                   atol=1e-12)
    np.testing.assert_allclose(ours.buffers["running_mean"], theirs.running_mean.numpy())
    np.testing.assert_allclose(ours.buffers["running_var"], theirs.running_var.numpy())
    ours.training = False
    theirs.eval()
    x = rng.normal(size=(1, 4))
    np.testing.assert_allclose(ours.forward(x), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)


def test_gelu_is_torchs_tanh_approximation():
    torch = pytest.importorskip("torch")
    z = np.linspace(-6, 6, 49).reshape(7, 7)
    t = torch.tensor(z, requires_grad=True)
    torch.nn.functional.gelu(t, approximate="tanh").sum().backward()
    layer = GELU()
    np.testing.assert_allclose(layer.forward(z), torch.nn.functional.gelu(
        torch.tensor(z), approximate="tanh").numpy(), rtol=1e-12, atol=1e-15)
    assert relative_error(layer.backward(np.ones_like(z)), t.grad.numpy()) < 1e-12


# ---------------------------------------------------------------- stability


@pytest.mark.parametrize("cls", ACTIVATIONS, ids=lambda c: c.__name__)
def test_activations_stay_finite_without_warnings_at_plus_minus_1000(cls):
    z = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    layer = cls()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = layer.forward(z)
        g = layer.backward(np.ones_like(z))
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(g))


def test_sigmoid_at_plus_minus_1000_is_exactly_saturated_and_its_gradient_vanishes():
    a = Sigmoid().forward(np.array([[-1000.0, 1000.0]]))
    np.testing.assert_array_equal(a, [[0.0, 1.0]])


Z_EXTREME = np.array([[-np.inf, -1e200, 0.0, 1e200, np.inf]])
# The limit of each activation and of its derivative at -inf, -1e200, 0, 1e200, +inf
# (a = z stays infinite; what matters is that nothing becomes nan).
EXTREME_LIMITS = {
    ReLU: ([0, 0, 0, 1e200, np.inf], [0, 0, 0, 1, 1]),
    LeakyReLU: ([-np.inf, -1e198, 0, 1e200, np.inf], [0.01, 0.01, 0.01, 1, 1]),
    Sigmoid: ([0, 0, 0.5, 1, 1], [0, 0, 0.25, 0, 0]),
    Tanh: ([-1, -1, 0, 1, 1], [0, 0, 1, 0, 0]),
    GELU: ([0, 0, 0, 1e200, np.inf], [0, 0, 0.5, 1, 1]),
    Identity: ([-np.inf, -1e200, 0, 1e200, np.inf], [1, 1, 1, 1, 1]),
}


def test_every_activation_has_its_limits_at_infinity_listed():
    assert set(EXTREME_LIMITS) == set(ACTIVATIONS)


@pytest.mark.parametrize("cls", ACTIVATIONS, ids=lambda c: c.__name__)
def test_activations_at_plus_minus_inf_give_their_limits_never_nan(cls):
    """Regression: ReLU used z * mask, and -inf * 0 is nan; GELU's cubic overflowed."""
    layer = cls()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = layer.forward(Z_EXTREME)
        g = layer.backward(np.ones_like(Z_EXTREME))
    want_a, want_g = EXTREME_LIMITS[cls]
    np.testing.assert_array_equal(a, [want_a])
    np.testing.assert_array_equal(g, [want_g])


@pytest.mark.parametrize("cls", [ReLU, LeakyReLU, Identity], ids=lambda c: c.__name__)
def test_an_infinite_upstream_passes_a_piecewise_linear_unit_without_nan(cls):
    """A dead ReLU sends back 0 even for an infinite upstream (torch's threshold_backward)."""
    layer = cls()
    layer.forward(np.array([[-1.0, 2.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = layer.backward(np.array([[np.inf, -np.inf]]))
    assert not np.any(np.isnan(g))
    assert g[0, 1] == -np.inf


@pytest.mark.parametrize("cls", ACTIVATIONS, ids=lambda c: c.__name__)
def test_a_nan_input_stays_nan_so_a_diverged_run_shows_as_one(cls):
    """The -inf fix must not swallow nan: relu(nan) is nan, as np.maximum and torch.relu give."""
    with np.errstate(invalid="ignore"):
        a = cls().forward(np.array([[np.nan, 1.0]]))
    assert np.isnan(a[0, 0]) and np.isfinite(a[0, 1])


def test_relu_of_minus_inf_matches_torch():
    torch = pytest.importorskip("torch")
    z = torch.tensor([[-np.inf, -1.0, 2.0, np.inf]], dtype=torch.float64)
    np.testing.assert_array_equal(ReLU().forward(z).numpy(), torch.relu(z).numpy())


# ---------------------------------------------------------------- gradients overwrite by default


def test_backward_overwrites_gradients_unless_asked_to_accumulate():
    layer = Linear(3, 2, rng=0)
    x, r = np.ones((4, 3)), np.ones((4, 2))
    layer.forward(x)
    layer.backward(r)
    once = layer.grads["W"].copy()
    layer.backward(r)
    np.testing.assert_array_equal(layer.grads["W"], once)
    layer.backward(r, accumulate=True)
    np.testing.assert_array_equal(layer.grads["W"], 2 * once)
    layer.zero_grad()
    assert not layer.grads["W"].any()


# ---------------------------------------------------------------- bad input


def test_linear_names_itself_the_expected_and_the_given_shape():
    layer = Linear(3, 5)
    layer.name = "0"
    with pytest.raises(ValueError, match=r"layer 0 \(Linear 3 -> 5\).*\(n, 3\), got \(2, 4\)"):
        layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"\(n, 3\), got \(3,\)"):
        layer.forward(np.ones(3))


def test_integer_input_is_refused_with_the_dtype_named():
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        Linear(2, 2).forward(np.ones((1, 2), dtype=np.int64))


def test_float32_input_to_float64_parameters_says_how_to_convert():
    with pytest.raises(TypeError, match="x is float32 but the parameters are float64"):
        Linear(2, 2).forward(np.ones((1, 2), dtype=np.float32))


def test_backward_before_forward_and_a_wrong_upstream_are_clear_errors():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        Tanh().backward(np.ones((1, 1)))
    layer = Linear(2, 3)
    layer.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"upstream must have shape \(4, 3\), got \(4, 2\)"):
        layer.backward(np.ones((4, 2)))


def test_bad_sizes_and_a_shape_changing_residual_block_are_refused():
    with pytest.raises(ValueError, match="d_out must be a positive integer"):
        Linear(2, 0)
    with pytest.raises(ValueError, match="a residual block must keep the shape"):
        Residual([Linear(2, 3)]).forward(np.ones((1, 2)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        BatchNorm(2).forward(np.ones((1, 2)))


def test_numerical_gradient_used_here_is_central_and_float64():
    x = np.array([0.3, -1.2])
    g = numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert relative_error(g, np.cos(x)) < PASS


def test_batchnorm_eval_method_switches_to_running_statistics_as_its_error_advises():
    bn = BatchNorm(2)
    with pytest.raises(ValueError, match=r"call \.eval\(\) first"):
        bn.forward(np.ones((1, 2)))
    assert bn.eval() is bn and not bn.training
    np.testing.assert_allclose(bn.forward(np.ones((1, 2))), np.ones((1, 2)) / np.sqrt(1 + 1e-5))
    assert bn.train().training


def test_iter_layers_opens_residual_blocks_input_side_first():
    inner = [Linear(3, 3, rng=0), BatchNorm(3), ReLU()]
    layers = [Linear(2, 3, rng=0), Residual(inner), Linear(3, 1, rng=0)]
    assert list(iter_layers(layers)) == [layers[0], *inner, layers[2]]
    assert list(iter_layers(layers, containers=True)) == [layers[0], layers[1], *inner, layers[2]]
    assert list(iter_layers(inner[0])) == [inner[0]]
