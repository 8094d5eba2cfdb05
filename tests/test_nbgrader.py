"""The real nbgrader takes the stamped solutions as they are: generate_assignment on every one,
then autograde of lesson 01 solved, untouched and with exactly one exercise solved."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[teach]')")

from nbgrader.api import Gradebook  # noqa: E402
from nbgrader.apps import NbGraderAPI  # noqa: E402
from traitlets.config import Config  # noqa: E402

from course.checks.core import get_exercise  # noqa: E402
from course.tools.nbgrader_plugin import configure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LESSON = "01_chain_rule_and_one_neuron"
pytestmark = pytest.mark.filterwarnings("ignore:Object of type:Warning")  # nbgrader's SQLAlchemy


def _cells_by_grade_id(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """An nbgrader course whose assignment 'ps' holds every solution, generated once."""
    root = tmp_path_factory.mktemp("nbgrader-course")
    (root / "source" / "ps").mkdir(parents=True)
    for path in SOLUTIONS:
        shutil.copy(path, root / "source" / "ps" / path.name)
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "backprop"
    configure(config)
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + old_path  # alembic
    try:
        api = NbGraderAPI(config=config)
        result = api.generate_assignment("ps", force=True)
        assert result["success"], result["log"] + str(result.get("error"))
        yield root, api
    finally:
        os.environ["PATH"] = old_path


def _autograde(course_dir, student: str, nb) -> tuple[float, float]:
    root, api = course_dir
    folder = root / "submitted" / student / "ps"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{LESSON}.ipynb")
    result = api.autograde("ps", student, force=True)
    assert result["success"], result["log"] + str(result.get("error"))
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        graded = gb.find_submission_notebook(LESSON, "ps", student)
        return graded.score, graded.max_score


def _released(course_dir, name: str = LESSON):
    return nbformat.read(course_dir[0] / "release" / "ps" / f"{name}.ipynb", as_version=4)


def test_every_solution_is_released_by_nbgrader_as_the_course_lesson(course_dir):
    for path in SOLUTIONS:
        released = _released(course_dir, path.stem)
        lesson = nbformat.read(ROOT / "lessons" / path.name, as_version=4)
        assert [(c.cell_type, c.source) for c in released.cells] == [
            (c.cell_type, c.source) for c in lesson.cells], path.name


def test_the_solution_earns_full_marks(course_dir):
    nb = nbformat.read(ROOT / "solutions" / f"{LESSON}.ipynb", as_version=4)
    checked = [m.metadata["nbgrader"]["grade_id"] for m in nb.cells
               if m.metadata.get("nbgrader", {}).get("grade")]
    points = sum(get_exercise(re.fullmatch(r"ex(\d\d)_(\d+)_check", g).expand(r"\1.\2")).points
                 for g in checked)
    assert _autograde(course_dir, "solved", nb) == (points, points)


def test_the_untouched_lesson_earns_zero(course_dir):
    score, possible = _autograde(course_dir, "untouched", _released(course_dir))
    assert (score, possible > 0) == (0, True)


def test_one_exercise_solved_earns_exactly_its_points(course_dir):
    nb = _released(course_dir)
    solution = nbformat.read(ROOT / "solutions" / f"{LESSON}.ipynb", as_version=4)
    _cells_by_grade_id(nb)["ex01_1_answer"].source = (
        _cells_by_grade_id(solution)["ex01_1_answer"].source)
    score, _ = _autograde(course_dir, "one_solved", nb)
    assert score == get_exercise("01.1").points
