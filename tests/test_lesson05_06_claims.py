"""The numeric claims lessons 05 and 06 make, asserted with the library functions they call."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.checks import lesson05, lesson06
from course.data import spiral
from course.explore import (
    Settings,
    build_net,
    clipped_update_norm,
    gradient_profile,
    jacobian_norms,
    train_run,
    two_moons,
)
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD, Adam, AdamW
from course.train import accuracy, fit

LOSS = SoftmaxCrossEntropy()


def _standard_spiral(n=300, noise=0.2, seed=0, classes=3):
    x, y = spiral(n, noise=noise, seed=seed, classes=classes)
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def _spiral_net(activation="relu", sizes=(2, 32, 32, 3)):
    return MLP(list(sizes), activation=activation, seed=0)


# ---------------------------------------------------------------- lesson 05


def test_lesson05_hand_written_loop_equals_fit_and_learns_the_spiral():
    x, y = _standard_spiral()
    net = _spiral_net()
    losses = []
    for _ in range(300):
        losses.append(float(LOSS.forward(net.forward(x), y)))
        net.backward(LOSS.backward())
        grads = net.gradients()
        for name, p in net.parameters().items():
            p -= 0.05 * grads[name]
    other = _spiral_net()
    history = fit(other, LOSS, SGD(other.parameters(), lr=0.05), x, y, steps=300,
                  batch_size=None, progress=False)
    assert np.max(np.abs(np.array(history.loss) - losses)) < 1e-12
    assert losses[-1] < 0.6 * losses[0]
    assert (round(losses[0], 3), round(losses[-1], 3)) == (1.262, 0.32)
    assert round(accuracy(net, x, y), 2) == 0.92


def _valley_steps(step_fn, steps=800, level=1e-6):
    """Steps until 0.5 (w1^2 + 100 w2^2) < level from (-4, 0.3), and the path."""
    curvature = np.array([1.0, 100.0])
    w, state, path = np.array([-4.0, 0.3]), np.zeros(2), []
    for _ in range(steps):
        w, state = step_fn(w, curvature * w, state)
        path.append(w)
    losses = [0.5 * float(np.sum(curvature * p**2)) for p in path]
    return int(np.flatnonzero(np.array(losses) < level)[0]) + 1, np.array(path)


def test_lesson05_momentum_crosses_the_valley_four_times_faster_at_the_same_learning_rate():
    n_gd, _ = _valley_steps(lambda w, g, s: (w - 0.015 * g, s))
    n_mom, path = _valley_steps(lambda w, g, v: lesson05._momentum_step(w, g, v, 0.015, 0.9))
    assert (n_gd, n_mom) == (526, 128)
    params = {"w": np.array([-4.0, 0.3])}
    opt = SGD(params, lr=0.015, momentum=0.9)
    for _ in range(800):
        opt.step({"w": np.array([1.0, 100.0]) * params["w"]})
    np.testing.assert_allclose(params["w"], path[-1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("optimizer", "reference"), [
    (lambda p: Adam(p, lr=0.05), lambda w, g, m, v, t: lesson05._adam_step(w, g, m, v, t, 0.05)),
    (lambda p: AdamW(p, lr=0.05, weight_decay=0.1),
     lambda w, g, m, v, t: lesson05._adamw_step(w, g, m, v, t, 0.05, 0.1)),
])
def test_lesson05_adam_and_adamw_exercises_take_the_steps_of_course_optim(optimizer, reference):
    curvature = np.array([1.0, 100.0])
    w, m, v = np.array([-4.0, 0.3]), np.zeros(2), np.zeros(2)
    params = {"w": w.copy()}
    opt = optimizer(params)
    for t in range(1, 201):
        w, m, v = reference(w, curvature * w, m, v, t)
        opt.step({"w": curvature * params["w"]})
    np.testing.assert_allclose(params["w"], w, rtol=1e-9, atol=1e-12)


def test_lesson05_momentum_and_adams_reach_low_loss_several_times_faster_than_sgd():
    x, y = _standard_spiral()
    make = {"sgd": lambda p: SGD(p, lr=0.05), "momentum": lambda p: SGD(p, 0.05, momentum=0.9),
            "adam": lambda p: Adam(p, lr=0.01),
            "adamw": lambda p: AdamW(p, lr=0.01, weight_decay=0.05)}
    reach, acc, norm = {}, {}, {}
    for name, f in make.items():
        net = _spiral_net()
        h = fit(net, LOSS, f(net.parameters()), x, y, steps=400, batch_size=64, seed=0,
                progress=False)
        smooth = np.convolve(h.loss, np.ones(20) / 20, mode="valid")
        reach[name] = int(np.flatnonzero(smooth < 0.3)[0]) + 20
        acc[name] = accuracy(net, x, y)
        norm[name] = math.sqrt(sum(float(np.sum(p**2)) for k, p in net.parameters().items()
                                   if k.endswith(".W")))
    assert reach == {"sgd": 325, "momentum": 59, "adam": 61, "adamw": 62}
    assert reach["sgd"] > 3 * max(reach["momentum"], reach["adam"], reach["adamw"])
    assert min(acc["momentum"], acc["adam"], acc["adamw"]) >= 0.99 and acc["sgd"] < 0.99
    assert norm["adamw"] < norm["adam"]


@pytest.mark.parametrize(("name", "make", "good", "largest"), [
    ("sgd", lambda p, lr: SGD(p, lr=lr), (0.32, 1.0), "diverged at step 8"),
    ("adam", lambda p, lr: Adam(p, lr=lr), (0.0032, 0.32), "worse than guessing"),
])
def test_lesson05_learning_rate_sweep_crawls_converges_and_overshoots(name, make, good, largest):
    x, y = _standard_spiral()
    lrs = np.logspace(-4, 2, 13)
    finals, last = [], None
    for lr in lrs:
        net = _spiral_net()
        last = fit(net, LOSS, make(net.parameters(), lr), x, y, steps=200, batch_size=64,
                   seed=0, progress=False, verbose=False)
        finals.append(np.nan if last.diverged else float(np.mean(last.loss[-20:])))
    finals = np.array(finals)
    converged = lrs[finals < 0.1]
    assert finals[0] > 0.9
    assert [f"{converged.min():.2g}", f"{converged.max():.2g}"] == [f"{v:.2g}" for v in good]
    if largest.startswith("diverged"):
        assert f"diverged at step {last.diverged_at}" == largest
    else:
        assert finals[-1] > math.log(3)


def test_lesson05_long_run_lowers_the_loss_more_than_threefold():
    x, y = _standard_spiral(1000, noise=0.3, seed=1, classes=5)
    net = _spiral_net(sizes=(2, 128, 128, 5))
    h = fit(net, LOSS, Adam(net.parameters(), lr=0.003), x, y, steps=4000, batch_size=128,
            seed=0, progress=False)
    first, last = np.mean(h.loss[:100]), np.mean(h.loss[-100:])
    assert h.steps == 4000 and not h.diverged and last < 0.3 * first
    assert (round(first, 2), round(last, 2), round(accuracy(net, x, y), 2)) == (1.07, 0.06, 0.98)


# ---------------------------------------------------------------- lesson 06

BROKEN = Settings(depth=30, width=32, activation="sigmoid", init="small normal")
EXPLODING = Settings(depth=30, width=32, activation="relu", init="large normal")


def _with(s: Settings, **changes) -> Settings:
    return Settings(**{**s.__dict__, **changes})


def test_lesson06_depth_30_sigmoid_first_layer_gets_1e_minus_54_of_the_last_layers_gradient():
    p = gradient_profile(BROKEN)
    assert round(math.log10(p.grad_norms[0] / p.grad_norms[-1])) == -54
    run = train_run(_with(BROKEN, optimizer="adam", lr=0.01, steps=100))
    assert abs(run.loss[-1] - math.log(2)) < 0.01 and run.accuracy < 0.6


@pytest.mark.parametrize(("s", "sigma", "rms"), [(BROKEN, 0.027, 0.014), (EXPLODING, 9.1, 4.0)])
def test_lesson06_singular_value_products_bound_and_track_the_real_ratio(s, sigma, rms):
    j, p = jacobian_norms(s), gradient_profile(s)
    real = p.signal_norms[1:-1][::-1] / p.signal_norms[-1]
    bound, typical = np.cumprod(j.sigma_max[::-1]), np.cumprod(j.rms[::-1])
    assert np.all(real <= bound) and 0.1 < typical[-1] / real[-1] < 10
    assert float(f"{np.mean(j.sigma_max):.2g}") == sigma and float(f"{np.mean(j.rms):.2g}") == rms


def test_lesson06_fix_table_ratios():
    ratio = {name: gradient_profile(s) for name, s in {
        "broken": BROKEN,
        "relu small": Settings(depth=30, activation="relu", init="small normal"),
        "sigmoid xavier": Settings(depth=30, activation="sigmoid", init="xavier"),
        "tanh xavier": Settings(depth=30, activation="tanh", init="xavier"),
        "relu xavier": Settings(depth=30, activation="relu", init="xavier"),
        "relu he": Settings(depth=30, activation="relu", init="he"),
        "residual": _with(BROKEN, residual=True),
        "layernorm": Settings(depth=30, activation="tanh", init="small normal",
                              norm="layernorm"),
        "batchnorm": Settings(depth=30, activation="tanh", init="small normal",
                              norm="batchnorm"),
    }.items()}
    shown = {name: f"{p.ratio:.1e}" for name, p in ratio.items()}
    assert shown == {"broken": "1.5e-54", "relu small": "5.6e-42", "sigmoid xavier": "3.5e-19",
                     "tanh xavier": "3.1e-01", "relu xavier": "8.4e-06", "relu he": "2.0e-01",
                     "residual": "1.0e+00", "layernorm": "5.2e+00", "batchnorm": "1.1e+02"}
    assert f"{ratio['relu small'].weight_ratio:.2g}" == f"{ratio['relu xavier'].weight_ratio:.2g}"
    assert f"{ratio['relu xavier'].weight_ratio:.2g}" == "3.6"
    assert ratio["relu xavier"].grad_norms.max() < 1e-5 < ratio["relu he"].grad_norms.max()
    per_layer = ratio["batchnorm"].ratio ** (1 / 29)
    assert 1.1 < per_layer < 1.3


def test_lesson06_residual_networks_last_layer_input_is_about_15_per_unit():
    x, _ = two_moons(200, seed=0)
    net = build_net(_with(BROKEN, residual=True))
    h = x
    for layer in net.layers[:-1]:
        h = layer.forward(h)
    assert 14 < float(np.mean(np.abs(h))) < 16


def test_lesson06_healthy_ratio_networks_train_and_the_broken_one_does_not():
    acc = {name: train_run(_with(s, optimizer="adam", lr=0.01, steps=100)).accuracy
           for name, s in {"broken": BROKEN,
                           "relu he": Settings(depth=30, activation="relu", init="he"),
                           "residual": _with(BROKEN, residual=True)}.items()}
    assert {k: round(v, 2) for k, v in acc.items()} == {"broken": 0.5, "relu he": 0.98,
                                                        "residual": 0.86}


def test_lesson06_clipping_bounds_the_step_and_rescues_an_aggressive_run():
    step = _with(EXPLODING, lr=0.01)
    assert clipped_update_norm(step) > 1e10
    assert clipped_update_norm(_with(step, clip=1.0)) <= 0.01 * (1 + 1e-9)
    aggressive = Settings(depth=10, activation="relu", init="he", optimizer="sgd", lr=1.0,
                          steps=100)
    assert train_run(aggressive).diverged_at == 11
    x, y = two_moons(200, seed=0)
    net = build_net(aggressive)
    opt, losses = SGD(net.parameters(), lr=1.0), []
    for _ in range(100):
        losses.append(float(LOSS.forward(net.forward(x), y)))
        net.backward(LOSS.backward())
        opt.step(lesson06._clip_global(net.gradients(), 1.0))
    other = build_net(aggressive)
    history = fit(other, LOSS, SGD(other.parameters(), lr=1.0), x, y, steps=100,
                  batch_size=None, clip=1.0, progress=False)
    np.testing.assert_allclose(history.loss[:50], losses[:50], rtol=1e-5, atol=0)
    np.testing.assert_allclose(history.loss, losses, rtol=0.05, atol=0)
    assert accuracy(net, x, y) > 0.9 and accuracy(other, x, y) > 0.9


def test_lesson06_dead_relus_stay_dead_and_leaky_units_come_back():
    x, y = _standard_spiral()
    out = {}
    for activation in ("relu", "leaky_relu"):
        net = _spiral_net(activation)
        net.parameters()["0.b"][:] -= 3.0
        params = net.parameters()
        z = x @ params["0.W"] + params["0.b"]
        before, off = lesson06._dead_fraction(z), np.all(z <= 0, axis=0)
        LOSS.forward(net.forward(x), y)
        net.backward(LOSS.backward())
        grad_off = float(np.abs(net.gradients()["0.W"][:, off]).max())
        fit(net, LOSS, Adam(net.parameters(), lr=0.01), x, y, steps=1000, batch_size=64, seed=1,
            progress=False)
        after = lesson06._dead_fraction(x @ params["0.W"] + params["0.b"])
        out[activation] = (round(before, 2), grad_off, round(after, 2),
                           round(accuracy(net, x, y), 2))
    assert out["relu"] == (0.62, 0.0, 0.69, 0.79)
    assert out["leaky_relu"][0] == 0.62 and out["leaky_relu"][1] > 0
    assert out["leaky_relu"][2:] == (0.0, 1.0)
