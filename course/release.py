"""``course release``: turn solution notebooks (solutions/) into lesson notebooks (lessons/).

In code cells each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes a stub at the
marker's indentation::

    # YOUR CODE HERE
    raise NotImplementedError("Exercise 01.2: <title>")

(a region at the top level of a cell, which cannot raise without stopping the lesson, becomes
``name = ...`` for each name it assigns, which the checker reports as "not done yet").
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions are removed (a cell left empty is
dropped), markdown solution regions become "YOUR ANSWER HERE", outputs and execution counts are
cleared and metadata is kept minimal. The bytes are deterministic: releasing twice changes nothing.
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
ROOT = Path(__file__).resolve().parent.parent
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


def hidden_test_code(source: str) -> str:
    """The code inside a cell's hidden-test regions (markers dropped), '' when there are none."""
    lines = source.splitlines()
    return "\n".join(
        "\n".join(lines[a + 1: b - 1]) for a, b in regions(lines, BEGIN_HIDDEN, END_HIDDEN))


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


def _exercise_label(exercise_id: str | None) -> str:
    if exercise_id is None:
        return "Exercise: write your code here"
    try:
        from course.checks.core import get_exercise

        return f"Exercise {exercise_id}: {get_exercise(exercise_id).title}"
    except (KeyError, ValueError):
        return f"Exercise {exercise_id}"


def _next_check_id(cells: list, index: int, line: int) -> str | None:
    """The exercise id of the first check(...) call after ``line`` of cell ``index``."""
    own = "\n".join(cells[index].source.splitlines()[line:])
    for text in [own] + [c.source for c in cells[index + 1:] if c.cell_type == "code"]:
        match = CHECK_CALL.search(text)
        if match:
            return match.group(1)
    return None


def _lesson_metadata(nb) -> dict:
    meta = {"kernelspec": dict(nb.metadata.get("kernelspec") or KERNELSPEC),
            "language_info": {"name": "python"}}
    if "course" in nb.metadata:
        meta["course"] = copy.deepcopy(dict(nb.metadata["course"]))
    return meta


def release_notebook(nb) -> nbformat.NotebookNode:
    """The lesson notebook for a solution notebook (a new object; ``nb`` is untouched)."""
    cells = []
    for i, cell in enumerate(nb.cells):
        cell_id = cell.get("id") or f"cell-{i}"
        meta = {"tags": list(cell.metadata["tags"])} if cell.metadata.get("tags") else {}
        if cell.cell_type == "code":
            src = release_code(cell.source, lambda line, i=i: _exercise_label(
                _next_check_id(nb.cells, i, line)))
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


def release_file(solution: Path, out_dir: Path | None = None, check: bool = False) -> bool:
    """Write (with ``check``: only compare) one lesson; True when it was already up to date."""
    text = dumps(release_notebook(nbformat.read(solution, as_version=4)))
    target = lesson_path(solution, out_dir)
    current = target.read_text(encoding="utf-8") if target.exists() else None
    if current == text:
        return True
    if not check:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return False


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
                        help="write nothing; exit 1 naming each lesson that is out of date")
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
            fresh = release_file(nb_path, args.out, check=args.check)
        except ReleaseError as exc:
            print(f"course release: {nb_path}: {exc}", file=sys.stderr)
            return 2
        target = shown(lesson_path(nb_path, args.out))
        if args.check and not fresh:
            stale.append(target)
            print(f"out of date: {target} (run: course release {nb_path})")
        elif not args.check:
            print(f"{'unchanged' if fresh else 'wrote'} {target}")
    if args.check and not stale:
        print(f"{len(notebooks)} lesson(s) up to date")
    return 1 if stale else 0
