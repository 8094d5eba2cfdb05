"""Binder builds the course from binder/: these tests keep it in agreement with pyproject.toml."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
FIRST_LESSON = "lessons/00_welcome.ipynb"
BADGE_URL = (
    "https://mybinder.org/v2/gh/backprop-course/backprop-course/main"
    f"?urlpath=lab/tree/{FIRST_LESSON}"
)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pyproject_requirements() -> dict[str, Requirement]:
    """What a learner needs: the package's dependencies plus its torch extra, by name."""
    project = _pyproject()["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["torch"]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def _binder_lines() -> list[str]:
    text = (BINDER / "requirements.txt").read_text()
    return [s for s in (line.split("#")[0].strip() for line in text.splitlines()) if s]


def _binder_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in _binder_lines() if not line.startswith("-")]
    return {canonicalize_name(r.name): r for r in reqs}


def test_binder_installs_exactly_the_packages_pyproject_requires():
    assert sorted(_binder_requirements()) == sorted(_pyproject_requirements())


def test_binder_version_ranges_match_pyproject_except_the_torch_pin():
    binder, project = _binder_requirements(), _pyproject_requirements()
    for name, req in project.items():
        if name != "torch":
            assert binder[name].specifier == req.specifier, f"{name}: {binder[name]} vs {req}"


def test_binder_torch_is_a_cpu_build_within_pyproject_range():
    (pin,) = _binder_requirements()["torch"].specifier
    version = Version(pin.version)
    assert pin.operator == "==" and version.local == "cpu", f"torch pin {pin} is not a +cpu build"
    assert version.public in _pyproject_requirements()["torch"].specifier
    assert f"--extra-index-url {CPU_INDEX}" in _binder_lines()


def test_binder_torch_is_the_version_ci_tests():
    match = re.search(r"torch==([\w.]+)", (ROOT / "scripts" / "test.sh").read_text())
    assert match, "scripts/test.sh no longer pins torch==X; update this test with it"
    (pin,) = _binder_requirements()["torch"].specifier
    assert Version(pin.version).public == match.group(1)


def test_binder_python_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt should read python-X.Y, not {runtime!r}"
    assert Version(match.group(1)) in SpecifierSet(_pyproject()["project"]["requires-python"])


def test_postbuild_is_executable_and_installs_the_course_without_deps():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    text = post_build.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert "pip install --no-deps --editable ." in text


def test_binder_and_readme_open_lesson_00():
    assert f'default_url = "/lab/tree/{FIRST_LESSON}"' in (BINDER / "postBuild").read_text()
    assert BADGE_URL in (ROOT / "README.md").read_text()


def test_the_notebook_binder_opens_exists():
    assert (ROOT / FIRST_LESSON).is_file(), f"Binder opens {FIRST_LESSON}, which does not exist"
