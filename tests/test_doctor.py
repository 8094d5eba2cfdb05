"""``course doctor`` names what is missing or too old and how to fix it, in plain words."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

from packaging.requirements import Requirement

from course.requires import install_command
from course.tools import doctor

PY = doctor.python()  # the interpreter every printed fix installs into


def _versions(**installed: str):
    """A version lookup that knows only ``installed`` (name -> version)."""

    def version_of(name: str) -> str:
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    return version_of


def test_requirements_come_from_the_installed_package_metadata():
    reqs = doctor.requirements()
    assert str(reqs["numpy"].specifier) == ">=1.24"
    assert reqs["torch"].marker is not None  # the optional torch extra
    assert reqs["python"].specifier.contains("3.11")


def test_missing_required_package_is_blocking_and_names_the_install_command():
    finding = doctor.package_finding("numpy", Requirement("numpy>=1.24"), _versions())
    assert finding.status == doctor.MISSING and finding.blocking
    assert finding.fix == f'{PY} -m pip install "numpy>=1.24"'


def test_too_old_package_is_blocking_and_states_the_range_needed():
    finding = doctor.package_finding("numpy", Requirement("numpy>=1.24"), _versions(numpy="1.20.3"))
    assert finding.status == doctor.OLD and finding.blocking
    assert "1.20.3 is older than the course needs (>=1.24)" in finding.detail


def test_installed_package_within_range_is_ok():
    finding = doctor.package_finding("numpy", Requirement("numpy>=1.24"), _versions(numpy="2.0.1"))
    assert (finding.status, finding.detail, finding.blocking) == (doctor.OK, "2.0.1", False)


def test_missing_optional_package_is_a_note_naming_who_needs_it():
    finding = doctor.package_finding("nbval", Requirement("nbval>=0.11"), _versions(), "teachers")
    assert finding.status == doctor.NOTE and not finding.blocking
    assert "teachers" in finding.detail and finding.fix == f'{PY} -m pip install "nbval>=0.11"'


def test_old_python_is_blocking():
    finding = doctor.python_finding(Requirement("python>=3.10"), version="3.9.18")
    assert finding.status == doctor.OLD and "3.9.18; the course needs >=3.10" in finding.detail


def test_widgets_extension_missing_when_jupyterlab_cannot_see_it(tmp_path: Path):
    finding = doctor.widgets_extension_finding(_versions(jupyterlab_widgets="3.0.9"), [tmp_path])
    assert finding.status == doctor.MISSING and "cannot see" in finding.detail
    assert "restart JupyterLab" in finding.fix


def test_widgets_extension_ok_when_its_package_json_is_on_the_path(tmp_path: Path):
    ext = tmp_path / doctor.WIDGETS_EXTENSION
    ext.mkdir(parents=True)
    (ext / "package.json").write_text("{}")
    finding = doctor.widgets_extension_finding(_versions(jupyterlab_widgets="3.0.9"), [tmp_path])
    assert finding.status == doctor.OK and str(tmp_path) in finding.detail


def test_missing_torch_blocks_because_lesson_09_needs_it_and_the_fix_is_lesson_09s():
    (finding,) = doctor.torch_findings(Requirement("torch>=2.3"), _versions(), import_torch=False)
    assert finding.status == doctor.MISSING and finding.blocking
    assert "lesson 09 needs it" in finding.detail
    assert finding.fix.startswith(install_command("torch"))  # what require("torch") prints


def test_every_install_command_names_this_python_never_a_bare_pip(tmp_path: Path):
    findings = [
        doctor.course_finding(_versions()),
        doctor.package_finding("numpy", Requirement("numpy>=1.24"), _versions()),
        doctor.widgets_extension_finding(_versions(), [tmp_path]),
        *doctor.torch_findings(Requirement("torch>=2.3"), _versions(), import_torch=False),
    ]
    for finding in findings:
        assert f"{PY} -m pip install" in finding.fix, finding
        assert not re.search(r"(?<!-m )\bpip3? install", finding.fix), finding


def _fake_torch(cuda_devices: list[str], cuda_version: str | None, mps: bool = False):
    cuda = SimpleNamespace(
        is_available=lambda: bool(cuda_devices),
        device_count=lambda: len(cuda_devices),
        get_device_name=lambda i: cuda_devices[i],
    )
    backends = SimpleNamespace(mps=SimpleNamespace(is_available=lambda: mps))
    return SimpleNamespace(cuda=cuda, backends=backends, version=SimpleNamespace(cuda=cuda_version))


def test_cuda_gpu_is_named():
    finding = doctor.device_finding(_fake_torch(["NVIDIA H100 80GB HBM3"], "12.8"))
    assert (finding.status, finding.detail) == (doctor.OK, "CUDA 12.8: NVIDIA H100 80GB HBM3")


def test_cpu_build_of_torch_says_lesson_09_runs_on_the_cpu():
    finding = doctor.device_finding(_fake_torch([], None))
    assert finding.status == doctor.NOTE and "CPU build" in finding.detail
    assert "lesson 09 runs on the CPU" in finding.detail


def test_cuda_build_without_a_visible_gpu_says_so():
    finding = doctor.device_finding(_fake_torch([], "12.8"))
    assert "built for CUDA 12.8 but sees no GPU" in finding.detail


def test_apple_mps_counts_as_a_gpu():
    assert doctor.device_finding(_fake_torch([], None, mps=True)).detail == "Apple MPS"


def test_report_ends_with_what_to_fix_when_something_blocks():
    findings = [
        doctor.Finding("numpy", doctor.OK, "2.0.1"),
        doctor.Finding("matplotlib", doctor.MISSING, "not installed", 'pip install "matplotlib"'),
    ]
    text = doctor.report(findings)
    assert 'fix: pip install "matplotlib"' in text
    assert text.endswith("Not ready: fix matplotlib (the commands are above).")


def test_course_doctor_reports_every_piece_and_exits_0_here(capsys):
    assert doctor.run(SimpleNamespace(no_torch=True)) == 0
    out = capsys.readouterr().out
    for name in (
        "Python",
        "course",
        "numpy",
        "matplotlib",
        "ipywidgets",
        "jupyterlab",
        "ipykernel",
        "widgets extension",
        "torch",
        "GPU",
        "nbval",
    ):
        assert f" {name} " in out, name
    assert out.rstrip().endswith("Ready: everything the lessons need is installed.")


def test_course_doctor_says_not_ready_and_exits_1_without_torch(monkeypatch, capsys):
    real = doctor.metadata.version

    def without_torch(name: str) -> str:
        if name == "torch":
            raise doctor.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(doctor.metadata, "version", without_torch)
    assert doctor.run(SimpleNamespace(no_torch=True)) == 1
    out = capsys.readouterr().out
    assert f"fix: {install_command('torch')}" in out
    assert out.rstrip().endswith("Not ready: fix torch (the commands are above).")
