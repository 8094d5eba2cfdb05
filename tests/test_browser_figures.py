"""The browser tests' figures file and the summary scripts/test.sh prints from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from browser_figures import record, summary

HERE = Path(__file__).resolve().parent


def test_figures_recorded_in_two_tests_merge_and_print_one_row_per_lesson(tmp_path):
    path = tmp_path / "artifacts" / "browser_figures.json"
    record("00_welcome.ipynb", path, run_all_s=12.34)
    record("00_welcome.ipynb", path, median_ms=85.2, p95_ms=140.0, max_ms=151.0, presses=10)
    record("02_computational_graphs.ipynb", path, run_all_s=30.0)
    lines = summary(path)
    assert lines[0] == "JupyterLab figures (artifacts/browser_figures.json):"
    assert lines[1].split() == ["lesson", "Run", "All", "key", "press", "to", "image:", "median",
                                "p95", "presses"]
    assert lines[2].split() == ["00_welcome", "12.3", "s", "85", "ms", "140", "ms", "10"]
    assert lines[3].split() == ["02_computational_graphs", "30.0", "s", "-", "-", "-"]


def test_no_file_prints_nothing(tmp_path):
    assert summary(tmp_path / "browser_figures.json") == []


def test_the_script_test_sh_runs_prints_the_table(tmp_path):
    path = tmp_path / "browser_figures.json"
    record("06_vanishing_exploding_gradients.ipynb", path, run_all_s=95.0, median_ms=300.0,
           p95_ms=410.0, presses=10)
    out = subprocess.run([sys.executable, str(HERE / "browser_figures.py"), str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[2].split() == ["06_vanishing_exploding_gradients", "95.0", "s", "300",
                                           "ms", "410", "ms", "10"]
    script = (HERE.parent / "scripts" / "test.sh").read_text()
    assert "tests/browser_figures.py" in script
