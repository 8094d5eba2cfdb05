"""tests/conftest.py's list of slow tests stays true: every name on it exists, and notebooks
are always slow (so `-m "not slow"` never runs one)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from conftest import SLOW_FILES, SLOW_TESTS, slow_reason

HERE = Path(__file__).resolve().parent


def test_every_slow_file_and_test_named_exists():
    missing = [name for name in SLOW_FILES if not (HERE / name).is_file()]
    for key in SLOW_TESTS:
        file, test = key.split("::")
        if f"def {test}(" not in (HERE / file).read_text():
            missing.append(key)
    assert not missing, f"tests/conftest.py names tests that do not exist: {missing}"


def test_notebooks_and_listed_tests_are_slow_and_library_tests_are_not():
    def item(path: str, name: str = "test_x") -> SimpleNamespace:
        return SimpleNamespace(fspath=HERE.parent / path, originalname=name, name=name)

    assert slow_reason(item("lessons/00_welcome.ipynb", "Cell 3"))
    assert slow_reason(item("tests/test_browser.py"))
    file, test = next(iter(SLOW_TESTS)).split("::")
    assert slow_reason(item(f"tests/{file}", test))
    assert slow_reason(item(f"tests/{file}", "test_something_else")) is None
    assert slow_reason(item("tests/test_layers.py")) is None
