"""What the class got wrong: the class report and each learner's feedback page.

Built from the grade rows of one ``course grade`` run only: each exercise row carries the
verdicts of the grader's own visible and hidden checks (status and planted mistake key, from the
records carrying the run's nonce), so nothing a learner's notebook displays can add to it.

- ``report.json`` and ``report.html`` (self-contained: tables and one bar chart per lesson,
  embedded as PNG): per exercise, how many learners attempted it, passed the visible check,
  passed the hidden check (earned its points), left it "not done", and how many it stopped
  (did not earn its points); the named mistakes by count with their first-tier text and the share
  of the class that made each; exercises ordered by how many learners they stopped. Per learner,
  only what grades.csv holds (the notebook, its statuses and score); ``anonymous`` drops names.
- ``feedback/<learner>.html``: for each exercise, the learner's result and what the grader's
  visible and hidden checks said, in fixed words: the planted mistake's first-tier text (taken
  from the course's exercise by its key) or a sentence per status. No text comes from the
  learner's run, so no hidden input, expected value or line of the reference can appear.
"""

from __future__ import annotations

import base64
import html
import io
import json
import random
import re
from collections import Counter
from pathlib import Path

from course.checks.core import INPUTS_CHANGED, get_exercise, lesson_exercises

INPUTS_SAYS = "your code changed its input in place: the statement asks for a new result"
CHECK_WORDS = {
    "passed": "passed",
    "not done": "not done: the answer is still the stub",
    "raised": "your code raised an exception",
    "wrong": "wrong, and not in one of the usual ways",
    "returned None": "returned None (is a `return` missing?)",
    "wrong shape": "returned the wrong shape",
    "wrong dtype": "returned the wrong dtype",
}
RESULT_WORDS = {
    "passed": "passed",
    "course object": "0 points: the answer handed in is the course's own code, not yours",
    "did not run": "0 points: the check did not run (the notebook stopped before it)",
    "not graded": "not graded",
    "not done": "0 points: not done",
    "raised": "0 points: the check could not report (its cell raised)",
}
COLOURS = {"passed": "#1a7f37", "passed visible only": "#8cc68f", "failed": "#cf222e",
           "not done": "#9a9a9a", "no verdict": "#d4a72c"}


# ---------------------------------------------------------------- who is who


def learner_label(notebook: str, roots: list[Path]) -> str:
    """The learner a notebook belongs to: the folder after ``submitted/`` (nbgrader's layout),
    else the first folder below the named folder that holds it, else the file's name."""
    path = Path(notebook)
    parts = path.parts
    for marker in ("submitted", "autograded"):
        if marker in parts[:-1] and parts.index(marker) + 2 < len(parts):
            return parts[parts.index(marker) + 1]
    for root in roots:
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        if len(rel.parts) > 1:
            return rel.parts[0]
        if rel.parts and root.is_dir():
            return path.stem
    return path.parent.name or path.stem


def says(exercise_id: str, verdict: dict | None) -> str:
    """The fixed words for one check's verdict: the planted mistake's first-tier text, or a
    sentence for its status."""
    if not verdict:
        return "did not report"
    key = verdict.get("mistake")
    if key == INPUTS_CHANGED:
        planted = [m for m in get_exercise(exercise_id).mistakes if m.key == key]
        return planted[0].says if planted else INPUTS_SAYS
    if key:
        return get_exercise(exercise_id).mistake(key).says
    return CHECK_WORDS.get(verdict.get("status"), "did not pass")


def _outcome(row: dict) -> str:
    """One word per learner and exercise, for the chart."""
    visible = (row.get("visible") or {}).get("status")
    if row["earned"]:
        return "passed"
    if visible == "passed":
        return "passed visible only"
    if visible == "not done":
        return "not done"
    return "failed" if visible else "no verdict"


# ---------------------------------------------------------------- the numbers


def _key_of(row: dict) -> str | None:
    for which in ("visible", "hidden"):
        verdict = row.get(which) or {}
        if verdict.get("status") != "passed" and verdict.get("mistake"):
            return verdict["mistake"]
    return None


def _failed(row: dict) -> bool:
    """Whether a check of the row failed (not passed, not "not done")."""
    return any((row.get(w) or {}).get("status") not in (None, "passed", "not done")
               for w in ("visible", "hidden"))


def exercise_stats(exercise, rows: list[dict]) -> dict:
    """The class's numbers for one exercise from its rows (one per graded notebook)."""
    n = len(rows)
    visible = [(r.get("visible") or {}).get("status") for r in rows]
    keys = Counter(k for k in map(_key_of, rows) if k)
    mistakes = [{"key": key, "says": says(exercise.id, {"mistake": key}), "count": count,
                 "share": round(count / n, 3) if n else 0.0}
                for key, count in sorted(keys.items(), key=lambda kv: (-kv[1], kv[0]))]
    passed_hidden = sum(1 for r in rows if r["earned"])
    return {
        "exercise": exercise.id, "title": exercise.title, "points": exercise.points,
        "learners": n,
        "attempted": sum(1 for v in visible if v not in (None, "not done")),
        "passed_visible": visible.count("passed"),
        "passed_hidden": passed_hidden,
        "not_done": visible.count("not done"),
        "stopped": n - passed_hidden,
        "no_verdict": visible.count(None),
        "statuses": dict(Counter(r["status"] for r in rows)),
        "outcomes": dict(Counter(_outcome(r) for r in rows)),
        "mistakes": mistakes,
        "unnamed": sum(1 for r in rows if not _key_of(r) and _failed(r)),
    }


def class_report(grades: list, roots: list[Path], anonymous: bool = False) -> dict:
    """The report's numbers from ``course grade``'s rows (``Grade`` objects)."""
    graded = [g for g in grades if not g.skipped]
    lessons = []
    for lesson in sorted({g.lesson for g in graded}):
        mine = [g for g in graded if g.lesson == lesson]
        exercises = []
        for ex in lesson_exercises(lesson):
            rows = [r for g in mine for r in g.exercises if r["exercise"] == ex.id]
            exercises.append(exercise_stats(ex, rows))
        order = sorted(exercises, key=lambda e: (-e["stopped"], e["exercise"]))
        lessons.append({"lesson": lesson, "notebooks": len(mine), "exercises": exercises,
                        "by_stopped": [e["exercise"] for e in order]})
    return {"notebooks": len(graded), "skipped": len(grades) - len(graded),
            "learners": len({learner_label(g.notebook, roots) for g in graded}),
            "anonymous": anonymous, "lessons": lessons,
            "per_learner": _per_learner(graded, roots, anonymous)}


def _per_learner(graded: list, roots: list[Path], anonymous: bool) -> list[dict]:
    rows = [{"learner": learner_label(g.notebook, roots), "notebook": g.notebook,
             "lesson": g.lesson, "earned": g.earned, "possible": g.possible,
             "statuses": {e["exercise"]: e["status"] for e in g.exercises}} for g in graded]
    if not anonymous:
        return rows
    random.SystemRandom().shuffle(rows)
    rows.sort(key=lambda r: (r["lesson"], -r["earned"]))
    return [{"learner": f"learner {i + 1}", "lesson": r["lesson"], "earned": r["earned"],
             "possible": r["possible"], "statuses": r["statuses"]} for i, r in enumerate(rows)]


# ---------------------------------------------------------------- the printed summary


def summary(report: dict, top: int = 6) -> str:
    """The short summary ``course grade`` prints at the end."""
    lines = [f"class report: {report['notebooks']} notebooks, {report['learners']} learners"]
    head = ("exercise", "learners", "attempted", "visible", "hidden", "not done", "stopped")
    for lesson in report["lessons"]:
        lines += [f"lesson {lesson['lesson']} ({lesson['notebooks']} notebooks), exercises by "
                  "learners stopped:", "  " + "  ".join(f"{h:>9}" for h in head)]
        stats = {e["exercise"]: e for e in lesson["exercises"]}
        for ex_id in lesson["by_stopped"]:
            e = stats[ex_id]
            cells = (ex_id, e["learners"], e["attempted"], e["passed_visible"],
                     e["passed_hidden"], e["not_done"], e["stopped"])
            lines.append("  " + "  ".join(f"{c:>9}" for c in cells))
    named = [(m["count"], e["exercise"], m) for lesson in report["lessons"]
             for e in lesson["exercises"] for m in e["mistakes"]]
    named.sort(key=lambda t: (-t[0], t[1], t[2]["key"]))
    if named:
        lines.append("most frequent mistakes:")
        for count, ex_id, m in named[:top]:
            share = f"({m['share']:.0%})"
            lines.append(f"  {ex_id}  {m['key']:<24} {count:>3} {share:>6}  {m['says']}")
    return "\n".join(lines)


# ---------------------------------------------------------------- HTML

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right}
th{background:#f6f8fa}
h2{border-bottom:1px solid #d0d7de}
.passed{color:#1a7f37}.fail{color:#cf222e}.todo{color:#7d7d7d}
img{max-width:100%}
"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'>"
            f"<link rel='icon' href='data:,'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def _table(head: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{html.escape(str(c))}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _short_title(e: dict, width: int = 38) -> str:
    text = f"{e['exercise']} {e['title']}"
    return text if len(text) <= width else text[: width - 3] + "..."


def chart_png(lesson: dict) -> str:
    """A stacked horizontal bar per exercise (passed, passed the visible check only, failed it,
    not done, no verdict: the check did not run), as a base64 PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    exercises = lesson["exercises"]
    fig = Figure(figsize=(7.5, 0.45 * len(exercises) + 1.3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    names = [_short_title(e) for e in exercises][::-1]
    left = [0] * len(exercises)
    for outcome, colour in COLOURS.items():
        counts = [e["outcomes"].get(outcome, 0) for e in exercises][::-1]
        ax.barh(names, counts, left=left, color=colour, label=outcome)
        left = [a + b for a, b in zip(left, counts)]
    ax.set_xlabel("learners")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(COLOURS), fontsize=8,
              frameon=False, handlelength=1)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def report_html(report: dict) -> str:
    """The class report as one self-contained page."""
    parts = [f"<p>{report['notebooks']} notebooks graded ({report['learners']} learners"
             f"{', names left out' if report['anonymous'] else ''}); "
             f"{report['skipped']} path(s) skipped (see grades.csv).</p>"]
    for lesson in report["lessons"]:
        stats = {e["exercise"]: e for e in lesson["exercises"]}
        parts.append(f"<h2>Lesson {lesson['lesson']} ({lesson['notebooks']} notebooks)</h2>")
        parts.append(f"<img alt='outcomes per exercise of lesson {lesson['lesson']}' "
                     f"src='data:image/png;base64,{chart_png(lesson)}'>")
        parts.append("<h3>Exercises by learners stopped</h3>")
        head = ["exercise", "learners", "attempted", "passed visible", "passed hidden",
                "not done", "stopped"]
        rows = [[f"{i} {stats[i]['title']}", stats[i]["learners"], stats[i]["attempted"],
                 stats[i]["passed_visible"], stats[i]["passed_hidden"], stats[i]["not_done"],
                 stats[i]["stopped"]] for i in lesson["by_stopped"]]
        parts.append(_table(head, rows, numeric={1, 2, 3, 4, 5, 6}))
        parts.append("<h3>Named mistakes</h3>")
        rows = [[e["exercise"], m["key"], m["says"], m["count"], f"{m['share']:.0%}"]
                for e in lesson["exercises"] for m in e["mistakes"]]
        rows += [[e["exercise"], "(none named)", "wrong in a way no planted mistake matches",
                  e["unnamed"], f"{e['unnamed'] / max(1, e['learners']):.0%}"]
                 for e in lesson["exercises"] if e["unnamed"]]
        parts.append(_table(["exercise", "key", "first-tier text", "learners", "share"], rows,
                            numeric={3, 4}))
    parts.append("<h2>Per learner</h2>")
    rows = [[r["learner"], r["lesson"], f"{r['earned']}/{r['possible']}",
             ", ".join(f"{k} {v}" for k, v in r["statuses"].items())]
            for r in report["per_learner"]]
    parts.append(_table(["learner", "lesson", "score", "statuses"], rows))
    return _page("Class report", "".join(parts))


def feedback_html(label: str, grades: list) -> str:
    """One learner's feedback page: per exercise, the result and what the grader's visible and
    hidden checks said, in the course's fixed words."""
    parts = []
    for g in sorted(grades, key=lambda g: g.lesson):
        parts.append(f"<h2>Lesson {g.lesson}: {g.earned}/{g.possible} points</h2>")
        rows = []
        for e in g.exercises:
            result = RESULT_WORDS.get(e["status"], "0 points: the hidden check did not pass")
            rows.append([f"{e['exercise']} {e['title']}", f"{e['earned']}/{e['points']}", result,
                         says(e["exercise"], e.get("visible")),
                         says(e["exercise"], e.get("hidden"))])
        parts.append(_table(["exercise", "points", "result", "visible check",
                             "hidden check (the grader's cases)"], rows))
    return _page(f"Feedback for {label}", "".join(parts))


def _file_name(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "learner"
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return f"{name}.html"


def write_report(grades: list, out: Path, roots: list[Path], anonymous: bool = False) -> dict:
    """report.json, report.html and feedback/<learner>.html in ``out``; returns the report."""
    report = class_report(grades, roots, anonymous)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "report.html").write_text(report_html(report), encoding="utf-8")
    by_learner: dict[str, list] = {}
    for g in grades:
        if not g.skipped:
            by_learner.setdefault(learner_label(g.notebook, roots), []).append(g)
    feedback, taken = out / "feedback", set()
    feedback.mkdir(exist_ok=True)
    for label, mine in sorted(by_learner.items()):
        (feedback / _file_name(label, taken)).write_text(feedback_html(label, mine),
                                                        encoding="utf-8")
    report["feedback_pages"] = len(by_learner)
    return report
