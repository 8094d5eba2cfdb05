"""course grade on real and hostile submissions of lesson 00 (short time limits)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from course import grade
from course.cli import main

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "00_welcome.ipynb"
LESSON = ROOT / "lessons" / "00_welcome.ipynb"
SOLUTIONS = ROOT / "solutions"


def _edited(source: Path, dest: Path, **cells: str) -> Path:
    """A copy of ``source`` with the cells named by id (dashes as underscores) replaced."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        new = cells.get(cell.id.replace("-", "_"))
        if new is not None:
            cell.source = new
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


SOLVED_00_1 = 'def p_prime(x):\n    return 9 * x**2 - 4 * x'


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade a folder of submissions once; returns {name: Grade} and the output folder."""
    root = tmp_path_factory.mktemp("submissions")
    _edited(SOLUTION, root / "solved" / "00_welcome.ipynb")
    _edited(LESSON, root / "untouched" / "00_welcome.ipynb")
    _edited(LESSON, root / "deleted_check" / "00_welcome.ipynb", ex1_code=SOLVED_00_1,
            ex2_code="x0 = 1.5\ndfdx = np.cos(x0**2) * 2 * x0")
    _edited(LESSON, root / "fools_visible_cases" / "00_welcome.ipynb",
            ex1_code="def p_prime(x):\n    return 9 * x**2 - 4 * x if x.size < 10 else x")
    _edited(LESSON, root / "exits" / "00_welcome.ipynb", ex2_code="import os\nos._exit(1)")
    _edited(LESSON, root / "loops" / "00_welcome.ipynb", ex1_code=SOLVED_00_1,
            ex2_code="while True:\n    pass")
    out = root / "out"
    assert main(["grade", str(root), "--timeout-cell", "2", "--timeout-total", "20",
                 "--out", str(out)]) == 0
    data = json.loads((out / "grades.json").read_text())
    return {Path(g["notebook"]).parent.name: g for g in data}, out


def _status(g, exercise):
    return next(e["status"] for e in g["exercises"] if e["exercise"] == exercise)


def test_solved_notebook_gets_full_marks(graded):
    g = graded[0]["solved"]
    assert (g["earned"], g["possible"], g["problems"]) == (2, 2, [])


def test_untouched_lesson_gets_zero_with_not_done(graded):
    g = graded[0]["untouched"]
    assert g["earned"] == 0
    assert {_status(g, "00.1"), _status(g, "00.2")} == {"not done"}


def test_a_deleted_check_is_named_and_scores_nothing(graded):
    g = graded[0]["deleted_check"]
    assert (_status(g, "00.1"), _status(g, "00.2")) == ("passed", "deleted")
    assert "the check for 00.2 was deleted" in g["problems"]
    assert g["earned"] == 1


def test_hidden_tests_from_the_solution_run_against_the_submission(graded):
    g = graded[0]["fools_visible_cases"]
    row = next(e for e in g["exercises"] if e["exercise"] == "00.1")
    assert (row["status"], row["earned"]) == ("wrong", 0)
    assert row["note"].startswith("hidden test")


def test_a_kernel_that_exits_is_reported_with_its_cell(graded):
    g = graded[0]["exits"]
    assert any(p.startswith("the kernel died in cell") and "import os" in p for p in g["problems"])


def test_a_cell_that_loops_is_interrupted_and_the_rest_still_runs(graded):
    g = graded[0]["loops"]
    assert any("(while True:) ran past 2 s" in p for p in g["problems"])
    assert _status(g, "00.1") == "passed"


def test_reports_are_written_as_csv_and_json(graded):
    out = graded[1]
    lines = (out / "grades.csv").read_text().splitlines()
    assert lines[0] == "notebook,lesson,exercise,status,points,earned,note"
    assert len(lines) == 1 + 6 * 2


def test_a_notebook_that_ignores_interrupts_ends_at_the_total_limit(tmp_path):
    hostile = _edited(LESSON, tmp_path / "00_welcome.ipynb", ex1_code=(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"))
    start = time.monotonic()
    g = grade.grade_notebook(hostile, SOLUTIONS, timeout_cell=1, timeout_total=6)
    assert time.monotonic() - start < 15
    assert "the notebook ran past the total limit of 6 s" in g.problems
    assert g.earned == 0


def test_paths_that_are_not_course_notebooks_are_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["grade", str(tmp_path / "notes.txt")]) == 2
    assert "is not a notebook" in capsys.readouterr().err
    foreign = tmp_path / "foreign.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), foreign)
    with pytest.raises(grade.NotGradable, match="not a notebook from this course"):
        grade.read_submission(foreign)
