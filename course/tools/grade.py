"""``course grade``: execute submitted notebooks and score them with grader-owned checks.

What a grade is, the same definition as nbgrader's autograde of the stamped solutions:

- The grader owns the check cells. Before running, each submission's check cells (nbgrader's
  autograded test cells, found by grade id, else by cell id) are overwritten with the solution's
  check and its hidden tests; a deleted one is put back after the cell that preceded it and
  reported. The hidden test in the grader's copy calls ``course.checks.core.check`` directly with
  a nonce made for this run, and only the records of those cells carrying that nonce count: a
  record displayed by learner code, a redefined ``check`` or a visible check earns nothing.
- An exercise earns its points when its grader-owned check reported "passed" and its cell ended
  without an error. A check that did not report (the kernel died, a time limit, the cell raised)
  earns 0 and the reason is given. An answer that is the course's own object (a function or
  class defined in ``course.*``, see ``course.tools.origin``) earns 0 with a note: the grader
  judges the answer given to the visible check, not the name that check rebinds to the reference.
- The grader's visible check carries the nonce too; both checks' statuses and planted-mistake
  keys go into grades.json and make the class report and the feedback pages (course.tools.report).
- Isolation: each submission is copied alone into an empty temporary folder and runs there, so
  no learner ``.py`` file or package is importable; the first (grader-owned) cell asserts that
  ``course`` is the package this grader runs. Symbolic links, and paths resolving outside the
  folder named on the command line, are refused; each submission is hashed before and after.
- One bad file never stops the class: it becomes its own row, "skipped: <reason>"; files that are
  not notebooks and folders without a notebook are named, and a file named on the command line
  that is not a notebook is refused with a message while every notebook is graded.
- Each notebook runs in a child forked from this process (nbclient and nbformat already
  imported, so no import cost per notebook), in its own session with its kernel: a cell past
  ``--timeout-cell`` is interrupted and the rest still runs; past ``--timeout-total`` the child
  and its kernel are killed. ``--jobs N`` runs N notebooks at once.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jupyter_client  # noqa: F401  (imported once here; every forked child inherits it)
import nbclient  # noqa: F401
import nbformat
from nbclient.exceptions import DeadKernelError

import course
from course.checks.core import INPUTS_CHANGED, RECORD_MIME, Exercise, lesson_exercises
from course.tools.origin import ORIGIN_MIME
from course.tools.release import CHECK_CALL, ROOT, release_code, stamp
from course.tools.report import summary, write_report
from course.tools.runner import run_notebook

SETUP_ID = "course-grader-setup"
GRADER_FLAG = "course_grader"
EXPECTED_COURSE = os.path.realpath(course.__file__)


class NotGradable(ValueError):
    """A path that is not a notebook, or a notebook that is not from this course."""


@dataclass
class Grade:
    """The grade of one notebook: per-exercise results, problems seen, score (or why skipped)."""

    notebook: str
    lesson: str = ""
    exercises: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kernel_seconds: float = 0.0
    skipped: str = ""

    @property
    def earned(self) -> int:
        return sum(e["earned"] for e in self.exercises)

    @property
    def possible(self) -> int:
        return sum(e["points"] for e in self.exercises)


# ---------------------------------------------------------------- finding submissions


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def find_submissions(paths: list[Path]) -> tuple[list[Path], list[Grade]]:
    """The notebooks to grade, and a skipped row for everything else that was named or found:
    symbolic links, paths resolving outside the named folder, files that are not notebooks,
    folders without a notebook."""
    found, skipped = [], []

    def skip(path, reason):
        skipped.append(Grade(notebook=str(path), skipped=reason))

    for path in paths:
        if path.is_symlink():
            skip(path, "a symbolic link (grade the file itself, not a link to it)")
        elif path.is_dir():
            _walk(path, found, skip)
        elif path.is_file() and path.suffix == ".ipynb":
            found.append(path)
        elif path.exists():
            skip(path, "not a notebook (.ipynb) or a folder of notebooks")
        else:
            skip(path, "no such file or folder")
    return found, skipped


def _walk(root: Path, found: list[Path], skip) -> None:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        for d in [d for d in dirs if (here / d).is_symlink()]:
            skip(here / d, "a symbolic link to a folder (not followed)")
            dirs.remove(d)
        others = []
        for name in sorted(files):
            path = here / name
            if path.is_symlink():
                skip(path, "a symbolic link (grade the file itself, not a link to it)")
            elif not _inside(path, root):
                skip(path, f"resolves outside {root}")
            elif name.endswith(".ipynb"):
                found.append(path)
            elif not name.startswith("."):
                others.append(name)
        if others:
            holds_notebook = any(p.suffix == ".ipynb" for p in here.rglob("*.ipynb"))
            what = "not notebooks" if holds_notebook else "the folder holds no notebook"
            skip(here, f"{', '.join(others)}: {what}")


# ---------------------------------------------------------------- reading and preparing


def read_submission(path: Path):
    """The notebook (cells rebuilt from plain data, outputs dropped) and its lesson number,
    plus notes on repairs; raises NotGradable for foreign or broken files."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotGradable(f"not a readable notebook ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotGradable("not a notebook (no list of cells)")
    meta = data.get("metadata")
    course_meta = meta.get("course") if isinstance(meta, dict) else None
    if not isinstance(course_meta, dict):
        raise NotGradable("not a notebook from this course (metadata 'course' is "
                          f"{'missing' if course_meta is None else type(course_meta).__name__})")
    lesson = course_meta.get("lesson")
    if not isinstance(lesson, str) or not re.fullmatch(r"\d\d", lesson):
        raise NotGradable(f"metadata course.lesson is {lesson!r}, not a lesson number like '03'")
    cells, notes = [], []
    for i, raw in enumerate(data["cells"]):
        if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
            notes.append(f"cell {i + 1} is not a notebook cell: ignored")
            continue
        source = raw.get("source", None)
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            notes.append(f"cell {i + 1} has no source: run as empty")
            source = ""
        cell_meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        cell_id = raw.get("id") if isinstance(raw.get("id"), str) else ""
        cell_id = cell_id if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell_id) else f"cell-{i}"
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[raw["cell_type"]]
        cell = make(source, id=cell_id)
        cell.metadata = nbformat.from_dict(cell_meta)
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"course": {"lesson": lesson}})
    return nb, lesson, notes


_SOLUTIONS: dict[Path, nbformat.NotebookNode] = {}


def solution_for(lesson: str, solutions: Path):
    """The stamped solution notebook of a lesson (read once), or None."""
    matches = sorted(solutions.glob(f"{lesson}_*.ipynb"))
    if not matches:
        return None
    if matches[0] not in _SOLUTIONS:
        nb = nbformat.read(matches[0], as_version=4)
        stamp(nb)
        _SOLUTIONS[matches[0]] = nb
    return _SOLUTIONS[matches[0]]


def _grade_id(cell) -> str | None:
    meta = cell.metadata.get("nbgrader")
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def grader_source(check_cell_source: str, exercise_id: str, nonce: str) -> str:
    """The grader's copy of a check cell: the visible check and the hidden test, both calling the
    course's own ``check`` with ``nonce`` (a learner's redefinition is not used), and between them
    the record of where the answer given to the visible check comes from (course.tools.origin)."""
    visible = release_code(check_cell_source, lambda line: "")
    tree = ast.parse(visible)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "check":
            node.func = ast.Attribute(ast.Name("_course_checks", ast.Load()), "check", ast.Load())
            node.keywords.append(ast.keyword("nonce", ast.Constant(nonce)))
    return (f"import course.checks.core as _course_checks\n"
            f"import course.tools.origin as _course_origin\n{ast.unparse(tree)}\n"
            f"_course_origin.show_origin({exercise_id!r}, {nonce!r})\n"
            f"_course_checks.check({exercise_id!r}, hidden=True, nonce={nonce!r})")


def setup_source() -> str:
    return ("import course as _course_package\nimport os as _os\n"
            f"assert _os.path.realpath(_course_package.__file__) == {EXPECTED_COURSE!r}, "
            "'the notebook imports a course package other than the grader\\'s: ' "
            "+ _course_package.__file__\n"
            "del _course_package, _os")


def prepare(nb, solution, nonce: str, exercise_ids: list[str]) -> list[str]:
    """Make the submission ``nb`` the grader's (in place): overwrite its check cells with the
    solution's (by grade id, else cell id), put deleted ones back, add the setup cell first.
    An exercise of ``exercise_ids`` whose solution has no check cell of its own gets a hidden
    test after the cell holding its visible check. Returns notes on what was put back."""
    owned = {}
    for i, cell in enumerate(solution.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            exercise_id = CHECK_CALL.search(cell.source).group(1)
            owned[meta["grade_id"]] = (i, cell, exercise_id)
    by_cell_id = {cell.get("id"): key for key, (_, cell, _) in owned.items()}
    placed, notes = set(), []
    for cell in nb.cells:
        key = _grade_id(cell) if _grade_id(cell) in owned else by_cell_id.get(cell.get("id"))
        if key is None or key in placed or cell.cell_type != "code":
            continue
        _, sol_cell, exercise_id = owned[key]
        _own(cell, sol_cell, exercise_id, nonce)
        placed.add(key)
    for key, (index, sol_cell, exercise_id) in owned.items():
        if key in placed:
            continue
        position = _after_previous(nb, solution, index)
        cell = nbformat.v4.new_code_cell("", id=sol_cell.get("id") or key)
        _own(cell, sol_cell, exercise_id, nonce)
        nb.cells.insert(position, cell)
        notes.append(f"the check cell of {exercise_id} was deleted; the grader put it back")
    checked = {exercise_id for _, _, exercise_id in owned.values()}
    for exercise_id in [e for e in exercise_ids if e not in checked]:
        index = next((i for i, c in enumerate(solution.cells) if c.cell_type == "code" and any(
            m.group(1) == exercise_id for m in CHECK_CALL.finditer(c.source))), None)
        if index is None:
            continue
        cell = nbformat.v4.new_code_cell(
            f"import course.checks.core as _course_checks\n"
            f"import course.tools.origin as _course_origin\n"
            f"_course_origin.show_origin({exercise_id!r}, {nonce!r})\n"
            f"_course_checks.check({exercise_id!r}, hidden=True, nonce={nonce!r})",
            id=f"course-grader-{exercise_id.replace('.', '-')}")
        cell.metadata[GRADER_FLAG] = exercise_id
        nb.cells.insert(_after_previous(nb, solution, index + 1), cell)
    setup = nbformat.v4.new_code_cell(setup_source(), id=SETUP_ID)
    setup.metadata[GRADER_FLAG] = "setup"
    nb.cells.insert(0, setup)
    return notes


def _own(cell, sol_cell, exercise_id: str, nonce: str) -> None:
    cell.source = grader_source(sol_cell.source, exercise_id, nonce)
    cell.metadata = nbformat.from_dict({GRADER_FLAG: exercise_id,
                                        "nbgrader": dict(sol_cell.metadata["nbgrader"])})


def _after_previous(nb, solution, index: int) -> int:
    """Where a deleted solution cell goes: after the nearest earlier solution cell present."""
    ids = [c.get("id") for c in nb.cells]
    grade_ids = [_grade_id(c) for c in nb.cells]
    for sol_cell in reversed(solution.cells[:index]):
        gid = _grade_id(sol_cell)
        if gid is not None and gid in grade_ids:
            return grade_ids.index(gid) + 1
        if sol_cell.get("id") in ids:
            return ids.index(sol_cell.get("id")) + 1
    return len(nb.cells)


# ---------------------------------------------------------------- running (in a forked child)


def _cell_label(nb, index: int) -> str:
    cell = nb.cells[index]
    owner = cell.metadata.get(GRADER_FLAG)
    if owner == "setup":
        return "the grader's setup cell"
    if owner:
        return f"the grader's check of {owner}"
    number = sum(1 for c in nb.cells[:index + 1] if not c.metadata.get(GRADER_FLAG))
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {number} ({first[:40]})" if first else f"cell {number}"


def _error_of(cell) -> str | None:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return None
    first = str(errors[-1].get("evalue", "")).splitlines()
    return f"{errors[-1].get('ename', 'Error')}: {first[0] if first else ''}".strip()


def _displayed(cell, mime: str) -> list:
    """The data a cell's outputs displayed under ``mime``."""
    return [o["data"][mime] for o in cell.get("outputs", [])
            if isinstance(o.get("data"), dict) and mime in o["data"]]


def _child(nb, folder: str, report_path: str, timeout_cell: int) -> None:
    """In the forked child: run ``nb`` in ``folder``, append JSON lines to ``report_path``."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    report = open(report_path, "a", encoding="utf-8")
    state = {"index": 0}

    def emit(**line):
        report.write(json.dumps(line) + "\n")
        report.flush()

    def on_start(index):
        state["index"] = index

    def on_cell(index, cell, seconds):
        error = _error_of(cell)
        emit(cell=index, seconds=seconds)
        if error and error.startswith("KeyboardInterrupt") and seconds >= timeout_cell:
            emit(problem=f"{_cell_label(nb, index)} ran past {timeout_cell} s (interrupted)")
        if cell.metadata.get(GRADER_FLAG):
            emit(owned=index, records=_displayed(cell, RECORD_MIME),
                 origins=_displayed(cell, ORIGIN_MIME), error=error)

    def on_kernel(pgid):
        state["pgid"] = pgid
        emit(kernel_pgid=pgid)

    try:
        run_notebook(nb, Path(folder), timeout_cell, allow_errors=True, on_start=on_start,
                     on_kernel=on_kernel, on_cell=on_cell)
    except DeadKernelError:
        emit(problem=f"the kernel died in {_cell_label(nb, state['index'])}")
    except Exception as exc:
        if not _alive(state.get("pgid")):  # the kernel's end surfaced as another error
            emit(problem=f"the kernel died in {_cell_label(nb, state['index'])}")
        else:
            emit(problem=f"{_cell_label(nb, state['index'])} stopped the run: "
                         f"{type(exc).__name__}")
    finally:
        report.close()


def _alive(pgid) -> bool:
    """True when the process group ``pgid`` (the kernel's) still has a process; None: unknown."""
    if pgid is None:
        return True
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class IsolatedRun:
    """One prepared notebook started as ``name`` alone in an empty temporary folder, in a child
    process; ``finish`` waits for it (killing the child and its kernel at the total limit)."""

    def __init__(self, nb, name: str, timeout_cell: int):
        self._tmp = tempfile.TemporaryDirectory(prefix="course-grade-")
        work, self._report = Path(self._tmp.name) / "work", Path(self._tmp.name) / "report.jsonl"
        work.mkdir()
        (work / name).write_text(json.dumps(nb), encoding="utf-8")
        self._report.touch()
        self._proc = _context().Process(
            target=_child, args=(nb, str(work), str(self._report), timeout_cell))
        self.started = time.monotonic()
        self._proc.start()

    def finish(self, timeout_total: int) -> list[dict]:
        """The report lines, once the child ended or ran past ``timeout_total`` from its start."""
        proc = self._proc
        proc.join(max(0.0, self.started + timeout_total - time.monotonic()))
        timed_out = proc.is_alive()
        lines = [json.loads(line) for line in self._report.read_text().splitlines()
                 if line.strip()]
        _kill(proc, [line["kernel_pgid"] for line in lines if line.get("kernel_pgid")])
        self._tmp.cleanup()
        if timed_out:
            lines.append({"problem": f"the notebook ran past the total limit of {timeout_total} s"})
        elif proc.exitcode not in (0, None) and not any("problem" in line for line in lines):
            lines.append({"problem": f"the grading process failed (exit code {proc.exitcode})"})
        return lines


def _kill(proc, kernel_groups: list[int]) -> None:
    """End the child, its session and the kernel's, then reap the child."""
    for group in [proc.pid, *kernel_groups]:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, TypeError):
            pass
    proc.join()


# ---------------------------------------------------------------- scoring


def score(lesson: str, nb, lines: list[dict], nonce: str) -> list[dict]:
    """One row per exercise of the lesson, from the grader-owned cells' reports only."""
    owned = {line["owned"]: line for line in lines if "owned" in line}
    ending = next((line["problem"] for line in lines if "problem" in line
                   and ("died" in line["problem"] or "total limit" in line["problem"]
                        or "stopped the run" in line["problem"])), None)
    rows = []
    for ex in lesson_exercises(lesson):
        cells = [i for i, c in enumerate(nb.cells) if c.metadata.get(GRADER_FLAG) == ex.id]
        row = {"exercise": ex.id, "title": ex.title, "status": "not graded",
               "points": ex.points, "earned": 0, "note": "", "visible": None, "hidden": None}
        if not cells:
            row["note"] = f"the solution notebook has no check of {ex.id}"
        elif owned.get(cells[-1]) is None:
            why = ending or "the run stopped before it"
            row.update(status="did not run",
                       note=f"the grader's check of {ex.id} did not run: {why}")
        else:
            row.update(judge(ex, owned[cells[-1]], nonce))
        rows.append(row)
    return rows


def _ours(items, exercise_id: str, nonce: str) -> list[dict]:
    return [r for r in items if isinstance(r, dict) and r.get("nonce") == nonce
            and r.get("id") == exercise_id]


def _verdict(ex: Exercise, record: dict | None) -> dict | None:
    """A check record reduced to what the reports use: its status and its mistake's key, when
    the key is one this exercise plants (or the inputs guard's)."""
    if record is None:
        return None
    key = record.get("mistake")
    known = {m.key for m in ex.mistakes} | {INPUTS_CHANGED}
    return {"status": str(record.get("status")), "mistake": key if key in known else None}


def judge(ex: Exercise, report: dict, nonce: str) -> dict:
    """Status, earned points, note and the two checks' verdicts of exercise ``ex`` from the
    report of its grader-owned cell: only records carrying ``nonce`` count. An answer that is
    the course's own object earns 0."""
    records = _ours(report.get("records", []), ex.id, nonce)
    hidden = next((r for r in reversed(records) if r.get("hidden") is True), None)
    visible = next((r for r in reversed(records) if r.get("hidden") is False), None)
    origin = next(iter(_ours(report.get("origins", []), ex.id, nonce)[-1:]), None)
    error = report.get("error")
    out = {"visible": _verdict(ex, visible), "hidden": _verdict(ex, hidden), "earned": 0}
    if hidden is None:
        out.update(status="raised", note=f"the grader's check of {ex.id} raised {error}"
                   if error else f"the grader's check of {ex.id} did not report")
        return out
    status, note = str(hidden.get("status")), str(hidden.get("diagnosis", ""))
    if origin is None:
        status, note = "raised", f"the grader's check of {ex.id} did not report the answer's origin"
    elif origin.get("origin"):
        status = "course object"
        note = (f"the answer given to the check is the course's own {origin['origin']}, not code "
                "written in the notebook: 0 points")
    elif status == "passed" and error:
        status, note = "raised", f"the check cell ended with {error}"
    out.update(status=status, note=note, earned=ex.points if status == "passed" else 0)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class _Pending:
    grade: Grade
    nb: object
    nonce: str
    digest: str
    start: float
    run: IsolatedRun


def _begin(path: Path, solutions: Path, timeout_cell: int) -> _Pending:
    start = time.monotonic()
    digest = _sha256(path)
    nb, lesson, notes = read_submission(path)
    solution = solution_for(lesson, solutions)
    if solution is None:
        raise NotGradable(f"no solution notebook for lesson {lesson} in {solutions}")
    grade = Grade(notebook=str(path), lesson=lesson, problems=list(notes))
    nonce = secrets.token_hex(16)
    grade.problems += prepare(nb, solution, nonce, [e.id for e in lesson_exercises(lesson)])
    return _Pending(grade, nb, nonce, digest, start, IsolatedRun(nb, path.name, timeout_cell))


def _end(pending: _Pending, timeout_total: int) -> Grade:
    grade, nb = pending.grade, pending.nb
    lines = pending.run.finish(timeout_total)
    grade.problems += [line["problem"] for line in lines if "problem" in line]
    setup = next((line for line in lines if line.get("owned") == 0), None)
    if setup is None or setup.get("error"):
        grade.problems.append("the grader's setup cell failed: "
                              f"{setup.get('error') if setup else 'it did not run'}")
    grade.exercises = score(grade.lesson, nb, lines, pending.nonce)
    if setup is None or setup.get("error"):
        for row in grade.exercises:
            row.update(earned=0, status="not graded",
                       note="the notebook did not run on the grader's course package")
    if _sha256(Path(grade.notebook)) != pending.digest:
        grade.problems.append("the submission file changed while it was graded")
    grade.kernel_seconds = round(sum(line.get("seconds", 0.0) for line in lines), 2)
    grade.seconds = round(time.monotonic() - pending.start, 2)
    return grade


def grade_notebook(path: Path, solutions: Path, timeout_cell: int, timeout_total: int) -> Grade:
    """Grade one submission; raises NotGradable for a file that is not from this course."""
    return _end(_begin(path, solutions, timeout_cell), timeout_total)


def _skipped(path: Path, exc: Exception) -> Grade:
    if isinstance(exc, NotGradable):
        return Grade(notebook=str(path), skipped=str(exc))
    first = (str(exc).splitlines() or [""])[0]
    return Grade(notebook=str(path), skipped=f"{type(exc).__name__}: {first}")


def grade_all(paths: list[Path], solutions: Path, timeout_cell: int, timeout_total: int,
              jobs: int = 1) -> list[Grade]:
    """A row per notebook found (graded, or skipped with the reason) and per thing refused;
    up to ``jobs`` notebooks run at once."""
    notebooks, grades = find_submissions(paths)
    running: list[_Pending] = []

    def end_oldest():
        pending = running.pop(0)
        try:
            grades.append(_end(pending, timeout_total))
        except Exception as exc:  # one broken file never stops the class
            grades.append(_skipped(Path(pending.grade.notebook), exc))

    for path in notebooks:
        if len(running) >= max(1, jobs):
            end_oldest()
        try:
            running.append(_begin(path, solutions, timeout_cell))
        except Exception as exc:  # one broken file never stops the class
            grades.append(_skipped(path, exc))
    while running:
        end_oldest()
    return sorted(grades, key=lambda g: g.notebook)


# ---------------------------------------------------------------- output


def table(grades: list[Grade]) -> str:
    """The score table printed by ``course grade``."""
    width = max([len("notebook")] + [len(g.notebook) for g in grades])
    lines = [f"{'notebook':<{width}}  lesson  score  problems"]
    for g in grades:
        if g.skipped:
            lines.append(f"{g.notebook:<{width}}  {'':<6}  {'-':>5}  skipped: {g.skipped}")
            continue
        statuses = [f"{e['exercise']} {e['status']}" for e in g.exercises
                    if e["status"] != "passed"]
        problems = "; ".join(g.problems + statuses)
        lines.append(f"{g.notebook:<{width}}  {g.lesson:<6}  {g.earned:>2}/{g.possible:<2}  "
                     f"{problems or 'none'}")
    return "\n".join(lines)


def write_reports(grades: list[Grade], out: Path) -> tuple[Path, Path]:
    """grades.csv (one row per notebook and exercise, one per skipped path) and grades.json."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "grades.csv", out / "grades.json"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "lesson", "exercise", "status", "points", "earned", "note"])
        for g in grades:
            if g.skipped:
                writer.writerow([g.notebook, "", "", "skipped", 0, 0, g.skipped])
            for e in g.exercises:
                writer.writerow([g.notebook, g.lesson, e["exercise"], e["status"], e["points"],
                                 e["earned"], e["note"]])
    data = [dict(asdict(g), earned=g.earned, possible=g.possible) for g in grades]
    json_path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return csv_path, json_path


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="submitted notebooks, or folders holding them")
    parser.add_argument("--timeout-cell", type=int, default=60,
                        help="seconds one cell may run before it is interrupted (default 60)")
    parser.add_argument("--timeout-total", type=int, default=600,
                        help="seconds one notebook may run in all (default 600)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks graded at once, each with its own kernel (default 1)")
    parser.add_argument("--out", type=Path, default=Path("grades"),
                        help="folder for grades.csv, grades.json, report.html, report.json and "
                             "feedback/ (default ./grades)")
    parser.add_argument("--anonymous", action="store_true",
                        help="leave learners' names out of the class report (report.html/json)")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions",
                        help="solution notebooks holding the hidden tests (default solutions/)")


def refused_arguments(paths: list[Path]) -> list[str]:
    """A message for each path named on the command line that is not a notebook or a folder."""
    return [f"course grade: {p}: not a notebook (.ipynb) or a folder of notebooks: refused "
            "(the other paths are graded)" for p in paths
            if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb"]


def run(args) -> int:
    for message in refused_arguments(args.paths):
        print(message, file=sys.stderr)
    grades = grade_all(args.paths, args.solutions, args.timeout_cell, args.timeout_total,
                       args.jobs)
    if not grades:
        print("course grade: nothing to grade in " + ", ".join(map(str, args.paths)),
              file=sys.stderr)
        return 2
    print(table(grades))
    csv_path, json_path = write_reports(grades, args.out)
    report = write_report(grades, args.out, args.paths, anonymous=args.anonymous)
    print(summary(report))
    print(f"wrote {csv_path}, {json_path}, {args.out / 'report.html'}, "
          f"{args.out / 'report.json'} and {report['feedback_pages']} feedback pages in "
          f"{args.out / 'feedback'}")
    skipped = sum(1 for g in grades if g.skipped)
    if skipped:
        print(f"course grade: {skipped} path(s) skipped (named above)", file=sys.stderr)
    return 1 if skipped else 0
