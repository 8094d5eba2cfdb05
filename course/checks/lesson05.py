"""Lesson 05 (training and optimizers): the training loop, momentum, RMSProp, Adam, AdamW's
decoupled weight decay, a warm-up schedule and the experiment harness, each a pure function of
its inputs (the loop changes only the network it is given)."""

from __future__ import annotations

import numpy as np

from course.checks.core import Exercise

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


MOMENTUM_MISTAKES = {
    "forgot the velocity: this is plain SGD": lambda w, g, vel, lr=0.1, mu=0.9: (w - lr * g,
                                                                                -lr * g),
    "wrong sign: the step goes uphill (+lr * g)":
        lambda w, g, vel, lr=0.1, mu=0.9: (w + mu * vel + lr * g, mu * vel + lr * g),
    "updated w with the old velocity instead of the new one":
        lambda w, g, vel, lr=0.1, mu=0.9: (w + vel, mu * vel - lr * g),
    "forgot to decay the old velocity by mu":
        lambda w, g, vel, lr=0.1, mu=0.9: (w + vel - lr * g, vel - lr * g),
}


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


RMSPROP_MISTAKES = {
    "no decay: s keeps adding g**2 (that is Adagrad, whose steps shrink for ever)":
        lambda w, g, s, lr=0.01, rho=0.9, eps=1e-8: (
            w - lr * g / (np.sqrt(s + g**2) + eps), s + g**2),
    "rho and 1 - rho swapped: the new g**2 gets weight rho":
        lambda w, g, s, lr=0.01, rho=0.9, eps=1e-8: (
            w - lr * g / (np.sqrt((1 - rho) * s + rho * g**2) + eps), (1 - rho) * s + rho * g**2),
    "forgot the square root: divided by s, not sqrt(s)":
        lambda w, g, s, lr=0.01, rho=0.9, eps=1e-8: (
            w - lr * g / (rho * s + (1 - rho) * g**2 + eps), rho * s + (1 - rho) * g**2),
    "divided by the OLD average s instead of the updated one":
        lambda w, g, s, lr=0.01, rho=0.9, eps=1e-8: (
            w - lr * g / (np.sqrt(s) + eps), rho * s + (1 - rho) * g**2),
}


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


def _warmup_cosine(step, steps, warmup):
    """The rate factor at ``step`` (1-based) of ``steps``: step / warmup during the warm-up,
    then 0.5 (1 + cos(pi (step - warmup) / (steps - warmup)))."""
    from course.optim import warmup_cosine

    return warmup_cosine(step, steps, warmup)


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


def _experiment(train, grid, data, seeds=(0, 1, 2, 3, 4), last=20):
    """Tune on validation, then every seed at the chosen setting, scored once on the test set.

    train(setting, x, y, seed) -> (net, history); data: (x_fit, y_fit, x_val, y_val, x_test,
    y_test). Returns a course.experiment.Result.
    """
    from course.experiment import experiment

    return experiment(train, grid, data, seeds, last)


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


EXERCISES = [
    Exercise(
        id="05.1",
        title="the training loop",
        points=3,
        reference=_train,
        cases=_loop_cases,
        hidden_cases=lambda: _loop_cases(seeds=(2, 3), sizes=((2, 5, 3), (2, 4, 4, 4, 2))),
        compare=_same_losses,
        mistakes={
            "p = p - lr * g makes a new array and rebinds the name: the network's parameters "
            "never change (update in place: p -= lr * g)": _train_rebinds,
            "wrong sign: p += lr * g climbs the loss": _train_uphill,
            "gradients added up across steps (backward(accumulate=True) without zeroing them: "
            "in PyTorch, a missing zero_grad())": _train_accumulates,
            "only the weights W were updated; the biases b never move": _train_weights_only,
            "recorded the loss after the step; record the loss of the forward pass you "
            "backpropagated": _train_records_after_step,
        },
    ),
    Exercise(
        id="05.2",
        title="one step of SGD with momentum",
        points=2,
        reference=_momentum_step,
        cases=_momentum_cases,
        hidden_cases=_momentum_hidden,
        mistakes=MOMENTUM_MISTAKES,
    ),
    Exercise(
        id="05.3",
        title="one step of RMSProp",
        points=2,
        reference=_rmsprop_step,
        cases=_rmsprop_cases,
        hidden_cases=_rmsprop_hidden,
        mistakes=RMSPROP_MISTAKES,
    ),
    Exercise(
        id="05.4",
        title="one step of Adam",
        points=3,
        reference=_adam_step,
        cases=_adam_cases,
        hidden_cases=_adam_hidden,
        mistakes={
            "forgot the bias correction (m and v divided by 1 - beta^t)": _adam_no_bias_correction,
            "eps inside the square root: use sqrt(v_hat) + eps": _adam_eps_inside_sqrt,
            "squared the wrong thing: v averages g**2, not m**2": _adam_squared_m,
            "forgot the square root of v_hat": _adam_no_sqrt,
        },
    ),
    Exercise(
        id="05.5",
        title="AdamW: decoupled weight decay",
        points=2,
        reference=_adamw_step,
        cases=_adamw_cases,
        hidden_cases=_adamw_hidden,
        mistakes={
            "added the decay to the gradient (that is Adam with L2, not AdamW)":
                _adamw_l2_in_gradient,
            "the decay is not scaled by the learning rate": _adamw_decay_not_scaled_by_lr,
            "wrong sign: the decay grows the weights": _adamw_wrong_sign,
            "forgot the weight decay": _adamw_no_decay,
        },
    ),
    Exercise(
        id="05.6",
        title="a learning-rate schedule: warm-up, then cosine decay",
        points=2,
        reference=_warmup_cosine,
        cases=lambda: list(WARMUP_CASES),
        hidden_cases=_warmup_hidden,
        mistakes={
            "the warm-up starts from 0: step 1 must already move": _warmup_from_zero,
            "the cosine runs over the whole run, not over the steps after the warm-up":
                _cosine_over_whole_run,
            "no warm-up: the first steps take the full rate": _no_warmup,
            "the decay after the warm-up is a straight line, not a cosine": _linear_decay,
            "the cosine goes from 1 down to -1: it is not shifted and halved": _cosine_unshifted,
        },
    ),
    Exercise(
        id="05.7",
        title="the experiment: tune on validation, then every seed, then the test set once",
        points=4,
        reference=_experiment,
        cases=lambda: _experiment_cases(0),
        hidden_cases=lambda: _experiment_cases(1),
        compare=_same_result,
        mistakes={
            "chose the setting by its training loss, not by its validation score":
                _experiment_by_train_loss,
            "np.argmax over scores holding NaN picks the diverged run": _experiment_argmax_nan,
            "a run that diverged kept a score; give it NaN": _experiment_scores_diverged,
            "chose the setting on the test set": _experiment_tunes_on_test,
            "every final run used the same seed": _experiment_one_seed,
            "the final runs were scored on the validation split, not the test set":
                _experiment_reports_validation,
            "averaged the first `last` training losses, not the last ones":
                _experiment_first_losses,
        },
    ),
]
