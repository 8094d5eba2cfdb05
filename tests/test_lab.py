"""`course lab` really starts JupyterLab on lessons/, from any working directory."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from course.tools.lab import FIRST, command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_opens_the_first_lesson_by_absolute_path():
    cmd = command("lessons", 8888)
    assert cmd[-2 if cmd[-1] == "--allow-root" else -1] == "--port=8888"
    assert any(arg.endswith(f"lessons/{FIRST}") and arg.startswith("/") for arg in cmd)


def test_course_lab_serves_the_lessons_from_another_directory(tmp_path):
    pytest.importorskip("jupyterlab")
    port = _free_port()
    cmd = [sys.executable, "-m", "course", "lab", "--port", str(port)]
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        token = None
        for _ in range(120):
            text = log.read_text()
            assert "No such file or directory" not in text, text
            match = re.search(r"token=([0-9a-f]+)", text)
            if match and "is running at" in text:
                token = match.group(1)
                break
            assert proc.poll() is None, text
            time.sleep(0.5)
        assert token, log.read_text()
        url = f"http://127.0.0.1:{port}/api/contents/{FIRST}?content=0&token={token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.load(response)["name"] == FIRST
    finally:
        proc.terminate()
        proc.wait(timeout=20)
