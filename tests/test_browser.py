"""A learner's view: JupyterLab in headless Chromium runs a lesson, and a slider redraws its figure.

The test serves a temporary copy of lessons/ (JupyterLab autosaves outputs into the files it
opens) from JupyterLab on 127.0.0.1 with a token, opens NOTEBOOK in Debian's Chromium driven by
Playwright, runs every cell, presses ArrowRight on the first slider inside WIDGET and checks
that the slider's readout and the pixels of the figure beside it both changed, that the views
computed after the first redraw (the explorer's training run) arrive too, and that no cell
shows an error. A screenshot of the slider and its figure is saved under artifacts/ whether the
test passes or not. It skips only when no Chromium is installed (scripts/test.sh installs it
as root).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
# The lesson and the widget (a CSS selector; the first match) holding the slider and figure:
# lesson 06's gradient explorer, the box course.explore.Explorer marks with the class
# "course-explorer" (its controls, learning-rate slider first, beside an image and a status line).
NOTEBOOK = "06_vanishing_exploding_gradients.ipynb"
WIDGET = ".course-explorer"
# Text a widget shows on failure: a traceback in an Output widget; course.explore's status line.
WIDGET_ERROR_TEXT = ["Traceback", "cannot compute"]
# Text the widget's status line shows while the rest of its figure is still being computed.
WIDGET_BUSY_TEXT = "training..."
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")  # Debian's package
SCREENSHOT = ROOT / "artifacts" / f"browser_{Path(NOTEBOOK).stem}.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 60
RUN_ALL_MS = 120_000
REDRAW_MS = 30_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"no browser: {CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does "
    "this when run as root)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _isolated_jupyter(home: Path) -> dict[str, str]:
    """Environment for a server that reads no user config and runs this interpreter's kernel."""
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        env[var] = str(home / sub)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    _write_json(home / "data" / "kernels" / "python3" / "kernel.json", kernel)
    _write_json(
        home
        / "settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    return env


def _server_command(root: Path, home: Path, port: int, token: str) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    return cmd + (["--allow-root"] if os.geteuid() == 0 else [])


def _api(base: str, token: str, path: str, method: str = "GET") -> int:
    request = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def _wait_until_up(server: subprocess.Popen, base: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}:\n{log.read_text()}")
        try:
            if _api(base, token, "/api/status") == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen, base: str, token: str) -> None:
    """Shut the server down through its API (which stops its kernels); kill it if that fails."""
    try:
        _api(base, token, "/api/shutdown", method="POST")
        server.wait(timeout=15)
    except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture
def lab(tmp_path: Path):
    """JupyterLab serving a copy of lessons/; yields (base URL, token)."""
    root, home = tmp_path / "course", tmp_path / "jupyter"
    shutil.copytree(ROOT / "lessons", root / "lessons")
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "jupyterlab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            _server_command(root, home, port, token),
            env=_isolated_jupyter(home),
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(server, base, token, log)
        yield base, token
    finally:
        _stop(server, base, token)


RUN_ALL = """async () => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    await panel.sessionContext.session.kernel.info;
    return await app.commands.execute('notebook:run-all-cells');
}"""

NOTEBOOK_OPEN = """(path) => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return !!(panel && panel.context && panel.context.path === path && panel.sessionContext);
}"""

CELL_ERRORS = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const errors = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        const tags = cell.getMetadata('tags') || [];
        if (tags.includes('raises-exception')) continue;
        for (const out of cell.outputs.toJSON()) {
            if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
        }
    }
    return errors;
}"""


def _run_all_cells(page: Page) -> None:
    page.wait_for_function(NOTEBOOK_OPEN, arg=f"lessons/{NOTEBOOK}")
    page.evaluate(RUN_ALL)


WIDGET_ERRORS = """([widget, markers]) => {
    const box = document.querySelector(widget);
    const text = box ? box.innerText : '';
    return markers.some(m => text.includes(m)) ? [text] : [];
}"""

SETTLED = """([widget, busy]) => {
    const box = document.querySelector(widget);
    return !!box && !box.innerText.includes(busy);
}"""

REDRAWN_OR_FAILED = """([widget, before, markers]) => {
    const box = document.querySelector(widget);
    const img = box && box.querySelector('img');
    const failed = !!box && markers.some(m => box.innerText.includes(m));
    return failed || (!!img && img.src !== before);
}"""


def _shown_errors(page: Page) -> list[str]:
    """Errors in the notebook's cell outputs, and the widget's text if it shows one."""
    return page.evaluate(CELL_ERRORS) + page.evaluate(WIDGET_ERRORS, [WIDGET, WIDGET_ERROR_TEXT])


def _assert_no_errors(page: Page, when: str) -> None:
    errors = _shown_errors(page)
    assert not errors, f"errors shown {when}:\n" + "\n\n".join(errors)


def test_slider_in_jupyterlab_redraws_its_figure(lab, tmp_path: Path):
    base, token = lab
    SCREENSHOT.parent.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.set_default_timeout(RUN_ALL_MS)
        widget = page.locator(WIDGET).first
        try:
            page.goto(f"{base}/lab/tree/lessons/{NOTEBOOK}?token={token}")
            _run_all_cells(page)
            _assert_no_errors(page, "after running all cells")

            image, readout = widget.locator("img").first, widget.locator(".widget-readout").first
            src_before, readout_before = image.get_attribute("src"), readout.inner_text()
            pixels_before = image.screenshot()
            widget.locator(".noUi-handle").first.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                REDRAWN_OR_FAILED, arg=[WIDGET, src_before, WIDGET_ERROR_TEXT], timeout=REDRAW_MS
            )
            _assert_no_errors(page, "after moving the slider")
            assert readout.inner_text() != readout_before
            assert image.screenshot() != pixels_before, "the figure's pixels did not change"
            page.wait_for_function(SETTLED, arg=[WIDGET, WIDGET_BUSY_TEXT], timeout=REDRAW_MS)
            _assert_no_errors(page, "after the figure was completed")
        finally:
            if widget.count():
                widget.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT))
            browser.close()
