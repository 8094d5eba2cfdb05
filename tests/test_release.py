"""course release: stubs, hidden tests removed, deterministic, idempotent, --check catches drift."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from course.checks.core import get_exercise
from course.tools import release
from course.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _solution(*sources: str) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(s, id=f"c{i}") for i, s in enumerate(sources)]
    return nbformat.v4.new_notebook(cells=cells, metadata={"course": {"lesson": "00"}})


def test_function_solution_becomes_an_indented_stub_naming_the_exercise():
    nb = _solution("def f(x):\n    ### BEGIN SOLUTION\n    return 9 * x**2 - 4 * x\n"
                   "    ### END SOLUTION", 'f = check("00.1", f)')
    src = release.release_notebook(nb).cells[0].source
    assert src == ('def f(x):\n    # YOUR CODE HERE\n'
                   '    raise NotImplementedError("Exercise 00.1: derivative of a polynomial")')


def test_top_level_solution_becomes_ellipsis_assignments():
    nb = _solution("x0 = 1.5\n### BEGIN SOLUTION\na = 2.0\nb = a * x0\n### END SOLUTION\n"
                   'b = check("00.2", b)')
    src = release.release_notebook(nb).cells[0].source
    assert "a = ...  #" in src and "b = ...  #" in src and "x0 = 1.5" in src
    assert "2.0" not in src


def test_hidden_tests_are_removed_and_a_cell_of_only_hidden_tests_is_dropped():
    hidden = '### BEGIN HIDDEN TESTS\n_ = check("00.1", hidden=True)\n### END HIDDEN TESTS'
    nb = _solution('f = check("00.1", f)\n' + hidden, hidden)
    out = release.release_notebook(nb)
    assert [c.source for c in out.cells] == ['f = check("00.1", f)']


def test_markdown_solution_regions_become_your_answer_here():
    nb = _solution()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", id="m"))
    assert release.release_notebook(nb).cells[0].source == "Why?\nYOUR ANSWER HERE"


def test_outputs_counts_and_metadata_are_cleared():
    nb = _solution("print(1)")
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[0].execution_count = 4
    nb.cells[0].metadata = {"execution": {"t": 1}, "tags": ["raises-exception"]}
    nb.metadata["widgets"] = {"state": {}}
    cell = release.release_notebook(nb).cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    assert cell.metadata == {"tags": ["raises-exception"]}
    assert set(release.release_notebook(nb).metadata) == {"kernelspec", "language_info", "course"}


def test_unbalanced_markers_are_an_error_naming_the_line():
    nb = _solution("def f():\n    ### BEGIN SOLUTION\n    return 1")
    with pytest.raises(release.ReleaseError, match="line 2"):
        release.release_notebook(nb)


@pytest.fixture()
def course_copy(tmp_path):
    """A temporary solutions/ + lessons/ pair copied from the repository."""
    if not SOLUTIONS:
        pytest.skip("no solution notebooks yet")
    (tmp_path / "solutions").mkdir()
    for path in SOLUTIONS:
        shutil.copy(path, tmp_path / "solutions" / path.name)
    return tmp_path


def test_release_is_idempotent_to_the_byte(course_copy):
    notebooks = [str(p) for p in sorted((course_copy / "solutions").glob("*.ipynb"))]
    assert main(["release", *notebooks]) == 0
    first = {p.name: p.read_bytes() for p in (course_copy / "lessons").glob("*.ipynb")}
    assert main(["release", *notebooks]) == 0
    second = {p.name: p.read_bytes() for p in (course_copy / "lessons").glob("*.ipynb")}
    assert first == second and len(first) == len(notebooks)


def test_check_names_a_drifted_lesson_and_exits_nonzero(course_copy, capsys):
    notebooks = [str(p) for p in sorted((course_copy / "solutions").glob("*.ipynb"))]
    main(["release", *notebooks])
    assert main(["release", "--check", *notebooks]) == 0
    lesson = sorted((course_copy / "lessons").glob("*.ipynb"))[0]
    nb = nbformat.read(lesson, as_version=4)
    nb.cells[0].source += "\nedited by hand"
    nbformat.write(nb, lesson)
    capsys.readouterr()
    assert main(["release", "--check", *notebooks]) == 1
    assert f"out of date: {lesson}" in capsys.readouterr().out


def test_repository_lessons_are_in_sync_with_solutions():
    assert main(["release", "--check"]) == 0


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_no_solution_cell_ends_in_whitespace(path):
    """nbgrader's release keeps a cell's trailing newline and ``course release`` does not, so
    the two lessons would differ (tests/test_nbgrader.py compares them)."""
    nb = nbformat.read(path, as_version=4)
    trailing = [i for i, c in enumerate(nb.cells) if c.source != c.source.rstrip()]
    assert not trailing, f"cells {trailing} end in whitespace"


HIDDEN_01_1 = ('f = check("01.1", f)\n### BEGIN HIDDEN TESTS\n_ = check("01.1", hidden=True)\n'
               '### END HIDDEN TESTS')


def _stamped(nb) -> list:
    release.stamp(nb)
    return [c.metadata.get("nbgrader") for c in nb.cells]


def test_stamp_derives_nbgrader_metadata_from_the_markers():
    nb = _solution("import numpy as np",
                   "def f(z):\n    ### BEGIN SOLUTION\n    return z\n    ### END SOLUTION",
                   HIDDEN_01_1)
    nb.cells.append(nbformat.v4.new_markdown_cell("## Next", id="m"))
    plain, answer, test, prose = _stamped(nb)
    assert plain is None
    assert (answer["grade_id"], answer["solution"], answer["grade"], answer["locked"]) == (
        "ex01_1_answer", True, False, False)
    assert (test["grade_id"], test["grade"], test["solution"], test["locked"], test["points"]) == (
        "ex01_1_check", True, False, True, get_exercise("01.1").points)
    assert (prose["grade_id"], prose["locked"], prose["grade"]) == ("cell_m", True, False)


def test_stamp_handles_value_exercises_several_regions_and_markdown_answers():
    nb = _solution("x0 = 1.5\n### BEGIN SOLUTION\na = 2.0\n### END SOLUTION\nb = 1\n"
                   "### BEGIN SOLUTION\nc = a * x0\n### END SOLUTION",
                   'c = check("00.2", c)\n### BEGIN HIDDEN TESTS\n_ = check("00.2", hidden=True)'
                   '\n### END HIDDEN TESTS')
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", id="why"))
    why, answer, test = _stamped(nb)
    assert (answer["grade_id"], test["grade_id"], test["points"]) == (
        "ex00_2_answer", "ex00_2_check", get_exercise("00.2").points)
    assert (why["grade"], why["solution"], why["points"]) == (True, True, 0)


def test_stamp_is_idempotent_and_replaces_hand_written_metadata():
    nb = _solution("def f(z):\n    ### BEGIN SOLUTION\n    return z\n    ### END SOLUTION",
                   HIDDEN_01_1, "print(1)")
    nb.cells[2].metadata["nbgrader"] = {"grade": True, "grade_id": "mine", "points": 9}
    first = _stamped(nb)
    assert _stamped(nb) == first and first[2] is None


def test_a_solution_and_hidden_tests_in_one_cell_are_refused():
    nb = _solution("def f(z):\n    ### BEGIN SOLUTION\n    return z\n    ### END SOLUTION\n"
                   + HIDDEN_01_1)
    with pytest.raises(release.ReleaseError, match="in the cell after the solution"):
        release.stamp(nb)


def test_the_lesson_keeps_the_stamp_and_nbgraders_locks():
    nb = _solution("def f(z):\n    ### BEGIN SOLUTION\n    return z\n    ### END SOLUTION",
                   HIDDEN_01_1)
    answer, test = release.release_notebook(nb).cells
    assert answer.metadata["deletable"] is False and "editable" not in answer.metadata
    assert test.metadata["editable"] is False and test.metadata["nbgrader"]["grade"] is True
    assert test.source == 'f = check("01.1", f)'


def test_check_names_a_solution_that_is_not_stamped(course_copy, capsys):
    notebooks = [str(p) for p in sorted((course_copy / "solutions").glob("*.ipynb"))]
    main(["release", *notebooks])
    path = Path(notebooks[0])
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    nbformat.write(nb, path)
    capsys.readouterr()
    assert main(["release", "--check", *notebooks]) == 1
    assert "not stamped:" in capsys.readouterr().out


def test_notebooks_never_import_the_teacher_tools():
    for path in SOLUTIONS:
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert not any("course.tools" in src for src in code), path.name
