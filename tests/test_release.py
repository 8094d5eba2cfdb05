"""course release: stubs, hidden tests removed, deterministic, idempotent, --check catches drift."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

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
