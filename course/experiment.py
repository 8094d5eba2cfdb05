"""A fair experiment: tune on validation data, then run several seeds, then touch the test set.

Lessons 05-06 compare methods (optimizers, fixes for deep networks) with one harness, which the
learner writes in lesson 05 (exercise 05.7) with this module's signature:

1. carve a validation split out of the training data (:func:`carve_validation`);
2. for each setting of a grid (learning rates, say), train one network on the rest of the
   training data and score it on the validation split; a run that diverged scores NaN;
3. take the setting with the best validation score and train ``len(seeds)`` fresh networks at
   it, one per seed, on the same budget of steps;
4. score each of those once on the test set, and report the mean and the spread.

``train(setting, x, y, seed) -> (net, history)`` is the caller's: it builds a fresh network
(weights and mini-batch order from ``seed``), trains it on ``x`` (n, d_in), ``y`` (n,) and
returns it ready to evaluate (BatchNorm nets in evaluation mode) with its
:class:`course.train.History`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from course.table import format_table
from course.train import accuracy

SEEDS = (0, 1, 2, 3, 4)


@dataclass
class Result:
    """What :func:`experiment` found.

    grid: the settings tried, in order. val: (len(grid),) validation accuracy of each (NaN where
    the run diverged). train_loss: (len(grid),) mean of each run's last training losses (NaN
    where it diverged). best: the setting with the highest validation accuracy. seeds: the seeds
    run at ``best``. test: (len(seeds),) test accuracy of each (NaN where it diverged).
    """

    grid: list
    val: np.ndarray
    train_loss: np.ndarray
    best: object
    seeds: list
    test: np.ndarray

    @property
    def mean(self) -> float:
        """Mean test accuracy over the seeds that did not diverge (NaN if all did)."""
        ok = self.test[np.isfinite(self.test)]
        return float(ok.mean()) if ok.size else float("nan")

    @property
    def spread(self) -> float:
        """Standard deviation of the test accuracy over the seeds (ddof 1), NaN if fewer than 2."""
        ok = self.test[np.isfinite(self.test)]
        return float(ok.std(ddof=1)) if ok.size > 1 else float("nan")

    @property
    def worst(self) -> float:
        """The lowest test accuracy of any seed (a diverged seed counts as 0)."""
        return float(np.min(np.nan_to_num(self.test, nan=0.0)))

    @property
    def best_seed(self) -> float:
        return float(np.nanmax(self.test)) if np.isfinite(self.test).any() else float("nan")

    @property
    def diverged(self) -> int:
        """How many of the seeds diverged at ``best``."""
        return int(np.sum(~np.isfinite(self.test)))

    def summary(self) -> str:
        """'0.953 +- 0.012 (0.940 to 0.967)' over the seeds, plus how many diverged."""
        text = (f"{self.mean:.3f} +- {self.spread:.3f} ({self.worst:.3f} to "
                f"{self.best_seed:.3f})")
        return text + (f", {self.diverged} diverged" if self.diverged else "")


def carve_validation(x, y, fraction: float = 0.25, seed: int = 0):
    """Split the TRAINING data into (x_fit, y_fit, x_val, y_val), stratified and seeded.

    x: (n, d), y: (n,) integer labels. ``fraction`` of each class goes to the validation part.
    The test set is never an argument here: it is not used to choose anything.
    """
    from course.data import split

    return split(x, y, test_fraction=fraction, seed=seed)


def experiment(train: Callable, grid: Sequence, data: Sequence, seeds: Sequence = SEEDS,
               last: int = 20) -> Result:
    """Tune ``setting`` over ``grid`` on validation data, then run every seed at the best one.

    train(setting, x, y, seed) -> (net, history): see the module docstring.
    data: (x_fit, y_fit, x_val, y_val, x_test, y_test). The grid runs use seeds[0]; the scores
    are :func:`course.train.accuracy`; ``last``: how many final training losses to average.
    Ties go to the earlier setting of the grid. Returns a :class:`Result`.
    """
    x_fit, y_fit, x_val, y_val, x_test, y_test = data
    val, train_loss = [], []
    for setting in grid:
        net, history = train(setting, x_fit, y_fit, seeds[0])
        if history.diverged:
            val.append(np.nan)
            train_loss.append(np.nan)
        else:
            val.append(accuracy(net, x_val, y_val))
            train_loss.append(float(np.mean(history.loss[-last:])))
    best = grid[int(np.nanargmax(val))]
    test = []
    for seed in seeds:
        net, history = train(best, x_fit, y_fit, seed)
        test.append(np.nan if history.diverged else accuracy(net, x_test, y_test))
    return Result(list(grid), np.array(val, dtype=np.float64),
                  np.array(train_loss, dtype=np.float64), best, list(seeds),
                  np.array(test, dtype=np.float64))


def results_table(results: Mapping[str, Result], setting: str = "lr",
                  fmt: Callable[[object], str] = lambda s: f"{s:.2g}") -> str:
    """An aligned table: one row per method with its chosen setting and its test accuracy
    (mean +- standard deviation over the seeds, and the lowest and highest seed)."""
    rows = []
    for name, r in results.items():
        rows.append([name, fmt(r.best), f"{r.mean:.3f}", f"{r.spread:.3f}", f"{r.worst:.3f}",
                     f"{r.best_seed:.3f}", str(r.diverged)])
    n = len(next(iter(results.values())).seeds) if results else 0
    head = ["method", setting, "mean", "+- std", "lowest", "highest", "diverged"]
    return "\n".join([f"test accuracy over {n} seeds, each method at its own tuned {setting}",
                      *format_table(head, rows, numbers_right=True)])


def cliff(result: Result, ceiling: float) -> int | None:
    """Index into ``result.grid`` of the first setting from which every larger one failed:
    diverged (NaN) or a training loss at or above ``ceiling`` (e.g. ln C, guessing). None if
    the last setting of the grid still trained. (Exercise 05.8 has this signature.)"""
    failed = [not np.isfinite(loss) or loss >= ceiling for loss in result.train_loss]
    if not failed[-1]:
        return None
    k = len(failed) - 1
    while k > 0 and failed[k - 1]:
        k -= 1
    return k
