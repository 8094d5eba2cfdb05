"""Whole MLPs against torch.autograd, the same code on numpy and torch, explicit accumulation,
initialisers and the errors a learner meets."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course import initializers
from course.backend import convert
from course.gradcheck import relative_error
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
)
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP

torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_forward(layers, h):
    """The same network written with torch's own functions, read off our layers' weights."""
    for layer in layers:
        if isinstance(layer, Residual):
            h = h + torch_forward(layer.layers, h)
        elif isinstance(layer, Linear):
            h = h @ layer.torch_params["W"] + layer.torch_params["b"]
        elif isinstance(layer, (LayerNorm, BatchNorm)):
            g, b = layer.torch_params["gamma"], layer.torch_params["beta"]
            if isinstance(layer, LayerNorm):
                h = F.layer_norm(h, (layer.d,), g, b, layer.eps)
            else:
                h = F.batch_norm(h, None, None, g, b, training=True, eps=layer.eps)
        elif isinstance(layer, LeakyReLU):
            h = F.leaky_relu(h, layer.slope)
        else:
            h = {Sigmoid: torch.sigmoid, Tanh: torch.tanh, ReLU: torch.relu, Identity: lambda t: t,
                 GELU: lambda t: F.gelu(t, approximate="tanh")}[type(layer)](h)
    return h


def torch_gradients(net, x, y):
    """Loss, dL/dx and parameter gradients of ``net`` computed by torch.autograd."""
    names = {}
    for name, layer in net.named_layers():
        layer.torch_params = {k: torch.tensor(p, requires_grad=True) for k, p in
                              layer.params.items()}
        names.update({f"{name}.{k}": t for k, t in layer.torch_params.items()})
    xt = torch.tensor(x, requires_grad=True)
    loss = F.cross_entropy(torch_forward(net.layers, xt), torch.tensor(y))
    loss.backward()
    return loss.item(), xt.grad.numpy(), {k: t.grad.numpy() for k, t in names.items()}


def assert_gradients_match(ours: dict, theirs: dict, tol: float) -> None:
    """Per-parameter relative error below tol. A gradient that is zero in exact arithmetic (the
    bias before BatchNorm, which the normalisation subtracts away) is only round-off on both
    sides: it must then be negligible against the whole gradient instead."""
    assert ours.keys() == theirs.keys()
    total = np.sqrt(sum(np.sum(np.square(convert(g))) for g in theirs.values()))
    for name, g in ours.items():
        a, b = convert(g), convert(theirs[name])
        if max(np.linalg.norm(a), np.linalg.norm(b)) <= 1e-12 * total:
            continue
        assert relative_error(a, b) < tol, name


nets = st.fixed_dictionaries({
    "depth": st.integers(1, 8),
    "width": st.integers(1, 12),
    "activation": st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "identity"]),
    "residual": st.booleans(),
    "norm": st.sampled_from([None, "layernorm", "batchnorm"]),
    "seed": st.integers(0, 2**16),
})


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(nets)
def test_random_mlps_match_torch_autograd_to_1e_9(spec):
    depth, width, seed = spec.pop("depth"), spec.pop("width"), spec.pop("seed")
    if spec["norm"] == "layernorm" and width < 2:
        width = 2
    net = MLP([3] + [width] * depth + [4], seed=seed, **spec)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(10, 3)), rng.integers(0, 4, 10)
    loss_fn = SoftmaxCrossEntropy()
    loss = float(loss_fn.forward(net.forward(x), y))
    dx = net.backward(loss_fn.backward())
    t_loss, t_dx, t_grads = torch_gradients(net, x, y)
    assert abs(loss - t_loss) <= 1e-12 * max(1.0, abs(t_loss))
    assert relative_error(dx, t_dx) < 1e-9
    assert_gradients_match(net.gradients(), t_grads, 1e-9)


@pytest.mark.parametrize("spec", [
    {"activation": "relu"},
    {"activation": "tanh", "residual": True, "norm": "layernorm"},
    {"activation": "gelu", "residual": True, "norm": "batchnorm"},
])
def test_the_same_mlp_code_on_torch_tensors_gives_the_numpy_loss_and_gradients(spec):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 5)), rng.integers(0, 3, 16)
    net = MLP([5, 8, 8, 3], **spec)
    on_torch = copy.deepcopy(net).to("torch")
    results = []
    for model, xs, ys in [(net, x, y), (on_torch, torch.tensor(x), torch.tensor(y))]:
        loss_fn = SoftmaxCrossEntropy()
        loss = loss_fn.forward(model.forward(xs), ys)
        dx = model.backward(loss_fn.backward())
        results.append((float(loss), convert(dx), {k: convert(g) for k, g in
                                                   model.gradients().items()}))
    (l_np, dx_np, g_np), (l_t, dx_t, g_t) = results
    assert isinstance(on_torch.parameters()["0.W"], torch.Tensor)
    assert abs(l_np - l_t) < 1e-12 and relative_error(dx_np, dx_t) < 1e-12
    assert_gradients_match(g_t, g_np, 1e-12)


@pytest.mark.parametrize("xp", ["numpy", "torch"])
def test_float32_stays_float32_through_forward_and_backward(xp):
    net = MLP([2, 4, 2], norm="layernorm").to(xp, dtype="float32")
    x = convert(np.ones((3, 2)), xp, dtype="float32")
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(net.forward(x), convert(np.array([0, 1, 1]), xp))
    dx = net.backward(loss_fn.backward())
    assert "float32" in str(loss.dtype) and "float32" in str(dx.dtype)
    assert all("float32" in str(g.dtype) for g in net.gradients().values())


def test_gradients_overwrite_by_default_and_accumulate_over_micro_batches_when_asked():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2)), rng.integers(0, 2, 8)
    net, loss_fn = MLP([2, 6, 2], activation="tanh"), SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    full = {k: g.copy() for k, g in net.gradients().items()}
    for half in (slice(0, 4), slice(4, 8)):          # forgetting zero_grad is harmless here
        loss_fn.forward(net.forward(x[half]), y[half])
        net.backward(loss_fn.backward())
    assert relative_error(net.gradients()["0.W"], full["0.W"]) > 1e-3
    net.zero_grad()
    for half in (slice(0, 4), slice(4, 8)):          # each half's mean loss weighs 1/2
        loss_fn.forward(net.forward(x[half]), y[half])
        net.backward(loss_fn.backward() / 2, accumulate=True)
    for name, g in net.gradients().items():
        assert relative_error(g, full[name]) < 1e-12, name


def test_structure_names_and_residual_blocks():
    net = MLP([2, 4, 4, 4, 3], activation="tanh", residual=True, norm="layernorm")
    assert [type(layer).__name__ for layer in net.layers] == [
        "Linear", "LayerNorm", "Tanh", "Residual", "Residual", "Linear"]
    assert list(net.parameters()) == [
        "0.W", "0.b", "1.gamma", "1.beta", "3.0.W", "3.0.b", "3.1.gamma", "3.1.beta",
        "4.0.W", "4.0.b", "4.1.gamma", "4.1.beta", "5.W", "5.b"]
    assert len(net.linear_layers()) == 4
    assert net.n_params() == sum(p.size for p in net.parameters().values())


def test_the_default_initialiser_follows_the_activation_and_seeds_are_reproducible():
    assert MLP([2, 3, 2], activation="relu").init == "he"
    assert MLP([2, 3, 2], activation="tanh").init == "xavier"
    a, b = MLP([2, 5, 2], seed=3), MLP([2, 5, 2], seed=3)
    np.testing.assert_array_equal(a.parameters()["2.W"], b.parameters()["2.W"])
    assert not np.array_equal(a.parameters()["0.W"], MLP([2, 5, 2], seed=4).parameters()["0.W"])


def test_batchnorm_eval_mode_handles_a_single_example():
    net = MLP([2, 4, 2], norm="batchnorm")
    net.forward(np.random.default_rng(0).normal(size=(32, 2)))
    assert net.eval().forward(np.ones((1, 2))).shape == (1, 2)
    with pytest.raises(ValueError, match="call .eval"):
        net.train().forward(np.ones((1, 2)))


@pytest.mark.parametrize(("name", "std"), [
    ("xavier_normal", np.sqrt(2 / 600)), ("xavier_uniform", np.sqrt(2 / 600)),
    ("he_normal", np.sqrt(2 / 400)), ("he_uniform", np.sqrt(2 / 400)),
])
def test_initialisers_have_the_variance_they_promise(name, std):
    w = initializers.get(name)(400, 200, np.random.default_rng(0))
    assert w.shape == (400, 200)
    assert abs(w.std() / std - 1) < 0.02 and abs(w.mean()) < 0.01 * std * 10


def test_initialiser_specs_zeros_normal_and_errors():
    rng = np.random.default_rng(0)
    assert not initializers.get("zeros")(3, 2, rng).any()
    assert abs(initializers.get(("normal", 0.01))(300, 300, rng).std() / 0.01 - 1) < 0.02
    with pytest.raises(ValueError, match="init must be one of"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="std must be a finite number >= 0"):
        initializers.get(("normal", -1.0))


def test_bad_input_errors_name_the_argument_and_the_expectation():
    net = MLP([3, 4, 2])
    with pytest.raises(ValueError, match=r"layer 0 \(Linear 3 -> 4\).*\(n, 3\), got \(5, 2\)"):
        net.forward(np.ones((5, 2)))
    with pytest.raises(TypeError, match="x must be float32 or float64, got int64"):
        net.forward(np.ones((5, 3), dtype=np.int64))
    x = np.ones((5, 3))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        net.forward(x)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([3, 2], activation="softplus")
    with pytest.raises(ValueError, match="norm must be None or one of"):
        MLP([3, 2], norm="groupnorm")
    with pytest.raises(ValueError, match="sizes must be at least two positive integers"):
        MLP([3])
    with pytest.raises(ValueError, match="xp must be 'numpy' or 'torch'"):
        net.to("jax")


def test_fit_trains_the_course_mlp_identically_on_numpy_and_torch():
    from course.data import spiral
    from course.optim import Adam
    from course.train import accuracy, fit

    x, y = spiral(150, seed=0)
    runs = []
    for xp in ("numpy", "torch"):
        net = MLP([2, 16, 16, 3], seed=0).to(xp)
        xs, ys = convert(x, xp), convert(y, xp)
        history = fit(net, SoftmaxCrossEntropy(), Adam(net.parameters(), 0.02), xs, ys,
                      steps=150, batch_size=32, seed=0, progress=False)
        runs.append((history.loss, accuracy(net, xs, ys)))
    (loss_np, acc_np), (loss_t, acc_t) = runs
    np.testing.assert_allclose(loss_np, loss_t, rtol=1e-9)
    assert loss_np[-1] < 0.3 * loss_np[0] and acc_np == acc_t > 0.8


@pytest.mark.parametrize("residual", [False, True])
def test_backward_without_input_grad_returns_none_and_the_same_parameter_gradients(residual):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    net = MLP([4, 4, 4, 3], residual=residual)
    assert isinstance(net.layers[0], Residual) == residual
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(net.forward(x), y)
    dx = net.backward(loss_fn.backward())
    full = {k: g.copy() for k, g in net.gradients().items()}
    assert dx.shape == (6, 4)
    assert net.backward(loss_fn.backward(), input_grad=False) is None
    for k, g in net.gradients().items():
        np.testing.assert_array_equal(g, full[k])


def test_eval_reaches_batchnorm_inside_residual_blocks_and_train_restores_it():
    net = MLP([3, 3, 3, 2], norm="batchnorm", residual=True)
    norms = [layer for _, layer in net.named_layers() if isinstance(layer, BatchNorm)]
    assert len(norms) == 2
    net.eval()
    assert not any(layer.training for layer in norms)
    net.train()
    assert all(layer.training for layer in norms)
    block = net.layers[0]
    block.eval()
    assert not block.training and not norms[0].training and norms[1].training


def test_classes_build_the_network_from_other_layer_classes_with_the_same_weights():
    from course.layers import Linear, ReLU

    class MyLinear(Linear):
        pass

    class MyReLU(ReLU):
        pass

    mine = MLP([3, 5, 2], seed=4, classes={"linear": MyLinear, "relu": MyReLU})
    lib = MLP([3, 5, 2], seed=4)
    assert [type(layer) for layer in mine.layers] == [MyLinear, MyReLU, MyLinear]
    for name, p in lib.parameters().items():
        np.testing.assert_array_equal(mine.parameters()[name], p)


def test_l2_penalty_returns_half_lambda_sum_of_squared_weights_and_adds_lambda_w():
    from course.mlp import l2_penalty

    net = MLP([3, 4, 2], seed=0)
    net.layers[0].params["b"][...] = 1.0
    before = {k: g.copy() + 0.5 for k, g in net.gradients().items()}
    for layer in net.linear_layers():
        layer.grads = {k: np.full_like(p, 0.5) for k, p in layer.params.items()}
    penalty = l2_penalty(net, 0.1)
    weights = [layer.params["W"] for layer in net.linear_layers()]
    assert penalty == pytest.approx(0.05 * sum(float(np.sum(W**2)) for W in weights))
    for name, g in net.gradients().items():
        extra = 0.1 * net.parameters()[name] if name.endswith("W") else 0.0
        np.testing.assert_allclose(g, before[name] + extra)


def test_sgd_train_holds_out_a_validation_split_and_records_it_before_and_after():
    from course.data import spiral
    from course.losses import SoftmaxCrossEntropy
    from course.mlp import sgd_train

    x, y = spiral(60, seed=0)
    net = MLP([2, 16, 3], seed=0)
    history = sgd_train(net, SoftmaxCrossEntropy(), x, y, lr=0.5, lam=1e-3, batch=16, steps=40,
                        every=10)
    assert len(history["train"]) == 40 and len(history["val_loss"]) == 5
    assert history["val_loss"][-1] < history["val_loss"][0]
    order = np.random.default_rng(0).permutation(60)
    val = order[:12]
    out = net.forward(x[val])
    assert history["val_acc"][-1] == pytest.approx(np.mean(np.argmax(out, axis=1) == y[val]))
