"""A clinic of broken training runs, one per symptom, and the checklist that diagnoses them.

Each :class:`Case` trains a small network on the spiral data twice: as broken (``run(False)``)
and with its documented fix (``run(True)``). ``case.shows(outcome)`` says whether the symptom is
present, so the clinic proves both halves: the bug produces the symptom, the fix removes it.

The checklist, as functions:

- :func:`overfit_tiny_batch`: a correct network and loop drive the loss on 8 examples to ~0;
- :func:`parameters_that_do_not_move`: compare snapshots taken before and after training;
- :func:`gradients_accumulate`: run backward twice on the same batch: do the gradients double?
- per-layer gradient norms and activation statistics: ``course.diagnostics``.

The same cases as recipes (``HEALTHY`` and the changes ``BROKEN`` makes to it, trained by
:func:`train_recipe`) let a lesson vary one setting at a time. These are the worked cases a lesson
shows with their causes; the mystery runs (``course.mystery``) are other runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from course.data import regression_1d, spiral
from course.diagnostics import layer_gradient_norms, saturated_fractions, snapshot
from course.layers import Linear
from course.losses import MSE, Loss, SoftmaxCrossEntropy
from course.mlp import MLP
from course.optim import SGD, Adam
from course.train import History, fit

SIZES = [2, 32, 32, 3]


def clinic_data(scale: float = 1.0):
    """300 spiral points (3 classes), standardised, times ``scale``: x (300, 2), y (300,)."""
    x, y = spiral(300, seed=0)
    return scale * (x - x.mean(axis=0)) / x.std(axis=0), y


@dataclass
class Outcome:
    """One training run of a case: its history, the network after it, the data, the
    parameters before training, and case-specific findings in ``extra``."""

    history: History
    net: object
    x: np.ndarray
    y: np.ndarray
    before: dict
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A broken run: what it looks like, why, and the fix. ``run(fixed)`` trains it;
    ``shows(outcome)`` is True when the symptom is present."""

    key: str
    symptom: str
    cause: str
    fix: str
    run: Callable[[bool], Outcome]
    shows: Callable[[Outcome], bool]


def _train(net, opt, x, y, steps=300, batch_size=64, loss_fn=None, **extra) -> Outcome:
    before = snapshot(net.parameters())
    history = fit(net, loss_fn or SoftmaxCrossEntropy(), opt, x, y, steps=steps,
                  batch_size=batch_size, seed=0, progress=False, verbose=False)
    return Outcome(history, net, x, y, before, extra)


def _flat(o: Outcome) -> bool:
    """Loss over the last 20 steps still within 5% of the first 20 steps'."""
    loss = np.asarray(o.history.loss)
    return len(loss) >= 40 and loss[-20:].mean() > 0.95 * loss[:20].mean()


# ---------------------------------------------------------------- the checklist


def parameters_that_do_not_move(before: dict, after: dict) -> list[str]:
    """Names of the parameters whose every entry is unchanged between two snapshots."""
    return [name for name, w in before.items()
            if np.array_equal(np.asarray(w), np.asarray(after[name]))]


def overfit_tiny_batch(make_net: Callable[[], object], loss_fn=None, n: int = 8,
                       steps: int = 300, lr: float = 0.01) -> float:
    """Train a fresh ``make_net()`` with Adam on the first n clinic examples; the final loss.

    A network, loss and backward pass that are right can memorise 8 points: expect < 0.05.
    A loss that stays high points at the plumbing, not at the data or the model's size.
    """
    x, y = clinic_data()
    net = make_net()
    return _train(net, Adam(net.parameters(), lr), x[:n], y[:n], steps=steps, batch_size=None,
                  loss_fn=loss_fn).history.loss[-1]


def gradients_accumulate(net, loss_fn, x, y) -> bool:
    """Run forward and backward twice on the same batch: True when the second backward added to
    the first one's gradients instead of replacing them (a forgotten zero_grad)."""
    net.zero_grad()
    norms = []
    for _ in range(2):
        loss_fn.forward(net.forward(x), y)
        net.backward(loss_fn.backward())
        norms.append(sum(layer_gradient_norms(net.gradients()).values()))
    return bool(norms[1] > 1.5 * norms[0])


# ---------------------------------------------------------------- broken parts


class NaiveCrossEntropy(Loss):
    """Softmax cross-entropy written straight from the formula: p = exp(z) / sum(exp(z)),
    L = -mean(log p[y]). exp overflows to inf for logits above ~709, inf / inf is NaN, and
    a probability that underflows to 0 has log 0 = -inf."""

    def forward(self, logits, labels):
        with np.errstate(all="ignore"):
            e = np.exp(logits)
            p = e / e.sum(axis=1, keepdims=True)
            self.cache = (p - np.eye(logits.shape[1])[labels]) / len(labels)
            return -np.mean(np.log(p[np.arange(len(labels)), labels]))

    def backward(self):
        return self._cached()


class ForgetfulLinear(Linear):
    """A Linear layer whose backward passes dL/dx on but never stores dW and db."""

    def backward(self, upstream, accumulate: bool = False, input_grad: bool = True):
        return upstream @ self.params["W"].T


class AccumulatingMLP(MLP):
    """An MLP used by a loop that never zeroes its gradients: every backward adds to them."""

    def backward(self, upstream, accumulate: bool = False, input_grad: bool = True):
        return super().backward(upstream, accumulate=True, input_grad=input_grad)


# ---------------------------------------------------------------- the cases


def _lr_too_low(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = MLP(SIZES, activation="tanh")
    return _train(net, SGD(net.parameters(), 0.5 if fixed else 1e-4), x, y)


def raw_data():
    """The spiral as raw measurements: centimetres from a far origin, x = 10 x + 200."""
    x, y = spiral(300, seed=0)
    return 10 * x + 200, y


def _saturated(fixed: bool) -> Outcome:
    x, y = raw_data()
    if fixed:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    net = MLP(SIZES, activation="tanh")
    saturated = saturated_fractions(net, x)
    return _train(net, SGD(net.parameters(), 0.5), x, y, saturated=saturated)


def _saturated_shows(o: Outcome) -> bool:
    """Most first-layer units saturated, and the loss stuck at chance level ln 3."""
    at_chance = abs(np.mean(o.history.loss[-20:]) - np.log(3)) < 0.02
    return at_chance and max(o.extra["saturated"].values()) > 0.5


def _lr_too_high(fixed: bool) -> Outcome:
    x, y = regression_1d(200, seed=0)
    net = MLP([1, 32, 32, 1], activation="relu")
    return _train(net, SGD(net.parameters(), 0.01 if fixed else 0.1), x, y, loss_fn=MSE())


def _log_of_zero(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = MLP(SIZES, activation="relu", init=("normal", 3.0))
    loss_fn = SoftmaxCrossEntropy() if fixed else NaiveCrossEntropy()
    return _train(net, Adam(net.parameters(), 0.01), x, y, loss_fn=loss_fn)


def _orphaned_optimizer(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = MLP(SIZES, activation="tanh", dtype="float32")
    opt = Adam(net.parameters(), 0.01)
    net.to("numpy", dtype="float64")          # new arrays: opt still holds the old ones
    if fixed:
        opt = Adam(net.parameters(), 0.01)
    return _train(net, opt, x, y)


def _orphaned_shows(o: Outcome) -> bool:
    return len(parameters_that_do_not_move(o.before, o.net.parameters())) > 0


def _skipped_backward(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = MLP(SIZES, activation="tanh")
    if not fixed:
        old = net.layers[2]
        net.layers[2] = ForgetfulLinear(old.d_in, old.d_out)
        net.layers[2].params, net.layers[2].name = old.params, old.name
        net.layers[2].zero_grad()
    return _train(net, Adam(net.parameters(), 0.01), x, y)


def _zero_gradient_shows(o: Outcome) -> bool:
    return any(norms[-1] == 0.0 for norms in o.history.grad_norms.values())


def _vanishing(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = (MLP([2] + [32] * 12 + [3], activation="relu", init="he") if fixed else
           MLP([2] + [32] * 12 + [3], activation="sigmoid", init=("normal", 0.1)))
    return _train(net, Adam(net.parameters(), 0.01), x, y)


def _vanishing_shows(o: Outcome) -> bool:
    first = [v[0] for v in o.history.grad_norms.values()]
    return first[0] < 1e-3 * first[-1]


def _tiny_batches(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = MLP(SIZES, activation="relu")
    opt = SGD(net.parameters(), 0.1 if fixed else 0.5)
    return _train(net, opt, x, y, batch_size=64 if fixed else 2)


def _unstable_shows(o: Outcome) -> bool:
    """Step-to-step jumps of the loss over the last 100 steps above 40% of the loss itself."""
    loss = np.asarray(o.history.loss[-100:])
    return bool(np.mean(np.abs(np.diff(loss))) > 0.4 * np.mean(loss))


def _accumulation(fixed: bool) -> Outcome:
    x, y = clinic_data()
    net = (MLP if fixed else AccumulatingMLP)(SIZES, activation="relu")
    outcome = _train(net, SGD(net.parameters(), 0.05), x, y)
    probe = (MLP if fixed else AccumulatingMLP)(SIZES, activation="relu")
    outcome.extra["accumulates"] = gradients_accumulate(probe, SoftmaxCrossEntropy(), x, y)
    return outcome


def _accumulation_shows(o: Outcome) -> bool:
    g = np.asarray(o.history.grad_norm)
    return o.extra["accumulates"] and (o.history.diverged or g[-1] > 10 * g[0])


CASES = [
    Case("lr_too_low", "the loss is flat from the start",
         "the learning rate is so small that each step changes almost nothing",
         "raise the learning rate (here 1e-4 -> 0.5)", _lr_too_low, _flat),
    Case("saturated", "the loss sits at chance level (ln 3) from the start",
         "raw inputs around 200 saturate the first tanh layer: every example gives the same "
         "+-1 pattern, phi' ~ 0, nothing to learn from", "standardise the inputs (zero mean, "
         "unit variance)", _saturated, _saturated_shows),
    Case("lr_too_high", "the loss becomes NaN/inf after a few steps",
         "the learning rate is so large that each step overshoots and the weights blow up",
         "lower the learning rate (here 0.1 -> 0.01), or clip the gradient", _lr_too_high,
         lambda o: o.history.diverged),
    Case("log_of_zero", "the loss is inf or NaN at the first step",
         "softmax written as exp(z) / sum(exp(z)): exp overflows, a probability underflows to "
         "0 and log 0 = -inf", "compute log-softmax with log-sum-exp (SoftmaxCrossEntropy)",
         _log_of_zero, lambda o: o.history.diverged),
    Case("orphaned_optimizer", "the loss is flat and no parameter moves, yet gradients are "
         "non-zero", "the optimizer was built before net.to(...) replaced the arrays: it "
         "updates arrays the network no longer uses", "build the optimizer after moving or "
         "re-creating the parameters", _orphaned_optimizer, _orphaned_shows),
    Case("skipped_backward", "one layer's gradient is exactly zero at every step",
         "that layer's backward passes the gradient on but never stores dW and db",
         "store dW = x^T delta and db = sum(delta) in the layer's backward",
         _skipped_backward, _zero_gradient_shows),
    Case("vanishing", "the last layers learn, the first ones do not",
         "a deep sigmoid network with small weights shrinks the gradient at every layer",
         "ReLU with He initialisation (or residual connections / normalisation)",
         _vanishing, _vanishing_shows),
    Case("tiny_batches", "the loss jumps up and down from batch to batch",
         "batches of 2 give very noisy gradients, and a large learning rate amplifies them",
         "larger batches (64) and a smaller learning rate (0.1)", _tiny_batches,
         _unstable_shows),
    Case("accumulation", "the gradient norm grows step after step until training blows up",
         "the loop never zeroes the gradients: each backward adds to all the previous ones",
         "let backward overwrite the gradients (the default) or call zero_grad every step",
         _accumulation, _accumulation_shows),
]
BY_KEY = {case.key: case for case in CASES}


# ---------------------------------------------------------------- the cases as recipes

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
"""Each case's recipe: what differs from HEALTHY, in the order of CASES (the lesson varies
one setting at a time from these)."""


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
