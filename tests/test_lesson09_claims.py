"""The numeric claims lesson 09 makes, asserted with the library calls and settings it uses: the
course MLP on torch agrees with numpy and with torch.autograd to 1e-12; an idiomatic torch loop
retraces the course MLP's SGD step for step; the Linear Function with the exercise's backward
passes gradcheck and gradgradcheck (the bias-averaged one fails gradcheck, the course's
LayerFunction fails gradgradcheck) and skips dL/dx of the first layer; bfloat16 autocast moves
the logits by 1e-4 to 1e-2; checkpoint_sequential saves under 70% of the bytes with identical
gradients; the digits network reaches 95% test accuracy; 2 data parallel workers reproduce the
full-batch gradient, DDP retraces single-process SGD and, with BatchNorm, does not give the
full-batch gradient."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch.utils.checkpoint import checkpoint_sequential  # noqa: E402

from course.checks import lesson09  # noqa: E402
from course.data import load_digits, split  # noqa: E402
from course.distributed import data_parallel_gradients, mlp_gradients  # noqa: E402
from course.layers import GELU, LayerNorm, Linear, Tanh  # noqa: E402
from course.losses import SoftmaxCrossEntropy  # noqa: E402
from course.mlp import MLP  # noqa: E402
from course.optim import SGD, Adam  # noqa: E402
from course.torch_bridge import (  # noqa: E402
    LayerFunction,
    autograd_gradients,
    gradient_errors,
    step_seconds,
    torch_module,
)
from course.torch_ddp import (  # noqa: E402
    course_gradients,
    ddp_task,
    global_batches,
    sampler_shards,
    sgd_on_batches,
    start_workers,
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
    cells = nbformat.read(LESSON, as_version=4).cells
    source = "\n".join(c.source for c in cells)
    first_code = next(c.source for c in cells if c.cell_type == "code")
    assert first_code == 'from course.requires import require\n\nrequire("torch")'
    for setting in ("sizes = [64, 32, 10]", "x_all / 16",
                    "split(x_all, y_all, test_fraction=0.2, seed=0)", "x_train[:301]",
                    'MLP([64, 64, 10], seed=0, dtype="float32")', "Adam(net.parameters(), lr=0.01)",
                    "steps=400, batch_size=64, seed=0",
                    "rng.choice(len(y_train), 64, replace=False) for _ in range(30)",
                    "SGD(course_net.parameters(), lr=0.5)",
                    "torch.optim.SGD(model.parameters(), lr=0.5)",
                    "MLP([64] + [256] * 8 + [10], seed=0)", "segments = 4",
                    "np.random.default_rng(1).normal(size=(256, 64))",
                    "batch_per_worker=32, steps=300, lr=1.0",
                    "dict(sizes=[64, 32, 32, 10], x=x_train, y=y_train, batch_per_worker=32, "
                    "steps=1,",
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


def test_torch_loop_retraces_the_course_mlp_step_for_step(digits):
    x_train, y_train = digits[0], digits[1]
    course_net = MLP(SIZES, seed=0)
    module, names = torch_module(MLP(SIZES, seed=0))
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(y_train), 64, replace=False) for _ in range(30)]
    opt = SGD(course_net.parameters(), lr=0.5)
    course_losses = []
    for idx in batches:
        loss, grads = mlp_gradients(course_net, x_train[idx], y_train[idx])
        opt.step(grads)
        course_losses.append(loss)
    torch_losses = lesson09._train_steps(
        module, torch.optim.SGD(module.parameters(), lr=0.5),
        [(torch.as_tensor(x_train[i]), torch.as_tensor(y_train[i])) for i in batches])
    assert np.abs(np.array(course_losses) - np.array(torch_losses)).max() < 1e-12
    final = {k: (p.T if t else p).detach().numpy() for k, (p, t) in names.items()}
    assert max(np.abs(final[k] - course_net.parameters()[k]).max() for k in final) < 1e-12
    assert course_losses[-1] < course_losses[0]


class _LinearFunction(torch.autograd.Function):
    backward_fn = staticmethod(lesson09._linear_backward)
    seen: list = []

    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W + b

    @classmethod
    def backward(cls, ctx, grad_z):
        cls.seen.append(ctx.needs_input_grad)
        return cls.backward_fn(ctx, grad_z)


class _MeanBias(_LinearFunction):
    backward_fn = staticmethod(lesson09._bias_mean)


def test_gradcheck_and_gradgradcheck_claims():
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(*shape, dtype=torch.float64, generator=gen, requires_grad=True)
              for shape in ((5, 4), (4, 3), (3,))]
    assert torch.autograd.gradcheck(_LinearFunction.apply, inputs)
    assert torch.autograd.gradgradcheck(_LinearFunction.apply, inputs)
    assert not torch.autograd.gradcheck(_MeanBias.apply, inputs, raise_exception=False)
    layer = Linear(4, 3, rng=0)
    params = [torch.tensor(p, requires_grad=True) for p in layer.params.values()]
    assert not torch.autograd.gradgradcheck(
        lambda x, *p: LayerFunction.apply(layer, x, *p), (inputs[0], *params),
        raise_exception=False)
    for layer in [Linear(4, 3, rng=0), Tanh(), GELU(), LayerNorm(4)]:
        params = [torch.tensor(p, requires_grad=True) for p in layer.params.values()]
        x = torch.randn(6, 4, dtype=torch.float64, generator=gen, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda x, *p, layer=layer: LayerFunction.apply(layer, x, *p), (x, *params))


def test_first_layer_is_not_asked_for_the_input_gradient(digits):
    gen = torch.Generator().manual_seed(0)
    W1, W2 = (torch.randn(*s, dtype=torch.float64, generator=gen, requires_grad=True)
              for s in ((64, 32), (32, 10)))
    b1, b2 = (torch.zeros(d, dtype=torch.float64, requires_grad=True) for d in (32, 10))
    _LinearFunction.seen.clear()
    data = torch.as_tensor(digits[0][:8])
    h = torch.relu(_LinearFunction.apply(data, W1, b1))
    F.cross_entropy(_LinearFunction.apply(h, W2, b2), torch.as_tensor(digits[1][:8])).backward()
    assert _LinearFunction.seen == [(True, True, True), (False, True, True)]
    ctx = SimpleNamespace(saved_tensors=(data, W1.detach()), needs_input_grad=(False, True, True))
    assert lesson09._linear_backward(ctx, torch.ones(8, 32, dtype=torch.float64))[0] is None


def test_bfloat16_autocast_moves_logits_by_1e_4_to_1e_2(digits):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    x = torch.as_tensor(digits[2], dtype=torch.float32)
    with torch.no_grad():
        full = module(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = module(x)
    error = float((half.float() - full).norm() / full.norm())
    assert half.dtype == torch.bfloat16 and 1e-4 < error < 1e-2
    assert float((half.argmax(1) == full.argmax(1)).float().mean()) >= 0.99
    assert torch.finfo(torch.bfloat16).eps == 2.0 ** -7


def _saved_bytes(module, run):
    weights = {p.untyped_storage().data_ptr() for p in module.parameters()}
    saved = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in weights:
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = run()
    return out, sum(saved.values())


def test_checkpoint_sequential_saves_under_70_percent_with_identical_gradients():
    module, names = torch_module(MLP([64] + [256] * 8 + [10], seed=0))
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(256, 64)))
    y = torch.as_tensor(np.random.default_rng(2).integers(0, 10, 256))
    results = []
    for run in (lambda: module(x),
                lambda: checkpoint_sequential(module, 4, x, use_reentrant=False)):
        module.zero_grad()
        out, nbytes = _saved_bytes(module, run)
        F.cross_entropy(out, y).backward()
        results.append((nbytes, {k: p.grad.clone() for k, (p, _) in names.items()}))
    (plain, g_plain), (ckpt, g_ckpt) = results
    assert ckpt < 0.7 * plain
    assert all(torch.equal(g_plain[k], g_ckpt[k]) for k in names)


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


def test_course_data_parallel_gradient_claims(digits):
    x_dp, y_dp = digits[0][:301], digits[1][:301]
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


def test_distributed_sampler_pads_301_rows_to_151_each_by_repeating_row_0():
    shards = sampler_shards(301, 2)
    assert [len(s) for s in shards] == [151, 151]
    assert sorted(set(shards[0]) & set(shards[1])) == [0]
    assert [len(s) for s in sampler_shards(301, 2, drop_last=True)] == [150, 150]


def test_ddp_claims(digits):
    x_train, y_train, x_test, y_test = digits
    runs = [dict(sizes=SIZES, x=x_train, y=y_train, batch_per_worker=32, steps=300, lr=1.0),
            dict(sizes=[64, 32, 32, 10], x=x_train, y=y_train, batch_per_worker=32, steps=1,
                 lr=1.0, norm="batchnorm")]
    workers = start_workers(ddp_task, 2, runs, timeout=300)
    plain, bn = [w[0] for w in workers], [w[1] for w in workers]
    batches = global_batches(plain)
    assert len(batches) == 300 and all(len(b) == 64 == len(set(b)) for b in batches)
    alone = sgd_on_batches(SIZES, x_train, y_train, batches, lr=1.0)
    assert max(gradient_errors(plain[0]["params"], alone["params"]).values()) < 1e-10
    assert max(gradient_errors(plain[0]["params"], plain[1]["params"]).values()) < 1e-12
    losses = np.mean([w["losses"] for w in plain], axis=0)
    assert np.abs(losses - np.array(alone["losses"])).max() < 1e-10
    trained = MLP(SIZES, seed=0)
    for name, p in trained.parameters().items():
        p[...] = plain[0]["params"][name]
    assert accuracy(trained, x_test, y_test) >= 0.9

    rows = [w["rows"][0] for w in bn]
    sizes = [64, 32, 32, 10]
    full = course_gradients(sizes, x_train, y_train, np.concatenate(rows), norm="batchnorm")
    shard = [course_gradients(sizes, x_train, y_train, r, norm="batchnorm") for r in rows]
    weights = [k for k in full if k.endswith(".W")]
    ddp = {k: bn[0]["first_grads"][k] for k in weights}
    assert max(gradient_errors(ddp, {k: (shard[0][k] + shard[1][k]) / 2
                                     for k in weights}).values()) < 1e-12
    assert max(gradient_errors(ddp, {k: full[k] for k in weights}).values()) > 0.01


def _sleep_task(rank, world_size, seconds):
    import time

    time.sleep(seconds)
    return rank


def test_start_workers_stops_workers_that_overrun_the_deadline():
    import multiprocessing

    with pytest.raises(TimeoutError, match="did not finish within 5 s"):
        start_workers(_sleep_task, 2, 600, timeout=5)
    assert multiprocessing.active_children() == []
