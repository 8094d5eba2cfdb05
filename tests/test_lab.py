"""`course lab` and `scripts/lab.sh`: one URL that opens lesson 00, and nothing left running.

The slow tests start real JupyterLab servers: `course lab` from another directory, and the
README's first command (`bash scripts/lab.sh --no-browser --port P`) in a fresh `git clone`
of this repository. The clone gets its own virtual environment layered on this interpreter's
packages (a .pth file), so lab.sh installs only the course itself into it, not torch and
JupyterLab again; each test stops its server and checks that the port is closed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from course.requires import INSTALL
from course.tools import lab
from course.tools.lab import FIRST

ROOT = Path(__file__).resolve().parent.parent
START_S = 120  # a JupyterLab start on a loaded 2-core machine
INSTALL_S = 300  # lab.sh's first run in the clone: a venv and the course's editable install


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _lab_parser() -> argparse.ArgumentParser:
    """A `course`-style parser with `lab` as its one subcommand."""
    parser = argparse.ArgumentParser(prog="course")
    sub = parser.add_subparsers(dest="command")
    lab.add_arguments(sub.add_parser("lab"))
    return parser


def test_arguments_course_lab_does_not_know_go_to_jupyterlab_in_order():
    args = _lab_parser().parse_args(
        ["lab", "--no-browser", "--port", "8890", "--folder", "solutions", "--ip=0.0.0.0", "--d"]
    )
    assert args.folder == "solutions" and not args.dry_run
    assert args.jupyterlab_args == ["--no-browser", "--port", "8890", "--ip=0.0.0.0", "--d"]
    assert _lab_parser().parse_args(["lab"]).jupyterlab_args == []


def test_the_command_serves_lessons_and_opens_lesson_00_with_the_learners_options_last():
    cmd = lab.command("lessons", ["--no-browser", "--ip", "0.0.0.0"])
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={ROOT / 'lessons'}" in cmd
    assert f"--LabApp.default_url=/lab/tree/{FIRST}" in cmd
    assert cmd.index("--ServerApp.ip=127.0.0.1") < cmd.index("--ip")  # the learner's ip wins
    assert cmd[-3:] == ["--no-browser", "--ip", "0.0.0.0"]


def test_a_missing_folder_is_refused_with_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setattr(lab, "ROOT", tmp_path)
    with pytest.raises(FileNotFoundError, match="no lessons/ folder next to the course package"):
        lab.command("lessons")


def test_settings_turn_the_news_pop_up_off_and_are_written_once(tmp_path):
    path = lab.settings_path(tmp_path)
    assert path == tmp_path / "share/jupyter/lab/settings/overrides.d/backprop-course.json"
    assert lab.write_settings(path)
    settings = json.loads(path.read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    before = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert lab.write_settings(path) and path.stat().st_mtime_ns == before


def test_settings_that_cannot_be_written_are_skipped(tmp_path):
    (tmp_path / "file").write_text("")
    assert not lab.write_settings(tmp_path / "file" / "overrides.d" / "x.json")


def _wait_for_url(proc: subprocess.Popen, log: Path, port: int, timeout: float) -> str:
    """The lesson URL the server prints, once it is up; fails with the log otherwise."""
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/lab/tree/{re.escape(FIRST)}\?token=\w+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        match = pattern.search(text)
        if match and "is running at" in text:
            return match.group(0)
        assert proc.poll() is None, f"exited with {proc.returncode}:\n{text}"
        time.sleep(0.5)
    pytest.fail(f"no lesson URL within {timeout} s:\n{log.read_text(errors='replace')}")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def _stop(proc: subprocess.Popen, port: int) -> None:
    """SIGTERM to the command we started, as a terminal or a test runner does; then no server."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("the server ignored SIGTERM for 30 s")
    assert not _listening(port), f"a server is still listening on port {port}"


def _assert_serves_lesson_00(url: str, lessons: Path) -> None:
    """The printed URL answers, and its server's files are ``lessons``, lesson 00 first."""
    base, token = url.split("/lab/tree/")[0], url.split("token=")[1]
    assert _get(url)[0] == 200
    status, body = _get(f"{base}/api/contents/{FIRST}?token={token}")
    notebook = json.loads(body)
    assert notebook["type"] == "notebook"
    on_disk = json.loads((lessons / FIRST).read_text())
    assert [c["id"] for c in notebook["content"]["cells"]] == [c["id"] for c in on_disk["cells"]]
    _, body = _get(
        f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}"
    )
    assert json.loads(body)["schema"]["properties"]["fetchNews"]["default"] == "false"


def _lab_env(tmp_path: Path) -> dict[str, str]:
    """This environment, with Jupyter's runtime files (server info, kernels) under tmp_path."""
    return dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))


def test_course_lab_prints_one_url_that_opens_lesson_00_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    log = tmp_path / "lab.log"
    cmd = [sys.executable, "-m", "course", "lab", "--no-browser", "--port", str(port)]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=tmp_path,
            env=_lab_env(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = _wait_for_url(proc, log, port, START_S)
        _assert_serves_lesson_00(url, ROOT / "lessons")
        text = log.read_text()
        assert set(re.findall(r"https?://\S+", text)) == {url}, text  # one URL, nothing else
        # course lab became the server (exec): the server's info file carries this very pid.
        info = json.loads((tmp_path / "runtime" / f"jpserver-{proc.pid}.json").read_text())
        assert info["port"] == port
    finally:
        _stop(proc, port)


def _layered_venv(path: Path) -> Path:
    """A virtual environment that also sees this interpreter's packages (torch, JupyterLab).

    Made without pip (this interpreter's pip is visible through the .pth file), so lab.sh's
    install finds every dependency satisfied and installs only the course from the clone.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "zz_course_base.pth").write_text("\n".join(sorted(ours)) + "\n")
    # JupyterLab's own files (its page, the widgets extension) lie under the prefix, not in
    # site-packages: the new environment shares ours.
    (path / "share").mkdir(exist_ok=True)
    (path / "share" / "jupyter").symlink_to(Path(sys.prefix, "share", "jupyter"))
    return python


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_readme_first_command_in_a_fresh_clone_serves_lesson_00_and_leaves_nothing(tmp_path):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True).returncode:
        pytest.skip(f"{ROOT} is not a git repository, so it cannot be cloned")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = tmp_path / "venv"
    _layered_venv(venv)
    env = _lab_env(tmp_path)
    env["VENV"] = str(venv)
    env.pop("PYTHONPATH", None)  # the clone's own course, as a learner has it
    port = _free_port()
    log = tmp_path / "lab.log"
    # README: `bash scripts/lab.sh`, with the options for a machine without a browser.
    cmd = ["bash", "scripts/lab.sh", "--no-browser", "--port", str(port)]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    start = time.monotonic()
    try:
        url = _wait_for_url(proc, log, port, INSTALL_S)
        print(
            f"\nlab.sh's first run in a fresh clone: lesson 00 served after "
            f"{time.monotonic() - start:.1f} s at {url.split('?')[0]}?token=..."
        )
        _assert_serves_lesson_00(url, clone / "lessons")
        info = json.loads((tmp_path / "runtime" / f"jpserver-{proc.pid}.json").read_text())
        assert Path(info["root_dir"]) == clone / "lessons"
    finally:
        _stop(proc, port)

    # A second run finds nothing changed: no install, straight to JupyterLab (here a dry run).
    start = time.monotonic()
    again = subprocess.run(
        ["bash", "scripts/lab.sh", "--dry-run"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_S,
    )
    seconds = time.monotonic() - start
    assert again.returncode == 0, again.stderr
    assert "Installing" not in again.stdout and "jupyterlab" in again.stdout
    print(f"lab.sh's second run (nothing changed) reached JupyterLab's command in {seconds:.1f} s")

    # The README's next command, as written (its .venv here is VENV): the setup is ready.
    doctor = subprocess.run(
        [str(venv / "bin" / "course"), "doctor", "--no-torch"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_S,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"({clone})" in doctor.stdout  # the clone's course, installed by lab.sh
    assert doctor.stdout.rstrip().endswith("Ready: everything the lessons need is installed.")


def test_lab_sh_installs_the_torch_that_ci_binder_and_lesson_09s_message_name():
    def pin(path: str) -> str:
        match = re.search(r"torch==([\w.]+)", (ROOT / path).read_text())
        assert match, f"{path} pins no torch==X"
        return match.group(1).split("+")[0]

    assert pin("scripts/lab.sh") == pin("scripts/test.sh") == pin("binder/requirements.txt")
    assert INSTALL["torch"] == f"torch=={pin('scripts/lab.sh')}"


def test_the_tests_tools_go_to_an_environment_of_their_own_not_the_learners_lab():
    """lab.sh's .venv gets the course and the torch extra only (no nbgrader menus in the lab);
    test.sh's .venv-test gets the test and teacher tools; CI runs the README's test command."""

    def default_venv(script: str) -> str:
        match = re.search(r"^VENV=\$\{VENV:-([^}]+)\}$", (ROOT / script).read_text(), re.M)
        assert match, f"{script} sets no default VENV"
        return match.group(1)

    def extras(script: str) -> set[str]:
        found = re.findall(r'-e "\.\[([\w,]+)\]"', (ROOT / script).read_text())
        assert len(found) == 1, f"{script} should install the course once, with its extras"
        return set(found[0].split(","))

    assert default_venv("scripts/lab.sh") == ".venv"
    assert default_venv("scripts/test.sh") == ".venv-test"
    assert extras("scripts/lab.sh") == {"torch"}
    assert extras("scripts/test.sh") == {"torch", "test", "dev", "teach"}
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".venv/" in ignored and ".venv-test/" in ignored
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^bash scripts/\w+\.sh", readme, re.M)
    assert commands[:2] == ["bash scripts/lab.sh", "bash scripts/test.sh"]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "scripts/" in line]
    assert ci and all(line.startswith("bash scripts/test.sh") for line in ci)
