"""Mystery runs: broken training runs known only by an id, to be diagnosed from what they show
and repaired with code.

Every run is made of the same four pieces, each a plain function you can replace:

- ``prepare(x, y) -> (x, y)``: the data as the network will see it (scaling, cleaning);
- ``init(d_in, d_out, rng) -> W``: the initial weights (d_in, d_out) of every Linear layer;
- ``batches(n, batch_size, step, rng) -> idx``: the rows of step ``step``'s mini-batch (0-based);
- ``step(net, loss_fn, opt, xb, yb) -> float``: one training step (forward, loss, backward,
  update), returning the batch's loss.

``mystery(case_id)`` gives a :class:`Mystery`: ``.outcome`` is the run as it is, ``.run(piece=fn)``
trains it again with one piece replaced by yours, and :func:`judge` says what a finished run did
(seven facts, True when healthy). Nothing here says which piece
is broken in which run, nor what a fix looks like: the symptoms say it, measured with your
diagnostics.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course.clinic import Outcome
from course.data import spiral
from course.diagnostics import layer_gradient_norms, snapshot, update_to_weight
from course.losses import SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD, Adam
from course.train import History

PIECES = ("prepare", "init", "batches", "step")
IDS = ("3e1a", "7b20", "c58d", "91f4", "0d6b")
"""The mystery runs of lesson 07, by id."""

STEPS = 300


# ---------------------------------------------------------------- the pieces runs are made of


def _as_given(x, y):
    return x, y


def _centred(x, y):
    return x - x.mean(axis=0), y


def _unit_normal(d_in, d_out, rng):
    return rng.normal(0.0, 1.0, size=(d_in, d_out))


def _drawn(n, batch_size, step, rng):
    return rng.choice(n, batch_size, replace=False)


def _in_order(n, batch_size, step, rng):
    return np.arange(step * batch_size, (step + 1) * batch_size) % n


def _step_a(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    return loss


def _step_b(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward())
    net.zero_grad()
    opt.step(net.gradients())
    return loss


def _step_c(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward(), accumulate=True)
    opt.step(net.gradients())
    return loss


# ---------------------------------------------------------------- the data runs start from


def _spiral(seed):
    x, y = spiral(300, seed=seed)
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def _in_units(seed):
    x, y = spiral(300, seed=seed)
    return np.c_[3.0 * x[:, 0] + 40.0, 3000.0 * x[:, 1] + 900.0], y


def _by_class(seed):
    x, y = _spiral(seed)
    order = np.argsort(y, kind="stable")
    return x[order], y[order]


@dataclass(frozen=True)
class _Recipe:
    data: object
    sizes: tuple
    activation: str
    optimizer: str
    lr: float
    batch_size: int
    prepare: object = _as_given
    init: object = None
    batches: object = _drawn
    step: object = _step_a


_RECIPES = (
    _Recipe(_spiral, (2, 32, 32, 32, 32, 3), "relu", "sgd", 0.1, 64, init=_unit_normal),
    _Recipe(_in_units, (2, 32, 32, 3), "tanh", "sgd", 0.5, 64, prepare=_centred),
    _Recipe(_spiral, (2, 32, 32, 3), "tanh", "sgd", 0.5, 64, step=_step_b),
    _Recipe(_by_class, (2, 32, 32, 3), "tanh", "sgd", 0.5, 60, batches=_in_order),
    _Recipe(_spiral, (2, 32, 32, 3), "relu", "adam", 0.01, 64, step=_step_c),
)


# ---------------------------------------------------------------- training a run


def _optimizer(recipe, params):
    return (SGD if recipe.optimizer == "sgd" else Adam)(params, recipe.lr)


def _record(history, loss, norms):
    history.loss.append(loss)
    history.grad_norm.append(math.sqrt(sum(v * v for v in norms.values())))
    for name, v in norms.items():
        history.grad_norms.setdefault(name, []).append(v)
    return math.isfinite(loss) and all(math.isfinite(v) for v in norms.values())


def _watch_steps(opt):
    """Wrap opt.step so that the per-layer norms of the gradients it is given are kept."""
    seen, step = [], opt.step

    def watched(grads):
        seen.append(layer_gradient_norms(grads))
        return step(grads)

    opt.step = watched
    return seen


def _replaces(step, net, loss_fn, x, y) -> bool:
    """Take ``step`` twice on one batch with a learning rate of 0 (on a copy of net): True when
    the second step is given the same gradients as the first, not their sum."""
    net = copy.deepcopy(net)
    opt = SGD(net.parameters(), 0.0)
    seen = _watch_steps(opt)
    with np.errstate(all="ignore"):
        for _ in range(2):
            step(net, loss_fn, opt, x[:32], y[:32])
    return len(seen) == 2 and all(np.isclose(seen[0][k], seen[1][k], rtol=1e-9, atol=0.0)
                                  for k in seen[0])


def _train(recipe, seed, pieces) -> Outcome:
    prepare, init = pieces.get("prepare", recipe.prepare), pieces.get("init", recipe.init)
    batches, step = pieces.get("batches", recipe.batches), pieces.get("step", recipe.step)
    x, y = prepare(*recipe.data(seed))
    net = MLP(list(recipe.sizes), activation=recipe.activation, init=init, seed=seed)
    opt, loss_fn = _optimizer(recipe, net.parameters()), SoftmaxCrossEntropy()
    seen = _watch_steps(opt)
    rng, history, drawn = np.random.default_rng(seed), History(), []
    before = snapshot(net.parameters())
    with np.errstate(all="ignore"):
        for t in range(STEPS):
            idx = np.asarray(batches(len(x), recipe.batch_size, t, rng))
            drawn.append(idx)
            start, calls = snapshot(net.parameters()), len(seen)
            loss = float(step(net, loss_fn, opt, x[idx], y[idx]))
            norms = seen[-1] if len(seen) > calls else layer_gradient_norms(net.gradients())
            finite = _record(history, loss, norms)
            table = update_to_weight(start, net.parameters())
            for name, r in zip(table["parameter"], table["ratio"]):
                history.update_ratios.setdefault(name, []).append(r)
            if not finite or not all(np.all(np.isfinite(p)) for p in net.parameters().values()):
                history.diverged_at = t + 1
                history.message = f"diverged at step {t + 1} (loss={loss:.3g})"
                break
    replaces = _replaces(step, net, loss_fn, x, y) if not history.diverged else False
    return Outcome(history, net, x, y, before,
                   {"seed": seed, "batches": drawn, "replaces": replaces})


# ---------------------------------------------------------------- what a run did


def judge(o: Outcome) -> dict:
    """What a finished run did, as seven facts (True is healthy):

    finite: every step's loss and gradients finite; starts near ln C: the first step's loss within
    1 of ln C (C classes: a guess); gradients reach every layer: no layer's gradient norm exactly
    0 at any step; every layer moved: each weight matrix moved by over 5% of its size; learned:
    the trained network's loss on all of the data below 0.3; steady: the loss changed from step
    to step (last 50 steps) by under 40% of its level, or under 0.05; gradients replaced: two steps
    on one batch with a learning rate of 0 (after training, on a copy) are given the same
    gradients, not their sum.
    """
    h = o.history
    loss = np.asarray(h.loss)
    finite = not h.diverged and len(loss) == STEPS
    with np.errstate(all="ignore"):
        after = o.net.parameters()
        final = (float(SoftmaxCrossEntropy().forward(o.net.forward(o.x), o.y)) if finite
                 else math.inf)
        moved = [float(np.linalg.norm(after[k] - w) / max(np.linalg.norm(w), 1e-12))
                 for k, w in o.before.items() if w.ndim == 2]
    chance = math.log(int(np.max(o.y)) + 1)
    return {"finite": finite,
            "starts near ln C": bool(len(loss) and abs(loss[0] - chance) < 1.0),
            "gradients reach every layer": all(min(v) > 0 for v in h.grad_norms.values()),
            "every layer moved": finite and min(moved) > 0.05,
            "learned": final < 0.3,
            "steady": finite and bool(np.mean(np.abs(np.diff(loss[-50:])))
                                      < max(0.4 * loss[-50:].mean(), 0.05)),
            "gradients replaced": finite and o.extra["replaces"]}


@dataclass(frozen=True)
class Mystery:
    """A broken training run known by its id only.

    ``outcome``: the run as it is: ``history`` (loss, per-layer gradient norms ``grad_norms``,
    ``grad_norm``, per-step ``update_ratios``; ``diverged_at`` when it blew up), the network after
    training ``net``, the parameters at the start ``before``, and the data as the network saw it
    ``x``, ``y``. ``start()``: the network as it was before the first step.
    """

    case_id: str
    seed: int = 0

    def __repr__(self) -> str:
        return f"Mystery({self.case_id!r})"

    @property
    def outcome(self) -> Outcome:
        return _broken(self.case_id, self.seed)

    def start(self) -> MLP:
        """A fresh copy of the network before its first step."""
        recipe = _RECIPES[IDS.index(self.case_id)]
        return MLP(list(recipe.sizes), activation=recipe.activation, init=recipe.init,
                   seed=self.seed)

    def run(self, **pieces) -> Outcome:
        """Train the run again with the named pieces (prepare, init, batches, step) replaced."""
        unknown = [p for p in pieces if p not in PIECES]
        if unknown:
            raise TypeError(f"unknown piece(s) {unknown}; a run is made of {list(PIECES)}")
        for name, fn in pieces.items():
            if not callable(fn):
                raise TypeError(f"piece {name!r} must be a function, got {type(fn).__name__}")
        return _train(_RECIPES[IDS.index(self.case_id)], self.seed, pieces)


@lru_cache(maxsize=16)
def _broken(case_id: str, seed: int) -> Outcome:
    return _train(_RECIPES[IDS.index(case_id)], seed, {})


def mystery(case_id: str, seed: int = 0) -> Mystery:
    """The mystery run with this id; ``seed`` draws another sample of its data and weights."""
    if case_id not in IDS:
        raise ValueError(f"no mystery run {case_id!r}; the runs are {list(IDS)}")
    return Mystery(case_id, seed)
