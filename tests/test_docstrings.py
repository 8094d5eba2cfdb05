"""Every usage example in a library docstring runs: doctest over each course module that has one.

A module is included when its source holds a `>>>` example, so a new example is tested the
moment it is written; the file is read first, and only those modules are imported.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course"
WITH_EXAMPLES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in PACKAGE.rglob("*.py")
    if ">>> " in p.read_text(encoding="utf-8")
)


def test_the_check_shape_is_documented_by_runnable_examples():
    assert "course.checks.core" in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name}: its '>>> ' lines are not in a docstring"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
