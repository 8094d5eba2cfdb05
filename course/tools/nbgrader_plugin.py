"""nbgrader's release with the course's stubs: one definition of what a lesson is.

nbgrader's own ClearSolutions replaces every solution region with one fixed stub; the course's
release (``course.tools.release``) gives a function region a NotImplementedError naming the
exercise and a top-level region ``name = ...`` (a value exercise must not stop "Run All"). With
this preprocessor in nbgrader's pipeline, ``nbgrader generate_assignment`` releases exactly the
cell sources of ``lessons/``. In ``nbgrader_config.py``::

    from course.tools.nbgrader_plugin import configure
    configure(c)

Needs the ``teach`` extra (nbgrader).
"""

from __future__ import annotations

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

from course.tools.release import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    exercise_label,
    next_check_id,
    regions,
    release_code,
    release_markdown,
)


class CourseClearSolutions(ClearSolutions):
    """ClearSolutions whose stubs are the course release's."""

    def preprocess(self, nb, resources):
        self._cells = nb.cells
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        self._index = cell_index
        return super().preprocess_cell(cell, resources, cell_index)

    def _replace_solution_region(self, cell, language: str) -> bool:
        if not regions(cell.source.splitlines(), BEGIN_SOLUTION, END_SOLUTION):
            return False
        if cell.cell_type == "code":
            cells, index = self._cells, self._index
            cell.source = release_code(cell.source, lambda line: exercise_label(
                next_check_id(cells, index, line)))
        else:
            cell.source = release_markdown(cell.source)
        return True


def configure(c) -> None:
    """Put CourseClearSolutions in place of ClearSolutions in nbgrader's generate_assignment."""
    c.GenerateAssignment.preprocessors = [
        CourseClearSolutions if p is ClearSolutions else p
        for p in GenerateAssignment.class_traits()["preprocessors"].default()]
