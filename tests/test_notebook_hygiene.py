"""Every stored notebook is clean: valid, minimal metadata, one kernelspec, nothing personal.

lessons/ is stored without outputs or execution counts; solutions/ is stored executed top to
bottom in one run. No notebook holds an absolute path, a trace of the environment that ran it
(LEAKS: package folders, kernel and server files), or a name of whoever ran it: this machine's
login and host names and git's author name and email, those that are not generic account names.
The LEAKS are checked on every machine, CI's root login included; the names where they exist.
The whole notebook folder passes ruff.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
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
GENERIC_ACCOUNTS = {"root", "user", "jovyan", "runner", "admin", "ubuntu", "nobody", "vscode",
                    "localhost"}
# What a run leaves in outputs when it leaks its environment (a traceback, a warning's path).
LEAKS = (
    "site-packages",
    "dist-packages",
    ".venv/lib",
    "ipykernel_",
    "jpserver-",
    ".local/",
    "AppData",
    ".ipynb_checkpoints",
)


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


def _git_identity() -> set[str]:
    """git's user.name and user.email for this clone (empty where git or the setting is absent)."""
    found = set()
    for key in ("user.name", "user.email"):
        try:
            out = subprocess.run(
                ["git", "-C", str(ROOT), "config", key], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        found.add(out.stdout.strip())
    return found


def _personal_names() -> set[str]:
    """Names of whoever runs this: login, home folder, host, git identity; generic ones left out
    (prose uses them as words)."""
    names = {getpass.getuser(), Path.home().name, os.environ.get("USER", ""), socket.gethostname()}
    names |= _git_identity()
    return {n for n in names if len(n) >= 3 and n.lower() not in GENERIC_ACCOUNTS}


def _forbidden() -> re.Pattern:
    """LEAKS anywhere, and each personal name as a whole word."""
    words = [r"\b" + re.escape(n) + r"\b" for n in sorted(_personal_names())]
    return re.compile("|".join([*map(re.escape, LEAKS), *words]))


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


@notebooks
def test_notebook_holds_no_user_names_and_no_trace_of_its_environment(path: Path):
    pattern = _forbidden()
    found = [
        f"{where}: {m.group(0)!r}"
        for where, text in _located_strings(_read(path))
        for m in pattern.finditer(text)
    ]
    assert not found, "personal names or environment traces:\n" + "\n".join(found)


def test_the_forbidden_list_applies_to_a_generic_login_too(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: Path("/root")))
    monkeypatch.setenv("USER", "root")
    pattern = _forbidden()
    assert pattern.search('File "lib/python3.12/site-packages/numpy/x.py"')
    assert pattern.search("/tmp/ipykernel_4242/123.py")
    assert not pattern.search("the root of the tree, and the user's answer")


def test_names_are_matched_as_whole_words(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    pattern = _forbidden()
    assert pattern.search("by alice.") and not pattern.search("malice")


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
