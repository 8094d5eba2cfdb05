"""``course release``: stamp solution notebooks (solutions/) and turn them into lessons (lessons/).

Stamping derives each cell's nbgrader metadata from its markers (never written by hand), so
nbgrader takes the solutions as its source notebooks: a code cell with ``### BEGIN SOLUTION`` is
a solution cell (``exNN_M_answer``); the check cell, whose code calls ``check("NN.M", ...)`` and
holds ``### BEGIN HIDDEN TESTS``, is an autograded test cell (``exNN_M_check``, locked, worth the
exercise's points); a markdown cell with a solution region is a manually graded answer (0
points: the course does not score prose); other markdown cells are read-only; other code cells
stay plain, for learners to experiment in. ``course release`` rewrites solutions/ with the stamp
(idempotent, outputs untouched) and writes lessons/; ``--check`` fails when either is out of date.

In code cells each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes a stub at the
marker's indentation::

    # YOUR CODE HERE
    raise NotImplementedError("Exercise 01.2: <title>")

(a region at the top level of a cell, which cannot raise without stopping the lesson, becomes
``name = ...`` for each name it assigns, which the checker reports as "not done yet").
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions are removed (a cell left empty is
dropped), markdown solution regions become "YOUR ANSWER HERE", outputs and execution counts are
cleared and metadata is kept minimal (tags, nbgrader's, and the locks nbgrader's LockCells would
set). The bytes are deterministic: releasing twice changes nothing.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.\d+)["']""")
ROOT = Path(__file__).resolve().parents[2]
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class ReleaseError(ValueError):
    """A solution notebook whose markers cannot be released (unbalanced or nested)."""


def regions(lines: list[str], begin: str, end: str) -> list[tuple[int, int]]:
    """(start, stop) line indices of each begin..end region, markers included (stop exclusive)."""
    found, start = [], None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == begin:
            if start is not None:
                raise ReleaseError(f"{begin!r} on line {i + 1} before the previous one ended")
            start = i
        elif marker == end:
            if start is None:
                raise ReleaseError(f"{end!r} on line {i + 1} without a {begin!r}")
            found.append((start, i + 1))
            start = None
    if start is not None:
        raise ReleaseError(f"{begin!r} on line {start + 1} is never closed by {end!r}")
    return found


def _remove_hidden(source: str) -> str:
    lines = source.splitlines()
    for a, b in reversed(regions(lines, BEGIN_HIDDEN, END_HIDDEN)):
        del lines[a:b]
    return "\n".join(lines).strip("\n")


def _assigned_names(code_lines: list[str]) -> list[str]:
    try:
        tree = ast.parse("\n".join(code_lines))
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def _stub(indent: str, body: list[str], label: str) -> list[str]:
    if indent:
        message = json.dumps(label, ensure_ascii=False)
        return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({message})"]
    names = _assigned_names(body)
    return ["# YOUR CODE HERE"] + [f"{n} = ...  # replace ... with your answer" for n in names]


def release_code(source: str, label_for) -> str:
    """A code cell's source with solutions stubbed and hidden tests removed.

    ``label_for(line_index)`` gives the NotImplementedError message for the region at that line.
    """
    lines = _remove_hidden(source).splitlines()
    for a, b in reversed(regions(lines, BEGIN_SOLUTION, END_SOLUTION)):
        indent = lines[a][: len(lines[a]) - len(lines[a].lstrip())]
        lines[a:b] = _stub(indent, lines[a + 1: b - 1], label_for(a))
    return "\n".join(lines)


def release_markdown(source: str) -> str:
    """A markdown cell's source with each solution region replaced by 'YOUR ANSWER HERE'."""
    lines = source.splitlines()
    for a, b in reversed(regions(lines, BEGIN_SOLUTION, END_SOLUTION)):
        lines[a:b] = ["YOUR ANSWER HERE"]
    return "\n".join(lines)


def exercise_label(exercise_id: str | None) -> str:
    """The text a released stub raises: 'Exercise 01.1: <title>' (the id alone when unknown)."""
    if exercise_id is None:
        return "Exercise: write your code here"
    try:
        from course.checks.core import get_exercise

        return f"Exercise {exercise_id}: {get_exercise(exercise_id).title}"
    except (KeyError, ValueError):
        return f"Exercise {exercise_id}"


def next_check_id(cells: list, index: int, line: int) -> str | None:
    """The exercise id of the first check(...) call after ``line`` of cell ``index``."""
    own = "\n".join(cells[index].source.splitlines()[line:])
    for text in [own] + [c.source for c in cells[index + 1:] if c.cell_type == "code"]:
        match = CHECK_CALL.search(text)
        if match:
            return match.group(1)
    return None


# ---------------------------------------------------------------- nbgrader metadata

NBGRADER_SCHEMA = 3


def _cell_name(cell, index: int) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", cell.get("id") or f"cell-{index}")


def _exercise_points(exercise_id: str, where: str) -> int:
    from course.checks.core import get_exercise

    try:
        return int(get_exercise(exercise_id).points)
    except (KeyError, ValueError) as exc:
        raise ReleaseError(f"{where}: check({exercise_id!r}) names no defined exercise") from exc


def _nbgrader(grade: bool, solution: bool, locked: bool, grade_id: str, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version":
            NBGRADER_SCHEMA, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_metadata(nb) -> list[dict | None]:
    """The nbgrader metadata of each cell of a solution notebook, derived from its markers
    (None: a plain cell). Raises ReleaseError for markers nbgrader cannot take."""
    out, used = [], set()

    def unique(grade_id: str) -> str:
        n, candidate = 1, grade_id
        while candidate in used:
            n += 1
            candidate = f"{grade_id}{n}"
        used.add(candidate)
        return candidate

    for i, cell in enumerate(nb.cells):
        where = f"cell {i + 1} (id {cell.get('id')})"
        lines = cell.source.splitlines()
        has_solution = bool(regions(lines, BEGIN_SOLUTION, END_SOLUTION))
        has_hidden = cell.cell_type == "code" and bool(regions(lines, BEGIN_HIDDEN, END_HIDDEN))
        if has_solution and has_hidden:
            raise ReleaseError(f"{where} holds a solution and hidden tests: put the check, with "
                               "its hidden tests, in the cell after the solution")
        if has_hidden:
            match = CHECK_CALL.search(cell.source)
            if not match:
                raise ReleaseError(f"{where} holds hidden tests but no check(\"NN.M\", ...) call")
            ex_id = match.group(1)
            out.append(_nbgrader(True, False, True, unique(f"ex{ex_id.replace('.', '_')}_check"),
                                 _exercise_points(ex_id, where)))
        elif has_solution:
            first = next(a for a, _ in regions(lines, BEGIN_SOLUTION, END_SOLUTION))
            ex_id = next_check_id(nb.cells, i, first) if cell.cell_type == "code" else None
            name = f"ex{ex_id.replace('.', '_')}" if ex_id else _cell_name(cell, i)
            if cell.cell_type == "markdown":
                out.append(_nbgrader(True, True, False, unique(f"{name}_answer"), 0))
            else:
                out.append(_nbgrader(False, True, False, unique(f"{name}_answer")))
        elif cell.cell_type == "markdown":
            out.append(_nbgrader(False, False, True, unique(f"cell_{_cell_name(cell, i)}")))
        else:
            out.append(None)
    return out


def stamp(nb) -> list[str]:
    """Write the derived nbgrader metadata into ``nb``'s cells in place (idempotent).

    Returns the ids of the exercises whose solution has no check cell with hidden tests, which
    nbgrader therefore cannot score."""
    for cell, meta in zip(nb.cells, nbgrader_metadata(nb)):
        cell.metadata.pop("nbgrader", None)
        if meta is not None:
            cell.metadata["nbgrader"] = meta
    answered = {m["grade_id"].split("_answer")[0] for m in _metas(nb) if m["solution"]}
    checked = {m["grade_id"].split("_check")[0] for m in _metas(nb) if m["grade"]}
    return sorted(a[2:].replace("_", ".") for a in answered - checked if a.startswith("ex"))


def _metas(nb) -> list[dict]:
    return [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]


def _locks(nbgrader: dict) -> dict:
    """The cell metadata nbgrader's LockCells (default settings) adds for this cell."""
    if nbgrader["solution"]:
        return {"deletable": False}
    if nbgrader["grade"] or nbgrader["locked"]:
        return {"deletable": False, "editable": False}
    return {}


def _lesson_metadata(nb) -> dict:
    meta = {"kernelspec": dict(nb.metadata.get("kernelspec") or KERNELSPEC),
            "language_info": {"name": "python"}}
    if "course" in nb.metadata:
        meta["course"] = copy.deepcopy(dict(nb.metadata["course"]))
    return meta


def release_notebook(nb) -> nbformat.NotebookNode:
    """The lesson notebook for a solution notebook (a new object; ``nb`` is untouched)."""
    cells = []
    derived = nbgrader_metadata(nb)
    for i, cell in enumerate(nb.cells):
        cell_id = cell.get("id") or f"cell-{i}"
        meta = {"tags": list(cell.metadata["tags"])} if cell.metadata.get("tags") else {}
        if derived[i] is not None:
            meta.update(_locks(derived[i]), nbgrader=derived[i])
        if cell.cell_type == "code":
            src = release_code(cell.source, lambda line, i=i: exercise_label(
                next_check_id(nb.cells, i, line)))
            if not src.strip() and cell.source.strip():
                continue
            new = nbformat.v4.new_code_cell(src, id=cell_id, metadata=meta)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(release_markdown(cell.source), id=cell_id,
                                                metadata=meta)
        else:
            new = nbformat.v4.new_raw_cell(cell.source, id=cell_id, metadata=meta)
        cells.append(new)
    out = nbformat.v4.new_notebook(cells=cells, metadata=_lesson_metadata(nb))
    out.nbformat, out.nbformat_minor = 4, 5
    return out


def dumps(nb) -> str:
    """Deterministic text of a notebook: sorted keys, indent 1, trailing newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def lesson_path(solution: Path, out_dir: Path | None = None) -> Path:
    """Where a solution notebook's lesson goes: ``<out_dir or ../lessons>/<same name>``."""
    return (out_dir or solution.resolve().parent.parent / "lessons") / solution.name


def _sync(path: Path, text: str, check: bool) -> bool:
    """Write ``text`` to ``path`` unless ``check``; True when it already held exactly that."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return True
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return False


def release_file(solution: Path, out_dir: Path | None = None,
                 check: bool = False) -> tuple[bool, bool, list[str]]:
    """Stamp one solution in place and write its lesson (with ``check``: only compare).

    Returns (solution was stamped already, lesson was up to date, exercises nbgrader cannot
    score because their check cell has no hidden tests)."""
    nb = nbformat.read(solution, as_version=4)
    unscored = stamp(nb)
    stamped = _sync(solution, dumps(nb), check)
    fresh = _sync(lesson_path(solution, out_dir), dumps(release_notebook(nb)), check)
    return stamped, fresh, unscored


def shown(path: Path) -> Path:
    """``path`` relative to the working folder when it lies inside it, for messages."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def add_arguments(parser) -> None:
    parser.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK",
                        help="solution notebooks (default: every notebook in solutions/)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each solution not stamped and each "
                             "lesson out of date")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the lessons (default: lessons/ beside solutions/)")


def run(args) -> int:
    notebooks = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb"))
    stale = []
    for nb_path in notebooks:
        if nb_path.suffix != ".ipynb" or not nb_path.is_file():
            print(f"course release: {nb_path} is not a notebook file (.ipynb)", file=sys.stderr)
            return 2
        try:
            stamped, fresh, unscored = release_file(nb_path, args.out, check=args.check)
        except ReleaseError as exc:
            print(f"course release: {nb_path}: {exc}", file=sys.stderr)
            return 2
        target = shown(lesson_path(nb_path, args.out))
        if args.check:
            if not stamped:
                stale.append(nb_path)
                print(f"not stamped: {shown(nb_path)} (run: course release {nb_path})")
            if not fresh:
                stale.append(target)
                print(f"out of date: {target} (run: course release {nb_path})")
        else:
            if not stamped:
                print(f"stamped {shown(nb_path)}")
            print(f"{'unchanged' if fresh else 'wrote'} {target}")
        if unscored:
            print(f"note: {shown(nb_path)}: exercise(s) {', '.join(unscored)} have no check cell "
                  "with hidden tests, so nbgrader gives them no points")
    if args.check and not stale:
        print(f"{len(notebooks)} solution(s) stamped and lesson(s) up to date")
    return 1 if stale else 0
