"""``course grade``'s class report on a synthetic class of 24 lesson-00 notebooks with known,
planted mistakes (tests/synthetic_class.py): the counts must match exactly, the untouched count
as "not done", forged records count nowhere, the course's own reference handed in earns 0.

Slow: the class is graded once (one kernel per notebook, two at a time). The last test opens the
HTML report in headless Chromium (skipped without it, or without Playwright) and keeps a
screenshot in artifacts/.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from synthetic_class import CLASS, EXPECTED, write_class

from course.tools.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
COUNTS = ("learners", "attempted", "passed_visible", "passed_hidden", "not_done", "stopped")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the class once: (report.json, grades by learner, out folder, printed output)."""
    root = tmp_path_factory.mktemp("class")
    write_class(root / "class")
    stray = root / "notes.txt"
    stray.write_text("not a notebook")
    out = root / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["grade", str(root / "class"), str(stray), "--timeout-cell", "60",
                     "--timeout-total", "240", "--jobs", "2", "--out", str(out)])
    grades = {Path(g["notebook"]).parent.name: g
              for g in json.loads((out / "grades.json").read_text()) if not g["skipped"]}
    return json.loads((out / "report.json").read_text()), grades, out, printed.getvalue(), code


def _stats(report, exercise_id):
    return next(e for lesson in report["lessons"] for e in lesson["exercises"]
                if e["exercise"] == exercise_id)


@pytest.mark.parametrize("exercise_id", sorted(EXPECTED))
def test_the_report_counts_match_the_planted_class(graded, exercise_id):
    stats, expected = _stats(graded[0], exercise_id), EXPECTED[exercise_id]
    assert {k: stats[k] for k in COUNTS} == {k: expected[k] for k in COUNTS}
    assert {m["key"]: m["count"] for m in stats["mistakes"]} == expected["mistakes"]
    assert all(m["share"] == round(m["count"] / 24, 3) for m in stats["mistakes"])


def test_exercises_are_ordered_by_the_learners_they_stopped(graded):
    assert graded[0]["lessons"][0]["by_stopped"] == ["00.2", "00.1"]


def test_untouched_notebooks_count_as_not_done(graded):
    for name in ("eli", "fox", "gus"):
        assert [e["visible"]["status"] for e in graded[1][name]["exercises"]] == ["not done"] * 2


def test_a_forged_record_counts_nowhere(graded):
    """vic displayed records naming the mistake 'sign' for both exercises: 00.2's count of
    'sign' stays at the two learners who made it, and vic counts as not done."""
    vic = graded[1]["vic"]["exercises"]
    assert [e["visible"] for e in vic] == [{"status": "not done", "mistake": None}] * 2
    assert {m["key"]: m["count"] for m in _stats(graded[0], "00.2")["mistakes"]}["sign"] == 2


def test_the_course_own_reference_handed_in_earns_zero_with_a_note(graded):
    row = graded[1]["wes"]["exercises"][0]
    assert (row["status"], row["earned"], row["visible"]["status"]) == (
        "course object", 0, "passed")
    assert "course.checks.lesson00._poly_prime" in row["note"]


def test_a_stray_file_is_refused_and_the_class_still_graded(graded):
    report, grades, _, _, code = graded
    assert code == 1 and len(grades) == len(CLASS) == report["notebooks"]


def test_the_summary_is_printed(graded):
    printed = graded[3]
    assert "class report: 24 notebooks, 24 learners" in printed
    assert re.search(r"00\.2\s+24\s+19\s+7\s+7\s+5\s+17", printed)
    assert re.search(r"00\.1\s+power-not-multiplied\s+3\s+\(12%\)", printed)


def test_each_learner_gets_a_feedback_page(graded):
    out = graded[2]
    pages = sorted(p.stem for p in (out / "feedback").glob("*.html"))
    assert pages == sorted(CLASS)
    hal = (out / "feedback" / "hal.html").read_text()
    assert "each term&#x27;s slope is too small" in hal and "0/2 points" in hal


@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"no browser at {CHROMIUM}")
def test_the_report_opens_in_the_browser_without_console_errors(graded):
    sync_api = pytest.importorskip("playwright.sync_api")
    out = graded[2]
    ARTIFACTS.mkdir(exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for name in ("report.html", "feedback/hal.html"):
            page.goto((out / name).as_uri(), wait_until="load")
            assert page.evaluate("[...document.images].every(i => i.complete && "
                                 "i.naturalWidth > 0)")
            page.screenshot(path=str(ARTIFACTS / f"grade_{Path(name).stem}.png"), full_page=True)
        assert page.title() == "Feedback for hal"
        browser.close()
    assert errors == []
    assert (ARTIFACTS / "grade_report.png").stat().st_size > 10_000
