"""The parts of ``course grade`` that need no kernel: where an answer comes from (a course object
earns 0), how a grader-owned cell's records become a row, who a notebook belongs to, and what a
learner's feedback page may show (checked on every exercise of lesson 04)."""

from __future__ import annotations

import copy
import functools
import html
import inspect
import re
import textwrap
import types

import numpy as np
import pytest

import course.layers
from course.backend import to_numpy
from course.checks import core
from course.checks.core import evaluate, get_exercise, lesson_exercises
from course.tools import grade, origin, report

NONCE = "f00d"


def _learner(source: str, name: str):
    """An object defined by code run as a notebook runs it (module ``__main__``, its own file)."""
    namespace = {"__name__": "__main__", "course": course, "np": np}
    exec(compile(textwrap.dedent(source), "/tmp/ipykernel_1/123.py", "exec"), namespace)
    return namespace[name]


# ---------------------------------------------------------------- course objects (item 7)


@pytest.mark.parametrize("answer, expected", [
    (get_exercise("00.1").reference, "course.checks.lesson00._poly_prime"),
    (functools.partial(get_exercise("00.2").reference), "course.checks.lesson00._chain_prime"),
    (course.layers.Linear, "course.layers.Linear"),
    (course.layers.Linear.backward, "course.layers.Linear.backward"),
])
def test_the_course_own_objects_are_recognised(answer, expected):
    assert origin.course_origin(answer) == expected


def test_an_answer_written_in_the_notebook_is_the_learner_own():
    assert origin.course_origin(_learner("def p_prime(x):\n    return 9 * x**2", "p_prime")) \
        is None
    assert origin.course_origin(_learner(
        "class Linear(course.layers.Linear):\n    def backward(self, up):\n        return up",
        "Linear")) is None
    assert origin.course_origin(42.0) is None and origin.course_origin(...) is None


def test_a_class_that_only_borrows_the_course_code_is_the_course_own():
    empty = _learner("class Linear(course.layers.Linear):\n    pass", "Linear")
    borrowed = _learner("class Linear:\n    forward = course.layers.Linear.forward\n"
                        "    backward = course.layers.Linear.backward", "Linear")
    assert origin.course_origin(empty) == "course.layers.Linear"
    assert origin.course_origin(borrowed).endswith(".Linear")


def test_a_course_class_with_a_method_written_by_the_learner_is_the_learner_own(monkeypatch):
    backward = _learner("def backward(self, upstream):\n    return upstream", "backward")
    monkeypatch.setattr(course.layers.Linear, "backward", backward)
    assert origin.course_origin(course.layers.Linear) is None


def test_a_course_function_renamed_into_main_is_still_the_course_own():
    ref = get_exercise("00.1").reference
    fn = types.FunctionType(ref.__code__, {"__name__": "__main__"}, "p_prime")
    assert fn.__module__ == "__main__"
    assert origin.course_origin(fn) is not None


def _shown_origin(monkeypatch, exercise_id):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw=False: shown.append(data))
    origin.show_origin(exercise_id, NONCE)
    return shown[-1][origin.ORIGIN_MIME]


def test_the_origin_judged_is_the_answer_given_to_the_visible_check(monkeypatch):
    """A failing answer makes check() hand back the course's reference; the grader judges the
    learner's own answer, which the visible check recorded, not the name rebound to it."""
    monkeypatch.setattr(core, "_show", lambda result: None)
    monkeypatch.setattr(core, "_SUBMITTED", {})
    mine = _learner("def p_prime(x):\n    return 3 * x**2 - 2 * x", "p_prime")
    fallback = core.check("00.1", mine)
    assert origin.course_origin(fallback) is not None  # what the notebook now calls p_prime
    assert _shown_origin(monkeypatch, "00.1") == {"id": "00.1", "origin": None, "nonce": NONCE}
    core.check("00.1", get_exercise("00.1").reference)
    assert _shown_origin(monkeypatch, "00.1")["origin"] == "course.checks.lesson00._poly_prime"


# ---------------------------------------------------------------- records to a row


def _cell_report(exercise_id, answer, nonce=NONCE, origin_of=None, error=None):
    ex = get_exercise(exercise_id)
    visible = dict(evaluate(ex, answer).record, nonce=nonce)
    hidden = dict(evaluate(ex, answer, hidden=True).record, nonce=nonce)
    return {"records": [visible, hidden], "error": error,
            "origins": [{"id": exercise_id, "origin": origin_of, "nonce": nonce}]}


def test_judge_counts_only_the_records_carrying_the_run_nonce():
    ex = get_exercise("00.1")
    forged = _cell_report("00.1", ex.reference, nonce="other")
    row = grade.judge(ex, forged, NONCE)
    assert (row["status"], row["earned"], row["visible"], row["hidden"]) == (
        "raised", 0, None, None)


def test_judge_names_the_mistake_of_each_check():
    ex = get_exercise("00.1")
    row = grade.judge(ex, _cell_report("00.1", ex.mistake("power-not-lowered").fn), NONCE)
    assert row["status"] == "wrong" and row["earned"] == 0
    assert row["visible"] == row["hidden"] == {"status": "wrong", "mistake": "power-not-lowered"}


def test_judge_gives_a_course_object_zero_with_a_note():
    ex = get_exercise("00.1")
    cell = _cell_report("00.1", ex.reference, origin_of="course.checks.lesson00._poly_prime")
    row = grade.judge(ex, cell, NONCE)
    assert (row["status"], row["earned"]) == ("course object", 0)
    assert "course's own course.checks.lesson00._poly_prime" in row["note"]
    assert row["visible"]["status"] == "passed"


def test_judge_without_the_origin_record_earns_nothing():
    ex = get_exercise("00.1")
    cell = dict(_cell_report("00.1", ex.reference), origins=[])
    assert grade.judge(ex, cell, NONCE)["earned"] == 0


def test_a_mistake_key_the_exercise_does_not_plant_is_not_counted():
    ex = get_exercise("00.1")
    cell = _cell_report("00.1", ex.mistake("constant-kept").fn)
    cell["records"][0]["mistake"] = "made-up"
    assert grade.judge(ex, cell, NONCE)["visible"] == {"status": "wrong", "mistake": None}


# ---------------------------------------------------------------- who is who, stray paths


@pytest.mark.parametrize("notebook, roots, label", [
    ("class/ada/00_welcome.ipynb", ["class"], "ada"),
    ("class/ada/sub/01_x.ipynb", ["class"], "ada"),
    ("class/ada.ipynb", ["class"], "ada"),
    ("course/submitted/bo/ps1/00_welcome.ipynb", ["course/submitted"], "bo"),
    ("cy/00_welcome.ipynb", ["cy/00_welcome.ipynb"], "cy"),
])
def test_learner_labels_come_from_the_teacher_folders(tmp_path, notebook, roots, label):
    for root in roots:
        (tmp_path / root).mkdir(parents=True, exist_ok=True) if not root.endswith(".ipynb") \
            else None
    roots = [tmp_path / r for r in roots]
    assert report.learner_label(str(tmp_path / notebook), roots) == label


def test_a_non_notebook_argument_is_refused_with_a_message(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    (tmp_path / "a.ipynb").write_text("{}")
    messages = grade.refused_arguments([notes, tmp_path / "a.ipynb", tmp_path])
    assert messages == [f"course grade: {notes}: not a notebook (.ipynb) or a folder of "
                        "notebooks: refused (the other paths are graded)"]


# ---------------------------------------------------------------- the feedback page (lesson 04)


def _numbers(x, out: list, depth: int = 0) -> list:
    """Every number held by ``x`` (arrays, tensors, sequences, dicts, objects' attributes)."""
    if depth > 6:
        return out
    try:
        x = to_numpy(x)
    except Exception:
        pass
    if isinstance(x, (bool, np.bool_)):
        return out
    if isinstance(x, (int, float, np.number)):
        out.append(float(x))
    elif isinstance(x, np.ndarray) and x.dtype.kind in "iuf":
        out += [float(v) for v in x.ravel()]
    elif isinstance(x, dict):
        for v in x.values():
            _numbers(v, out, depth + 1)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _numbers(v, out, depth + 1)
    elif hasattr(x, "__dict__") and not callable(x):
        for v in vars(x).values():
            _numbers(v, out, depth + 1)
    return out


def _spellings(value: float) -> set[str]:
    """The ways a number may be printed, kept when distinctive (3 significant digits or more)."""
    texts = {f"{value:.4g}", f"{value:.6g}", f"{value:.3f}", f"{value:.4f}", repr(value)}
    return {t for t in texts if len(re.sub(r"[^1-9]", "", t.lstrip("-0."))) >= 3}


def _secrets(ex) -> tuple[set[str], list[str]]:
    """The hidden cases' inputs and expected values as text, and the reference's source lines."""
    numbers = []
    if ex.kind == "function":
        for args in ex.case_list(hidden=True):
            _numbers(args, numbers)
            _numbers(ex.call(ex.reference, copy.deepcopy(args)), numbers)
        source = inspect.getsource(ex.reference)
    else:
        _numbers(ex.reference, numbers)
        source = ""
    texts = {t for v in numbers if np.isfinite(v) for t in _spellings(v)}
    lines = [line.strip() for line in source.splitlines()
             if len(line.strip()) >= 6 and re.search(r"[A-Za-z0-9]", line)]
    return texts, lines


def _answers(ex) -> dict:
    """A learner's possible answers: right, each planted mistake, the stub, and two that try to
    carry their inputs into the messages (raising with them, returning them)."""
    def stub(*args):
        raise NotImplementedError

    def leaky_raise(*args):
        raise ValueError(repr(args))

    def leaky_return(*args):
        return args

    if ex.kind == "value":
        return {"right": ex.reference, "stub": ..., **{m.key: m.fn for m in ex.mistakes}}
    return {"right": ex.reference, "stub": stub, "leaky-raise": leaky_raise,
            "leaky-return": leaky_return, **{m.key: m.fn for m in ex.mistakes}}


def _page_text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_feedback_pages_reveal_no_hidden_case_and_no_reference_line():
    """Every exercise of lesson 04, every kind of answer: the learner's page holds the grader's
    verdicts in fixed words and none of the hidden cases' inputs or expected values, nor any line
    of the reference's source."""
    exercises = lesson_exercises("04")
    assert exercises
    answers = {ex.id: _answers(ex) for ex in exercises}
    kinds = sorted({kind for a in answers.values() for kind in a})
    pages, verdicts = {}, []
    for kind in kinds:
        rows = []
        for ex in exercises:
            answer = answers[ex.id].get(kind, answers[ex.id]["right"])
            row = {"exercise": ex.id, "title": ex.title, "points": ex.points}
            rows.append({**row, **grade.judge(ex, _cell_report(ex.id, answer), NONCE)})
            verdicts.append((kind, ex.id, rows[-1]))
        g = grade.Grade(notebook=f"class/{kind}/04.ipynb", lesson="04", exercises=rows)
        pages[kind] = _page_text(report.feedback_html(kind, [g]))
    assert "not done" in pages["stub"] and "passed" in pages["right"]
    for ex in exercises:
        texts, lines = _secrets(ex)
        for kind, text in pages.items():
            assert f"{ex.id} {ex.title}" in text
            leaked = [t for t in texts if t in text] + [line for line in lines if line in text]
            assert not leaked, f"{ex.id}, answer {kind!r}: the page shows {leaked[:3]}"
    for kind, ex_id, row in verdicts:
        assert report.says(ex_id, row["visible"]) in pages[kind]
        assert report.says(ex_id, row["hidden"]) in pages[kind]
    assert not re.search(r"\d\.\d{3,}", "".join(pages.values()))


def test_the_class_report_page_is_built_from_rows_only(tmp_path):
    ex = get_exercise("00.2")
    rows = {name: {"exercise": ex.id, "title": ex.title, "points": ex.points,
                   **grade.judge(ex, _cell_report(ex.id, answer), NONCE)}
            for name, answer in [("ada", ex.reference), ("bo", ex.mistake("sign").fn)]}
    first = {"exercise": "00.1", "title": "", "points": 1, "status": "not done", "earned": 0,
             "visible": {"status": "not done", "mistake": None}, "hidden": None, "note": ""}
    grades = [grade.Grade(notebook=str(tmp_path / n / "00.ipynb"), lesson="00",
                          exercises=[first, r]) for n, r in rows.items()]
    ex01 = get_exercise("01.1")
    grades.append(grade.Grade(notebook=str(tmp_path / "ada" / "01.ipynb"), lesson="01",
                              exercises=[{"exercise": ex01.id, "title": ex01.title,
                                          "points": ex01.points,
                                          **grade.judge(ex01, _cell_report(
                                              ex01.id, ex01.reference), NONCE)}]))
    data = report.write_report(grades, tmp_path / "out", [tmp_path], anonymous=True)
    assert [lesson["lesson"] for lesson in data["lessons"]] == ["00", "01"]
    assert (data["learners"], data["notebooks"]) == (2, 3)
    stats = data["lessons"][0]["exercises"][1]
    assert (stats["passed_hidden"], stats["stopped"]) == (1, 1)
    assert stats["mistakes"] == [{"key": "sign", "says": ex.mistake("sign").says, "count": 1,
                                  "share": 0.5}]
    written = _page_text((tmp_path / "out" / "report.html").read_text())
    assert not re.search(r"\b(ada|bo)\b", written) and str(tmp_path) not in written
    assert "learner 1" in written and "learner 2" in written
    assert sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir()) == [
        "ada.html", "bo.html"]
    ada = _page_text((tmp_path / "out" / "feedback" / "ada.html").read_text())
    assert "Lesson 00: 1/2 points" in ada
    assert f"Lesson 01: {ex01.points}/{ex01.points} points" in ada
