"""Optimizers and clip_grad_norm against torch.optim on identical gradients."""

import numpy as np
import pytest

from course.gradcheck import relative_error
from course.optim import SGD, Adam, AdamW, RMSprop, clip_grad_norm, global_norm, warmup_cosine

torch = pytest.importorskip("torch")

SHAPES = {"0.W": (3, 4), "0.b": (4,), "1.W": (4, 2), "1.b": (2,)}
STEPS = 20


def _params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}


def _grad_sequence(seed=1):
    """STEPS dicts of gradients, the same for both sides."""
    rng = np.random.default_rng(seed)
    return [{n: rng.standard_normal(s) for n, s in SHAPES.items()} for _ in range(STEPS)]


CASES = [
    ("sgd", lambda p: SGD(p, lr=0.1), lambda t: torch.optim.SGD(t, lr=0.1)),
    ("sgd_weight_decay", lambda p: SGD(p, lr=0.1, weight_decay=0.05),
     lambda t: torch.optim.SGD(t, lr=0.1, weight_decay=0.05)),
    ("momentum", lambda p: SGD(p, lr=0.05, momentum=0.9),
     lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.9)),
    ("nesterov", lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True),
     lambda t: torch.optim.SGD(t, lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", lambda p: Adam(p, lr=0.01), lambda t: torch.optim.Adam(t, lr=0.01)),
    ("adam_l2", lambda p: Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
     lambda t: torch.optim.Adam(t, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("adamw", lambda p: AdamW(p, lr=0.01, weight_decay=0.1),
     lambda t: torch.optim.AdamW(t, lr=0.01, weight_decay=0.1)),
    ("rmsprop", lambda p: RMSprop(p, lr=0.01), lambda t: torch.optim.RMSprop(t, lr=0.01)),
    ("rmsprop_alpha", lambda p: RMSprop(p, lr=0.003, alpha=0.9, eps=1e-6),
     lambda t: torch.optim.RMSprop(t, lr=0.003, alpha=0.9, eps=1e-6)),
]


@pytest.mark.parametrize("label, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_every_step_matches_torch_optim_on_identical_gradients(label, ours, theirs):
    params = _params()
    tensors = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    opt, topt = ours(params), theirs(list(tensors.values()))
    for step, grads in enumerate(_grad_sequence(), start=1):
        opt.step(grads)
        for n, t in tensors.items():
            t.grad = torch.tensor(grads[n])
        topt.step()
        for n in SHAPES:
            err = relative_error(params[n], tensors[n].detach().numpy())
            assert err < 1e-6, f"{label}: {n} differs from torch at step {step}: {err:.3g}"


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: AdamW(p)])
def test_float32_numpy_parameters_stay_float32_and_are_updated_in_place(make):
    params = _params(dtype=np.float32)
    arrays_before = {n: p for n, p in params.items()}
    values_before = {n: p.copy() for n, p in params.items()}
    opt = make(params)
    opt.step({n: np.ones(s, dtype=np.float32) for n, s in SHAPES.items()})
    for n, p in params.items():
        assert p is arrays_before[n] and p.dtype == np.float32
        assert not np.allclose(p, values_before[n])


def test_torch_tensor_parameters_are_updated_in_place_with_dtype_kept():
    params = {n: torch.tensor(p) for n, p in _params(dtype=np.float32).items()}
    mirror = {n: p.numpy().copy() for n, p in params.items()}
    grads = _grad_sequence()[0]
    Adam(params, lr=0.01).step({n: torch.tensor(g, dtype=torch.float32) for n, g in grads.items()})
    Adam(mirror, lr=0.01).step({n: g.astype(np.float32) for n, g in grads.items()})
    for n, p in params.items():
        assert p.dtype == torch.float32
        assert relative_error(p.numpy(), mirror[n]) < 1e-6


def test_torch_leaf_tensors_that_require_grad_can_be_stepped():
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    SGD({"w": w}, lr=0.5, momentum=0.9).step({"w": torch.ones(3, dtype=torch.float64)})
    assert w.requires_grad and torch.equal(w.detach(), torch.full((3,), 0.5, dtype=torch.float64))


def test_state_is_kept_per_parameter_name():
    opt = SGD(_params(), lr=0.1, momentum=0.5)
    opt.step(_grad_sequence()[0])
    assert set(opt.state) == set(SHAPES)
    assert all(opt.state[n]["velocity"].shape == s for n, s in SHAPES.items())


def test_negative_learning_rate_is_rejected_naming_lr():
    with pytest.raises(ValueError, match="lr"):
        SGD(_params(), lr=-0.1)
    with pytest.raises(ValueError, match="lr"):
        Adam(_params(), lr=float("nan"))


def test_grads_missing_a_parameter_name_the_missing_name():
    grads = _grad_sequence()[0]
    del grads["1.b"]
    with pytest.raises(KeyError, match="1.b"):
        Adam(_params()).step(grads)


def test_gradient_of_the_wrong_shape_names_the_parameter_and_both_shapes():
    grads = _grad_sequence()[0]
    grads["0.W"] = grads["0.W"].T
    with pytest.raises(ValueError, match=r"'0.W'.*\(4, 3\).*\(3, 4\)"):
        SGD(_params(), lr=0.1).step(grads)


def test_bad_hyperparameters_are_rejected():
    with pytest.raises(ValueError, match="nesterov"):
        SGD(_params(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        SGD(_params(), lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="betas"):
        Adam(_params(), betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="params"):
        SGD([np.zeros(3)], lr=0.1)


@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e3])
def test_clip_grad_norm_matches_torch_and_returns_the_norm_before_clipping(max_norm):
    grads = {n: 10 * g for n, g in _grad_sequence()[0].items()}
    tensors = [torch.tensor(g.copy(), requires_grad=True) for g in grads.values()]
    for t in tensors:
        t.grad = t.detach().clone()
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = clip_grad_norm(grads, max_norm)
    assert abs(norm - float(torch_norm)) <= 1e-12 * norm
    for g, t in zip(grads.values(), tensors):
        assert relative_error(g, t.grad.numpy()) < 1e-6
    assert global_norm(grads) == pytest.approx(min(norm, max_norm), rel=1e-12)


def test_clip_grad_norm_leaves_non_finite_gradients_untouched_and_returns_the_bad_norm():
    grads = {"w": np.array([1.0, np.inf]), "b": np.array([2.0])}
    assert clip_grad_norm(grads, 1.0) == np.inf
    assert grads["b"][0] == 2.0


def test_clip_grad_norm_rejects_a_non_positive_threshold():
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm({"w": np.ones(2)}, 0.0)


def test_warmup_cosine_climbs_linearly_then_falls_along_half_a_cosine_to_zero():
    factors = np.array([warmup_cosine(t, 100, 10) for t in range(1, 101)])
    np.testing.assert_allclose(factors[:10], np.arange(1, 11) / 10)
    assert factors[9] == 1.0 and factors[-1] == pytest.approx(0.0, abs=1e-15)
    assert np.all(np.diff(factors[9:]) < 0) and factors[54] == pytest.approx(0.5)


@pytest.mark.parametrize("args", [(0, 10, 2), (11, 10, 2), (3, 10, 10), (1.5, 10, 2)])
def test_warmup_cosine_rejects_steps_outside_the_run(args):
    with pytest.raises(ValueError):
        warmup_cosine(*args)


def test_rmsprop_rejects_a_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        RMSprop({"w": np.zeros(2)}, lr=0.1, alpha=1.0)
