"""Lesson 05 (training and optimizers): the training loop, momentum, RMSProp, Adam, AdamW's
decoupled weight decay, a warm-up schedule and the experiment harness, each a pure function of
its inputs (the loop changes only the network it is given)."""

from __future__ import annotations

import numpy as np

from course.checks import variants
from course.checks.core import Exercise, Mistake
from course.experiment import cliff, experiment
from course.optim import warmup_cosine

BETAS = (0.9, 0.999)


# ---------------------------------------------------------------- 05.1 the training loop


def _train(net, loss_fn, x, y, lr, steps):
    """Full-batch gradient descent: ``steps`` times forward, loss, backward, step.

    net: an MLP; x (n, d_in); y (n,) labels -> the list of the ``steps`` losses, each a float
    recorded before its step. Updates net's parameters in place.
    """
    losses = []
    for _ in range(steps):
        loss = float(loss_fn.forward(net.forward(x), y))
        net.backward(loss_fn.backward())
        grads = net.gradients()
        for name, p in net.parameters().items():
            p -= lr * grads[name]
        losses.append(loss)
    return losses


def _train_rebinds(net, loss_fn, x, y, lr, steps):
    losses = []
    for _ in range(steps):
        losses.append(float(loss_fn.forward(net.forward(x), y)))
        net.backward(loss_fn.backward())
        grads = net.gradients()
        for name, p in net.parameters().items():
            p = p - lr * grads[name]  # noqa: F841 (the planted mistake: a new array, not p)
    return losses


def _train_uphill(net, loss_fn, x, y, lr, steps):
    losses = []
    for _ in range(steps):
        losses.append(float(loss_fn.forward(net.forward(x), y)))
        net.backward(loss_fn.backward())
        grads = net.gradients()
        for name, p in net.parameters().items():
            p += lr * grads[name]
    return losses


def _train_accumulates(net, loss_fn, x, y, lr, steps):
    losses = []
    net.zero_grad()
    for _ in range(steps):
        losses.append(float(loss_fn.forward(net.forward(x), y)))
        net.backward(loss_fn.backward(), accumulate=True)
        grads = net.gradients()
        for name, p in net.parameters().items():
            p -= lr * grads[name]
    return losses


def _train_weights_only(net, loss_fn, x, y, lr, steps):
    losses = []
    for _ in range(steps):
        losses.append(float(loss_fn.forward(net.forward(x), y)))
        net.backward(loss_fn.backward())
        grads = net.gradients()
        for name, p in net.parameters().items():
            if name.endswith(".W"):
                p -= lr * grads[name]
    return losses


def _train_records_after_step(net, loss_fn, x, y, lr, steps):
    losses = []
    for _ in range(steps):
        loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward())
        grads = net.gradients()
        for name, p in net.parameters().items():
            p -= lr * grads[name]
        losses.append(float(loss_fn.forward(net.forward(x), y)))
    return losses


def _loop_cases(seeds=(0, 1), sizes=((2, 3, 2), (2, 8, 8, 3))):
    from course.losses import SoftmaxCrossEntropy
    from course.mlp import MLP

    cases = []
    for seed, size in zip(seeds, sizes):
        rng = np.random.default_rng(100 + seed)
        x = rng.normal(size=(12, 2))
        y = rng.integers(0, size[-1], size=12)
        net = MLP(list(size), activation="tanh", seed=seed)
        cases.append((net, SoftmaxCrossEntropy(), x, y, 0.5, 4 + 3 * seed))
    return cases


def _same_losses(got, expected) -> bool:
    """A list (or 1-D array) of floats, one per step, equal to the reference's."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected = np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-7, atol=1e-10))


# ---------------------------------------------------------------- 05.2 momentum


def _momentum_step(w, g, velocity, lr=0.1, mu=0.9):
    """Heavy-ball momentum: velocity <- mu * velocity - lr * g; w <- w + velocity.

    w, g, velocity: (d,) -> (w_new, velocity_new), each (d,).
    """
    velocity = mu * velocity - lr * g
    return w + velocity, velocity


def _momentum_cases():
    rng = np.random.default_rng(7)
    return [(np.array([1.0]), np.array([2.0]), np.array([0.5])),
            (rng.normal(size=4), rng.normal(size=4), rng.normal(size=4), 0.03, 0.8)]


def _momentum_hidden():
    rng = np.random.default_rng(17)
    return [(np.array([-2.0, 0.5]), np.array([0.3, -1.0]), np.array([0.1, 0.2]), 0.2, 0.5),
            (rng.normal(size=7), rng.normal(size=7), rng.normal(size=7), 0.01, 0.99)]




# ---------------------------------------------------------------- 05.3 RMSProp


def _rmsprop_step(w, g, s, lr=0.01, rho=0.9, eps=1e-8):
    """RMSProp: s <- rho s + (1 - rho) g^2; w <- w - lr g / (sqrt(s) + eps).

    w, g, s: (d,) -> (w_new, s_new), each (d,).
    """
    s = rho * s + (1 - rho) * g**2
    return w - lr * g / (np.sqrt(s) + eps), s


def _rmsprop_cases():
    rng = np.random.default_rng(8)
    return [(np.array([1.0]), np.array([0.5]), np.zeros(1)),
            (rng.normal(size=4), rng.normal(size=4), 0.1 * rng.random(4), 0.05, 0.8)]


def _rmsprop_hidden():
    rng = np.random.default_rng(18)
    return [(np.array([3.0, -1.0]), np.array([-2.0, 0.1]), np.array([1.0, 0.0]), 0.1, 0.5),
            (rng.normal(size=6), 1e-3 * rng.normal(size=6), 1e-6 * rng.random(6), 0.001, 0.99,
             1e-4)]




# ---------------------------------------------------------------- 05.4 Adam


def _adam_step(w, g, m, v, t, lr=0.01, eps=1e-8):
    """One Adam step.

    w, g, m, v: (d,); t: step number from 1 -> (w_new, m_new, v_new), each (d,).
    """
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_no_bias_correction(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside_sqrt(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps), m, v


def _adam_squared_m(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    v = b2 * v + (1 - b2) * m**2
    m = b1 * m + (1 - b1) * g
    return w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps), m, v


def _adam_no_sqrt(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * (m / (1 - b1**t)) / (v / (1 - b2**t) + eps), m, v


def _adam_cases():
    rng = np.random.default_rng(5)
    one = (np.array([1.0]), np.array([0.5]), np.zeros(1), np.zeros(1), 1)
    later = (rng.normal(size=4), rng.normal(size=4), 0.1 * rng.normal(size=4),
             0.01 * rng.random(4), 3)
    big = (rng.normal(size=6), 1e-3 * rng.normal(size=6), 1e-3 * rng.normal(size=6),
           1e-6 * rng.random(6), 10, 0.001, 1e-4)
    return [one, later, big]


def _adam_hidden():
    rng = np.random.default_rng(15)
    return [(np.array([-1.0, 2.0]), np.array([0.2, -0.4]), np.zeros(2), np.zeros(2), 1, 0.1),
            (rng.normal(size=5), rng.normal(size=5), 0.2 * rng.normal(size=5),
             0.05 * rng.random(5), 7, 0.003),
            (rng.normal(size=3), 1e-2 * rng.normal(size=3), 1e-2 * rng.normal(size=3),
             1e-4 * rng.random(3), 50, 0.01, 1e-3)]


# ---------------------------------------------------------------- 05.5 AdamW


def _adamw_step(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    """One AdamW step: Adam on g, then decay w by lr * weight_decay * w (decoupled).

    w, g, m, v: (d,); t: step number from 1 -> (w_new, m_new, v_new), each (d,).
    """
    w_adam, m, v = _adam_step(w, g, m, v, t, lr)
    return w_adam - lr * weight_decay * w, m, v


def _adamw_l2_in_gradient(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    return _adam_step(w, g + weight_decay * w, m, v, t, lr)


def _adamw_decay_not_scaled_by_lr(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    w_adam, m, v = _adam_step(w, g, m, v, t, lr)
    return w_adam - weight_decay * w, m, v


def _adamw_wrong_sign(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    w_adam, m, v = _adam_step(w, g, m, v, t, lr)
    return w_adam + lr * weight_decay * w, m, v


def _adamw_no_decay(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    return _adam_step(w, g, m, v, t, lr)


def _adamw_cases():
    rng = np.random.default_rng(6)
    one = (np.array([2.0]), np.array([0.5]), np.zeros(1), np.zeros(1), 1)
    later = (rng.normal(size=5), rng.normal(size=5), 0.1 * rng.normal(size=5),
             0.01 * rng.random(5), 4, 0.05, 0.3)
    return [one, later]


def _adamw_hidden():
    rng = np.random.default_rng(16)
    return [(np.array([-3.0, 1.0]), np.array([0.1, 0.1]), np.zeros(2), np.zeros(2), 1, 0.1, 0.5),
            (rng.normal(size=6), rng.normal(size=6), 0.1 * rng.normal(size=6),
             0.01 * rng.random(6), 12, 0.002, 0.05)]


# ---------------------------------------------------------------- 05.6 warm-up and cosine decay


def _warmup_from_zero(step, steps, warmup):
    if step <= warmup:
        return (step - 1) / warmup
    return 0.5 * (1 + np.cos(np.pi * (step - warmup) / (steps - warmup)))


def _cosine_over_whole_run(step, steps, warmup):
    if step <= warmup:
        return step / warmup
    return 0.5 * (1 + np.cos(np.pi * step / steps))


def _no_warmup(step, steps, warmup):
    return 0.5 * (1 + np.cos(np.pi * (step - warmup) / (steps - warmup))) if step > warmup else 1.0


def _linear_decay(step, steps, warmup):
    if step <= warmup:
        return step / warmup
    return 1 - (step - warmup) / (steps - warmup)


def _cosine_unshifted(step, steps, warmup):
    if step <= warmup:
        return step / warmup
    return float(np.cos(np.pi * (step - warmup) / (steps - warmup)))


WARMUP_CASES = [(1, 10, 4), (3, 10, 4), (4, 10, 4), (6, 10, 4), (8, 10, 4), (10, 10, 4)]


def _warmup_hidden():
    return [(1, 200, 20), (15, 200, 20), (21, 200, 20), (110, 200, 20), (199, 200, 20),
            (5, 50, 10), (37, 50, 10)]


# ---------------------------------------------------------------- 05.7 the experiment


def _result(grid, val, train_loss, best, seeds, test):
    from course.experiment import Result

    return Result(list(grid), np.array(val, dtype=np.float64),
                  np.array(train_loss, dtype=np.float64), best, list(seeds),
                  np.array(test, dtype=np.float64))


def _grid_runs(train, grid, x, y, seed, xs, ys, last, score_diverged=False, first=False):
    val, losses = [], []
    from course.train import accuracy

    for setting in grid:
        net, history = train(setting, x, y, seed)
        bad = history.diverged and not score_diverged
        val.append(np.nan if bad else accuracy(net, xs, ys))
        kept = history.loss[:last] if first else history.loss[-last:]
        losses.append(np.nan if bad else float(np.mean(kept)))
    return val, losses


def _seed_runs(train, best, x, y, seeds, xs, ys):
    from course.train import accuracy

    test = []
    for seed in seeds:
        net, history = train(best, x, y, seed)
        test.append(np.nan if history.diverged else accuracy(net, xs, ys))
    return test


def _experiment_by_train_loss(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xv, yv, last)
    best = grid[int(np.nanargmin(losses))]
    return _result(grid, val, losses, best, seeds, _seed_runs(train, best, x, y, seeds, xt, yt))


def _experiment_argmax_nan(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xv, yv, last)
    best = grid[int(np.argmax(val))]
    return _result(grid, val, losses, best, seeds, _seed_runs(train, best, x, y, seeds, xt, yt))


def _experiment_scores_diverged(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xv, yv, last, score_diverged=True)
    best = grid[int(np.nanargmax(val))]
    return _result(grid, val, losses, best, seeds, _seed_runs(train, best, x, y, seeds, xt, yt))


def _experiment_tunes_on_test(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xt, yt, last)
    best = grid[int(np.nanargmax(val))]
    return _result(grid, val, losses, best, seeds, _seed_runs(train, best, x, y, seeds, xt, yt))


def _experiment_one_seed(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xv, yv, last)
    best = grid[int(np.nanargmax(val))]
    test = _seed_runs(train, best, x, y, [seeds[0]] * len(seeds), xt, yt)
    return _result(grid, val, losses, best, seeds, test)


def _experiment_reports_validation(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xv, yv, last)
    best = grid[int(np.nanargmax(val))]
    return _result(grid, val, losses, best, seeds, _seed_runs(train, best, x, y, seeds, xv, yv))


def _experiment_first_losses(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    x, y, xv, yv, xt, yt = data
    val, losses = _grid_runs(train, grid, x, y, seeds[0], xv, yv, last, first=True)
    best = grid[int(np.nanargmax(val))]
    return _result(grid, val, losses, best, seeds, _seed_runs(train, best, x, y, seeds, xt, yt))


class _Cut:
    """A stand-in network: class 1 where x[:, 0] > threshold (its class scores, (n, 2))."""

    def __init__(self, threshold):
        self.threshold = threshold

    def forward(self, x):
        z = x[:, :1] - self.threshold
        return np.hstack([-z, z])

    def __repr__(self) -> str:
        return f"<network cutting at {self.threshold:g}>"


class _FakeTraining:
    """train(setting, x, y, seed) written out in advance: a cut and a loss curve per setting.

    runs: setting -> (threshold, final loss, diverged at step or None); the seed shifts the
    threshold by 0.01 * seed, so each seed scores differently.
    """

    def __init__(self, runs: dict, steps: int = 30):
        self.runs, self.steps = runs, steps

    def __call__(self, setting, x, y, seed):
        from course.train import History

        threshold, end, diverged_at = self.runs[setting]
        curve = list(end + (1.0 - end) * np.exp(-np.linspace(0, 5, self.steps)))
        if diverged_at is not None:
            curve = curve[:diverged_at - 1]
        return _Cut(threshold + 0.013 * seed), History(loss=curve, diverged_at=diverged_at)

    def __repr__(self) -> str:
        return f"<training at settings {sorted(self.runs)}>"


def _line_data(cut_val, cut_test, n=40, seed=0):
    """Points on a line, labelled by a cut at cut_val (validation) and cut_test (test)."""
    rng = np.random.default_rng(seed)
    parts = []
    for cut in (0.0, cut_val, cut_test):
        x = np.column_stack([rng.uniform(-1, 1, n), np.zeros(n)])
        parts += [x, (x[:, 0] > cut).astype(np.int64)]
    return tuple(parts)


def _experiment_cases(seed=0):
    grid = [0.001, 0.01, 0.1, 1.0, 10.0]
    runs = {0.001: (-0.8, 0.9, None), 0.01: (-0.30, 0.4, None), 0.1: (0.3, 0.1, None),
            1.0: (0.7, 0.01, None), 10.0: (-0.3, 0.001, 12)}
    if seed:
        grid = [0.003, 0.03, 0.3, 3.0]
        runs = {0.003: (0.5, 0.5, None), 0.03: (0.35, 0.05, None), 0.3: (0.0, 0.02, None),
                3.0: (0.35, 0.0001, 8 + seed)}
    data = _line_data(-0.3 if not seed else 0.35, 0.3 if not seed else -0.2, seed=seed)
    return [(_FakeTraining(runs), grid, data, (0, 1, 2, 3, 4), 10),
            (_FakeTraining(runs), grid, data, (3, 7, 11), 5)]


def _same_result(got, expected) -> bool:
    """A Result (or anything with its fields) equal to the reference's, NaN where it has NaN."""
    try:
        same = got.best == expected.best and list(got.seeds) == list(expected.seeds)
        for field in ("val", "train_loss", "test"):
            a = np.asarray(getattr(got, field), dtype=np.float64)
            b = getattr(expected, field)
            same = same and a.shape == b.shape and bool(
                np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    except (AttributeError, TypeError, ValueError):
        return False
    return bool(same)


def _momentum_raw_gradient(w, g, velocity, lr=0.1, mu=0.9):
    velocity = mu * velocity - lr * g
    return w - lr * g, velocity


def _momentum_sgd(w, g, velocity, lr=0.1, mu=0.9):
    return w - lr * g, -lr * g


def _momentum_uphill(w, g, velocity, lr=0.1, mu=0.9):
    return w + mu * velocity + lr * g, mu * velocity + lr * g


def _momentum_old_velocity(w, g, velocity, lr=0.1, mu=0.9):
    return w + velocity, mu * velocity - lr * g


def _momentum_no_decay(w, g, velocity, lr=0.1, mu=0.9):
    return w + velocity - lr * g, velocity - lr * g


def _rmsprop_adagrad(w, g, s, lr=0.01, rho=0.9, eps=1e-8):
    return w - lr * g / (np.sqrt(s + g**2) + eps), s + g**2


def _rmsprop_swapped(w, g, s, lr=0.01, rho=0.9, eps=1e-8):
    s_new = (1 - rho) * s + rho * g**2
    return w - lr * g / (np.sqrt(s_new) + eps), s_new


def _rmsprop_no_sqrt(w, g, s, lr=0.01, rho=0.9, eps=1e-8):
    s_new = rho * s + (1 - rho) * g**2
    return w - lr * g / (s_new + eps), s_new


def _rmsprop_old_average(w, g, s, lr=0.01, rho=0.9, eps=1e-8):
    return w - lr * g / (np.sqrt(s) + eps), rho * s + (1 - rho) * g**2


def _adam_moments_after_step(w, g, m, v, t, lr=0.01, eps=1e-8):
    b1, b2 = BETAS
    w_new = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return w_new, b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2


def _loop_visible(seed=0):
    if seed == 0:
        return _loop_cases()
    return _loop_cases(seeds=(2, 3), sizes=((2, 5, 3), (2, 4, 4, 4, 2)))


def _cases_from(visible, hidden):
    return lambda seed: visible() if seed == 0 else (hidden() if seed == 1 else [])


def _cliff_first_failure(result, ceiling):
    failed = [not np.isfinite(loss) or loss >= ceiling for loss in result.train_loss]
    return failed.index(True) if True in failed else None


def _cliff_nan_passes(result, ceiling):
    failed = [bool(loss >= ceiling) for loss in result.train_loss]
    if not failed[-1]:
        return None
    k = len(failed) - 1
    while k > 0 and failed[k - 1]:
        k -= 1
    return k


def _cliff_last_good(result, ceiling):
    k = cliff(result, ceiling)
    return None if k is None else k - 1


def _cliff_rate(result, ceiling):
    k = cliff(result, ceiling)
    return None if k is None else result.grid[k]


def _cliff_always(result, ceiling):
    failed = [not np.isfinite(loss) or loss >= ceiling for loss in result.train_loss]
    k = len(failed)
    while k > 0 and failed[k - 1]:
        k -= 1
    return k


def _cliff_cases(seed=0):
    """Results whose training losses crawl at small rates, dip, and fail (high or NaN)."""
    grids = {0: [([0.9, 0.3, 0.05, 0.01, 0.8, np.nan], 0.5),
                 ([0.6, 0.2, 0.02, 0.7, 0.1, 1.2, 2.0], 0.5),
                 ([0.9, 0.1, 0.01, 0.02], 0.5)],
             1: [([1.1, 1.0, 0.4, 0.001, np.nan, np.nan, np.nan], 1.0986),
                 ([0.3, 0.2, 0.1, 0.05], 0.5), ([np.nan, 0.2, np.nan], 0.5)]}
    out = []
    for losses, ceiling in grids[min(seed, 1)]:
        grid = list(np.logspace(-3, 0, len(losses)))
        out.append((_result(grid, np.ones(len(losses)), losses, grid[0], [0], [1.0]), ceiling))
    return out


S05 = "Lesson 05"
EXERCISES = [
    Exercise(
        id="05.1",
        title="the training loop",
        points=3,
        reference=_train,
        cases=_loop_visible,
        hidden_cases=lambda: _loop_visible(1),
        compare=_same_losses,
        mutates=True,
        section=f"{S05}, 'The loop': the five parts of one step",
        mistakes=[
            Mistake("rebinds-not-in-place", "your loop never changes the network's parameters: "
                    "the loss stays where it started", _train_rebinds,
                    hint="a plain assignment to the loop variable makes a new array and leaves "
                         "the network's own array as it was: update it in place"),
            Mistake("sign", "your steps climb the loss instead of descending it", _train_uphill,
                    hint="a gradient points uphill"),
            Mistake("accumulates", "your gradients pile up from one step to the next",
                    _train_accumulates,
                    hint="backward here overwrites the gradients; asking it to accumulate "
                         "without zeroing is PyTorch's missing zero_grad()"),
            Mistake("weights-only", "your biases never move", _train_weights_only,
                    hint="every parameter of net.parameters() takes a step, not only W"),
            Mistake("loss-after-step", "your recorded losses are one step late",
                    _train_records_after_step,
                    hint="record the loss of the forward pass you backpropagated, before "
                         "the step"),
        ],
    ),
    Exercise(
        id="05.2",
        title="one step of SGD with momentum",
        points=2,
        reference=_momentum_step,
        cases=_cases_from(_momentum_cases, _momentum_hidden),
        hidden_cases=_momentum_hidden,
        section=f"{S05}, 'Why plain gradient descent is slow: a narrow valley'",
        mistakes=[
            Mistake("raw-gradient", "your new w moved by the gradient alone: the velocity you "
                    "computed did not move it", _momentum_raw_gradient,
                    hint="w moves by the NEW velocity, not by the learning rate times g"),
            Mistake("no-velocity", "your step is plain SGD: the old velocity plays no part",
                    _momentum_sgd, hint="the new velocity starts from mu times the old one"),
            Mistake("sign", "your step goes uphill", _momentum_uphill,
                    hint="the velocity collects minus the learning rate times the gradient"),
            Mistake("old-velocity", "w moved by the velocity of the previous step",
                    _momentum_old_velocity,
                    hint="first update the velocity, then move w by the updated one"),
            Mistake("no-decay", "the old velocity is kept whole instead of decayed",
                    _momentum_no_decay, hint="mu multiplies the old velocity"),
            Mistake("inputs-changed", "your function changed its input w in place",
                    variants.mutating(_momentum_step, 0),
                    hint="an augmented assignment such as w += ... writes into the caller's "
                         "array (the valley's path then draws as one point): make new arrays"),
        ],
    ),
    Exercise(
        id="05.3",
        title="one step of RMSProp",
        points=2,
        reference=_rmsprop_step,
        cases=_cases_from(_rmsprop_cases, _rmsprop_hidden),
        hidden_cases=_rmsprop_hidden,
        section=f"{S05}, 'RMSProp: a step size per parameter'",
        mistakes=[
            Mistake("no-decay", "your running average of squared gradients only ever grows",
                    _rmsprop_adagrad,
                    hint="that is Adagrad, whose steps shrink for ever: the old average is "
                         "decayed by rho"),
            Mistake("rho-swapped", "the newest squared gradient got the weight that belongs to "
                    "the old average", _rmsprop_swapped,
                    hint="rho is the weight of the OLD average (0.9: mostly memory)"),
            Mistake("no-sqrt", "your step is divided by a mean square, not a root mean square",
                    _rmsprop_no_sqrt, hint="the step divides by the square root of s"),
            Mistake("old-average", "your step used the average from before this step's "
                    "gradient", _rmsprop_old_average,
                    hint="update s first, then divide by the updated one"),
            Mistake("inputs-changed", "your function changed its input s in place",
                    variants.mutating(_rmsprop_step, 2),
                    hint="s *= rho writes into the caller's array: make a new one"),
        ],
    ),
    Exercise(
        id="05.4",
        title="one step of Adam",
        points=3,
        reference=_adam_step,
        cases=_cases_from(_adam_cases, _adam_hidden),
        hidden_cases=_adam_hidden,
        section=f"{S05}, 'Adam: momentum and RMSProp together'",
        mistakes=[
            Mistake("no-bias-correction", "your first steps have the wrong size: m and v are "
                    "still near their zero start", _adam_no_bias_correction,
                    hint="both averages are divided by one minus beta to the power t"),
            Mistake("eps-inside-sqrt", "eps sits in the wrong place", _adam_eps_inside_sqrt,
                    hint="eps is added after the square root"),
            Mistake("squared-m", "your v averages the wrong squared quantity", _adam_squared_m,
                    hint="v is the running average of the squared GRADIENT"),
            Mistake("no-sqrt", "your step divides by the corrected v itself", _adam_no_sqrt,
                    hint="divide by the square root of the corrected v"),
            Mistake("moments-after-step", "your step used the moments from before this "
                    "step's gradient", _adam_moments_after_step,
                    hint="update m and v with g first, then step with them"),
        ],
    ),
    Exercise(
        id="05.5",
        title="AdamW: decoupled weight decay",
        points=2,
        reference=_adamw_step,
        cases=_cases_from(_adamw_cases, _adamw_hidden),
        hidden_cases=_adamw_hidden,
        section=f"{S05}, 'AdamW: weight decay, decoupled'",
        mistakes=[
            Mistake("decay-in-moments", "your decay went through Adam's moments: that is Adam "
                    "with L2, not AdamW", _adamw_l2_in_gradient,
                    hint="AdamW keeps the decay out of the gradient: Adam's step on g alone, "
                         "then the decay"),
            Mistake("decay-not-scaled", "your decay is far too strong: it ignores the "
                    "learning rate", _adamw_decay_not_scaled_by_lr,
                    hint="the decay is scaled by the learning rate too"),
            Mistake("sign", "your decay grows the weights", _adamw_wrong_sign,
                    hint="decay pulls every weight towards zero"),
            Mistake("no-decay", "your step has no weight decay at all", _adamw_no_decay,
                    hint="after Adam's step, subtract the decay computed from the old w"),
        ],
    ),
    Exercise(
        id="05.6",
        title="a learning-rate schedule: warm-up, then cosine decay",
        points=2,
        reference=warmup_cosine,
        cases=lambda seed: list(WARMUP_CASES) if seed == 0 else (
            _warmup_hidden() if seed == 1 else []),
        hidden_cases=_warmup_hidden,
        section=f"{S05}, 'A learning-rate schedule with warm-up'",
        mistakes=[
            Mistake("warmup-from-zero", "your first step does not move: its factor is 0",
                    _warmup_from_zero, hint="step 1 takes 1/warmup of the rate"),
            Mistake("cosine-whole-run", "your decay starts in the middle of the cosine",
                    _cosine_over_whole_run,
                    hint="the cosine's argument is 0 at the end of the warm-up and pi at the "
                         "last step"),
            Mistake("no-warmup", "your first steps take the full rate", _no_warmup,
                    hint="during the warm-up the factor climbs linearly"),
            Mistake("linear-decay", "your decay after the warm-up is a straight line",
                    _linear_decay, hint="half a cosine period, shifted and halved"),
            Mistake("cosine-unshifted", "your factor goes below 0", _cosine_unshifted,
                    hint="the cosine runs from 1 to -1: shift it up and halve it"),
        ],
    ),
    Exercise(
        id="05.7",
        title="the experiment: tune on validation, then every seed, then the test set once",
        points=4,
        reference=experiment,
        cases=lambda seed: _experiment_cases(0) if seed == 0 else (
            _experiment_cases(1) if seed == 1 else []),
        hidden_cases=lambda: _experiment_cases(1),
        compare=_same_result,
        section=f"{S05}, 'A fair experiment: tune on validation data, then several seeds'",
        mistakes=[
            Mistake("chose-by-train-loss", "you chose the setting by its training loss",
                    _experiment_by_train_loss,
                    hint="the choice is made on the validation accuracy"),
            Mistake("argmax-nan", "your choice fell on a run that diverged",
                    _experiment_argmax_nan,
                    hint="np.argmax returns the index of a NaN when there is one"),
            Mistake("diverged-scored", "a run that diverged kept a score",
                    _experiment_scores_diverged,
                    hint="history.diverged: give that run NaN, in val and in train_loss"),
            Mistake("tuned-on-test", "you chose the setting on the test set",
                    _experiment_tunes_on_test,
                    hint="the grid runs are scored on x_val, y_val; the test set waits"),
            Mistake("one-seed", "every final run used the same seed", _experiment_one_seed,
                    hint="one run per seed of seeds, each with its own seed"),
            Mistake("reports-validation", "your final runs were scored on the validation split",
                    _experiment_reports_validation,
                    hint="the final runs are scored once, on x_test, y_test"),
            Mistake("first-losses", "your train_loss averages the wrong end of each run",
                    _experiment_first_losses, hint="the LAST `last` losses"),
        ],
    ),
    Exercise(
        id="05.8",
        title="where the cliff starts",
        points=2,
        reference=cliff,
        cases=lambda seed: _cliff_cases(seed) if seed < 2 else [],
        hidden_cases=lambda: _cliff_cases(1),
        section=f"{S05}, 'The cliff'",
        mistakes=[
            Mistake("first-failure", "you returned the first failing rate, not the start of "
                    "the run of failures that reaches the end of the grid", _cliff_first_failure,
                    hint="a rate that is too SMALL fails too (it crawls); the cliff is where "
                         "the failures start and never stop"),
            Mistake("nan-passes", "a run that diverged counted as one that trained",
                    _cliff_nan_passes, hint="a NaN compares False with everything"),
            Mistake("last-good", "you returned the last setting that trained",
                    _cliff_last_good, hint="the index of the first FAILED setting"),
            Mistake("rate-not-index", "you returned a rate, not its index in the grid",
                    _cliff_rate, hint="return the position in result.grid"),
            Mistake("no-none", "you returned an index when the last rate of the grid trained",
                    _cliff_always, hint="no cliff in the grid: return None"),
        ],
    ),
]
