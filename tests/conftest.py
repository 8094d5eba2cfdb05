"""What counts as slow, in one place: `python -m pytest -m "not slow"` is the loop to run while
working (the library and checker tests); `bash scripts/test.sh` runs everything.

Slow: every notebook item (nbval), and the tests listed below, which start servers, browsers,
kernels, worker processes or fresh clones, or rerun a lesson's experiments at other seeds and
sizes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SLOW_FILES = {
    "test_browser.py": "JupyterLab and Chromium run every lesson",
    "test_nbgrader.py": "nbgrader's own round trip on a lesson",
    "test_grade.py": "course grade runs notebooks in kernels",
    "test_lesson01_02_claims.py": "lesson claims rerun at other seeds and sizes",
    "test_lesson03_claims.py": "lesson claims rerun at other seeds and sizes",
    "test_lesson04_claims.py": "lesson claims rerun at other seeds and sizes",
    "test_lesson05_06_claims.py": "lesson claims rerun at other seeds and sizes",
    "test_lesson07_claims.py": "lesson claims rerun at other seeds and sizes",
    "test_lesson08_claims.py": "lesson claims rerun at other seeds and sizes",
    "test_lesson09_claims.py": "lesson claims rerun at other seeds and sizes",
}
SLOW_TESTS = {
    "test_distributed.py::test_all_reduced_gradient_equals_the_full_batch_gradient":
        "spawns torch.distributed worker processes",
    "test_distributed.py::test_data_parallel_sgd_retraces_single_process_sgd":
        "spawns torch.distributed worker processes",
    "test_lab.py::test_course_lab_prints_one_url_that_opens_lesson_00_and_stops_on_sigterm":
        "starts a JupyterLab server",
    "test_lab.py::test_readme_first_command_in_a_fresh_clone_serves_lesson_00_and_leaves_nothing":
        "lab.sh's first run in a fresh clone",
}


def slow_reason(item: pytest.Item) -> str | None:
    """Why ``item`` is slow, or None when it belongs to the fast loop."""
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb":
        return "a notebook run by nbval"
    if path.name in SLOW_FILES:
        return SLOW_FILES[path.name]
    return SLOW_TESTS.get(f"{path.name}::{getattr(item, 'originalname', item.name)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if slow_reason(item):
            item.add_marker(pytest.mark.slow)
