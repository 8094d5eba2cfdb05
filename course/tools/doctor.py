"""``course doctor``: check this machine's setup and say, in plain words, what is missing.

One line per piece the course needs: Python, the course package and its notebooks, numpy,
matplotlib, ipywidgets, JupyterLab and its widgets extension, ipykernel, torch (lesson 09) and a
GPU if any, and nbval for teachers. Each line reads OK, MISSING, OLD (installed but older than
the course needs) or NOTE (an optional piece is absent), followed by the command that fixes it;
the verdict is "Not ready" while anything a lesson needs is MISSING or OLD. Every install
command names the Python this command runs in (``<python> -m pip install ...``), so it installs
where the course runs even when no virtual environment is active. The version ranges are the
course package's own requirements, so they never disagree with it.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from course.requires import install_command

DIST = "backprop-course"
ROOT = Path(__file__).resolve().parents[2]
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
GPU_TORCH = 'for a GPU build see the README, "Lesson 09 on an NVIDIA GPU"'
REQUIRED = ("numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel")
OK, MISSING, OLD, NOTE = "OK", "MISSING", "OLD", "NOTE"

VersionOf = Callable[[str], str]


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, its status, what was found, how to fix it."""

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def blocking(self) -> bool:
        """True when the course cannot run as it stands (a required piece missing or too old)."""
        return self.status in (MISSING, OLD)

    def lines(self) -> list[str]:
        head = f"{self.status:<8}{self.name:<20}{self.detail}"
        return [head, f"{'':<28}fix: {self.fix}"] if self.fix else [head]


def add_arguments(parser) -> None:
    parser.add_argument(
        "--no-torch",
        action="store_true",
        help="skip importing torch (about 2 s); report only whether it is installed",
    )


def run(args) -> int:
    findings = diagnose(import_torch=not args.no_torch)
    print(report(findings))
    return 1 if any(f.blocking for f in findings) else 0


def report(findings: list[Finding]) -> str:
    """The findings as text, one line each (two where there is a fix), then a one-line verdict."""
    lines = [line for f in findings for line in f.lines()]
    blocking = [f.name for f in findings if f.blocking]
    if blocking:
        lines.append(f"\nNot ready: fix {', '.join(blocking)} (the commands are above).")
    else:
        lines.append("\nReady: everything the lessons need is installed.")
    return "\n".join(lines)


def diagnose(import_torch: bool = True) -> list[Finding]:
    """Check every piece of the setup on this machine, in the order a learner needs them."""
    reqs = requirements()
    findings = [python_finding(reqs.get("python")), course_finding(metadata.version)]
    findings.append(lessons_finding(ROOT / "lessons"))
    findings += [package_finding(name, reqs.get(name), metadata.version) for name in REQUIRED]
    findings.append(widgets_extension_finding(metadata.version, labextension_dirs()))
    findings += torch_findings(reqs.get("torch"), metadata.version, import_torch)
    findings.append(package_finding("nbval", reqs.get("nbval"), metadata.version, "teachers"))
    return findings


def requirements() -> dict[str, Requirement]:
    """The course's requirements by canonical name ("python" for requires-python).

    Read from the installed package's metadata; empty when the package is not installed, and
    every check then reports what it finds without a version range.
    """
    try:
        lines = metadata.requires(DIST) or []
        python = metadata.metadata(DIST)["Requires-Python"]
    except metadata.PackageNotFoundError:
        return {}
    reqs = {canonicalize_name(r.name): r for r in map(Requirement, lines)}
    if python:
        reqs["python"] = Requirement(f"python{python}")
    return reqs


def _satisfies(version: str, req: Requirement | None) -> bool:
    if req is None:
        return True
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def python() -> str:
    """This interpreter, quoted for a shell: the Python every fix installs into."""
    return shlex.quote(sys.executable)


def _install_command(name: str, req: Requirement | None) -> str:
    spec = str(req.specifier) if req else ""
    target = f'"{name}{spec}"' if spec else name
    return f"{python()} -m pip install {target}"


def python_finding(req: Requirement | None, version: str | None = None) -> Finding:
    version = version or ".".join(map(str, sys.version_info[:3]))
    if _satisfies(version, req):
        return Finding("Python", OK, f"{version} ({sys.executable})")
    need = str(req.specifier)
    return Finding(
        "Python",
        OLD,
        f"{version}; the course needs {need}",
        f"install Python {need} (python.org) and make a new virtual environment",
    )


def course_finding(version_of: VersionOf) -> Finding:
    try:
        version = version_of(DIST)
    except metadata.PackageNotFoundError:
        return Finding(
            "course",
            MISSING,
            "the course package is not installed",
            f"from a clone of the repository: {python()} -m pip install -e .",
        )
    return Finding("course", OK, f"{DIST} {version} ({ROOT})")


def lessons_finding(folder: Path) -> Finding:
    count = len(list(folder.glob("[0-9][0-9]_*.ipynb"))) if folder.is_dir() else 0
    if count:
        return Finding("lessons", OK, f"{count} notebook{'s' if count != 1 else ''} in {folder}")
    return Finding(
        "lessons",
        NOTE,
        f"no lesson notebooks in {folder}",
        "clone the repository to get them: the notebooks are not part of the package",
    )


def package_finding(
    name: str, req: Requirement | None, version_of: VersionOf, optional_for: str = ""
) -> Finding:
    """A package's status against its requirement; ``optional_for``: who needs an optional one."""
    fix = _install_command(name, req)
    try:
        version = version_of(name)
    except metadata.PackageNotFoundError:
        if optional_for:
            return Finding(name, NOTE, f"not installed (needed only by {optional_for})", fix)
        return Finding(name, MISSING, "not installed", fix)
    if not _satisfies(version, req):
        return Finding(
            name, OLD, f"{version} is older than the course needs ({req.specifier})", fix
        )
    return Finding(name, OK, version)


def labextension_dirs() -> list[Path]:
    """The folders JupyterLab searches for prebuilt extensions."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return [Path(sys.prefix) / "share" / "jupyter" / "labextensions"]
    return [Path(p) for p in jupyter_path("labextensions")]


def widgets_extension_finding(version_of: VersionOf, extension_dirs: list[Path]) -> Finding:
    """Sliders draw only when JupyterLab has the widgets extension (package jupyterlab_widgets)."""
    name = "widgets extension"
    fix = (
        f'{python()} -m pip install "ipywidgets>=8,<9" (it brings jupyterlab_widgets), '
        "then restart JupyterLab"
    )
    try:
        version = version_of("jupyterlab_widgets")
    except metadata.PackageNotFoundError:
        return Finding(
            name, MISSING, "jupyterlab_widgets is not installed: sliders will not draw", fix
        )
    found = [d for d in extension_dirs if (d / WIDGETS_EXTENSION / "package.json").is_file()]
    if not found:
        return Finding(
            name,
            MISSING,
            f"jupyterlab_widgets {version} is installed but JupyterLab "
            f"cannot see {WIDGETS_EXTENSION}",
            fix,
        )
    return Finding(name, OK, f"jupyterlab_widgets {version} ({found[0]})")


def torch_findings(
    req: Requirement | None, version_of: VersionOf, import_torch: bool = True
) -> list[Finding]:
    """torch (lesson 09 needs it) and the device it can use.

    The fix is the command lesson 09's first cell prints (``course.requires``): the CPU build
    CI tests; the README's GPU section replaces it with a CUDA build.
    """
    fix = f"{install_command('torch')}  ({GPU_TORCH})"
    torch_line = package_finding("torch", req, version_of)
    if torch_line.status != OK:
        detail = f"{torch_line.detail}: lesson 09 needs it"
        return [Finding(torch_line.name, torch_line.status, detail, fix)]
    if not import_torch:
        return [torch_line, Finding("GPU", NOTE, "not checked (--no-torch)")]
    try:
        import torch
    except Exception as exc:  # a broken install raises all sorts: report it, never crash
        return [Finding("torch", MISSING, f"installed but fails to import: {exc}", fix)]
    return [torch_line, device_finding(torch)]


def device_finding(torch) -> Finding:
    """Which accelerator ``torch`` can use: a CUDA GPU, Apple's MPS, or none (CPU)."""
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return Finding("GPU", OK, f"CUDA {torch.version.cuda}: {', '.join(names)}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return Finding("GPU", OK, "Apple MPS")
    cuda = (
        f"this torch is a CPU build; {GPU_TORCH}"
        if torch.version.cuda is None
        else (f"this torch was built for CUDA {torch.version.cuda} but sees no GPU")
    )
    return Finding("GPU", NOTE, f"none found: lesson 09 runs on the CPU ({cuda})")
