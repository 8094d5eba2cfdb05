"""Say, in plain words, what an optional package a lesson needs is missing, and how to install it.

A lesson that needs an optional package starts with::

    from course.requires import require
    require("torch")

When the package imports, nothing is shown. When it does not, the cell stops with a short message
(no traceback) naming what is missing and the one command that installs it into the Python this
kernel runs, so "Run all" stops there instead of failing later with ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys

INSTALL = {
    "torch": "torch==2.13.0",
    "nbgrader": "nbgrader==0.9.6",
}
WHY = {
    "torch": "PyTorch (lesson 09 runs the course MLP on torch tensors)",
    "nbgrader": "nbgrader (the teacher's grading route)",
}


class MissingPackage(ImportError):
    """A package a lesson needs is not installed; shown without a traceback in a notebook."""

    def __init__(self, package: str, command: str):
        self.package, self.command = package, command
        super().__init__(message(package, command))

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def install_command(package: str, python: str | None = None) -> str:
    """The pip command that installs ``package`` into ``python`` (default: this interpreter)."""
    spec = INSTALL.get(package, package)
    return f"{shlex.quote(python or sys.executable)} -m pip install {shlex.quote(spec)}"


def message(package: str, command: str) -> str:
    what = WHY.get(package, package)
    return (
        f"This lesson needs {what}, which is not installed in this kernel's Python.\n"
        f"Install it with this one command (in a terminal), then restart the kernel:\n\n"
        f"    {command}\n\n"
        f"(bash scripts/lab.sh installs it for you; course doctor lists everything missing.)"
    )


def is_installed(package: str) -> bool:
    """True when ``package`` can be imported here (without importing it)."""
    return importlib.util.find_spec(package) is not None


def require(*packages: str) -> None:
    """Raise :class:`MissingPackage` for the first of ``packages`` that is not installed."""
    for package in packages:
        if not is_installed(package):
            raise MissingPackage(package, install_command(package))
