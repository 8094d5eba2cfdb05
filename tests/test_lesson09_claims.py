"""The numeric claims lesson 09 makes, asserted with the library calls and settings it uses: the
course MLP on torch agrees with numpy and with torch.autograd to 1e-12; an idiomatic torch loop
retraces the course MLP's SGD step for step; the Linear Function with the exercise's backward
passes gradcheck and gradgradcheck (the bias-averaged one fails gradcheck, the course's
LayerFunction fails gradgradcheck) and skips dL/dx of the first layer; bfloat16 autocast moves
the logits by 1e-4 to 1e-2; checkpoint_sequential saves under 70% of the bytes with identical
gradients; the digits network reaches 95% test accuracy; 2 data parallel workers reproduce the
full-batch gradient, DDP retraces single-process SGD and, with BatchNorm, does not give the
full-batch gradient. Section 7's claims: nn.Linear's default weights have variance 1/(3 d_in),
He's 2/d_in; train mode is random and batch-dependent, eval mode is not; Adam's L2 decay moves
every weight by the learning rate, AdamW shrinks each by lr * weight_decay; the DigitsNet run
reaches 95% test accuracy; a resumed run's next step equals the uninterrupted one's; float16
flushes 1e-8 to zero and the scaled value survives. The lesson's code cells use the PyTorch
tools a user writes every day, its first cell installs the course in Colab only, and the
learner writes at least 45 lines."""

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
from course.optim import SGD  # noqa: E402
from course.torch_bridge import (  # noqa: E402
    DigitsDataset,
    LayerFunction,
    autograd_gradients,
    evaluate,
    gradient_errors,
    load_checkpoint,
    save_checkpoint,
    step_seconds,
    torch_module,
    train_epoch,
)
from course.torch_ddp import (  # noqa: E402
    course_gradients,
    ddp_task,
    global_batches,
    sampler_shards,
    sgd_on_batches,
    start_workers,
)
from course.train import accuracy  # noqa: E402

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


def _code_cells():
    return [c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code"]


def test_the_lesson_uses_the_settings_checked_here():
    cells = nbformat.read(LESSON, as_version=4).cells
    source = "\n".join(c.source for c in cells)
    codes = _code_cells()
    assert codes[0].startswith("# In Google Colab without the course")
    assert codes[1] == 'from course.requires import require\n\nrequire("torch")'
    for setting in ("sizes = [64, 32, 10]", "x_all / 16",
                    "split(x_all, y_all, test_fraction=0.2, seed=0)", "x_train[:301]",
                    "DataLoader(train_data, batch_size=64, shuffle=True,",
                    "generator=torch.Generator().manual_seed(0))", "epochs = 12",
                    "lr=0.01, weight_decay=0.01", "CosineAnnealingLR(optimizer, T_max=epochs)",
                    "max_norm=1.0", "def __init__(self, hidden=64, p_drop=0.2):",
                    "list(train_loader)[:6]", "for _ in range(4):  # epochs",
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


class _DigitsNet(torch.nn.Module):
    """The lesson's DigitsNet: 64 -> 64 -> BatchNorm -> ReLU -> Dropout(0.2) -> 10, He init."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.hidden, self.norm = nn.Linear(64, 64), nn.BatchNorm1d(64)
        self.drop, self.out = nn.Dropout(0.2), nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.hidden.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.out.weight, nonlinearity="linear")
        nn.init.zeros_(self.hidden.bias)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        return self.out(self.drop(torch.relu(self.norm(self.hidden(x)))))


def _loaders(digits, seed=0):
    from torch.utils.data import DataLoader

    train = DataLoader(DigitsDataset(digits[0], digits[1]), batch_size=64, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    return train, DataLoader(DigitsDataset(digits[2], digits[3]), batch_size=256)


def _run(seed=0, epochs=12):
    torch.manual_seed(seed)
    model = _DigitsNet()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    return model, optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)


def test_digitsnet_reaches_95_percent_with_adamw_cosine_and_clipping_on_several_seeds(digits):
    """The lesson trains seed 0 with loader seed 0; seeds 1 and 2 show it is not luck. One torch
    thread, as the lesson on the CPU (a second thread only waits on tensors this small)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _train_three_seeds(digits)
    finally:
        torch.set_num_threads(threads)


def _train_three_seeds(digits):
    for seed in (0, 1, 2):
        train, test = _loaders(digits, seed)
        model, optimizer, scheduler = _run(seed)
        for _ in range(12):
            train_epoch(model, train, optimizer, 1.0)
            scheduler.step()
        assert evaluate(model, test)[1] >= 0.95, seed


def test_default_linear_init_is_a_sixth_of_he_variance():
    torch.manual_seed(0)
    wide = torch.nn.Linear(1024, 1024)
    assert abs(wide.weight.std().item() * np.sqrt(3 * 1024) - 1) < 0.02
    torch.nn.init.kaiming_normal_(wide.weight, nonlinearity="relu")
    assert abs(wide.weight.std().item() * np.sqrt(1024 / 2) - 1) < 0.02


def test_train_mode_is_random_and_batch_dependent_eval_mode_is_not(digits):
    torch.manual_seed(0)
    net, x = _DigitsNet(), torch.as_tensor(digits[2][:32], dtype=torch.float32)
    with torch.no_grad():
        assert not torch.equal(net.train()(x), net(x))
        assert not torch.allclose(net.train()(x[:8]), net.eval()(x)[:8], atol=1e-3)
        assert torch.equal(net.eval()(x), net(x))
        assert torch.allclose(net(x[:8]), net(x)[:8], atol=1e-6)


def test_adam_l2_moves_each_weight_by_lr_adamw_shrinks_each_by_lr_times_decay():
    out = {}
    for make in (torch.optim.Adam, torch.optim.AdamW):
        w = torch.nn.Parameter(torch.tensor([0.01, 10.0]))
        opt = make([w], lr=0.1, weight_decay=0.1)
        (0 * w).sum().backward()
        opt.step()
        out[make.__name__] = w.detach()
    assert torch.allclose(out["AdamW"], torch.tensor([0.0099, 9.9]))
    assert torch.allclose(out["Adam"], torch.tensor([-0.09, 9.9]), atol=1e-5)


def test_resumed_run_takes_the_uninterrupted_runs_next_step(digits, tmp_path):
    batches = list(_loaders(digits)[0])[:6]

    def steps(model, optimizer, scheduler, part):
        model.train()
        for x, y in part:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
            scheduler.step()

    straight = _run(0)
    steps(*straight, batches[:5])
    torch.manual_seed(5)
    steps(*straight, batches[5:])
    first = _run(0)
    steps(*first, batches[:5])
    save_checkpoint(tmp_path / "c.pt", 5, *first)
    resumed = _run(1)
    assert load_checkpoint(tmp_path / "c.pt", *resumed) == 5
    torch.manual_seed(5)
    steps(*resumed, batches[5:])
    for a, b in zip(straight[0].state_dict().values(), resumed[0].state_dict().values()):
        assert torch.equal(a, b)
    fresh = _run(1)  # without the checkpoint the step differs
    steps(*fresh, batches[5:])
    assert not torch.equal(fresh[0].out.weight, straight[0].out.weight)


def test_float16_flushes_1e_8_to_zero_and_the_scaled_value_survives():
    g = torch.tensor([1e-8, 3e-6])
    assert g.half()[0] == 0 and (g * 65536).half()[0] > 0
    assert torch.finfo(torch.float16).tiny == pytest.approx(6.1e-5, rel=0.01)


TOOLS = {"DataLoader": "DataLoader(", "model.train()": ".train()", "model.eval()": ".eval()",
         "torch.no_grad or inference_mode": "torch.no_grad()",
         "the optimizer's state_dict": "optimizer.state_dict()",
         "load_state_dict": "optimizer.load_state_dict(", "torch.save": "torch.save(",
         "torch.load": "torch.load(", "autocast": "torch.autocast(",
         "GradScaler": "torch.amp.GradScaler(", "lr_scheduler": "torch.optim.lr_scheduler.",
         "clip_grad_norm_": "clip_grad_norm_(", "nn.init": "nn.init.",
         "AdamW": "torch.optim.AdamW(", "torch.compile": "torch.compile("}


@pytest.mark.parametrize("tool", list(TOOLS))
def test_the_lessons_code_cells_use_each_everyday_pytorch_tool(tool):
    assert any(TOOLS[tool] in code for code in _code_cells()), tool


def test_the_learner_writes_at_least_45_lines():
    lines, inside = 0, False
    for code in _code_cells():
        for line in code.splitlines():
            text = line.strip()
            if text.startswith("### BEGIN SOLUTION") or text.startswith("### END SOLUTION"):
                inside = text.startswith("### BEGIN")
            elif inside and text and not text.startswith("#"):
                lines += 1
    assert lines >= 45


def _run_colab_cell(monkeypatch, colab: bool, course_found: bool):
    """Run the lesson's first cell with sys.modules, find_spec and subprocess.run faked."""
    import importlib.util
    import subprocess
    import sys
    import types

    calls = []
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        (real_find_spec(name) if course_found else None) if name == "course"
        else real_find_spec(name, *a)))
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append((args, kw)))
    exec(compile(_code_cells()[0], "colab-cell", "exec"), {})
    return calls


@pytest.mark.parametrize(("colab", "course_found"), [(False, True), (False, False), (True, True)])
def test_the_colab_cell_does_nothing_outside_colab_or_with_the_course(monkeypatch, capsys,
                                                                      colab, course_found):
    assert _run_colab_cell(monkeypatch, colab, course_found) == []
    assert capsys.readouterr().out == ""


def test_the_colab_cell_installs_the_course_from_the_repository_and_says_so(monkeypatch, capsys):
    calls = _run_colab_cell(monkeypatch, colab=True, course_found=False)
    assert len(calls) == 1
    args, kwargs = calls[0]
    assert args[1:4] == ["-m", "pip", "install"] and kwargs == {"check": True}
    assert "backprop-course @ git+https://github.com/backprop-course/backprop-course" in args
    assert "--no-deps" in args and "array-api-compat" in args
    out = capsys.readouterr().out
    assert "Colab without the course: installing it from" in out and "Installed the course" in out


def test_the_colab_link_follows_the_binder_badges_owner_and_name():
    title = nbformat.read(LESSON, as_version=4).cells[0].source
    assert ("https://colab.research.google.com/github/backprop-course/backprop-course/blob/main/"
            "lessons/09_scaling_with_pytorch.ipynb") in title


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
