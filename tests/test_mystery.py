"""course.mystery: every mystery run is broken as it stands and healed by one repaired piece
(the repairs live here and in the solutions, never in course/); the package holds no table from
a mystery to its cause and no list of candidate fixes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

import course.mystery as mystery_module
from course.checks import lesson07
from course.clinic import CASES
from course.mystery import IDS, PIECES, judge, mystery


def _he(d_in, d_out, rng):
    return rng.normal(0.0, math.sqrt(2.0 / d_in), size=(d_in, d_out))


def _standardised(x, y):
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def _step(net, loss_fn, opt, xb, yb):
    loss = loss_fn.forward(net.forward(xb), yb)
    net.backward(loss_fn.backward())
    opt.step(net.gradients())
    return loss


def _drawn(n, batch_size, step, rng):
    return rng.permutation(n)[:batch_size]


REPAIRS = {"3e1a": {"init": _he}, "7b20": {"prepare": _standardised}, "c58d": {"step": _step},
           "91f4": {"batches": _drawn}, "0d6b": {"step": _step}}
"""One repair per mystery, as the teacher's key in the solutions writes it."""


@pytest.mark.parametrize("case_id", IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_mystery_is_broken_and_one_repaired_piece_heals_it(case_id, seed):
    run = mystery(case_id, seed)
    assert not all(judge(run.outcome).values())
    assert all(judge(run.run(**REPAIRS[case_id])).values())


@pytest.mark.parametrize("case_id", IDS)
def test_the_check_accepts_the_repair_and_rejects_the_run_as_it_is(case_id):
    assert lesson07.heals(case_id, REPAIRS[case_id])
    assert not lesson07.heals(case_id, {"step": _step}) or REPAIRS[case_id] == {"step": _step}
    assert not lesson07.valid_fix({}) and not lesson07.valid_fix({"init": "he"})
    assert not lesson07.valid_fix({**REPAIRS["3e1a"], **REPAIRS["7b20"]})


def test_every_run_is_made_of_the_same_four_pieces_and_unknown_ones_are_refused():
    assert PIECES == ("prepare", "init", "batches", "step")
    with pytest.raises(TypeError, match="unknown piece"):
        mystery("3e1a").run(learning_rate=lambda: 0.1)
    with pytest.raises(TypeError, match="must be a function"):
        mystery("3e1a").run(init="he")
    with pytest.raises(ValueError, match="no mystery run"):
        mystery("da26")
    assert repr(mystery("c58d")) == "Mystery('c58d')"


def test_a_repaired_run_records_what_the_optimizer_was_given():
    o = mystery("c58d").outcome
    assert all(set(v) == {0.0} for v in o.history.grad_norms.values())
    assert len(o.extra["batches"]) == len(o.history.loss) == 300


def test_course_mystery_exposes_no_mapping_and_no_oracle():
    public = {k: v for k, v in vars(mystery_module).items() if not k.startswith("__")}
    assert not any(isinstance(v, Mapping) for v in public.values())
    for name in ("_key", "heals", "BROKEN", "REFERENCE_FIX", "CAUSES", "KNOBS", "HEALTHY"):
        assert name not in public
    assert not hasattr(mystery_module.Mystery, "heals")


CAUSE_WORDS = [case.key for case in CASES] + [
    "cause", "culprit", "too large", "too small", "unscaled", "millimet", "sorted", "shuffl",
    "zero_grad()", "accumulat", "learning rate", "standardis", "saturat", "diverge"]


def test_no_file_in_course_names_a_cause_beside_a_mystery_id():
    """Scan every file of course/: a line that holds a mystery id holds no cause word, and a
    file that holds an id holds none of the clinic's cause keys."""
    root = Path(mystery_module.__file__).parent
    ids = re.compile("|".join(IDS))
    for path in root.rglob("*.py"):
        text = path.read_text()
        if not ids.search(text):
            continue
        for line in text.splitlines():
            if ids.search(line):
                assert not [w for w in CAUSE_WORDS if w in line.lower()], (path, line)
        assert not [c.key for c in CASES if c.key in text], path


def test_the_mysteries_symptoms_differ_from_the_worked_cases():
    """One symptom per run, as lesson 07 states them (seed 0)."""
    a, b, c, d, e = (mystery(i).outcome for i in IDS)
    assert a.history.loss[0] > 100 and a.history.diverged_at == 8
    ratio = {k: np.median(v) for k, v in b.history.update_ratios.items()}
    assert ratio["0.W"] < 1e-3 < ratio["4.W"] and 0.9 < np.mean(b.history.loss[-20:]) < 1.05
    assert np.abs(b.x.mean(axis=0)).max() < 1e-9 and b.x.std(axis=0)[1] > 500 * b.x.std(axis=0)[0]
    assert all(set(v) == {0.0} for v in c.history.grad_norms.values())
    labels = [len(set(d.y[idx])) for idx in d.extra["batches"]]
    loss = np.asarray(d.history.loss[-50:])
    assert np.mean(np.abs(np.diff(loss))) > 0.8 * loss.mean()
    assert sum(n == 1 for n in labels) >= len(labels) // 2
    assert e.history.grad_norm[-1] > 20 * e.history.grad_norm[0]
    assert min(np.median(v) for v in e.history.update_ratios.values()) > 1e-3
