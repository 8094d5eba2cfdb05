"""scripts/gpu-check.sh and course.tools.gpu_check: without a GPU it writes a report saying so and
exits 0 (with the Python on PATH, no venv needed); the report's path comes from the argument,
$GPU_CHECK_REPORT or the default; per-cell results are read from pytest's JUnit XML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course.tools import gpu_check

ROOT = Path(__file__).resolve().parent.parent


def test_report_path_argument_then_environment_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert gpu_check.report_path(["out.md"], {}) == tmp_path / "out.md"
    assert gpu_check.report_path([], {"GPU_CHECK_REPORT": "/x/r.md"}) == Path("/x/r.md")
    assert gpu_check.report_path([], {}) == tmp_path / "artifacts" / "gpu-check.md"


def test_cell_results_and_report_name_each_cell_and_the_failures(tmp_path):
    junit = tmp_path / "n.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="solutions" name="Cell 0"/>'
        '<testcase classname="solutions" name="Cell 1"><failure message="x"/></testcase>'
        '<testcase classname="solutions" name="Cell 2"><skipped/></testcase>'
        '</testsuite></testsuites>')
    cells = gpu_check.cell_results(junit)
    assert cells == [("Cell 0", "pass"), ("Cell 1", "FAIL"), ("Cell 2", "skip")]
    text = gpu_check.compose(["- device: X"], cells, 1, "figures here\n", 0,
                             {"nbval": 12.0, "bench": 3.0})
    assert "2 of 3 cells pass; failed: Cell 1" in text
    assert "| Cell 1 | FAIL |" in text and "figures here" in text and "- device: X" in text


def test_the_script_without_a_gpu_says_so_writes_its_report_and_exits_0(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the script would run the full check")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    report = tmp_path / "gpu.md"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), str(report)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU visible" in done.stdout
    text = report.read_text()
    assert "No CUDA GPU is visible to torch here" in text and f"torch {torch.__version__}" in text
