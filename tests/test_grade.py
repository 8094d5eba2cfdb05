"""course grade on real, careless and hostile submissions of lesson 00.

One class folder is graded once (module fixture); each test asserts one case of it. Cell time
limits are generous (60 s) so a busy machine never interrupts an honest cell; the time-limit
cases use a small notebook of their own.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import nbformat
import pytest

from course.checks.core import RECORD_MIME
from course.tools import grade
from course.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "00_welcome.ipynb"
LESSON = ROOT / "lessons" / "00_welcome.ipynb"
SOLUTIONS = ROOT / "solutions"
SOLVED_00_1 = "def p_prime(x):\n    return 9 * x**2 - 4 * x"
STUB_00_1 = next(c.source for c in nbformat.read(LESSON, as_version=4).cells if c.id == "ex1-code")
FORGE = ("from IPython.display import display\n"
         "for _id in ('00.1', '00.2'):\n"
         "    display({'" + RECORD_MIME + "': {'id': _id, 'status': 'passed', 'points': 1,\n"
         "             'earned': 1, 'hidden': True}, 'text/plain': 'passed'}, raw=True)\n")


def _edited(source: Path, dest: Path, drop: tuple[str, ...] = (), **cells: str) -> Path:
    """A copy of ``source`` with cells named by id (dashes as underscores) replaced, and the
    cells in ``drop`` removed."""
    nb = nbformat.read(source, as_version=4)
    nb.cells = [c for c in nb.cells if c.id not in drop]
    for cell in nb.cells:
        new = cells.get(cell.id.replace("-", "_"))
        if new is not None:
            cell.source = new
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


def _raw_edit(source: Path, dest: Path, edit) -> Path:
    data = json.loads(source.read_text())
    edit(data)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(data))
    return dest


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade a class folder once; returns ({folder name: grade row}, output folder, exit code)."""
    root = tmp_path_factory.mktemp("class")
    _edited(SOLUTION, root / "solved" / "00_welcome.ipynb")
    _edited(LESSON, root / "untouched" / "00_welcome.ipynb")
    _edited(LESSON, root / "fools_visible_cases" / "00_welcome.ipynb",
            ex1_code="def p_prime(x):\n    return 9 * x**2 - 4 * x if x.size < 10 else x")
    _edited(LESSON, root / "forged_records" / "00_welcome.ipynb",
            ex1_code=STUB_00_1 + "\n" + FORGE)
    _edited(LESSON, root / "redefined_check" / "00_welcome.ipynb",
            ex1_code=STUB_00_1 + "\n" + FORGE.replace(
                "for _id", "def check(*args, **kwargs):\n    pass\nfor _id"),
            ex1_check="def check(exercise_id, answer=None, **kwargs):\n    return answer\n"
                      "p_prime = check('00.1', p_prime)")
    _edited(LESSON, root / "exits_after_forging" / "00_welcome.ipynb",
            ex1_code=STUB_00_1 + "\n" + FORGE + "import os\nos._exit(0)")
    _edited(LESSON, root / "breaks_the_import" / "00_welcome.ipynb",
            ex1_code=SOLVED_00_1 + "\nimport sys\nsys.modules['course.checks.core'] = None")
    local = _edited(LESSON, root / "local_course_package" / "00_welcome.ipynb").parent
    (local / "course" / "checks").mkdir(parents=True)
    (local / "course" / "__init__.py").write_text("")
    (local / "course" / "checks" / "__init__.py").write_text(
        "def check(exercise_id, answer=None, **kwargs):\n    return answer\n")
    _edited(LESSON, root / "hands_in_the_reference" / "00_welcome.ipynb",
            ex1_code="from course.checks.core import get_exercise\n"
                     "p_prime = get_exercise('00.1').reference",
            ex2_code="import course.checks.lesson00 as _l\nf_prime = _l._chain_prime")
    _edited(LESSON, root / "deleted_check" / "00_welcome.ipynb", drop=("ex1-check",),
            ex1_code=SOLVED_00_1)
    _raw_edit(SOLUTION, root / "cell_without_source" / "00_welcome.ipynb",
              lambda d: next(c for c in d["cells"] if c["id"] == "ex1-mistake").pop("source"))
    _raw_edit(SOLUTION, root / "metadata_string" / "00_welcome.ipynb",
              lambda d: d["metadata"].update(course="00"))
    (root / "symlinked").mkdir()
    os.symlink(SOLUTION, root / "symlinked" / "00_welcome.ipynb")
    (root / "python_only").mkdir()
    (root / "python_only" / "answers.py").write_text("p_prime = None\n")
    stray = root.parent / f"{root.name}-notes.txt"
    stray.write_text("not a notebook")
    out = root.parent / f"{root.name}-out"
    code = main(["grade", str(root), str(stray), "--timeout-cell", "60", "--timeout-total",
                 "240", "--jobs", "2", "--out", str(out)])
    data = json.loads((out / "grades.json").read_text())
    rows = {}
    for g in data:
        path = Path(g["notebook"])
        rows[path.parent.name if path.suffix == ".ipynb" else path.name] = g
    return rows, out, code


def _row(g, exercise):
    return next(e for e in g["exercises"] if e["exercise"] == exercise)


def test_solved_notebook_gets_full_marks(graded):
    g = graded[0]["solved"]
    assert (g["earned"], g["possible"], g["problems"]) == (2, 2, [])


def test_untouched_lesson_gets_zero_with_not_done(graded):
    g = graded[0]["untouched"]
    assert g["earned"] == 0
    assert {_row(g, "00.1")["status"], _row(g, "00.2")["status"]} == {"not done"}


def test_hidden_cases_catch_an_answer_that_fools_the_visible_ones(graded):
    row = _row(graded[0]["fools_visible_cases"], "00.1")
    assert (row["status"], row["earned"]) == ("wrong", 0)


def test_a_forged_check_record_earns_nothing(graded):
    g = graded[0]["forged_records"]
    assert g["earned"] == 0 and _row(g, "00.1")["status"] == "not done"


def test_a_redefined_check_earns_nothing(graded):
    g = graded[0]["redefined_check"]
    assert g["earned"] == 0 and _row(g, "00.1")["status"] == "not done"


def test_forged_records_then_exit_earn_nothing_and_name_the_reason(graded):
    g = graded[0]["exits_after_forging"]
    assert g["earned"] == 0
    assert any(p.startswith("the kernel died in cell") for p in g["problems"])
    assert _row(g, "00.1")["status"] == "did not run"
    assert "did not run: the kernel died" in _row(g, "00.1")["note"]


def test_a_hidden_test_made_to_raise_voids_the_exercise(graded):
    row = _row(graded[0]["breaks_the_import"], "00.1")
    assert (row["status"], row["earned"]) == ("raised", 0)
    assert "ImportError" in row["note"] or "ModuleNotFoundError" in row["note"]


def test_a_course_package_beside_the_notebook_is_not_imported(graded):
    g = graded[0]["local_course_package"]
    assert g["earned"] == 0 and _row(g, "00.1")["status"] == "not done"
    assert not any("setup" in p for p in g["problems"])


def test_the_course_own_reference_handed_in_earns_zero_with_a_note(graded):
    g = graded[0]["hands_in_the_reference"]
    assert g["earned"] == 0
    for exercise, name in (("00.1", "_poly_prime"), ("00.2", "_chain_prime")):
        row = _row(g, exercise)
        assert row["status"] == "course object"
        assert f"the course's own course.checks.lesson00.{name}, not code written" in row["note"]


def test_a_deleted_check_cell_is_put_back_and_reported(graded):
    g = graded[0]["deleted_check"]
    assert _row(g, "00.1")["status"] == "passed"
    assert "the check cell of 00.1 was deleted; the grader put it back" in g["problems"]


def test_a_code_cell_without_source_is_graded_with_a_note(graded):
    g = graded[0]["cell_without_source"]
    assert g["earned"] == 2
    assert any("has no source" in p for p in g["problems"])


@pytest.mark.parametrize("name, reason", [
    ("metadata_string", "metadata 'course' is str"),
    ("symlinked", "symbolic link"),
    ("python_only", "answers.py: the folder holds no notebook"),
])
def test_bad_submissions_are_skipped_rows_naming_the_reason(graded, name, reason):
    g = graded[0][name]
    assert reason in g["skipped"] and g["exercises"] == []


def test_a_stray_path_is_a_skipped_row_and_the_class_is_still_graded(graded):
    rows, _, code = graded
    stray = next(g for key, g in rows.items() if key.endswith("-notes.txt"))
    assert "not a notebook" in stray["skipped"]
    assert code == 1 and rows["solved"]["earned"] == 2


def test_reports_are_written_as_csv_and_json(graded):
    rows, out, _ = graded
    lines = (out / "grades.csv").read_text().splitlines()
    assert lines[0] == "notebook,lesson,exercise,status,points,earned,note"
    graded_rows = sum(1 for g in rows.values() if not g["skipped"])
    skipped_rows = sum(1 for g in rows.values() if g["skipped"])
    assert len(lines) == 1 + 2 * graded_rows + skipped_rows


def test_time_limits_interrupt_a_cell_then_end_the_notebook(tmp_path):
    """A loop is interrupted at the cell limit and the exercise after it still passes; a cell
    that ignores interrupts ends at the total limit. Limits leave wide margins for busy CPUs."""
    nb = nbformat.read(SOLUTION, as_version=4)
    cells = [c for c in nb.cells if c.id in ("ex1-code", "ex1-check")]
    imports = nbformat.v4.new_code_cell("import numpy as np\nfrom course.checks import check",
                                        id="imports")
    loop = nbformat.v4.new_code_cell("while True:\n    pass", id="loop")
    stuck = nbformat.v4.new_code_cell(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        id="stuck")
    nb.cells = [imports, loop, *cells, stuck]
    path = tmp_path / "00_welcome.ipynb"
    nbformat.write(nb, path)
    g = grade.grade_notebook(path, SOLUTIONS, timeout_cell=5, timeout_total=20)
    assert any("(while True:) ran past 5 s (interrupted)" in p for p in g.problems)
    assert _row({"exercises": g.exercises}, "00.1")["status"] == "passed"
    assert "the notebook ran past the total limit of 20 s" in g.problems


def test_the_setup_cell_refuses_a_foreign_course_package(monkeypatch):
    exec(grade.setup_source(), {})
    fake = types.ModuleType("course")
    fake.__file__ = "/elsewhere/course/__init__.py"
    monkeypatch.setitem(sys.modules, "course", fake)
    with pytest.raises(AssertionError, match="other than the grader's"):
        exec(grade.setup_source(), {})


def test_the_grader_check_calls_the_course_check_with_the_nonce():
    """Both checks are the course's with this run's nonce; between them, the record of where
    the answer given to the visible check comes from."""
    source = grade.grader_source('p_prime = check("00.1", p_prime)\n### BEGIN HIDDEN TESTS\n'
                                 '_ = check("00.1", hidden=True)\n### END HIDDEN TESTS',
                                 "00.1", "abc123")
    assert source.splitlines() == [
        "import course.checks.core as _course_checks",
        "import course.tools.origin as _course_origin",
        "p_prime = _course_checks.check('00.1', p_prime, nonce='abc123')",
        "_course_origin.show_origin('00.1', 'abc123')",
        "_course_checks.check('00.1', hidden=True, nonce='abc123')"]


def test_a_submission_changed_while_graded_is_reported(tmp_path, monkeypatch):
    path = _edited(LESSON, tmp_path / "00_welcome.ipynb")

    class TouchingRun:
        def __init__(self, nb, name, timeout_cell):
            pass

        def finish(self, timeout_total):
            path.write_text(path.read_text() + " ")
            return []

    monkeypatch.setattr(grade, "IsolatedRun", TouchingRun)
    g = grade.grade_notebook(path, SOLUTIONS, timeout_cell=60, timeout_total=60)
    assert "the submission file changed while it was graded" in g.problems
