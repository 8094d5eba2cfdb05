"""course.experiment: the harness tunes on validation only, runs every seed at the chosen
setting, touches the test set once per seed, and reports mean and spread."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course import plots
from course.checks import lesson05
from course.experiment import Result, carve_validation, cliff, experiment, results_table
from course.train import History


class Recorder:
    """A stand-in train(): remembers every call; setting 'bad' diverges; the net cuts at a
    threshold depending on setting and seed."""

    def __init__(self):
        self.calls = []

    def __call__(self, setting, x, y, seed):
        self.calls.append((setting, x.shape[0], seed))
        cut = {"a": -0.3, "b": 0.0, "bad": 0.0}[setting] + 0.01 * seed
        h = History(loss=[1.0, 0.5, 0.1], diverged_at=3 if setting == "bad" else None)
        return lesson05._Cut(cut), h


def _data():
    return lesson05._line_data(-0.3, 0.0)


def test_grid_runs_use_the_first_seed_and_the_final_runs_every_seed():
    train = Recorder()
    result = experiment(train, ["a", "b", "bad"], _data(), seeds=(4, 5, 6))
    assert [c[2] for c in train.calls] == [4, 4, 4, 4, 5, 6]
    assert result.best == "a" and result.seeds == [4, 5, 6]
    assert np.isnan(result.val[2]) and np.isnan(result.train_loss[2])
    assert result.val[0] > result.val[1] and result.test.shape == (3,)


def test_a_diverged_setting_is_never_chosen_even_when_it_is_the_only_other_one():
    result = experiment(Recorder(), ["bad", "b"], _data())
    assert result.best == "b"


def test_ties_go_to_the_earlier_setting():
    result = experiment(Recorder(), ["a", "a"], _data())
    assert result.grid.index(result.best) == 0


def test_result_summary_mean_spread_and_diverged_seeds():
    r = Result([1], np.array([1.0]), np.array([0.1]), 1, [0, 1, 2],
               np.array([0.9, np.nan, 0.8]))
    assert r.mean == pytest.approx(0.85) and r.spread == pytest.approx(np.std([0.9, 0.8], ddof=1))
    assert r.worst == 0.0 and r.best_seed == 0.9 and r.diverged == 1
    assert r.summary().endswith("1 diverged")


def test_carve_validation_is_stratified_and_never_sees_a_test_set():
    x = np.arange(40, dtype=float).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    x_fit, y_fit, x_val, y_val = carve_validation(x, y, 0.3, seed=0)
    assert len(x_val) == 6 and np.bincount(y_val).tolist() == [3, 3]
    assert len(set(map(tuple, x_fit)) & set(map(tuple, x_val))) == 0


def test_cliff_finds_the_first_rate_from_which_every_larger_one_fails():
    def r(losses):
        return Result(list(range(len(losses))), np.ones(len(losses)), np.array(losses), 0, [0],
                      np.ones(1))
    assert cliff(r([0.9, 0.1, 0.01, 0.8, np.nan]), 0.5) == 3
    assert cliff(r([0.9, 0.1, 0.01, 0.8, 0.2]), 0.5) is None
    assert cliff(r([0.9, 0.9]), 0.5) == 0


def test_results_table_and_figures_show_every_method():
    results = {name: experiment(Recorder(), ["a", "b"], _data()) for name in ("one", "two")}
    text = results_table(results, setting="setting", fmt=str)
    assert text.splitlines()[0].startswith("test accuracy over 5 seeds")
    assert "one" in text and "two" in text and "+- std" in text
    numeric = {k: Result([0.1, 1.0], r.val, r.train_loss, 0.1, r.seeds, r.test)
               for k, r in results.items()}
    axes = plots.sweep(numeric)
    assert len(axes[1].get_lines()) >= 2
    ax = plots.seed_spread(numeric, baseline=0.5)
    assert len(ax.patches) == 2
    plt.close("all")
