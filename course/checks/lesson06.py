"""Lesson 06 (vanishing and exploding gradients): the Xavier and He initialisers, global-norm
clipping, BatchNorm's forward (training and evaluation) and backward, counting dead ReLU units,
a fix that makes the depth-30 network train (measured on points the lesson never loads), and one
pass through a network that keeps every layer's output and the gradient arriving at it."""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from course.checks import variants
from course.checks.core import Exercise, Mistake
from course.diagnostics import layer_pass

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
    """(d_in, d_out, seed of the Generator): non-square, fan-in and fan-out far apart."""
    if seed == 0:
        return [(300, 100, 0), (64, 256, 1)]
    return [(500, 200, 10 * seed), (40, 400, 10 * seed + 1)]


def _init_stats(init, d_in, d_out, seed):
    """What the check compares of an initialiser's W: (shape, standard deviation, mean)."""
    w = np.asarray(init(d_in, d_out, np.random.default_rng(seed)), dtype=np.float64)
    return tuple(w.shape), round(float(w.std()), 5), round(float(w.mean()), 5)


def _same_scale(got, expected) -> bool:
    """Same shape; the standard deviation within 3 % and the mean near 0 (any distribution
    with the right variance passes, uniform included)."""
    try:
        (shape, std, mean), (e_shape, e_std, _) = got, expected
    except (TypeError, ValueError):
        return False
    return (tuple(shape) == tuple(e_shape) and abs(std / e_std - 1) < 0.03
            and abs(mean) < 0.05 * e_std)


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
    tiny = np.array([[-1.0, 2.0, -3.0, 0.0], [-0.5, -1.0, 1.0, 0.0], [-2.0, 0.5, 1.0, -1.0]])
    shifted = rng.normal(size=(8, 10)) - np.linspace(-1.0, 3.0, 10)
    return [(tiny,), (shifted,)]


def _dead_hidden():
    rng = np.random.default_rng(61)
    return [(np.array([[0.0, 1.0], [0.0, -1.0], [0.0, -2.0]]),),
            (rng.normal(size=(20, 16)) - np.linspace(-2.0, 4.0, 16),)]


# ---------------------------------------------------------------- 06.7 the depth-30 network

DEPTH = 30
TARGET = 0.93
HELD_OUT_SEED = 7
HELD_OUT_POINTS = 1000


def held_out():
    """The points the 06.7 check measures on: two moons, 1000 points, seed 7. The lesson never
    loads them, so no choice made in the notebook can have seen them."""
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


def _train_deep_reference(x, y):
    """Depth-30 ReLU network (width 16, He weights), 150 full-batch Adam steps at the rate of
    {0.001, 0.003} with the better accuracy on a validation quarter carved from (x, y)."""
    from course.experiment import carve_validation
    from course.explore import Settings, build_net
    from course.losses import SoftmaxCrossEntropy
    from course.optim import Adam
    from course.train import accuracy, fit

    x_fit, y_fit, x_val, y_val = carve_validation(x, y, 0.25, seed=0)
    best, best_acc = None, -1.0
    for lr in (0.001, 0.003):
        net = build_net(Settings(depth=DEPTH, width=16, activation="relu", init="he"))
        fit(net, SoftmaxCrossEntropy(), Adam(net.parameters(), lr), x_fit, y_fit, steps=150,
            batch_size=None, progress=False, verbose=False)
        acc = accuracy(net.eval(), x_val, y_val)
        if acc > best_acc:
            best, best_acc = net, acc
    return best


_train_deep = _memo(_train_deep_reference)


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


def _deep_cases(seed=0):
    from course.explore import two_moons

    return [two_moons(200, seed=0 if seed == 0 else 2)]


# ---------------------------------------------------------------- 06.8 one pass, layer by layer


def _run_pass(fn, sizes, activation, seed):
    """Build the net, call fn(net, loss_fn, x, y); -> (loss, outputs, upstreams, gradients)."""
    from course.losses import SoftmaxCrossEntropy
    from course.mlp import MLP

    net = MLP(list(sizes), activation=activation, seed=seed)
    rng = np.random.default_rng(seed + 50)
    x, y = rng.normal(size=(5, sizes[0])), rng.integers(0, sizes[-1], 5)
    returned = fn(net, SoftmaxCrossEntropy(), x, y)
    if returned is None:
        return None
    loss, outputs, upstreams = returned
    grads = net.gradients()
    return (float(loss), tuple(np.asarray(o) for o in outputs),
            tuple(np.asarray(u) for u in upstreams), tuple(grads[k] for k in sorted(grads)))


def _same_pass(got, expected) -> bool:
    """(loss, outputs, upstreams, gradients) equal to the reference's, array by array."""
    try:
        if not np.isclose(got[0], expected[0], rtol=1e-9):
            return False
        for g, e in zip(got[1:], expected[1:], strict=True):
            if len(g) != len(e) or not all(np.shape(a) == np.shape(b) and np.allclose(
                    a, b, rtol=1e-9, atol=1e-12) for a, b in zip(g, e)):
                return False
    except (TypeError, ValueError, IndexError):
        return False
    return True


def _pass_cases(seed=0):
    if seed == 0:
        return [((3, 3, 3, 3), "tanh", 0), ((2, 4, 3), "relu", 1)]
    return [((4, 5, 5, 2), "sigmoid", seed), ((3, 6, 2), "relu", seed + 10)]


def _forward_keep(net, x, inputs=False):
    outputs, h = [], x
    for layer in net.layers:
        if inputs:
            outputs.append(h)
        h = layer.forward(h)
        if not inputs:
            outputs.append(h)
    return outputs, h


def _pass_upstream_is_input_grad(net, loss_fn, x, y):
    outputs, h = _forward_keep(net, x)
    loss = float(loss_fn.forward(h, y))
    g, upstreams = loss_fn.backward(), [None] * len(net.layers)
    for i in range(len(net.layers) - 1, -1, -1):
        g = net.layers[i].backward(g)
        upstreams[i] = g
    return loss, outputs, upstreams


def _pass_outputs_are_inputs(net, loss_fn, x, y):
    from course.diagnostics import layer_pass

    loss, _, upstreams = layer_pass(net, loss_fn, x, y)
    outputs, _ = _forward_keep(net, x, inputs=True)
    return loss, outputs, upstreams


def _pass_reversed(net, loss_fn, x, y):
    outputs, h = _forward_keep(net, x)
    loss = float(loss_fn.forward(h, y))
    g, upstreams = loss_fn.backward(), []
    for layer in reversed(net.layers):
        upstreams.append(g)
        g = layer.backward(g)
    return loss, outputs, upstreams


def _pass_forward_order(net, loss_fn, x, y):
    outputs, h = _forward_keep(net, x)
    loss = float(loss_fn.forward(h, y))
    g, upstreams = loss_fn.backward(), []
    for layer in net.layers:
        upstreams.append(g)
        g = layer.backward(g)
    return loss, outputs, upstreams


S06 = "Lesson 06"
EXERCISES = [
    Exercise(
        id="06.1",
        title="the Xavier initialiser",
        points=2,
        reference=_xavier_init,
        cases=_init_cases,
        run=_init_stats,
        compare=_same_scale,
        section=f"{S06}, 'Choosing the weights' scale: the variance argument'",
        mistakes=[
            Mistake("fan-in-only", "the spread of your weights is too small: it counts only "
                    "the inputs of each unit", _normal_with_variance(lambda i, o: 1.0 / i),
                    hint="Xavier averages the forward pass (d_in) and the backward pass (d_out)"),
            Mistake("missing-factor", "the spread of your weights is too small by a constant "
                    "factor", _normal_with_variance(lambda i, o: 1.0 / (i + o)),
                    hint="the AVERAGE of the two fans times Var(w) is 1"),
            Mistake("variance-as-scale", "your standard deviation is the variance Xavier asks "
                    "for", lambda i, o, rng: rng.normal(0.0, 2.0 / (i + o), size=(i, o)),
                    hint="rng.normal's scale is the standard deviation: the square root of the "
                         "variance"),
            Mistake("he-variance", "the spread of your weights matches He's rule, not Xavier's",
                    _normal_with_variance(lambda i, o: 2.0 / i),
                    hint="He is for ReLU; Xavier uses both fans"),
        ],
    ),
    Exercise(
        id="06.2",
        title="the He initialiser",
        points=2,
        reference=_he_init,
        cases=_init_cases,
        run=_init_stats,
        compare=_same_scale,
        section=f"{S06}, 'Choosing the weights' scale: the variance argument' (ReLU)",
        mistakes=[
            Mistake("no-relu-factor", "the spread of your weights keeps the variance of a unit "
                    "that passes everything", _normal_with_variance(lambda i, o: 1.0 / i),
                    hint="ReLU zeroes half of z: what does that do to the mean square?"),
            Mistake("xavier-variance", "the spread of your weights matches Xavier's rule",
                    _normal_with_variance(lambda i, o: 2.0 / (i + o)),
                    hint="He's rule counts one fan only"),
            Mistake("wrong-fan", "your weights' spread is set by the wrong fan",
                    _normal_with_variance(lambda i, o: 2.0 / o),
                    hint="the forward variance sums over the d_in inputs of a unit"),
            Mistake("variance-as-scale", "your standard deviation is the variance He asks for",
                    lambda i, o, rng: rng.normal(0.0, 2.0 / i, size=(i, o)),
                    hint="rng.normal's scale is the standard deviation"),
        ],
    ),
    Exercise(
        id="06.3",
        title="global-norm gradient clipping",
        points=3,
        reference=_clip_global,
        cases=lambda seed: _clip_cases() if seed == 0 else (_clip_hidden() if seed == 1 else []),
        hidden_cases=_clip_hidden,
        section=f"{S06}, 'Exploding gradients and clipping'",
        mistakes=[
            Mistake("per-tensor", "each array was clipped on its own: the direction of the "
                    "whole gradient changed", _clip_per_tensor,
                    hint="one norm for all arrays together, one factor for all"),
            Mistake("max-not-min", "small gradients were scaled up", _clip_max_not_min,
                    hint="the factor never exceeds 1"),
            Mistake("always-rescaled", "gradients below the threshold were changed too",
                    _clip_always, hint="below tau, the gradients pass unchanged"),
            Mistake("clip-values", "each entry was cut off on its own", _clip_values,
                    hint="scale by the norm; do not cut single values"),
            Mistake("inputs-changed", "your function changed the gradients it was given in "
                    "place", variants.mutating(_clip_global, 0),
                    hint="return a new dict of new arrays"),
        ],
    ),
    Exercise(
        id="06.4",
        title="BatchNorm forward, training and evaluation",
        points=3,
        reference=_bn_forward,
        cases=lambda seed: _bn_forward_cases(0 if seed == 0 else 5),
        hidden_cases=lambda: _bn_forward_cases(seed=5),
        section=f"{S06}, 'BatchNorm, written out'",
        mistakes=[
            Mistake("features-axis", "your statistics are taken over each example's features: "
                    "that is LayerNorm", _bn_variant(stats_axis=1),
                    hint="BatchNorm averages each feature over the batch"),
            Mistake("eval-uses-batch", "in evaluation mode your output depends on the other "
                    "examples of the batch", _bn_variant(eval_batch=True),
                    hint="evaluation uses the running statistics"),
            Mistake("eps-outside", "eps sits in the wrong place", _bn_variant(eps_outside=True),
                    hint="eps is added to the variance, under the root"),
            Mistake("unbiased-normalised", "your normalisation used the population estimate of "
                    "the variance", _bn_variant(unbiased_norm=True),
                    hint="normalise with the batch's own variance; the n/(n-1) factor is for "
                         "the running estimate only"),
            Mistake("momentum-swapped", "your running statistics forget almost everything "
                    "each step", _bn_variant(swapped_momentum=True),
                    hint="momentum is the weight of the NEW batch statistic"),
            Mistake("biased-running", "your running variance is biased low",
                    _bn_variant(biased_running=True),
                    hint="the running variance estimates the population's: the n/(n-1) factor"),
        ],
    ),
    Exercise(
        id="06.5",
        title="BatchNorm backward in training mode",
        points=4,
        reference=_bn_backward,
        cases=lambda seed: _bn_backward_cases(0 if seed == 0 else 7),
        hidden_cases=lambda: _bn_backward_cases(seed=7),
        section=f"{S06}, 'Exercise 06.5': the three paths from x into xhat",
        mistakes=[
            Mistake("constant-statistics", "your dx treats the batch mean and variance as "
                    "constants", _bn_backward_variant(drop_mean=True, drop_var=True),
                    hint="in training both statistics depend on every x of the column"),
            Mistake("no-variance-path", "your dx misses the path through the batch variance",
                    _bn_backward_variant(drop_var=True),
                    hint="follow x_i through the variance too"),
            Mistake("no-mean-path", "your dx misses the path through the batch mean",
                    _bn_backward_variant(drop_mean=True),
                    hint="follow x_i through the mean too"),
            Mistake("no-gamma", "your dx is not scaled by gamma", _bn_backward_variant(
                    no_gamma=True), hint="dL/dxhat is the upstream times gamma"),
            Mistake("dgamma-plain", "your dgamma does not depend on the normalised inputs",
                    _bn_backward_variant(dgamma_plain=True),
                    hint="out depends on gamma through xhat"),
            Mistake("features-axis", "your means are over the features: that is LayerNorm's "
                    "backward", _bn_backward_variant(axis=1), hint="columns, not rows"),
        ],
    ),
    Exercise(
        id="06.6",
        title="fraction of dead ReLU units",
        points=2,
        reference=_dead_fraction,
        cases=lambda seed: _dead_cases() if seed == 0 else (_dead_hidden() if seed == 1 else []),
        hidden_cases=_dead_hidden,
        section=f"{S06}, 'Dead ReLUs'",
        mistakes=[
            Mistake("entries-not-units", "you counted inactive entries, not units",
                    lambda z: float(np.mean(z <= 0)),
                    hint="a unit is a column: dead when inactive on every example"),
            Mistake("any-not-all", "a unit counted as dead when one example switched it off",
                    lambda z: float(np.mean(np.any(z <= 0, axis=0))),
                    hint="dead means off on ALL examples"),
            Mistake("live-units", "you counted the live units", lambda z: float(
                    np.mean(~np.all(z <= 0, axis=0))), hint="the fraction of DEAD units"),
            Mistake("count-not-fraction", "you returned how many, not what fraction",
                    lambda z: float(np.sum(np.all(z <= 0, axis=0))),
                    hint="divide by the number of units"),
            Mistake("zero-is-alive", "a unit whose pre-activation is exactly 0 counted as "
                    "alive", lambda z: float(np.mean(np.all(z < 0, axis=0))),
                    hint="ReLU outputs 0 and passes no gradient at z = 0 too"),
            Mistake("per-example", "you took the fraction per example, over the wrong axis",
                    lambda z: float(np.mean(np.all(z <= 0, axis=1))),
                    hint="units are columns (axis 0 runs over the examples)"),
        ],
    ),
    Exercise(
        id="06.7",
        title=f"make the depth-30 network reach {TARGET:.0%} on points it never saw",
        points=4,
        reference=_train_deep,
        cases=_deep_cases,
        hidden_cases=lambda: _deep_cases(1),
        compare=_same_deep_result,
        mutates=True,
        section=f"{S06}, 'Exercise 06.7': the fixes table",
        mistakes=[
            Mistake("too-shallow", "your network does not have 30 hidden layers",
                    _settings_trainer(depth=3, activation="relu", init="xavier",
                                      optimizer="sgd", lr=0.01),
                    hint="the task is to make the DEEP network train, not to avoid it"),
            Mistake("relu-xavier-sgd", "your ReLU network misses the target: its first layers "
                    "hardly move", _settings_trainer(activation="relu", init="xavier",
                                                     optimizer="sgd", lr=0.1),
                    hint="with Xavier weights ReLU loses a factor per layer and plain SGD does "
                         "not rescale it: He weights, or Adam"),
            Mistake("sigmoid", "your sigmoid network misses the target",
                    _settings_trainer(activation="sigmoid", init="xavier", optimizer="adam",
                                      lr=0.01),
                    hint="the sigmoid's slope is at most 1/4 per layer: residual connections "
                         "or another activation"),
            Mistake("layernorm-lr", "your normalised tanh network misses the target",
                    _settings_trainer(activation="tanh", init="small normal", norm="layernorm",
                                      optimizer="adam", lr=0.01),
                    hint="a healthy gradient ratio is necessary, not sufficient: tune the rate "
                         "on a validation split"),
            Mistake("below-target", "30 hidden layers, but below the target on new points",
                    _settings_trainer(activation="tanh", init="small normal", norm="batchnorm",
                                      optimizer="adam", lr=0.01),
                    hint="carve a validation split from (x, y) and choose the setting on it"),
        ],
    ),
    Exercise(
        id="06.8",
        title="one pass, layer by layer: every output and the gradient arriving at it",
        points=3,
        reference=layer_pass,
        cases=_pass_cases,
        run=_run_pass,
        compare=_same_pass,
        section=f"{S06}, 'Watch a whole run, layer by layer'",
        mistakes=[
            Mistake("upstream-is-input-grad", "your upstreams are each one layer early: the "
                    "gradient leaving a layer, not the one arriving at its output",
                    _pass_upstream_is_input_grad,
                    hint="keep g BEFORE passing it through layer i's backward"),
            Mistake("outputs-are-inputs", "your outputs are each one layer late: what went "
                    "into a layer, not what came out", _pass_outputs_are_inputs,
                    hint="keep h after the layer's forward"),
            Mistake("upstreams-reversed", "your upstreams are listed output side first",
                    _pass_reversed, hint="index i must belong to net.layers[i]"),
            Mistake("forward-order-backward", "your backward pass visits the layers input side "
                    "first", _pass_forward_order,
                    hint="backward runs from the loss towards the input"),
        ],
    ),
]
