"""The numeric claims lesson 09 makes, asserted with the library calls and settings it uses: the
course MLP on torch agrees with numpy and with torch.autograd to 1e-12, the Linear Function with
the exercise's backward passes gradcheck (the bias-averaged one fails), the digits network
reaches 95% test accuracy, and 2 data parallel workers reproduce the full-batch gradient and
single-process SGD."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course.checks import lesson09  # noqa: E402
from course.data import load_digits, split  # noqa: E402
from course.distributed import (  # noqa: E402
    data_parallel_gradients,
    data_parallel_train,
    mlp_gradients,
    single_process_train,
)
from course.layers import GELU, LayerNorm, Linear, Tanh  # noqa: E402
from course.losses import SoftmaxCrossEntropy  # noqa: E402
from course.mlp import MLP  # noqa: E402
from course.optim import Adam  # noqa: E402
from course.torch_bridge import (  # noqa: E402
    LayerFunction,
    autograd_gradients,
    gradient_errors,
    step_seconds,
)
from course.train import accuracy, fit  # noqa: E402

LESSON = Path(__file__).resolve().parent.parent / "solutions" / "09_scaling_with_pytorch.ipynb"
SIZES = [64, 32, 10]


@pytest.fixture(scope="module")
def digits():
    """The lesson's split: pixels scaled into [0, 1], a fifth of each class held out."""
    x, y = load_digits()
    return split(x / 16, y, test_fraction=0.2, seed=0)


def _forward_backward(net, x, y):
    loss_fn = SoftmaxCrossEntropy()
    out = net.forward(x)
    loss = float(loss_fn.forward(out, y))
    net.backward(loss_fn.backward())
    return out, loss, net.gradients()


def test_the_lesson_uses_the_settings_checked_here():
    source = "\n".join(c.source for c in nbformat.read(LESSON, as_version=4).cells)
    for setting in ("sizes = [64, 32, 10]", "x_all / 16",
                    "split(x_all, y_all, test_fraction=0.2, seed=0)", "x_train[:301]",
                    'MLP([64, 64, 10], seed=0, dtype="float32")', "Adam(net.parameters(), lr=0.01)",
                    "steps=400, batch_size=64, seed=0", "steps=300, lr=1.0, batch_size=64, seed=0",
                    'MLP([64, 32, 32, 32, 10], activation="gelu", residual=True, '
                    'norm="layernorm", seed=1)'):
        assert setting in source, setting


def test_course_mlp_on_torch_equals_numpy_to_1e_12(digits):
    x_train, y_train = digits[0][:128], digits[1][:128]
    out_np, loss_np, g_np = _forward_backward(MLP(SIZES, seed=0), x_train, y_train)
    out_t, loss_t, g_t = _forward_backward(MLP(SIZES, seed=0).to("torch", device="cpu"),
                                           torch.as_tensor(x_train), torch.as_tensor(y_train))
    assert max(gradient_errors({"o": out_np}, {"o": out_t}).values()) < 1e-12
    assert max(gradient_errors(g_np, g_t).values()) < 1e-12
    assert abs(loss_np - loss_t) < 1e-12


def test_both_lesson_networks_agree_with_torch_autograd_to_1e_12(digits):
    x, y = digits[0][:128], digits[1][:128]
    nets = [MLP(SIZES, seed=0),
            MLP([64, 32, 32, 32, 10], activation="gelu", residual=True, norm="layernorm", seed=1)]
    for net in nets:
        net.to("torch")
        _forward_backward(net, torch.as_tensor(x), torch.as_tensor(y))
        _, theirs = autograd_gradients(net, SoftmaxCrossEntropy(), x, y)
        assert max(gradient_errors(net.gradients(), theirs).values()) < 1e-12


class _LinearFunction(torch.autograd.Function):
    backward_fn = staticmethod(lesson09._linear_backward)

    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W + b

    @classmethod
    def backward(cls, ctx, grad_z):
        return cls.backward_fn(*ctx.saved_tensors, grad_z)


class _MeanBias(_LinearFunction):
    backward_fn = staticmethod(lesson09._bias_mean)


def test_gradcheck_passes_the_exercise_backward_and_fails_the_bias_averaged_one():
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(*shape, dtype=torch.float64, generator=gen, requires_grad=True)
              for shape in ((5, 4), (4, 3), (3,))]
    assert torch.autograd.gradcheck(_LinearFunction.apply, inputs)
    assert not torch.autograd.gradcheck(_MeanBias.apply, inputs, raise_exception=False)
    for layer in [Linear(4, 3, rng=0), Tanh(), GELU(), LayerNorm(4)]:
        params = [torch.tensor(p, requires_grad=True) for p in layer.params.values()]
        x = torch.randn(6, 4, dtype=torch.float64, generator=gen, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda x, *p, layer=layer: LayerFunction.apply(layer, x, *p), (x, *params))


def test_a_step_costs_more_at_the_widest_width_than_the_narrowest():
    for xp in ("numpy", "torch"):
        assert step_seconds([64, 1024, 1024, 10], 256, xp, repeats=3) > \
            step_seconds([64, 16, 16, 10], 256, xp, repeats=3)


def test_digits_network_reaches_95_percent_test_accuracy(digits):
    x_train, y_train, x_test, y_test = (torch.as_tensor(a) for a in digits)
    x_train, x_test = x_train.float(), x_test.float()
    net = MLP([64, 64, 10], seed=0, dtype="float32").to("torch", device="cpu")
    history = fit(net, SoftmaxCrossEntropy(), Adam(net.parameters(), lr=0.01), x_train, y_train,
                  steps=400, batch_size=64, seed=0, progress=False)
    assert not history.diverged
    assert accuracy(net, x_test, y_test) >= 0.95


def test_data_parallel_claims(digits):
    x_train, y_train, x_test, y_test = digits
    x_dp, y_dp = x_train[:301], y_train[:301]
    workers = data_parallel_gradients(SIZES, x_dp, y_dp, world_size=2, seed=0, dtype="float64")
    full_loss, full = mlp_gradients(MLP(SIZES, seed=0), x_dp, y_dp)
    assert [w["rows"] for w in workers] == [(0, 151), (151, 301)]
    for w in workers:
        assert max(gradient_errors(w["full_grads"], full).values()) < 1e-12
        assert abs(w["full_loss"] - full_loss) < 1e-12
    plain = {k: (workers[0]["grads"][k] + workers[1]["grads"][k]) / 2 for k in full}
    summed = {k: workers[0]["grads"][k] + workers[1]["grads"][k] for k in full}
    assert max(gradient_errors(plain, full).values()) > 1e-5
    assert max(gradient_errors(summed, full).values()) == pytest.approx(0.5, abs=0.01)

    args = dict(steps=300, lr=1.0, batch_size=64, seed=0, dtype="float64")
    parallel = data_parallel_train(SIZES, x_train, y_train, world_size=2, **args)
    alone = single_process_train(SIZES, x_train, y_train, **args)
    assert max(gradient_errors(parallel[0]["params"], alone["params"]).values()) < 1e-10
    assert max(gradient_errors(parallel[0]["params"], parallel[1]["params"]).values()) < 1e-12
    assert np.abs(np.array(parallel[0]["losses"]) - np.array(alone["losses"])).max() < 1e-10
    trained = MLP(SIZES, seed=0)
    for name, p in trained.parameters().items():
        p[...] = parallel[0]["params"][name]
    assert accuracy(trained, x_test, y_test) >= 0.9
