"""Every registered exercise of every lesson: the reference passes, a stub is 'not done', the
visible cases alone reject each planted mistake and diagnose it as itself (by its key), the
first-tier text never reveals the reference's formula, every check guards its inputs, and
None/shape/dtype/raised answers are reported."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course.checks import core, variants
from course.checks.core import evaluate
from course.tools.execute import failed_checks
from course.tools.release import CHECK_CALL

EXERCISES = core.all_exercises()
IDS = [ex.id for ex in EXERCISES]


def _stub(*args):
    raise NotImplementedError("Exercise: stub")


def _mistake_cases():
    return [(ex, m) for ex in EXERCISES for m in ex.mistakes]


MISTAKES = _mistake_cases()
MISTAKE_IDS = [f"{ex.id}-{m.key}" for ex, m in MISTAKES]


def test_exercise_ids_are_unique_and_match_their_lesson_module():
    assert len(IDS) == len(set(IDS))
    for mod in core.lesson_modules():
        lesson = mod[-2:]
        assert all(ex.id.startswith(lesson + ".") for ex in core.lesson_exercises(lesson))


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_reference_passes(ex):
    result = evaluate(ex, ex.reference)
    assert result.status == core.PASSED, str(result)
    assert result.record["earned"] == ex.points > 0


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_unfinished_answer_reports_not_done(ex):
    stub = _stub if ex.kind == "function" else ...
    result = evaluate(ex, stub)
    assert result.status == core.NOT_DONE
    assert result.record["earned"] == 0


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_plants_four_mistakes_per_function_and_three_per_value_each_with_a_hint(ex):
    assert len(ex.mistakes) >= (4 if ex.kind == "function" else 3)
    assert all(m.hint for m in ex.mistakes), "every mistake needs its tier-2 hint"
    assert ex.section, "tier 3 needs the lesson's section"


@pytest.mark.parametrize(("ex", "mistake"), MISTAKES, ids=MISTAKE_IDS)
def test_the_visible_cases_reject_each_planted_mistake_as_itself(ex, mistake):
    result = evaluate(ex, mistake.fn)
    assert result.status == core.WRONG, str(result)
    assert result.mistake_key == mistake.key, str(result)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(("ex", "mistake"), MISTAKES, ids=MISTAKE_IDS)
def test_the_first_tier_never_shows_the_references_formula(ex, mistake):
    text = _squeeze(str(evaluate(ex, mistake.fn)))
    leaked = [f for f in core.answer_fragments(ex) if f in text]
    assert not leaked, f"first-tier text shows {leaked}: {evaluate(ex, mistake.fn)}"


def _first_mutable(args: tuple) -> int | None:
    return next((i for i, a in enumerate(args) if variants.is_mutable(a)), None)


GUARDED = [ex for ex in EXERCISES if ex.kind == "function" and not ex.mutates
           and _first_mutable(ex.case_list()[0]) is not None]


@pytest.mark.parametrize("ex", GUARDED, ids=[ex.id for ex in GUARDED])
def test_an_answer_that_changes_its_inputs_is_told_so(ex):
    i = _first_mutable(ex.case_list()[0])
    if ex.run is None:
        changed = evaluate(ex, variants.mutating(ex.reference, i))
    else:
        def run(answer, *args):
            out = ex.run(answer, *args)
            variants.perturb(args[i])
            return out

        changed = evaluate(dataclasses.replace(ex, run=run), ex.reference)
    assert changed.mistake_key == core.INPUTS_CHANGED, str(changed)
    assert "in place" in str(changed)


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_none_answer_reports_returned_none(ex):
    answer = (lambda *args: None) if ex.kind == "function" else None
    result = evaluate(ex, answer)
    assert result.status in (core.RETURNED_NONE, core.WRONG)
    assert result.status == core.RETURNED_NONE or ex.compare is not None


FUNCTIONS = [ex for ex in EXERCISES if ex.kind == "function"]


@pytest.mark.parametrize("ex", FUNCTIONS, ids=[ex.id for ex in FUNCTIONS])
def test_raising_answer_reports_type_message_and_line(ex):
    def answer(*args):
        raise ZeroDivisionError("boom in the learner's code")

    result = evaluate(ex, answer)
    assert result.status == core.RAISED
    text = str(result)
    assert "ZeroDivisionError: boom in the learner's code" in text
    assert 'raise ZeroDivisionError("boom' in text


ARRAY_FUNCTIONS = [
    ex for ex in FUNCTIONS
    if ex.compare is None and isinstance(ex.call(ex.reference, ex.case_list()[0]), np.ndarray)
]


@pytest.mark.parametrize("ex", ARRAY_FUNCTIONS, ids=[ex.id for ex in ARRAY_FUNCTIONS])
def test_extra_axis_reports_wrong_shape(ex):
    result = evaluate(ex, lambda *args: ex.reference(*args)[None])
    assert result.status == core.WRONG_SHAPE


FLOAT64_FUNCTIONS = [
    ex for ex in ARRAY_FUNCTIONS if ex.call(ex.reference, ex.case_list()[0]).dtype == np.float64
]


@pytest.mark.parametrize("ex", FLOAT64_FUNCTIONS, ids=[ex.id for ex in FLOAT64_FUNCTIONS])
def test_float32_answer_reports_wrong_dtype(ex):
    result = evaluate(ex, lambda *args: ex.reference(*args).astype(np.float32))
    assert result.status == core.WRONG_DTYPE


SOLUTIONS = sorted((Path(__file__).resolve().parent.parent / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_stored_solution_checks_every_exercise_of_its_lesson_and_all_pass(path):
    nb = nbformat.read(path, as_version=4)
    lesson = nb.metadata["course"]["lesson"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    checked = set(CHECK_CALL.findall(code))
    assert checked >= {ex.id for ex in core.lesson_exercises(lesson)}
    assert failed_checks(nb) == []
