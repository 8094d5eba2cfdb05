"""Lesson 06 (vanishing and exploding gradients): the Xavier and He initialisers, global-norm
clipping, BatchNorm's forward (training and evaluation) and backward, counting dead ReLU units,
and a fix that makes the depth-30 network train, measured on held-out points."""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from course.checks.core import Exercise

# ---------------------------------------------------------------- 06.1, 06.2 initialisers


def _xavier_init(d_in, d_out, rng):
    """W (d_in, d_out) with entries N(0, 2 / (d_in + d_out)), drawn from the Generator rng."""
    return rng.normal(0.0, np.sqrt(2.0 / (d_in + d_out)), size=(d_in, d_out))


def _he_init(d_in, d_out, rng):
    """W (d_in, d_out) with entries N(0, 2 / d_in), drawn from the Generator rng."""
    return rng.normal(0.0, np.sqrt(2.0 / d_in), size=(d_in, d_out))


def _normal_with_variance(variance):
    def init(d_in, d_out, rng):
        return rng.normal(0.0, np.sqrt(variance(d_in, d_out)), size=(d_in, d_out))

    return init


def _init_cases(seed=0):
    return [(300, 200, np.random.default_rng(seed)), (64, 256, np.random.default_rng(seed + 1))]


def _same_scale(got, expected) -> bool:
    """Same shape; the sample standard deviation within 3 % and the mean near 0 (any
    distribution with the right variance passes, uniform included)."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        return False
    std = float(np.std(expected))
    return abs(float(np.std(got)) / std - 1) < 0.03 and abs(float(np.mean(got))) < 0.05 * std


XAVIER_MISTAKES = {
    "used only the fan-in, Var = 1/d_in (LeCun's rule): Xavier averages the forward and the "
    "backward pass, 2/(d_in + d_out)": _normal_with_variance(lambda i, o: 1.0 / i),
    "forgot the 2: Var = 1/(d_in + d_out) is half the variance the average of the two "
    "passes asks for": _normal_with_variance(lambda i, o: 1.0 / (i + o)),
    "passed the variance where numpy wants the standard deviation (rng.normal's scale is "
    "sqrt(Var))": lambda i, o, rng: rng.normal(0.0, 2.0 / (i + o), size=(i, o)),
    "that is He's variance 2/d_in (for ReLU); Xavier's is 2/(d_in + d_out)":
        _normal_with_variance(lambda i, o: 2.0 / i),
}

HE_MISTAKES = {
    "Var = 1/d_in keeps the variance only for a unit that passes everything; ReLU zeroes half "
    "of z, so double it": _normal_with_variance(lambda i, o: 1.0 / i),
    "that is Xavier's 2/(d_in + d_out); He's uses the fan-in only, 2/d_in":
        _normal_with_variance(lambda i, o: 2.0 / (i + o)),
    "used the fan-out d_out; the forward variance sums over the d_in inputs":
        _normal_with_variance(lambda i, o: 2.0 / o),
    "passed the variance where numpy wants the standard deviation (rng.normal's scale is "
    "sqrt(Var))": lambda i, o, rng: rng.normal(0.0, 2.0 / i, size=(i, o)),
}


# ---------------------------------------------------------------- 06.3 clipping


def _global_norm(grads):
    return float(np.sqrt(sum(float(np.sum(g**2)) for g in grads.values())))


def _clip_global(grads, tau):
    """Scale every gradient by min(1, tau / ||g||), ||g|| the norm of all of them together.

    grads: dict name -> array (any shapes); tau > 0 -> a new dict, same names and shapes.
    """
    scale = min(1.0, tau / max(_global_norm(grads), 1e-12))
    return {k: g * scale for k, g in grads.items()}


def _clip_per_tensor(grads, tau):
    return {k: g * min(1.0, tau / max(float(np.linalg.norm(g)), 1e-12)) for k, g in grads.items()}


def _clip_max_not_min(grads, tau):
    scale = max(1.0, tau / max(_global_norm(grads), 1e-12))
    return {k: g * scale for k, g in grads.items()}


def _clip_always(grads, tau):
    scale = tau / max(_global_norm(grads), 1e-12)
    return {k: g * scale for k, g in grads.items()}


def _clip_values(grads, tau):
    return {k: np.clip(g, -tau, tau) for k, g in grads.items()}


def _clip_cases():
    rng = np.random.default_rng(6)
    small = {"W": np.array([[3.0, 4.0]]), "b": np.array([0.0])}
    below = {"W": np.array([[0.3, 0.4]]), "b": np.array([0.1])}
    mixed = {"0.W": 5 * rng.normal(size=(3, 4)), "0.b": rng.normal(size=4),
             "1.W": 0.1 * rng.normal(size=(4, 2)), "1.b": np.array([0.5, -0.2])}
    return [(small, 1.0), (below, 1.0), (mixed, 2.0)]


def _clip_hidden():
    rng = np.random.default_rng(16)
    two = {"a": np.array([0.0, 6.0]), "b": np.array([[8.0]])}
    many = {f"{i}.W": (3.0 ** i) * rng.normal(size=(2, 3)) for i in range(4)}
    return [(two, 5.0), (two, 20.0), (many, 0.5)]


# ---------------------------------------------------------------- 06.4, 06.5 BatchNorm


def _bn_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
                eps=1e-5):
    """BatchNorm over the batch (training) or with running statistics (evaluation).

    x (n, d); gamma, beta, running_mean, running_var (d,) -> (out (n, d), new running_mean,
    new running_var). Training normalises with the batch mean and (biased) variance and moves
    the running statistics by ``momentum`` towards the batch mean and the unbiased variance.
    """
    if training:
        n = x.shape[0]
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, running_mean, running_var


def _bn_variant(stats_axis=0, unbiased_norm=False, eps_outside=False, eval_batch=False,
                swapped_momentum=False, biased_running=False):
    def forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
                eps=1e-5):
        n = x.shape[0]
        if training or eval_batch:
            mean = x.mean(axis=stats_axis, keepdims=stats_axis == 1)
            var = x.var(axis=stats_axis, keepdims=stats_axis == 1)
            if training:
                bmean, bvar = x.mean(axis=0), x.var(axis=0)
                keep = momentum if swapped_momentum else 1 - momentum
                unbiased = bvar if biased_running else bvar * n / (n - 1)
                running_mean = keep * running_mean + (1 - keep) * bmean
                running_var = keep * running_var + (1 - keep) * unbiased
            if unbiased_norm:
                var = var * n / (n - 1)
        else:
            mean, var = running_mean, running_var
        scale = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
        return gamma * (x - mean) / scale + beta, running_mean, running_var

    return forward


def _bn_forward_cases(seed=0):
    rng = np.random.default_rng(seed)
    x1 = np.array([[1.0, -2.0], [3.0, 0.0], [2.0, 4.0]])
    d = 4
    x2 = 3.0 + 2.0 * rng.normal(size=(6, d))
    g2, b2 = rng.uniform(0.5, 2.0, d), rng.normal(size=d)
    rm, rv = rng.normal(size=d), rng.uniform(0.5, 2.0, d)
    tiny = 1e-3 * rng.normal(size=(5, 3))
    return [(x1, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)),
            (x2, g2, b2, rm, rv, True, 0.2),
            (x2, g2, b2, rm, rv, False),
            (tiny, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True, 0.1, 1e-5)]


def _bn_backward(upstream, x, gamma, eps=1e-5):
    """Backward of training-mode BatchNorm, out = gamma * xhat + beta with batch statistics.

    upstream = dL/dout (n, d); x (n, d); gamma (d,) -> (dx (n, d), dgamma (d,), dbeta (d,)).
    """
    mean, var = x.mean(axis=0), x.var(axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    g = upstream * gamma
    dx = inv_std * (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0))
    return dx, (upstream * xhat).sum(axis=0), upstream.sum(axis=0)


def _bn_backward_variant(drop_mean=False, drop_var=False, no_gamma=False, axis=0,
                         dgamma_plain=False):
    def backward(upstream, x, gamma, eps=1e-5):
        mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
        inv_std = 1 / np.sqrt(var + eps)
        xhat = (x - mean) * inv_std
        g = upstream if no_gamma else upstream * gamma
        dx = g
        if not drop_mean:
            dx = dx - g.mean(axis=axis, keepdims=True)
        if not drop_var:
            dx = dx - xhat * (g * xhat).mean(axis=axis, keepdims=True)
        dgamma = upstream.sum(axis=0) if dgamma_plain else (upstream * xhat).sum(axis=0)
        return inv_std * dx, dgamma, upstream.sum(axis=0)

    return backward


def _bn_backward_cases(seed=0):
    rng = np.random.default_rng(seed)
    x1 = np.array([[1.0, -2.0], [3.0, 0.0], [2.0, 4.0]])
    up1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, -1.0]])
    x2, up2 = 2.0 + 3.0 * rng.normal(size=(8, 5)), rng.normal(size=(8, 5))
    return [(up1, x1, np.ones(2)), (up2, x2, rng.uniform(0.5, 2.0, 5), 1e-3)]


# ---------------------------------------------------------------- 06.6 dead units


def _dead_fraction(z):
    """Fraction of units that are inactive (z <= 0) on EVERY example of the batch.

    z: (n, d) pre-activations of one ReLU layer -> float in [0, 1].
    """
    return float(np.mean(np.all(z <= 0, axis=0)))


def _dead_cases():
    rng = np.random.default_rng(60)
    tiny = np.array([[-1.0, 2.0, -3.0], [-0.5, -1.0, 1.0]])
    shifted = rng.normal(size=(8, 10)) - np.linspace(-1.0, 3.0, 10)
    return [(tiny,), (shifted,)]


def _dead_hidden():
    rng = np.random.default_rng(61)
    return [(np.array([[0.0, 1.0], [0.0, -1.0], [0.0, -2.0]]),),
            (rng.normal(size=(20, 16)) - np.linspace(-2.0, 4.0, 16),)]


# ---------------------------------------------------------------- 06.7 the depth-30 network

DEPTH = 30
TARGET = 0.93
HELD_OUT_SEED = 1
HELD_OUT_POINTS = 1000


def held_out():
    """The held-out points the 06.7 check measures on: two moons, 1000 points, seed 1."""
    from course.explore import two_moons

    return two_moons(HELD_OUT_POINTS, seed=HELD_OUT_SEED)


def _memo(train):
    """Cache a training function's network by the data it trained on (checks call it often)."""
    cache = {}

    @functools.wraps(train)
    def cached(x, y):
        key = hashlib.sha1(np.ascontiguousarray(x).tobytes() + np.asarray(y).tobytes()).hexdigest()
        if key not in cache:
            cache[key] = train(x, y)
        return cache[key]

    return cached


def _settings_trainer(steps=100, **settings):
    from course.explore import Settings, build_net

    s = Settings(**{"depth": DEPTH, **settings})

    def train(x, y):
        from course.losses import SoftmaxCrossEntropy
        from course.optim import SGD, Adam
        from course.train import fit

        net = build_net(s)
        make = Adam if s.optimizer == "adam" else SGD
        fit(net, SoftmaxCrossEntropy(), make(net.parameters(), s.lr), x, y, steps=steps,
            batch_size=None, progress=False, verbose=False)
        return net

    return _memo(train)


_train_deep = _settings_trainer(steps=200, activation="relu", init="he", optimizer="adam",
                                lr=0.003)
_train_deep.__doc__ = ("Depth-30 ReLU network with He weights, 200 full-batch Adam steps "
                       "(lr 0.003) on (x, y); returns the trained MLP.")


def _deep_report(net):
    """(hidden layers, kind, held-out accuracy) of a returned network; None if it is not one."""
    try:
        from course.train import accuracy

        linears = net.linear_layers()
        net.eval()
        x_test, y_test = held_out()
        with np.errstate(all="ignore"):
            acc = accuracy(net, x_test, y_test)
    except Exception:
        return None
    kind = (getattr(net, "activation", None), bool(getattr(net, "residual", False)),
            getattr(net, "norm", None))
    return len(linears) - 1, kind, acc


def _deep_passes(report) -> bool:
    return report is not None and report[0] == DEPTH and report[2] >= TARGET


def _same_deep_result(got, expected) -> bool:
    """Against the reference: 30 hidden layers and held-out accuracy >= TARGET. Against a
    planted mistake (which misses the target): the same failure, the same kind of network."""
    g, e = _deep_report(got), _deep_report(expected)
    if _deep_passes(e):
        return _deep_passes(g)
    if g is None or e is None or _deep_passes(g):
        return False
    if e[0] != DEPTH:
        return g[0] != DEPTH
    if e[1] == _ANY_FAILING_KIND:
        return g[0] == DEPTH
    return g[0] == DEPTH and g[1] == e[1]


# the kind of the last planted mistake, which stands for any failing depth-30 network
_ANY_FAILING_KIND = ("tanh", False, "batchnorm")


def _deep_cases():
    from course.explore import two_moons

    return [two_moons(200, seed=0)]


def _deep_hidden():
    from course.explore import two_moons

    return [two_moons(200, seed=2)]


DEEP_MISTAKES = {
    "the network must keep 30 hidden layers: the task is to make the DEEP network train, "
    "not to avoid it": _settings_trainer(depth=3, activation="relu", init="xavier",
                                         optimizer="sgd", lr=0.01),
    "a ReLU network that misses the target: with Xavier (or small) weights the first layers "
    "get 1e-5 of the last layer's gradient and plain SGD does not rescale it; use He weights, "
    "or Adam, and enough steps":
        _settings_trainer(activation="relu", init="xavier", optimizer="sgd", lr=0.1),
    "still the sigmoid without a residual path: its slope is at most 1/4, so each layer "
    "shrinks the gradient whatever the weights; add residual connections or change the "
    "activation": _settings_trainer(activation="sigmoid", init="xavier", optimizer="adam",
                                   lr=0.01),
    "tanh with LayerNorm has a healthy gradient ratio, and still does not reach the target "
    "here: a healthy ratio is necessary, not sufficient": _settings_trainer(
        activation="tanh", init="small normal", norm="layernorm", optimizer="adam", lr=0.01),
    "30 hidden layers, but the held-out accuracy is below the target; measure it with "
    "accuracy(net.eval(), x_test, y_test) and try a smaller learning rate, more steps or "
    "another fix": _settings_trainer(activation="tanh", init="small normal", norm="batchnorm",
                                     optimizer="adam", lr=0.01),
}


EXERCISES = [
    Exercise(
        id="06.1",
        title="the Xavier initialiser",
        points=2,
        reference=_xavier_init,
        cases=_init_cases,
        hidden_cases=lambda: _init_cases(seed=10),
        compare=_same_scale,
        mistakes=XAVIER_MISTAKES,
    ),
    Exercise(
        id="06.2",
        title="the He initialiser",
        points=2,
        reference=_he_init,
        cases=_init_cases,
        hidden_cases=lambda: _init_cases(seed=20),
        compare=_same_scale,
        mistakes=HE_MISTAKES,
    ),
    Exercise(
        id="06.3",
        title="global-norm gradient clipping",
        points=3,
        reference=_clip_global,
        cases=_clip_cases,
        hidden_cases=_clip_hidden,
        mistakes={
            "clipped each tensor by its own norm instead of the global norm": _clip_per_tensor,
            "max instead of min: small gradients were scaled up": _clip_max_not_min,
            "clipped even below tau: every gradient was rescaled to norm tau": _clip_always,
            "clipped each value to [-tau, tau] instead of scaling by the norm": _clip_values,
        },
    ),
    Exercise(
        id="06.4",
        title="BatchNorm forward, training and evaluation",
        points=3,
        reference=_bn_forward,
        cases=_bn_forward_cases,
        hidden_cases=lambda: _bn_forward_cases(seed=5),
        mistakes={
            "statistics over the features (axis=1): that is LayerNorm; BatchNorm averages each "
            "feature over the batch (axis=0)": _bn_variant(stats_axis=1),
            "evaluation used the batch's statistics; in evaluation use the running mean and "
            "variance (one example must not depend on the others)": _bn_variant(eval_batch=True),
            "eps added outside the square root: use sqrt(var + eps)": _bn_variant(eps_outside=True),
            "normalised with the unbiased variance (n - 1); normalise with the batch's own "
            "variance (n) and keep n/(n - 1) for the running estimate":
                _bn_variant(unbiased_norm=True),
            "momentum the wrong way round: the running statistics keep only momentum of their "
            "old value": _bn_variant(swapped_momentum=True),
            "the running variance got the biased batch variance; it estimates the population "
            "variance, var * n/(n - 1)": _bn_variant(biased_running=True),
        },
    ),
    Exercise(
        id="06.5",
        title="BatchNorm backward in training mode",
        points=4,
        reference=_bn_backward,
        cases=_bn_backward_cases,
        hidden_cases=lambda: _bn_backward_cases(seed=7),
        mistakes={
            "treated the batch mean and variance as constants (that is the evaluation-mode "
            "backward): in training both depend on every x": _bn_backward_variant(
                drop_mean=True, drop_var=True),
            "dropped the variance's path: the - xhat * mean(g * xhat) term is missing":
                _bn_backward_variant(drop_var=True),
            "dropped the mean's path: the - mean(g) term is missing":
                _bn_backward_variant(drop_mean=True),
            "forgot gamma: dL/dxhat = upstream * gamma": _bn_backward_variant(no_gamma=True),
            "dgamma = sum(upstream): it is sum(upstream * xhat)":
                _bn_backward_variant(dgamma_plain=True),
            "means over the features (axis=1): that is LayerNorm's backward":
                _bn_backward_variant(axis=1),
        },
    ),
    Exercise(
        id="06.6",
        title="fraction of dead ReLU units",
        points=2,
        reference=_dead_fraction,
        cases=_dead_cases,
        hidden_cases=_dead_hidden,
        mistakes={
            "counted inactive entries, not units inactive on every example":
                lambda z: float(np.mean(z <= 0)),
            "a unit is dead only if inactive on ALL examples, not on any one":
                lambda z: float(np.mean(np.any(z <= 0, axis=0))),
            "counted the live units instead of the dead ones":
                lambda z: float(np.mean(~np.all(z <= 0, axis=0))),
            "returned the count, not the fraction": lambda z: float(np.sum(np.all(z <= 0, axis=0))),
        },
    ),
    Exercise(
        id="06.7",
        title=f"make the depth-30 network reach {TARGET:.0%} held-out accuracy",
        points=4,
        reference=_train_deep,
        cases=_deep_cases,
        hidden_cases=_deep_hidden,
        compare=_same_deep_result,
        mistakes=DEEP_MISTAKES,
    ),
]
