import sys

import pytest

from course.requires import MissingPackage, install_command, require


def test_require_passes_silently_for_an_installed_package():
    assert require("numpy") is None


def test_require_names_the_missing_package_and_this_pythons_install_command():
    with pytest.raises(MissingPackage) as info:
        require("numpy", "surely_not_a_package_xyz")
    text = str(info.value)
    assert "surely_not_a_package_xyz" in text
    assert f"{sys.executable} -m pip install surely_not_a_package_xyz" in text


def test_missing_package_renders_without_a_traceback_in_ipython():
    err = MissingPackage("torch", install_command("torch"))
    lines = err._render_traceback_()
    assert lines[0].startswith("This lesson needs PyTorch")
    assert not any("Traceback" in line for line in lines)
    assert "torch==2.13.0" in install_command("torch")
