"""Every registered exercise of every lesson: the reference passes, a stub is 'not done', each
planted mistake is diagnosed as itself, and None/shape/dtype/raised answers are reported."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from course.checks import core
from course.checks.core import evaluate
from course.tools.execute import failed_checks
from course.tools.release import CHECK_CALL

EXERCISES = core.all_exercises()
IDS = [ex.id for ex in EXERCISES]


def _stub(*args):
    raise NotImplementedError("Exercise: stub")


def _mistake_cases():
    return [(ex, name) for ex in EXERCISES for name in ex.mistakes]


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
def test_has_at_least_three_planted_mistakes(ex):
    assert len(ex.mistakes) >= 3


@pytest.mark.parametrize(("ex", "name"), _mistake_cases(),
                         ids=[f"{ex.id}-{name}" for ex, name in _mistake_cases()])
def test_each_planted_mistake_is_diagnosed_as_itself(ex, name):
    result = evaluate(ex, ex.mistakes[name])
    assert result.status == core.WRONG, str(result)
    assert result.diagnosis == name, str(result)


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
    if ex.compare is None and isinstance(ex.reference(*ex.case_list()[0]), np.ndarray)
]


@pytest.mark.parametrize("ex", ARRAY_FUNCTIONS, ids=[ex.id for ex in ARRAY_FUNCTIONS])
def test_extra_axis_reports_wrong_shape(ex):
    result = evaluate(ex, lambda *args: ex.reference(*args)[None])
    assert result.status == core.WRONG_SHAPE


FLOAT64_FUNCTIONS = [
    ex for ex in ARRAY_FUNCTIONS if ex.reference(*ex.case_list()[0]).dtype == np.float64
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
