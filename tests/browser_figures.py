"""The browser tests' figures, kept where a person sees them without `pytest -s`.

tests/test_browser.py records each lesson's Run All time and each slider's key-press-to-image
latency (median, p95, max over its presses) in ``artifacts/browser_figures.json``;
``scripts/test.sh`` deletes that file before the tests and prints it as a table after them:

    python tests/browser_figures.py           # the table; nothing when the browser tests skipped
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from course.table import format_table

FIGURES = Path(__file__).resolve().parent.parent / "artifacts" / "browser_figures.json"


def record(lesson: str, path: Path = FIGURES, **figures: float) -> None:
    """Merge ``figures`` (run_all_s, median_ms, p95_ms, max_ms, presses) into lesson's entry."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault(lesson, {}).update(figures)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def summary(path: Path = FIGURES) -> list[str]:
    """The figures as table lines, lesson by lesson; [] when nothing was recorded."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text())

    def cell(entry: dict, key: str, unit: str) -> str:
        if key not in entry:
            return "-"
        return f"{entry[key]:.{0 if unit == 'ms' else 1}f} {unit}"

    rows = [[lesson.removesuffix(".ipynb"), cell(e, "run_all_s", "s"), cell(e, "median_ms", "ms"),
             cell(e, "p95_ms", "ms"), str(e.get("presses", "-"))]
            for lesson, e in sorted(data.items())]
    head = ["lesson", "Run All", "key press to image: median", "p95", "presses"]
    return [f"JupyterLab figures ({path.parent.name}/{path.name}):",
            *format_table(head, rows, numbers_right=True)]


if __name__ == "__main__":
    lines = summary(Path(sys.argv[1]) if len(sys.argv) > 1 else FIGURES)
    if lines:
        print("\n".join(lines))
