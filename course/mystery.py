"""Mystery runs: a broken training run drawn from the clinic by an opaque id, to be diagnosed from
its symptoms alone.

``mystery(case_id)`` maps the id through a hash to one of the clinic's causes
(``course.clinic.CASES``), so the notebook that shows a mystery does not name its cause. A
:class:`Mystery` trains its hidden recipe and exposes only what a practitioner sees: the history
(loss, per-layer gradient norms, per-step update-to-weight ratios), the network after training
and the data. ``mystery.run(fix)`` retrains with some of the recipe's knobs (``KNOBS``) changed;
``heals(cause, fix)`` says whether a diagnosis names the right cause and its fix trains.

Every recipe is the clinic's healthy setting with one bug planted; the bug's knob is what a fix
has to turn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course.clinic import (
    AccumulatingMLP,
    ForgetfulLinear,
    NaiveCrossEntropy,
    Outcome,
    clinic_data,
    raw_data,
)
from course.data import regression_1d
from course.diagnostics import snapshot
from course.losses import MSE, SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD, Adam
from course.train import fit

KNOBS = {
    "lr": "the learning rate (a number > 0)",
    "batch_size": "examples per step (an integer)",
    "standardise": "True: inputs standardised to zero mean, unit variance; False: raw",
    "stable_loss": "True: cross-entropy through log-sum-exp; False: log(exp(z) / sum(exp(z)))",
    "activation": "the hidden activation: 'tanh', 'sigmoid' or 'relu'",
    "init": "the weight initialisation: 'xavier', 'he', or ('normal', std)",
    "zero_grad": "True: each backward replaces the gradients; False: it adds to them",
    "optimizer_after_move": "True: the optimizer is built after net.to(...) replaced the "
                            "parameters; False: before",
    "full_backward": "True: every layer stores its gradients; False: one layer's backward "
                     "never stores dW and db",
}

_KNOB_OK = {
    "lr": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e3,
    "batch_size": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 300,
    "standardise": lambda v: isinstance(v, bool),
    "stable_loss": lambda v: isinstance(v, bool),
    "activation": lambda v: v in ("tanh", "sigmoid", "relu"),
    "init": lambda v: v in ("xavier", "he") or (isinstance(v, (tuple, list)) and len(v) == 2
                                                 and v[0] == "normal"),
    "zero_grad": lambda v: isinstance(v, bool),
    "optimizer_after_move": lambda v: isinstance(v, bool),
    "full_backward": lambda v: isinstance(v, bool),
}

HEALTHY = {"data": "spiral", "sizes": (2, 32, 32, 3), "optimizer": "sgd", "steps": 300,
           "lr": 0.5, "batch_size": 64, "standardise": True, "stable_loss": True,
           "activation": "tanh", "init": "xavier", "zero_grad": True,
           "optimizer_after_move": True, "full_backward": True}

BROKEN = {
    "lr_too_low": {"lr": 1e-4},
    "saturated": {"standardise": False},
    "lr_too_high": {"data": "curve", "sizes": (1, 32, 32, 1), "activation": "relu",
                    "init": "he", "lr": 0.1},
    "log_of_zero": {"activation": "relu", "init": ("normal", 3.0), "optimizer": "adam",
                    "lr": 0.01, "stable_loss": False},
    "orphaned_optimizer": {"optimizer": "adam", "lr": 0.01, "optimizer_after_move": False},
    "skipped_backward": {"optimizer": "adam", "lr": 0.01, "full_backward": False},
    "vanishing": {"sizes": (2,) + (32,) * 12 + (3,), "activation": "sigmoid",
                  "init": ("normal", 0.1), "optimizer": "adam", "lr": 0.01},
    "tiny_batches": {"activation": "relu", "init": "he", "batch_size": 2},
    "accumulation": {"activation": "relu", "init": "he", "lr": 0.05, "zero_grad": False},
}
"""Each cause's recipe: what differs from HEALTHY. The clinic's causes, in its order."""

REFERENCE_FIX = {
    "lr_too_low": {"lr": 0.5},
    "saturated": {"standardise": True},
    "lr_too_high": {"lr": 0.01},
    "log_of_zero": {"stable_loss": True},
    "orphaned_optimizer": {"optimizer_after_move": True},
    "skipped_backward": {"full_backward": True},
    "vanishing": {"activation": "relu", "init": "he"},
    "tiny_batches": {"batch_size": 64},
    "accumulation": {"zero_grad": True},
}


def _key(case_id: str) -> str:
    if not isinstance(case_id, str) or not case_id:
        raise TypeError(f"case_id must be a non-empty string, got {case_id!r}")
    causes = list(BROKEN)
    return causes[int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % len(causes)]


def check_fix(fix) -> dict:
    """The fix as a dict knob -> value; a clear error for anything else, an unknown knob or a
    value the knob does not take."""
    if not isinstance(fix, Mapping):
        raise TypeError(f"a fix must be a dict knob -> new value, e.g. {{'lr': 0.1}}, "
                        f"got {type(fix).__name__}")
    unknown = [k for k in fix if k not in KNOBS]
    if unknown:
        raise KeyError(f"unknown knob(s) {unknown}; the knobs are {list(KNOBS)}")
    for knob, value in fix.items():
        if not _KNOB_OK[knob](value):
            raise ValueError(f"knob {knob!r}: {KNOBS[knob]}; got {value!r}")
    return dict(fix)


def _data(recipe: dict):
    if recipe["data"] == "curve":
        x, y = regression_1d(200, seed=0)
        return x, y, MSE()
    x, y = clinic_data() if recipe["standardise"] else raw_data()
    return x, y, SoftmaxCrossEntropy() if recipe["stable_loss"] else NaiveCrossEntropy()


def _optimizer(recipe: dict, params):
    kind = SGD if recipe["optimizer"] == "sgd" else Adam
    return kind(params, recipe["lr"])


def train_recipe(recipe: dict) -> Outcome:
    """Train the run a recipe (HEALTHY with changes) describes; per-step update ratios recorded."""
    x, y, loss_fn = _data(recipe)
    kind = MLP if recipe["zero_grad"] else AccumulatingMLP
    moved = not recipe["optimizer_after_move"]
    net = kind(list(recipe["sizes"]), activation=recipe["activation"], init=recipe["init"],
               dtype="float32" if moved else "float64")
    if moved:
        opt = _optimizer(recipe, net.parameters())
        net.to("numpy", dtype="float64")          # new arrays: opt still holds the old ones
    else:
        opt = _optimizer(recipe, net.parameters())
    if not recipe["full_backward"]:
        old = net.layers[2]
        net.layers[2] = ForgetfulLinear(old.d_in, old.d_out)
        net.layers[2].params, net.layers[2].name = old.params, old.name
        net.layers[2].zero_grad()
    before = snapshot(net.parameters())
    history = fit(net, loss_fn, opt, x, y, steps=recipe["steps"],
                  batch_size=recipe["batch_size"], seed=0, progress=False, verbose=False,
                  record_updates=True)
    return Outcome(history, net, x, y, before, {"loss_fn": loss_fn})


@lru_cache(maxsize=64)
def _cached_run(key: str, fix: tuple) -> Outcome:
    return train_recipe({**HEALTHY, **BROKEN[key], **dict(fix)})


def _frozen(fix: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in fix.items()))


def trains(o: Outcome) -> bool:
    """A run that trains: finite, its loss over the last 20 steps below a third of the first
    step's, every parameter moved, no layer's gradient exactly zero at the end, the gradient
    norm not 10x its start, the step-to-step change of the loss (last 100 steps) below 40% of it
    (or below 0.05),
    and the first layer's gradient at step 1 over 1e-3 of the last layer's."""
    h = o.history
    if h.diverged or h.steps < 100:
        return False
    loss = np.asarray(h.loss)
    first = [norms[0] for norms in h.grad_norms.values()]
    after = o.net.parameters()
    return bool(loss[-20:].mean() < loss[0] / 3
                and all(not np.array_equal(w, after[k]) for k, w in o.before.items())
                and all(norms[-1] > 0 for norms in h.grad_norms.values())
                and h.grad_norm[-1] < 10 * h.grad_norm[0]
                and np.mean(np.abs(np.diff(loss[-100:]))) < max(0.4 * loss[-100:].mean(), 0.05)
                and first[0] > 1e-3 * first[-1])


@dataclass(frozen=True)
class Mystery:
    """A broken run known by its id only. ``outcome``: the broken run (history with loss,
    grad_norms, update_ratios; net after training; x, y; before: the parameters at the start)."""

    case_id: str

    def __repr__(self) -> str:
        return f"Mystery({self.case_id!r})"

    @property
    def outcome(self) -> Outcome:
        return _cached_run(_key(self.case_id), ())

    def run(self, fix=None) -> Outcome:
        """Retrain with the knobs in ``fix`` (dict knob -> value) changed."""
        return _cached_run(_key(self.case_id), _frozen(check_fix(fix or {})))

    def heals(self, cause, fix) -> bool:
        """True when ``cause`` is this run's cause and the run retrained with ``fix`` trains."""
        return cause == _key(self.case_id) and trains(self.run(fix))


def mystery(case_id: str) -> Mystery:
    """The mystery run with this id (the id alone decides which broken run it is)."""
    _key(case_id)
    return Mystery(case_id)
