"""Lesson 07 (debugging backprop): the diagnostics (per-layer gradient norms, update-to-weight
ratios, dead and saturated fractions, does each parameter move after a step) and two mystery runs
whose cause and fix the learner finds from the symptoms."""

from __future__ import annotations

import math

import numpy as np

from course.checks.core import Exercise
from course.clinic import BY_KEY
from course.mystery import REFERENCE_FIX, check_fix, mystery

CAUSES = tuple(BY_KEY)
"""The causes a diagnosis can name: the keys of course.clinic's cases."""

MYSTERY_A, MYSTERY_B = "da26", "b44c"
"""The ids of the two mystery runs of the lesson (course.mystery draws each one's cause)."""


# ---------------------------------------------------------------- 07.1 per-layer gradient norms


def _layer_gradient_norms(grads):
    """grads: dict parameter name -> array -> dict layer name -> norm of all its gradients.

    The layer is the name before the last dot ('2.W' -> '2', '1.0.b' -> '1.0').
    """
    sums = {}
    for name, g in grads.items():
        layer = name.rsplit(".", 1)[0]
        sums[layer] = sums.get(layer, 0.0) + float(np.sum(np.asarray(g, dtype=np.float64) ** 2))
    return {layer: math.sqrt(s) for layer, s in sums.items()}


def _norm_cases():
    rng = np.random.default_rng(1)
    return [({"0.W": np.array([[3.0, 0.0]]), "0.b": np.array([4.0])},),
            ({"0.W": rng.normal(size=(2, 3)), "0.b": rng.normal(size=3),
              "2.W": rng.normal(size=(3, 2)), "2.b": rng.normal(size=2)},),
            ({"0.W": rng.normal(size=(2, 2)), "0.b": rng.normal(size=2),
              "1.0.W": rng.normal(size=(2, 2)), "1.0.b": rng.normal(size=2),
              "2.W": rng.normal(size=(2, 1)), "2.b": rng.normal(size=1)},)]


def _norm_hidden_cases():
    rng = np.random.default_rng(11)
    return [({"4.W": np.zeros((3, 3)), "4.b": np.array([0.0, 1.0, 0.0])},),
            ({"0.W": 1e-6 * rng.normal(size=(4, 5)), "0.b": rng.normal(size=5),
              "3.0.W": rng.normal(size=(5, 5)), "3.0.b": np.zeros(5),
              "3.1.gamma": rng.normal(size=5), "3.1.beta": rng.normal(size=5)},)]


def _per_layer(grads, norm_of_layer, layer_of=lambda name: name.rsplit(".", 1)[0]):
    groups = {}
    for name, g in grads.items():
        groups.setdefault(layer_of(name), []).append(np.asarray(g, dtype=np.float64))
    return {layer: float(norm_of_layer(gs)) for layer, gs in groups.items()}


# ---------------------------------------------------------------- 07.2 update-to-weight ratio


def _update_ratios(before, after):
    """before, after: dict name -> array (snapshots around a step) -> dict name -> ratio
    ||after - before|| / ||before||, for the weight matrices (ndim >= 2) only."""
    return {name: float(np.linalg.norm(after[name] - w) / np.linalg.norm(w))
            for name, w in before.items() if np.ndim(w) >= 2}


def _ratio_cases():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2))
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    return [({"0.W": np.array([[3.0, 4.0]]), "0.b": np.array([1.0])},
             {"0.W": np.array([[3.0, 4.5]]), "0.b": np.array([2.0])}),
            ({"0.W": w, "0.b": np.array([0.5, -0.5]), "2.W": np.eye(2), "2.b": np.ones(2)},
             {"0.W": w @ rotation, "0.b": np.array([0.6, -0.5]), "2.W": 1.001 * np.eye(2),
              "2.b": np.ones(2)})]


def _ratio_hidden_cases():
    rng = np.random.default_rng(12)
    w1, w2 = rng.normal(size=(4, 4)), rng.normal(size=(4, 1))
    return [({"0.W": w1, "0.b": np.full(4, 0.3), "1.0.W": w2, "1.0.b": np.array([2.0])},
             {"0.W": w1 + 1e-3 * rng.normal(size=(4, 4)), "0.b": np.full(4, 0.2),
              "1.0.W": -w2, "1.0.b": np.array([2.5])})]


# ---------------------------------------------------------------- 07.3 dead, 07.4 saturated


def _dead_fraction(a):
    """a: ReLU outputs (n examples, d units) -> fraction of units that are 0 for every example."""
    return float(np.mean(np.all(np.asarray(a) <= 0, axis=0)))


def _relu_cases():
    return [(np.array([[0.0, 1.0], [0.0, 0.0]]),),
            (np.array([[0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 3.0]]),),
            (np.maximum(np.random.default_rng(3).normal(size=(5, 6)) - 0.8, 0.0),)]


def _relu_hidden_cases():
    a = np.maximum(np.random.default_rng(13).normal(size=(7, 9)) - 1.0, 0.0)
    return [(np.zeros((3, 1)),), (a,), (a.astype(np.float32),)]


def _saturated_fraction(a, low, high, tol=0.01):
    """a: sigmoid or tanh outputs (n, d); low, high: the activation's bounds -> fraction of the
    entries within tol of either bound."""
    a = np.asarray(a)
    return float(np.mean((a <= low + tol) | (a >= high - tol)))


def _saturated_cases():
    z = np.random.default_rng(4).normal(scale=4.0, size=(6, 5))
    return [(np.array([[-0.995, 0.0], [0.5, 0.999]]), -1.0, 1.0),
            (np.array([[-1.0, 0.2, -0.995, 1.0]]), -1.0, 1.0),
            (np.tanh(z), -1.0, 1.0),
            (1 / (1 + np.exp(-z)), 0.0, 1.0)]


def _saturated_hidden_cases():
    z = np.random.default_rng(14).normal(scale=6.0, size=(8, 4))
    return [(1 / (1 + np.exp(-z)), 0.0, 1.0, 0.05), (np.tanh(z), -1.0, 1.0, 0.001),
            (np.array([[-1.0, 1.0, 0.0]]), -1.0, 1.0)]


# ---------------------------------------------------------------- 07.5 frozen after one step


def _frozen_after_step(net, loss_fn, opt, x, y):
    """Take one training step on (x, y); the names of the parameters it left unchanged."""
    before = {name: w.copy() for name, w in net.parameters().items()}
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    after = net.parameters()
    return [name for name, w in before.items() if np.array_equal(w, after[name])]


def _step_case(kind, seed):
    from course.clinic import ForgetfulLinear
    from course.losses import SoftmaxCrossEntropy
    from course.mlp import MLP
    from course.optim import SGD, Adam

    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(6, 2)), rng.integers(0, 2, 6)
    sizes = [2, 3, 3, 2]
    net = MLP(sizes, activation="tanh", seed=seed, dtype="float32" if kind == "orphaned" else
              "float64")
    opt = (Adam if seed % 2 else SGD)(net.parameters(), 1e-7 if kind == "tiny step" else 0.1)
    if kind == "orphaned":
        net.to("numpy", dtype="float64")
    if kind == "forgetful":
        old = net.layers[2]
        net.layers[2] = ForgetfulLinear(old.d_in, old.d_out)
        net.layers[2].params, net.layers[2].name = old.params, old.name
        net.layers[2].zero_grad()
    if kind == "stale gradients":
        loss_fn = SoftmaxCrossEntropy()
        loss_fn.forward(net.forward(rng.normal(size=(4, 2))), rng.integers(0, 2, 4))
        net.backward(loss_fn.backward())
    return net, SoftmaxCrossEntropy(), opt, x, y


def _step_cases():
    return [_step_case("healthy", 0), _step_case("orphaned", 1), _step_case("forgetful", 2),
            _step_case("tiny step", 4), _step_case("stale gradients", 6)]


def _step_hidden_cases():
    return [_step_case("forgetful", 5), _step_case("tiny step", 7), _step_case("orphaned", 8),
            _step_case("stale gradients", 9)]


def _aliased_snapshot(net, loss_fn, opt, x, y):
    before = net.parameters()
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    return [name for name, w in before.items() if np.array_equal(w, net.parameters()[name])]


def _moved_instead(net, loss_fn, opt, x, y):
    frozen = _frozen_after_step(net, loss_fn, opt, x, y)
    return [name for name in net.parameters() if name not in frozen]


def _allclose_compare(net, loss_fn, opt, x, y):
    before = {name: w.copy() for name, w in net.parameters().items()}
    loss_fn.forward(net.forward(x), y)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    return [name for name, w in before.items() if np.allclose(w, net.parameters()[name])]


def _no_backward(net, loss_fn, opt, x, y):
    before = {name: w.copy() for name, w in net.parameters().items()}
    opt.step(net.gradients())
    return [name for name, w in before.items() if np.array_equal(w, net.parameters()[name])]


# ---------------------------------------------------------------- 07.6, 07.7 the mysteries


class _Answer(tuple):
    """A planted diagnosis (cause, fix), a plain pair to the code that uses it, and the way
    answers like it are recognised (``kind``): 'heals' (the right cause and a fix that trains),
    'cause' (this wrong cause, whatever the fix), 'fails' (the right cause, a fix that does not
    train), 'malformed' (not a pair (cause, dict of knobs)), 'unknown' (a cause not in CAUSES),
    'other' (any other wrong cause)."""

    def __new__(cls, cause, fix, kind):
        answer = super().__new__(cls, (cause, fix))
        answer.kind = kind
        return answer


def _pair(got):
    """(cause, fix) with the cause normalised, or None when got is not such a pair."""
    if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], str)):
        return None
    return got[0].strip().lower(), got[1]


def _valid_fix(fix) -> bool:
    try:
        check_fix(fix)
    except (TypeError, KeyError, ValueError):
        return False
    return True


def _judge(case_id, run_cause):
    run = mystery(case_id)

    def compare(got, expected: _Answer) -> bool:
        pair, cause = _pair(got), expected[0]
        if expected.kind == "malformed":
            return pair is None or (pair[0] == cause and not _valid_fix(pair[1]))
        if expected.kind == "unknown":
            return pair is not None and pair[0] not in CAUSES
        if expected.kind == "other":
            return pair is not None and pair[0] in CAUSES and pair[0] != run_cause
        if pair is None or pair[0] != cause:
            return False
        if expected.kind == "cause":
            return True
        if not _valid_fix(pair[1]):
            return False
        return run.heals(cause, pair[1]) == (expected.kind == "heals")

    return compare


def _mystery_exercise(ex_id, title, case_id, cause, failing_fix, wrong_causes):
    mistakes = {why: _Answer(c, REFERENCE_FIX[c], "cause") for why, c in wrong_causes.items()}
    mistakes["the cause is right, but the run with this fix still does not train: look at "
             "which symptom is left, and turn the knob that removes its cause"] = \
        _Answer(cause, failing_fix, "fails")
    mistakes["the answer is a pair (cause, fix): cause one of CAUSES, fix a dict knob -> new "
             "value with knobs from KNOBS, e.g. ('lr_too_low', {'lr': 0.1})"] = \
        _Answer(cause, "change it", "malformed")
    misspelt = cause.replace("_", " ") if "_" in cause else cause + "s"
    mistakes["that is not one of the names in CAUSES (check the spelling: 'lr_too_low', with "
             "underscores)"] = _Answer(misspelt, {}, "unknown")
    other = next(c for c in CAUSES if c != cause and c not in wrong_causes.values())
    mistakes["not this cause: its symptoms are not the ones this run shows; find the row of the "
             "table whose symptoms match, then the diagnostic that separates its causes"] = \
        _Answer(other, REFERENCE_FIX[other], "other")
    return Exercise(id=ex_id, title=title, points=3,
                    reference=_Answer(cause, REFERENCE_FIX[cause], "heals"),
                    compare=_judge(case_id, cause), mistakes=mistakes,
                    fallback=((None, {}), "The cells below show the run unchanged until your "
                                          "answer passes (the answer is not handed over)."))


EXERCISES = [
    Exercise(
        id="07.1",
        title="per-layer gradient norms",
        points=2,
        reference=_layer_gradient_norms,
        cases=_norm_cases,
        hidden_cases=_norm_hidden_cases,
        mistakes={
            "added the norms of W and b; a layer's norm is the square root of the sum of the "
            "squares of ALL its gradients' entries":
                lambda grads: _per_layer(grads, lambda gs: sum(np.linalg.norm(g) for g in gs)),
            "left out the biases: a layer's gradients are dW and db together":
                lambda grads: {n.rsplit(".", 1)[0]: float(np.linalg.norm(g))
                               for n, g in grads.items() if n.endswith(".W")},
            "kept only the last parameter of each layer (dict[layer] = norm(g) overwrites W's "
            "norm with b's): add up the squares of all of a layer's entries first":
                lambda grads: {n.rsplit(".", 1)[0]: float(np.linalg.norm(g))
                               for n, g in grads.items()},
            "forgot the square root: that is the sum of squares, not the norm":
                lambda grads: _per_layer(grads, lambda gs: sum(np.sum(g ** 2) for g in gs)),
            "split the name at the first dot; the layer is everything before the LAST dot "
            "('1.0.W' is layer '1.0', inside residual block 1)":
                lambda grads: _per_layer(
                    grads, lambda gs: math.sqrt(sum(np.sum(g ** 2) for g in gs)),
                    lambda name: name.split(".")[0]),
        },
    ),
    Exercise(
        id="07.2",
        title="update-to-weight ratio",
        points=2,
        reference=_update_ratios,
        cases=_ratio_cases,
        hidden_cases=_ratio_hidden_cases,
        mistakes={
            "compared the norms, (||after|| - ||before||) / ||before||: a step that turns a "
            "weight matrix without changing its norm still moves it":
                lambda b, a: {n: float(abs(np.linalg.norm(a[n]) - np.linalg.norm(w))
                                       / np.linalg.norm(w)) for n, w in b.items() if w.ndim >= 2},
            "returned the size of the update, ||after - before||, not divided by ||before||":
                lambda b, a: {n: float(np.linalg.norm(a[n] - w)) for n, w in b.items()
                              if w.ndim >= 2},
            "divided by ||after||; the ratio compares the step with the weights it started from":
                lambda b, a: {n: float(np.linalg.norm(a[n] - w) / np.linalg.norm(a[n]))
                              for n, w in b.items() if w.ndim >= 2},
            "included the biases; the ratio is for weight matrices (a bias starting at 0 has "
            "no size to compare with)":
                lambda b, a: {n: float(np.linalg.norm(a[n] - w) / np.linalg.norm(w))
                              for n, w in b.items()},
        },
    ),
    Exercise(
        id="07.3",
        title="fraction of dead ReLU units",
        points=1,
        reference=_dead_fraction,
        cases=_relu_cases,
        hidden_cases=_relu_hidden_cases,
        mistakes={
            "counted zero entries, not units: a unit is dead only when it is 0 for every example":
                lambda a: float(np.mean(a <= 0)),
            "looked along the wrong axis: a unit is a column; the rows are examples":
                lambda a: float(np.mean(np.all(a <= 0, axis=1))),
            "a unit that is 0 for SOME example is alive; dead means 0 for every one":
                lambda a: float(np.mean(np.any(a <= 0, axis=0))),
            "tested a < 0: a ReLU never outputs a negative number; a dead unit outputs exactly 0":
                lambda a: float(np.mean(np.all(a < 0, axis=0))),
            "returned the number of dead units; the fraction divides it by the number of units":
                lambda a: int(np.sum(np.all(a <= 0, axis=0))),
        },
    ),
    Exercise(
        id="07.4",
        title="fraction of saturated sigmoid/tanh outputs",
        points=1,
        reference=_saturated_fraction,
        cases=_saturated_cases,
        hidden_cases=_saturated_hidden_cases,
        mistakes={
            "counted only the upper bound; an output near the lower bound is saturated too":
                lambda a, low, high, tol=0.01: float(np.mean(a >= high - tol)),
            "compared |a| with 1 - tol: right for tanh's (-1, 1), wrong for the sigmoid's (0, 1); "
            "use low and high":
                lambda a, low, high, tol=0.01: float(np.mean(np.abs(a) >= 1 - tol)),
            "left the tolerance out at the lower bound: a <= low + tol, not a <= low":
                lambda a, low, high, tol=0.01: float(np.mean((a <= low) | (a >= high - tol))),
        },
    ),
    Exercise(
        id="07.5",
        title="which parameters did one step leave unchanged",
        points=2,
        reference=_frozen_after_step,
        cases=_step_cases,
        hidden_cases=_step_hidden_cases,
        mistakes={
            "before = net.parameters() holds the arrays themselves, which the step changes in "
            "place, so every parameter looks unchanged: keep copies (w.copy())":
                _aliased_snapshot,
            "returned the parameters that moved; the test asks which did NOT": _moved_instead,
            "np.allclose calls a small step 'no change' (a step of 1e-7 is still a step); "
            "compare exactly with np.array_equal": _allclose_compare,
            "stepped without a fresh forward and backward: the optimizer used whatever "
            "gradients were left in the network": _no_backward,
        },
    ),
    _mystery_exercise(
        "07.6", "mystery run da26: cause and fix", MYSTERY_A, "orphaned_optimizer",
        {"lr": 1.0},
        {"a learning rate that is too low still moves the weights a little; here the update "
         "ratio is exactly 0": "lr_too_low",
         "saturated units give tiny gradients; here the gradients are of normal size and the "
         "weights still do not move": "saturated",
         "a skipped backward leaves one layer's gradient at exactly 0; here every layer has a "
         "gradient": "skipped_backward"}),
    _mystery_exercise(
        "07.7", "mystery run b44c: cause and fix", MYSTERY_B, "accumulation",
        {"lr": 0.01},
        {"a learning rate that is too high blows the loss up by orders of magnitude within "
         "a few steps; here the gradient norm climbs steadily for hundreds of steps":
             "lr_too_high",
         "batches of 2 make the loss jump from step to step around a level; here the gradient "
         "norm grows step after step": "tiny_batches",
         "vanishing gradients are small in the first layers; here every layer's gradient "
         "grows": "vanishing"}),
]
