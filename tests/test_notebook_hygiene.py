"""Every stored notebook is clean: valid, minimal metadata, one kernelspec, nothing personal.

lessons/ is stored without outputs or execution counts; solutions/ is stored executed top to
bottom in one run. No notebook holds an absolute path or this machine's user name, and the whole
notebook folder passes ruff.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.tools.execute import WIDGET_VIEW
from course.tools.release import KERNELSPEC

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("lessons", "solutions")
NOTEBOOKS = sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))
NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
CELL_METADATA = {"tags", "nbgrader", "editable", "deletable", "jupyter"}
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.\-/:~])/(?:home|Users|root|tmp|work|var|opt|mnt|media|srv|private|usr)/"
    r"|\b[A-Za-z]:\\(?:Users|Documents and Settings)\\"
)
GENERIC_ACCOUNTS = {"root", "user", "jovyan", "runner", "admin", "ubuntu", "nobody", "vscode"}


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


notebooks = pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
lessons = pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.parent.name == "lessons"], ids=_id
)
solutions = pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.parent.name == "solutions"], ids=_id
)


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _strings(node, where: str):
    """Every string in a notebook's JSON with where it lies, skipping base64 image data."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("image/"):
                yield from _strings(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, where)


def _located_strings(nb):
    yield from _strings(nb.metadata, "notebook metadata")
    for i, cell in enumerate(nb.cells):
        yield from _strings(dict(cell), f"cell {i} ({cell.cell_type})")


def _personal_names() -> set[str]:
    """This machine's login names, unless generic account names that prose uses as words."""
    names = {getpass.getuser(), Path.home().name, os.environ.get("USER", "")}
    return {n for n in names if len(n) >= 3 and n.lower() not in GENERIC_ACCOUNTS}


@notebooks
def test_notebook_is_valid_nbformat_4_5_with_cell_ids(path: Path):
    nb = _read(path)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    nbformat.validate(nb)
    assert all(cell.get("id") for cell in nb.cells), "every cell needs an id"


@notebooks
def test_notebook_name_and_course_metadata_agree(path: Path):
    match = NAME.match(path.name)
    assert match, f"{path.name} should be named NN_slug.ipynb (lower case, underscores)"
    assert _read(path).metadata.get("course") == {"lesson": match.group(1)}


@notebooks
def test_notebook_metadata_is_minimal_with_the_one_kernelspec(path: Path):
    meta = _read(path).metadata
    assert set(meta) == {"kernelspec", "language_info", "course"}, sorted(meta)
    assert meta.kernelspec == KERNELSPEC
    assert meta.language_info == {"name": "python"}


@notebooks
def test_cell_metadata_holds_only_authoring_keys(path: Path):
    extra = {
        (i, key)
        for i, cell in enumerate(_read(path).cells)
        for key in cell.metadata
        if key not in CELL_METADATA
    }
    assert not extra, f"volatile cell metadata (cell, key): {sorted(extra)}"


@notebooks
def test_notebook_holds_no_absolute_paths(path: Path):
    found = [
        f"{where}: {m.group(0)!r} in {text[max(0, m.start() - 30) : m.end() + 30]!r}"
        for where, text in _located_strings(_read(path))
        for m in ABSOLUTE_PATH.finditer(text)
    ]
    assert not found, "absolute paths:\n" + "\n".join(found)


def _name_pattern(names: set[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b")


def test_detectors_flag_local_paths_and_names_but_spare_urls_and_prose():
    for text in (
        'File "/home/alice/x.py"',
        "/work/main/course/a.py:3",
        r"C:\Users\bob",
        "`/tmp/a`",
    ):
        assert ABSOLUTE_PATH.search(text), text
    for text in ("https://example.org/home/page", "dL/dz", "x /tmp", "~/work/x", "a/usr/b"):
        assert not ABSOLUTE_PATH.search(text), text
    assert _name_pattern({"alice"}).search("by alice.")
    assert not _name_pattern({"alice"}).search("malice")


@notebooks
def test_notebook_holds_no_user_names(path: Path):
    names = _personal_names()
    if not names:
        pytest.skip(f"the login name {getpass.getuser()!r} is a generic account name")
    pattern = _name_pattern(names)
    found = [where for where, text in _located_strings(_read(path)) if pattern.search(text)]
    assert not found, f"user name {sorted(names)} appears in: {found}"


@lessons
def test_lesson_is_stored_without_outputs_or_execution_counts(path: Path):
    dirty = [
        i
        for i, cell in enumerate(_read(path).cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"cells with outputs or execution counts: {dirty}; run `course release`"


@solutions
def test_solution_is_stored_executed_top_to_bottom_in_one_run(path: Path):
    code = [c for c in _read(path).cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"execution counts {counts}: run `course execute {_id(path)}`"
    )


@solutions
def test_solution_outputs_hold_no_widget_views(path: Path):
    views = [
        i
        for i, cell in enumerate(_read(path).cells)
        for out in cell.get("outputs", [])
        if WIDGET_VIEW in out.get("data", {})
    ]
    assert not views, f"widget views stored in cells {views}: run `course execute`"


def test_every_lesson_has_its_solution_and_every_solution_its_lesson():
    names = {folder: {p.name for p in NOTEBOOKS if p.parent.name == folder} for folder in FOLDERS}
    assert names["lessons"] == names["solutions"]


def test_notebooks_and_library_are_ruff_clean():
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    targets = [str(ROOT / name) for name in ("course", "tests", *FOLDERS) if (ROOT / name).exists()]
    result = subprocess.run([ruff, "check", *targets], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
