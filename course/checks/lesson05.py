"""Lesson 05 (training and optimizers): the training loop, momentum, RMSProp, Adam, AdamW's
decoupled weight decay and a learning-rate sweep, each a pure function of its inputs (the loop
changes only the network it is given)."""

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


# ---------------------------------------------------------------- 05.6 the learning-rate sweep


def _lr_sweep(train, lrs, last=20):
    """Run ``train(lr)`` for every rate and pick the best by one stated rule.

    train(lr) -> a course.train.History (``.loss``: the recorded losses, ``.diverged``: True
    when the run blew up); lrs: sequence of rates; last: how many final losses to average.
    Returns (best_lr, scores): scores (len(lrs),) float, the mean of each run's last ``last``
    losses, NaN for a run that diverged; best_lr the rate with the lowest score.
    """
    scores = []
    for lr in lrs:
        run = train(lr)
        scores.append(np.nan if run.diverged else float(np.mean(run.loss[-last:])))
    scores = np.array(scores, dtype=np.float64)
    return float(lrs[int(np.nanargmin(scores))]), scores


def _sweep_argmin(train, lrs, last=20):
    scores = []
    for lr in lrs:
        run = train(lr)
        scores.append(np.nan if run.diverged else float(np.mean(run.loss[-last:])))
    scores = np.array(scores, dtype=np.float64)
    return float(lrs[int(np.argmin(scores))]), scores


def _sweep_last_loss(train, lrs, last=20):
    scores = []
    for lr in lrs:
        run = train(lr)
        scores.append(np.nan if run.diverged else float(run.loss[-1]))
    scores = np.array(scores, dtype=np.float64)
    return float(lrs[int(np.nanargmin(scores))]), scores


def _sweep_counts_diverged(train, lrs, last=20):
    scores = np.array([float(np.mean(train(lr).loss[-last:])) for lr in lrs], dtype=np.float64)
    return float(lrs[int(np.nanargmin(scores))]), scores


def _sweep_first_losses(train, lrs, last=20):
    scores = []
    for lr in lrs:
        run = train(lr)
        scores.append(np.nan if run.diverged else float(np.mean(run.loss[:last])))
    scores = np.array(scores, dtype=np.float64)
    return float(lrs[int(np.nanargmin(scores))]), scores


def _sweep_index(train, lrs, last=20):
    _, scores = _lr_sweep(train, lrs, last)
    return float(np.nanargmin(scores)), scores


class _Runs:
    """A stand-in for training: rate -> a History written out in advance (deterministic)."""

    def __init__(self, runs: dict):
        self.runs = runs

    def __call__(self, lr):
        from course.train import History

        loss, diverged_at = self.runs[float(lr)]
        return History(loss=list(loss), diverged_at=diverged_at)

    def __repr__(self) -> str:
        return f"<training at rates {sorted(self.runs)}>"


def _curve(start, end, steps, wiggle, seed):
    """A loss curve decaying from start to end with a deterministic wiggle."""
    rng = np.random.default_rng(seed)
    base = end + (start - end) * np.exp(-np.linspace(0, 6, steps))
    return list(base * (1 + wiggle * rng.uniform(-1, 1, steps)))


def _sweep_runs(ends, diverged, seed, steps=40):
    lrs = np.logspace(-3, 0, len(ends))
    runs = {}
    for k, (lr, end) in enumerate(zip(lrs, ends)):
        if k in diverged:
            losses = _curve(1.1, 0.001, diverged[k], 0.0, seed + k)
            runs[float(lr)] = (losses, diverged[k] + 1)
        else:
            runs[float(lr)] = (_curve(1.1, end, steps, 0.3, seed + k), None)
    return _Runs(runs), lrs


def _sweep_cases():
    small, lrs_small = _sweep_runs([0.9, 0.4, 0.2, 0.25], {3: 30}, seed=0)
    wide, lrs_wide = _sweep_runs([1.0, 0.7, 0.3, 0.12, 0.1, 0.3, 0.5], {5: 25, 6: 4}, seed=10)
    return [(small, lrs_small, 10), (wide, lrs_wide, 5)]


def _sweep_hidden():
    one, lrs_one = _sweep_runs([0.8, 0.05, 0.06], {2: 30}, seed=20)
    many, lrs_many = _sweep_runs([1.0, 0.9, 0.5, 0.2, 0.1, 0.11, 0.2, 0.6], {7: 22}, seed=30)
    return [(one, lrs_one, 8), (many, lrs_many, 20)]


def _same_sweep(got, expected) -> bool:
    """(best_lr, scores) with the same rate and the same scores, NaN where the reference has NaN."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return False
    try:
        best, scores = float(got[0]), np.asarray(got[1], dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return (np.isclose(best, expected[0], rtol=1e-9) and scores.shape == expected[1].shape
            and bool(np.allclose(scores, expected[1], rtol=1e-7, equal_nan=True)))


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
        title="a learning-rate sweep that returns the best rate",
        points=3,
        reference=_lr_sweep,
        cases=_sweep_cases,
        hidden_cases=_sweep_hidden,
        compare=_same_sweep,
        mistakes={
            "np.argmin over scores holding NaN returns the NaN's index: the diverged run wins "
            "(use np.nanargmin)": _sweep_argmin,
            "a run that diverged was scored by the losses it recorded before it blew up; give "
            "it NaN": _sweep_counts_diverged,
            "scored each run by its last loss only; average the last `last` losses (one "
            "mini-batch is noisy)": _sweep_last_loss,
            "averaged the FIRST `last` losses instead of the last ones": _sweep_first_losses,
            "returned the index of the best rate, not the rate itself": _sweep_index,
        },
    ),
]
