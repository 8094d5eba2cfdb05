"""Lesson 07 (debugging backprop): the diagnostics (per-layer gradient norms, update-to-weight
ratios, saturated fractions, does each parameter move after a step) and five mystery runs, each
repaired by a piece of code the learner writes and judged by what the repaired run does.

A mystery's check trains the run with the learner's fix on two samples of its data and asks
``course.mystery.judge`` whether each run is healthy on all seven counts. The planted mistakes
are fixes that do not heal (a piece repaired the wrong way, or the wrong piece); a learner's fix
is recognised as one of them when both runs end the same way (the same seven facts, the same
step of divergence, the same final loss to one decimal).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from course.checks import variants
from course.checks.core import Exercise, Mistake
from course.mystery import IDS, PIECES, judge, mystery
from course.optim import clip_grad_norm

SEEDS = (0, 1)
"""The samples of a mystery's data a fix must heal: seed 0 (shown in the lesson) and one more."""


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


def _norm_cases(seed: int):
    rng = np.random.default_rng(1 + 10 * seed)
    if seed == 0:
        return [({"0.W": np.array([[3.0, 0.0]]), "0.b": np.array([4.0])},),
                ({"0.W": rng.normal(size=(2, 3)), "0.b": rng.normal(size=3),
                  "2.W": rng.normal(size=(3, 2)), "2.b": rng.normal(size=2)},),
                ({"0.W": rng.normal(size=(2, 2)), "0.b": rng.normal(size=2),
                  "1.0.W": rng.normal(size=(2, 2)), "1.0.b": rng.normal(size=2),
                  "2.W": rng.normal(size=(2, 1)), "2.b": rng.normal(size=1)},)]
    return [({"4.W": np.zeros((3, 3)), "4.b": np.array([0.0, 1.0, 0.0])},),
            ({"0.W": 1e-6 * rng.normal(size=(4, 5)), "0.b": rng.normal(size=5),
              "3.0.W": rng.normal(size=(5, 5)), "3.0.b": np.zeros(5),
              "3.1.gamma": rng.normal(size=5), "3.1.beta": rng.normal(size=5)},)]


def _per_layer(grads, norm_of_layer, layer_of=lambda name: name.rsplit(".", 1)[0]):
    groups = {}
    for name, g in grads.items():
        groups.setdefault(layer_of(name), []).append(np.asarray(g, dtype=np.float64))
    return {layer: float(norm_of_layer(gs)) for layer, gs in groups.items()}


def _root_of_squares(gs):
    return math.sqrt(sum(np.sum(g ** 2) for g in gs))


# ---------------------------------------------------------------- 07.2 update-to-weight ratio


def _update_ratios(before, after):
    """before, after: dict name -> array (snapshots around a step) -> dict name -> ratio
    ||after - before|| / ||before||, for the weight matrices (ndim >= 2) only."""
    return {name: float(np.linalg.norm(after[name] - w) / np.linalg.norm(w))
            for name, w in before.items() if np.ndim(w) >= 2}


def _ratio_cases(seed: int):
    rng = np.random.default_rng(2 + 10 * seed)
    if seed == 0:
        w = rng.normal(size=(3, 2))
        rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
        return [({"0.W": np.array([[3.0, 4.0]]), "0.b": np.array([1.0])},
                 {"0.W": np.array([[3.0, 4.5]]), "0.b": np.array([2.0])}),
                ({"0.W": w, "0.b": np.array([0.5, -0.5]), "2.W": np.eye(2), "2.b": np.ones(2)},
                 {"0.W": w @ rotation, "0.b": np.array([0.6, -0.5]), "2.W": 1.001 * np.eye(2),
                  "2.b": np.ones(2)})]
    w1, w2 = rng.normal(size=(4, 4)), rng.normal(size=(4, 1))
    return [({"0.W": w1, "0.b": np.full(4, 0.3), "1.0.W": w2, "1.0.b": np.array([2.0])},
             {"0.W": w1 + 1e-3 * rng.normal(size=(4, 4)), "0.b": np.full(4, 0.2),
              "1.0.W": -w2, "1.0.b": np.array([2.5])})]


# ---------------------------------------------------------------- 07.3 saturated fraction


def _saturated_fraction(a, low, high, tol=0.01):
    """a: sigmoid or tanh outputs (n, d); low, high: the activation's bounds -> fraction of the
    entries within tol of either bound."""
    a = np.asarray(a)
    return float(np.mean((a <= low + tol) | (a >= high - tol)))


def _saturated_cases(seed: int):
    rng = np.random.default_rng(4 + 10 * seed)
    z = rng.normal(scale=4.0 if seed == 0 else 6.0, size=(6, 5) if seed == 0 else (8, 4))
    if seed == 0:
        return [(np.array([[-0.995, 0.0], [0.5, 0.999], [0.2, 0.1]]), -1.0, 1.0),
                (np.array([[-1.0, 0.2, -0.995, 1.0]]), -1.0, 1.0),
                (np.tanh(z), -1.0, 1.0),
                (1 / (1 + np.exp(-z)), 0.0, 1.0)]
    return [(1 / (1 + np.exp(-z)), 0.0, 1.0, 0.05), (np.tanh(z), -1.0, 1.0, 0.001),
            (np.array([[-1.0, 1.0, 0.0]]), -1.0, 1.0)]


# ---------------------------------------------------------------- 07.4 frozen after one step


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
    net = MLP([2, 3, 3, 2], activation="tanh", seed=seed,
              dtype="float32" if kind == "orphaned" else "float64")
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


def _step_cases(seed: int):
    if seed == 0:
        return [_step_case("healthy", 0), _step_case("orphaned", 1), _step_case("forgetful", 2),
                _step_case("tiny step", 4), _step_case("stale gradients", 6)]
    return [_step_case(kind, 10 * seed + k) for k, kind in
            enumerate(("forgetful", "tiny step", "orphaned", "stale gradients"))]


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


# ---------------------------------------------------------------- 07.5-07.9 the mystery runs


class _Healthy:
    """The expected outcome of every mystery: a run healthy on all seven counts of judge()."""

    def __repr__(self) -> str:
        return "a run that is healthy on all seven counts"


HEALTHY = _Healthy()


class _NotAFix:
    def __repr__(self) -> str:
        return "not a fix: a dict with one piece name and your function"


NOT_A_FIX = _NotAFix()


def valid_fix(fix) -> bool:
    """A fix is a dict {piece name: function} replacing one of the run's pieces."""
    return (isinstance(fix, dict) and len(fix) == 1 and all(k in PIECES for k in fix)
            and all(callable(f) for f in fix.values()))


def verdict(case_id: str, fix: dict) -> tuple:
    """How the run ends with ``fix``, on each seed of SEEDS: (the seven facts of judge(), the
    step it diverged at, its final mini-batch loss to one decimal)."""
    (piece, fn), = fix.items()
    return _verdict(case_id, piece, fn)


@lru_cache(maxsize=256)
def _verdict(case_id: str, piece: str, fn) -> tuple:
    ends = []
    for seed in SEEDS:
        o = mystery(case_id, seed).run(**{piece: fn})
        h = o.history
        last = round(float(np.mean(h.loss[-20:])), 1) if h.loss and not h.diverged else None
        ends.append((tuple(judge(o).values()), h.diverged_at, last))
    return tuple(ends)


def heals(case_id: str, fix) -> bool:
    """Whether ``fix`` is a valid fix after which the run is healthy on every seed of SEEDS."""
    return valid_fix(fix) and all(all(facts) for facts, _, _ in verdict(case_id, fix))


def _judged(case_id):
    def compare(got, expected) -> bool:
        if expected is HEALTHY:
            return got is HEALTHY or heals(case_id, got)
        if expected is NOT_A_FIX:
            return not valid_fix(got)
        return valid_fix(got) and verdict(case_id, got) == verdict(case_id, expected)
    return compare


def _not_a_fix_mistake():
    return Mistake("not-a-fix", "your answer is not a fix: a fix is a dict with one piece's name "
                   "(prepare, init, batches or step) and the function you wrote for it",
                   NOT_A_FIX, hint="write the piece as a function with the same arguments as "
                   "the run's own, then assign e.g. {'step': my_step}; one piece per fix")


def _mystery(ex_id: str, k: int, mistakes: list[Mistake]) -> Exercise:
    case_id = IDS[k]
    return Exercise(
        id=ex_id, title=f"mystery run {case_id}: a fix in code", points=3, reference=HEALTHY,
        compare=_judged(case_id), mistakes=[*mistakes, _not_a_fix_mistake()],
        section="§9, 'Five mystery runs', and the section of the table whose symptom it shows",
        fallback=({}, "The cells below show the run as it is until your fix passes (no fix is "
                      "handed over)."))


def _step(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    return loss


def _clipped_step(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward())
    grads = net.gradients()
    clip_grad_norm(grads, 1.0)
    opt.step(grads)
    return loss


def _step_without_update(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward())
    return loss


def _step_without_backward(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    opt.step(net.gradients())
    return loss


def _update_then_backward(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    opt.step(net.gradients())
    net.backward(loss_fn.backward())
    return loss


def _adding_step(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward(), accumulate=True)
    opt.step(net.gradients())
    return loss


def _averaging_step(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward(), accumulate=True)
    t = opt.steps + 1
    opt.step({name: g / t for name, g in net.gradients().items()})
    return loss


def _he(d_in, d_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / d_in), size=(d_in, d_out))


def _zeros(d_in, d_out, rng):
    return np.zeros((d_in, d_out))


def _variance_as_std(d_in, d_out, rng):
    return rng.normal(0.0, 2.0 / d_in, size=(d_in, d_out))


def _inverted_scale(d_in, d_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 * d_in), size=(d_in, d_out))


def _standardised(x, y):
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def _one_scale(x, y):
    return (x - x.mean()) / x.std(), y


def _per_row(x, y):
    return ((x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)), y


def _scaled_not_centred(x, y):
    return x / x.std(axis=0), y


def _one_batch(n, batch_size, step, rng):
    return np.arange(batch_size)


def _four_at_random(n, batch_size, step, rng):
    return rng.choice(n, 4, replace=False)


_RUN_STILL = "with your fix the run still"

EXERCISES = [
    Exercise(
        id="07.1",
        title="per-layer gradient norms",
        points=2,
        reference=_layer_gradient_norms,
        cases=_norm_cases,
        section="§1, 'Exercise 07.1 — per-layer gradient norms'",
        mistakes=[
            Mistake("norms-added", "a layer's norm is too large where it has two parameters: "
                    "you combined the norms of W and b the wrong way",
                    lambda grads: _per_layer(grads, lambda gs: sum(np.linalg.norm(g) for g in gs)),
                    hint="one norm of all the entries of all the layer's gradients, as if they "
                         "were one long vector; norms do not add"),
            Mistake("bias-left-out", "your norms leave out the biases' gradients",
                    lambda grads: {n.rsplit(".", 1)[0]: float(np.linalg.norm(g))
                                   for n, g in grads.items() if n.endswith(".W")},
                    hint="a layer's gradients are dW and db together"),
            Mistake("last-parameter-only", "each layer's norm is that of its last parameter "
                    "only: the norm of W is overwritten by that of b",
                    lambda grads: {n.rsplit(".", 1)[0]: float(np.linalg.norm(g))
                                   for n, g in grads.items()},
                    hint="add up the squares of all of a layer's entries first, then take the "
                         "root once per layer"),
            Mistake("no-square-root", "your numbers are the squares of the norms",
                    lambda grads: _per_layer(grads, lambda gs: sum(np.sum(g ** 2) for g in gs)),
                    hint="a norm is the square root of the sum of squares"),
            Mistake("first-dot", "a parameter inside a residual block ('1.0.W') lands in the "
                    "wrong layer",
                    lambda grads: _per_layer(grads, _root_of_squares,
                                             lambda name: name.split(".")[0]),
                    hint="the layer is everything before the LAST dot: '1.0.W' is layer '1.0'"),
            Mistake("inputs-changed", "your code changed its input in place",
                    variants.mutating(_layer_gradient_norms),
                    hint="squaring or scaling a gradient in place writes into the network's "
                         "own arrays: compute new ones"),
        ],
    ),
    Exercise(
        id="07.2",
        title="update-to-weight ratio",
        points=2,
        reference=_update_ratios,
        cases=_ratio_cases,
        section="§1, 'Exercise 07.2 — the update-to-weight ratio'",
        mistakes=[
            Mistake("norms-compared", "a step that turns a weight matrix without changing its "
                    "size gets a ratio of 0 from you",
                    lambda b, a: {n: float(abs(np.linalg.norm(a[n]) - np.linalg.norm(w))
                                           / np.linalg.norm(w)) for n, w in b.items()
                                  if w.ndim >= 2},
                    hint="take the norm of the change of the matrix, not the change of its norm"),
            Mistake("not-divided", "your ratio is the size of the step alone, not relative to "
                    "the weights",
                    lambda b, a: {n: float(np.linalg.norm(a[n] - w)) for n, w in b.items()
                                  if w.ndim >= 2},
                    hint="divide by the size of the weights before the step"),
            Mistake("divided-by-after", "your ratio is relative to the weights after the step",
                    lambda b, a: {n: float(np.linalg.norm(a[n] - w) / np.linalg.norm(a[n]))
                                  for n, w in b.items() if w.ndim >= 2},
                    hint="the step is compared with the weights it started from"),
            Mistake("biases-included", "you returned ratios for the biases too",
                    lambda b, a: {n: float(np.linalg.norm(a[n] - w) / np.linalg.norm(w))
                                  for n, w in b.items()},
                    hint="the ratio is for weight matrices (ndim >= 2): a bias starting at 0 "
                         "has no size to compare with"),
            Mistake("inputs-changed", "your code changed its input in place",
                    variants.mutating(_update_ratios),
                    hint="subtracting in place (-=) writes into a snapshot: compute a new array"),
        ],
    ),
    Exercise(
        id="07.3",
        title="fraction of saturated sigmoid/tanh outputs",
        points=1,
        reference=_saturated_fraction,
        cases=_saturated_cases,
        section="§1, 'Exercise 07.3 — saturated sigmoid and tanh outputs'",
        mistakes=[
            Mistake("upper-bound-only", "outputs near the lower bound are not counted",
                    lambda a, low, high, tol=0.01: float(np.mean(a >= high - tol)),
                    hint="an output near either bound is saturated"),
            Mistake("abs-for-both", "your count is right for tanh and wrong for the sigmoid",
                    lambda a, low, high, tol=0.01: float(np.mean(np.abs(a) >= 1 - tol)),
                    hint="use the bounds low and high you are given, not the symmetry of tanh"),
            Mistake("no-tol-low", "outputs just above the lower bound are not counted",
                    lambda a, low, high, tol=0.01: float(np.mean((a <= low) | (a >= high - tol))),
                    hint="the tolerance applies at both bounds"),
            Mistake("count-not-fraction", "you returned how many entries are saturated, not "
                    "what fraction",
                    lambda a, low, high, tol=0.01: float(np.sum((a <= low + tol)
                                                                | (a >= high - tol))),
                    hint="divide by the number of entries (a mean of a boolean array does it)"),
            Mistake("inputs-changed", "your code changed its input in place",
                    variants.mutating(_saturated_fraction),
                    hint="clip or round a copy, not the activations themselves"),
        ],
    ),
    Exercise(
        id="07.4",
        title="which parameters did one step leave unchanged",
        points=2,
        reference=_frozen_after_step,
        cases=_step_cases,
        mutates=True,
        section="§1, 'Exercise 07.4 — does each parameter move?'",
        mistakes=[
            Mistake("aliased-snapshot", "every parameter looks unchanged to you, even the ones "
                    "the step moved", _aliased_snapshot,
                    hint="net.parameters() gives the arrays themselves, which the step changes "
                         "in place: keep copies from before the step"),
            Mistake("moved-instead", "you returned the parameters that moved", _moved_instead,
                    hint="the question is which did NOT change"),
            Mistake("allclose", "a very small step counts as no change for you",
                    _allclose_compare,
                    hint="np.allclose forgives small differences; a step of 1e-7 is a step: "
                         "compare exactly"),
            Mistake("no-backward", "your step used stale gradients: it never ran forward and "
                    "backward on (x, y)", _no_backward,
                    hint="a step is forward, loss, backward, then the optimizer"),
        ],
    ),
    _mystery("07.5", 0, [
        Mistake("zero-init", f"{_RUN_STILL} learns nothing: no gradient reaches the first "
                "layers", {"init": _zeros},
                hint="a start of all zeros gives every unit of a layer the same output and no "
                     "signal to pass back"),
        Mistake("variance-as-std", f"{_RUN_STILL} learns slowly: the signal shrinks layer after "
                "layer", {"init": _variance_as_std},
                hint="compare the spread of your weights with the one you meant: a variance "
                     "and a standard deviation differ by a square root"),
        Mistake("inverted-scale", f"{_RUN_STILL} blows up within a few steps",
                {"init": _inverted_scale},
                hint="look at how the spread of your weights depends on the layer's fan-in: "
                     "it should shrink as the fan-in grows"),
        Mistake("clipped-step", f"{_RUN_STILL} does not start like a network that guesses, and "
                "its first layers barely move", {"step": _clipped_step},
                hint="clipping tames the steps, but the loss at step 1 is still far from ln 3: "
                     "what makes the first outputs so large?"),
    ]),
    _mystery("07.6", 1, [
        Mistake("one-scale", f"{_RUN_STILL} does not learn: one of the inputs is still almost "
                "invisible to the network", {"prepare": _one_scale},
                hint="one mean and one spread for the whole array leave the features' scales as "
                     "different as before"),
        Mistake("per-example", f"{_RUN_STILL} does not learn: the inputs no longer tell the "
                "examples apart", {"prepare": _per_row},
                hint="statistics over each example's own features mix different quantities: "
                     "take them over the examples, per feature"),
        Mistake("not-centred", f"{_RUN_STILL} does not learn: its inputs sit far from 0",
                {"prepare": _scaled_not_centred},
                hint="a feature divided by its spread but not shifted still sits far from 0"),
        Mistake("he-init", f"{_RUN_STILL} does not learn, and the first layer hardly takes part",
                {"init": _he},
                hint="the weights' scale was not the problem: look at the inputs the first layer "
                     "receives, feature by feature"),
    ]),
    _mystery("07.7", 2, [
        Mistake("no-backward", f"{_RUN_STILL} never moves: the optimizer gets no gradients",
                {"step": _step_without_backward},
                hint="a step needs the gradients of this batch before the update"),
        Mistake("no-update", f"{_RUN_STILL} never moves: the gradients are computed but never "
                "used", {"step": _step_without_update},
                hint="after backward, the optimizer has to take its step"),
        Mistake("update-first", f"{_RUN_STILL} is given no gradient at its first step, and its "
                "steps use the previous batch's gradients", {"step": _update_then_backward},
                hint="the order inside a step: forward, loss, backward, then the update"),
        Mistake("adding-gradients", f"{_RUN_STILL} does not learn: its steps grow without end",
                {"step": _adding_step},
                hint="run your step twice on one batch: is the optimizer given the same "
                     "gradients twice, or their sum?"),
        Mistake("he-init", f"{_RUN_STILL} never moves", {"init": _he},
                hint="the weights were not the problem: look at the gradients the optimizer is "
                     "given, step by step"),
    ]),
    _mystery("07.8", 3, [
        Mistake("one-batch", f"{_RUN_STILL} does not learn the data: it sees only some of it",
                {"batches": _one_batch},
                hint="every step takes the same rows: the rest of the data is never seen"),
        Mistake("tiny-batches", f"{_RUN_STILL} jumps from step to step and learns too little",
                {"batches": _four_at_random},
                hint="keep the batch size the run asks for"),
        Mistake("clipped-step", f"{_RUN_STILL} jumps from step to step",
                {"step": _clipped_step},
                hint="the size of the steps was not the problem: look at the labels of the "
                     "rows each batch holds"),
        Mistake("standardised", f"{_RUN_STILL} jumps from step to step",
                {"prepare": _standardised},
                hint="the scale of the inputs was not the problem: look at the labels of the "
                     "rows each batch holds"),
    ]),
    _mystery("07.9", 4, [
        Mistake("averaging-step", f"{_RUN_STILL} learns too little: its steps follow all the "
                "past gradients", {"step": _averaging_step},
                hint="dividing a sum of all past gradients by their number averages them; a "
                     "step should follow this batch's gradient"),
        Mistake("update-first", f"{_RUN_STILL} is given no gradient at its first step, and its "
                "gradients still add up", {"step": _update_then_backward},
                hint="the order inside a step: forward, loss, backward, then the update"),
        Mistake("no-update", f"{_RUN_STILL} never moves: the gradients are computed but never "
                "used", {"step": _step_without_update},
                hint="after backward, the optimizer has to take its step"),
        Mistake("he-init", f"{_RUN_STILL} does not learn, and its gradient norm still grows",
                {"init": _he},
                hint="the weights' start was not the problem: compare the gradient the "
                     "optimizer is given with the gradient of the batch"),
    ]),
]
