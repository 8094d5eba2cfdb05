"""The training loop: forward, loss, backward, optional clipping, step, over mini-batches.

``fit`` returns a :class:`History` (loss and per-layer gradient norms at every step, an optional
evaluation metric) and never dies with an opaque error when training blows up: on a NaN/inf loss,
gradient or parameter it stops, records ``history.diverged_at`` and prints
``diverged at step k (loss=nan)``. A progress bar (tqdm.auto: a widget in a notebook, a line in a
terminal) appears only when a run lasts longer than about a second, unless forced on or off.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from course.backend import is_array, is_torch, namespace
from course.diagnostics import layer_gradient_norms, snapshot, update_to_weight
from course.optim import clip_grad_norm

PROGRESS_DELAY_S = 1.0


@dataclass
class History:
    """What happened during ``fit``.

    loss: training loss of each step's mini-batch, length = steps completed.
    grad_norms: layer name -> gradient norm at each step (before clipping), same length as loss.
    grad_norm: global gradient norm of each step (before clipping).
    eval_steps, eval_values: the step numbers at which ``eval_fn`` ran, and what it returned.
    diverged_at: the step (1-based) at which loss/gradients/parameters became NaN or inf, else None.
    message: the divergence report, or "" when training finished normally.
    seconds: wall-clock duration of the run.
    update_ratios: weight name -> ||step applied|| / ||W|| at each step (record_updates=True only).
    """

    loss: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    grad_norm: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_values: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    message: str = ""
    seconds: float = 0.0
    update_ratios: dict[str, list[float]] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Number of completed steps."""
        return len(self.loss)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def grad_norm_array(self) -> np.ndarray:
        """Per-layer gradient norms as an array (steps, n_layers), columns in layer order."""
        return np.array(list(self.grad_norms.values()), dtype=np.float64).T.reshape(self.steps, -1)

    def __repr__(self) -> str:
        state = f"diverged at step {self.diverged_at}" if self.diverged else "finished"
        if not self.loss:
            return f"History(0 steps, {state})"
        return (f"History({self.steps} steps, {state}, loss {self.loss[0]:.4g} -> "
                f"{self.loss[-1]:.4g}, {len(self.grad_norms)} layers)")


def _take(a, idx: np.ndarray):
    """Rows ``idx`` of a numpy array or torch tensor."""
    if is_torch(a):
        import torch

        return a[torch.as_tensor(idx, device=a.device)]
    return a[idx]


def _batches(n: int, batch_size: int | None, rng: np.random.Generator):
    """Endless index arrays: a fresh permutation of range(n) per epoch, cut into mini-batches."""
    if batch_size is None or batch_size >= n:
        full = np.arange(n)
        while True:
            yield full
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


def _check_fit_args(x, y, steps, batch_size, clip, eval_every) -> None:
    if not is_array(x) or x.ndim != 2:
        raise ValueError(f"x must be a 2-d array (n, d_in), got {type(x).__name__} "
                         f"of shape {getattr(x, 'shape', None)}")
    if not is_array(y) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be an array with one row per sample of x ({x.shape[0]}), "
                         f"got shape {getattr(y, 'shape', None)}")
    if not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size < 1):
        raise ValueError(f"batch_size must be an integer >= 1 or None (full batch), "
                         f"got {batch_size!r}")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be a number > 0 or None, got {clip!r}")
    if not isinstance(eval_every, numbers.Integral) or eval_every < 1:
        raise ValueError(f"eval_every must be an integer >= 1, got {eval_every!r}")


def _non_finite_param(net) -> str | None:
    for name, p in net.parameters().items():
        xp = namespace(p)
        if not bool(xp.all(xp.isfinite(p))):
            return name
    return None


def _progress_bar(progress, steps: int):
    if progress is False:
        return None
    if progress not in ("auto", True):
        raise ValueError(f"progress must be 'auto', True or False, got {progress!r}")
    from tqdm.auto import tqdm

    delay = PROGRESS_DELAY_S if progress == "auto" else 0.0
    return tqdm(total=steps, delay=delay, desc="training", unit="step", leave=False)


def fit(net, loss_fn, opt, x, y, steps: int = 500, batch_size: int | None = 64,
        clip: float | None = None, seed: int = 0, progress="auto",
        eval_fn: Callable[[object], float] | None = None, eval_every: int = 50,
        verbose: bool = True, record_updates: bool = False, first_step: int = 1,
        schedule: Callable[[int], float] | None = None) -> History:
    """Train ``net`` for ``steps`` optimizer steps and return the :class:`History`.

    net: an MLP (forward, backward, parameters, gradients); loss_fn: a loss with forward(out, y)
    -> float and backward() -> dL/d out; opt: an optimizer built on net.parameters().
    x: (n, d_in) inputs; y: (n,) integer labels or (n, d_out) targets, numpy or torch.
    batch_size: rows per step, drawn without replacement from a per-epoch permutation seeded by
    ``seed``; None for full-batch steps.
    clip: if given, clip_grad_norm(grads, clip) before each step.
    progress: "auto" (a bar only if the run lasts more than ~1 s), True or False.
    eval_fn(net) -> float is recorded every ``eval_every`` steps and after the last one.
    verbose: print the divergence message when training diverges.
    record_updates: also record each weight matrix's update-to-weight ratio at every step.
    first_step: the number of the first step (a run continued in pieces numbers its steps, and
    its divergence, as one run would).
    schedule(step) -> factor: before each step the optimizer's rate is set to its rate at the
    start of ``fit`` times this factor (e.g. ``lambda t: warmup_cosine(t, steps, 20)``); the
    rate is put back when ``fit`` returns.
    """
    _check_fit_args(x, y, steps, batch_size, clip, eval_every)
    steps = int(steps)
    history = History()
    batch_size = None if batch_size is None else int(batch_size)
    batches = _batches(x.shape[0], batch_size, np.random.default_rng(seed))
    bar = _progress_bar(progress, steps)
    start = time.perf_counter()
    base_lr = opt.lr
    try:
        with np.errstate(all="ignore"):
            last = first_step + steps - 1
            for step in range(first_step, last + 1):
                if schedule is not None:
                    opt.lr = base_lr * float(schedule(step))
                before = snapshot(net.parameters()) if record_updates else None
                if not _train_step(net, loss_fn, opt, x, y, next(batches), clip, step, history):
                    break
                if before is not None:
                    table = update_to_weight(before, net.parameters())
                    for name, ratio in zip(table["parameter"], table["ratio"]):
                        history.update_ratios.setdefault(name, []).append(ratio)
                if eval_fn is not None and (step % eval_every == 0 or step == last):
                    history.eval_steps.append(step)
                    history.eval_values.append(float(eval_fn(net)))
                if bar is not None:
                    bar.update(1)
                    if step % 25 == 0:
                        bar.set_postfix(loss=f"{history.loss[-1]:.4g}", refresh=False)
    finally:
        opt.lr = base_lr
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    if history.diverged and verbose:
        print(history.message)
    return history


def _diverge(history: History, step: int, what: str) -> bool:
    history.diverged_at = step
    history.message = f"diverged at step {step} ({what}); training stopped"
    return False


def _train_step(net, loss_fn, opt, x, y, idx, clip, step, history) -> bool:
    """One step on rows ``idx``; appends to ``history``. False when training has diverged.

    A non-finite gradient is reported at the layer nearest the output, where backward met it.
    """
    xb, yb = _take(x, idx), _take(y, idx)
    try:
        loss = float(loss_fn.forward(net.forward(xb), yb))
    except (ValueError, FloatingPointError, OverflowError) as error:
        bad = _non_finite_param(net)
        if bad is None:
            raise
        return _diverge(history, step, f"parameter {bad!r} is not finite: {error}")
    if not math.isfinite(loss):
        return _diverge(history, step, f"loss={loss}")
    net.backward(loss_fn.backward())
    grads = net.gradients()
    norms = layer_gradient_norms(grads)
    total = math.sqrt(sum(v * v for v in norms.values()))
    bad = [name for name, v in norms.items() if not math.isfinite(v)]
    if bad:
        what = f"gradient norm of layer {bad[-1]!r} = {norms[bad[-1]]}"
        if len(bad) > 1:
            what += f", and of {len(bad) - 1} layer(s) before it"
        return _diverge(history, step, what)
    history.loss.append(loss)
    history.grad_norm.append(total)
    for name, v in norms.items():
        history.grad_norms.setdefault(name, []).append(v)
    if clip is not None:
        clip_grad_norm(grads, clip)
    opt.step(grads)
    return True


def predict(net, x):
    """Predicted labels (n,): argmax over the outputs, or output > 0 when there is one output.

    x: (n, d_in). Returns an integer array of the same kind as x (numpy or torch).
    """
    with np.errstate(all="ignore"):
        out = net.forward(x)
    xp = namespace(out)
    if out.ndim == 2 and out.shape[1] == 1:
        return xp.astype(out[:, 0] > 0, xp.int64)
    return xp.argmax(out, axis=1)


def accuracy(net, x, y) -> float:
    """Fraction of rows of x (n, d_in) whose predicted label equals y (n,) integer labels."""
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have one label per row of x ({x.shape[0]}), got shape {y.shape}")
    labels = predict(net, x)
    xp = namespace(labels)
    y = xp.reshape(y, (-1,))
    return float(xp.mean(xp.astype(labels == xp.astype(y, labels.dtype), xp.float64)))
