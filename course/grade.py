"""``course grade``: execute submitted notebooks and score their exercise checks.

Each submission runs in a fresh kernel inside its own subprocess, under a per-cell limit
(an over-long cell is interrupted, the rest still runs) and a total limit (the subprocess and its
kernel are killed), so a loop that never ends or a kernel that dies is reported, never hangs the
run. Before running, the hidden tests of the matching solution notebook (``### BEGIN HIDDEN
TESTS`` regions of solutions/NN_*.ipynb) are inserted after the cell they belong to.

An exercise earns its points when every check of it (the learner's and the hidden ones) passed.
A check that never reported is named: deleted from the notebook (its visible check call is gone,
even when the hidden test restored from the solution ran), or not reached.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from course.checks.core import RECORD_MIME, lesson_exercises
from course.release import CHECK_CALL, ROOT, hidden_test_code

HIDDEN_FLAG = "course_hidden_test"


class NotGradable(ValueError):
    """A path that is not a notebook, or a notebook that is not from this course."""


@dataclass
class Grade:
    """The grade of one notebook: per-exercise results, problems seen, score."""

    notebook: str
    lesson: str = ""
    exercises: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def earned(self) -> int:
        return sum(e["earned"] for e in self.exercises)

    @property
    def possible(self) -> int:
        return sum(e["points"] for e in self.exercises)


# ---------------------------------------------------------------- finding and preparing


def find_notebooks(paths: list[Path]) -> list[Path]:
    """Every notebook named or inside a named folder (checkpoints skipped); raises NotGradable."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.is_file() and path.suffix == ".ipynb":
            found.append(path)
        else:
            raise NotGradable(f"{path} is not a notebook (.ipynb) or a folder of notebooks")
    return found


def read_submission(path: Path):
    """The notebook and its lesson number; raises NotGradable for foreign or broken files."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise NotGradable(f"{path} is not a readable notebook ({type(exc).__name__})") from exc
    lesson = nb.metadata.get("course", {}).get("lesson")
    if not lesson:
        raise NotGradable(f"{path} is not a notebook from this course (no 'course' metadata)")
    return nb, str(lesson)


def solution_for(lesson: str, solutions: Path) -> Path | None:
    matches = sorted(solutions.glob(f"{lesson}_*.ipynb"))
    return matches[0] if matches else None


def inject_hidden_tests(nb, solution) -> int:
    """Insert each solution cell's hidden tests after the same cell of ``nb`` (by cell id, else
    after the nearest earlier solution cell present, else at the end). Returns how many."""
    positions = {c.get("id"): i for i, c in enumerate(nb.cells)}
    inserts, anchor = [], -1
    for cell in solution.cells:
        anchor = positions.get(cell.get("id"), anchor)
        code = hidden_test_code(cell.source) if cell.cell_type == "code" else ""
        if code.strip():
            source = "from course.checks import check\n" + code
            new = nbformat.v4.new_code_cell(source, metadata={HIDDEN_FLAG: True})
            inserts.append((anchor if anchor >= 0 else len(nb.cells) - 1, new))
    for anchor, new in reversed(inserts):
        nb.cells.insert(anchor + 1, new)
    return len(inserts)


# ---------------------------------------------------------------- running (in a subprocess)


def _cell_label(nb, index: int) -> str:
    if nb.cells[index].metadata.get(HIDDEN_FLAG):
        return "a hidden test"
    number = 1 + sum(1 for c in nb.cells[:index] if not c.metadata.get(HIDDEN_FLAG))
    first = next((line.strip() for line in nb.cells[index].source.splitlines() if line.strip()), "")
    return f"cell {number} ({first[:40]})" if first else f"cell {number}"


def _records(cell) -> list[dict]:
    return [dict(o["data"][RECORD_MIME]) for o in cell.get("outputs", [])
            if RECORD_MIME in o.get("data", {})]


def execute_submission(nb_path: Path, report_path: Path, workdir: Path, timeout_cell: int) -> None:
    """Run one prepared notebook, appending JSON lines to ``report_path`` as cells finish.

    Lines: {"records": [...]} per cell with checks, {"problem": "..."} per problem seen.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from course.notebook import kernel_manager

    nb = nbformat.read(nb_path, as_version=4)
    state = {"index": 0, "start": 0.0}
    report = report_path.open("a", encoding="utf-8")

    def emit(**line):
        report.write(json.dumps(line) + "\n")
        report.flush()

    def on_start(cell, cell_index):
        state.update(index=cell_index, start=time.monotonic())

    def on_executed(cell, cell_index, execute_reply):
        if time.monotonic() - state["start"] >= timeout_cell and any(
                o.get("ename") == "KeyboardInterrupt" for o in cell.get("outputs", [])):
            emit(problem=f"{_cell_label(nb, cell_index)} ran past {timeout_cell} s (interrupted)")
        if _records(cell):
            emit(records=_records(cell))

    client = NotebookClient(
        nb, timeout=timeout_cell, interrupt_on_timeout=True, allow_errors=True, km=kernel_manager(),
        on_cell_start=on_start, on_cell_executed=on_executed,
        resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except DeadKernelError:
        emit(problem=f"the kernel died in {_cell_label(nb, state['index'])}")
    except Exception as exc:
        emit(problem=f"{_cell_label(nb, state['index'])} stopped the run: {type(exc).__name__}")
    finally:
        report.close()


def _run_isolated(nb, workdir: Path, timeout_cell: int, timeout_total: int) -> tuple[list, list]:
    """Execute ``nb`` in a subprocess (own process group); returns (records, problems)."""
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        nb_path, report = Path(tmp) / "submission.ipynb", Path(tmp) / "report.jsonl"
        nbformat.write(nb, nb_path)
        report.touch()
        cmd = [sys.executable, "-m", "course.grade", "--_execute", str(nb_path), str(report),
               str(workdir), str(timeout_cell)]
        proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=timeout_total)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc)
        lines = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    records = [r for line in lines for r in line.get("records", [])]
    problems = [line["problem"] for line in lines if "problem" in line]
    if timed_out:
        problems.append(f"the notebook ran past the total limit of {timeout_total} s")
    elif proc.returncode not in (0, None) and not problems:
        problems.append(f"the grading process failed (exit code {proc.returncode})")
    return records, problems


def _kill_group(proc: subprocess.Popen) -> None:
    """End the subprocess and everything it started (the kernel), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# ---------------------------------------------------------------- scoring


def score(lesson: str, source_text: str, records: list[dict]) -> list[dict]:
    """One row per exercise of the lesson: status, points, earned and a note."""
    rows = []
    for ex in lesson_exercises(lesson):
        mine = [r for r in records if r.get("id") == ex.id]
        failed = [r for r in mine if r.get("status") != "passed"]
        present = any(m.group(1) == ex.id for m in CHECK_CALL.finditer(source_text))
        if not present or not mine:
            mine = []
            status = "did not run" if present else "deleted"
            note = f"the check for {ex.id} {status if present else 'was deleted'}"
        else:
            status = failed[0]["status"] if failed else "passed"
            note = ("hidden test: " if failed and failed[0].get("hidden") else "") + (
                failed[0].get("diagnosis", "") if failed else "")
        earned = ex.points if mine and not failed else 0
        rows.append({"exercise": ex.id, "title": ex.title, "status": status,
                     "points": ex.points, "earned": earned, "note": note.strip()})
    return rows


def grade_notebook(path: Path, solutions: Path, timeout_cell: int, timeout_total: int) -> Grade:
    """Grade one submission (raises NotGradable for a file that is not from this course)."""
    start = time.monotonic()
    nb, lesson = read_submission(path)
    grade = Grade(notebook=str(path), lesson=lesson)
    source_text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    solution = solution_for(lesson, solutions)
    if solution is not None:
        inject_hidden_tests(nb, nbformat.read(solution, as_version=4))
    records, grade.problems = _run_isolated(nb, path.resolve().parent, timeout_cell, timeout_total)
    grade.exercises = score(lesson, source_text, records)
    grade.problems += [r["note"] for r in grade.exercises
                       if r["status"] in ("deleted", "did not run")]
    grade.seconds = round(time.monotonic() - start, 2)
    return grade


# ---------------------------------------------------------------- output


def table(grades: list[Grade]) -> str:
    """The score table printed by ``course grade``."""
    width = max([len("notebook")] + [len(g.notebook) for g in grades])
    lines = [f"{'notebook':<{width}}  lesson  score  problems"]
    for g in grades:
        statuses = [f"{e['exercise']} {e['status']}" for e in g.exercises
                    if e["status"] != "passed"]
        problems = "; ".join(g.problems + [s for s in statuses if not _named(s, g.problems)])
        lines.append(f"{g.notebook:<{width}}  {g.lesson:<6}  {g.earned:>2}/{g.possible:<2}  "
                     f"{problems or 'none'}")
    return "\n".join(lines)


def _named(status: str, problems: list[str]) -> bool:
    exercise = status.split()[0]
    return any(f" {exercise} " in p for p in problems)


def write_reports(grades: list[Grade], out: Path) -> tuple[Path, Path]:
    """grades.csv (one row per notebook and exercise) and grades.json in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "grades.csv", out / "grades.json"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "lesson", "exercise", "status", "points", "earned", "note"])
        for g in grades:
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
    parser.add_argument("--out", type=Path, default=Path("grades"),
                        help="folder for grades.csv and grades.json (default ./grades)")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions",
                        help="solution notebooks holding the hidden tests (default solutions/)")


def run(args) -> int:
    try:
        notebooks = find_notebooks(args.paths)
    except NotGradable as exc:
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    grades, errors = [], 0
    for path in notebooks:
        try:
            grades.append(grade_notebook(path, args.solutions, args.timeout_cell,
                                         args.timeout_total))
        except NotGradable as exc:
            print(f"course grade: skipped: {exc}", file=sys.stderr)
            errors += 1
    if not grades:
        print("course grade: no notebook from this course to grade", file=sys.stderr)
        return 2
    print(table(grades))
    csv_path, json_path = write_reports(grades, args.out)
    print(f"wrote {csv_path} and {json_path}")
    return 1 if errors else 0


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "--_execute":
    execute_submission(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
