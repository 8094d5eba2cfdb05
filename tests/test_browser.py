"""A learner's view: every lesson runs in JupyterLab, and its sliders redraw their figures live.

One JupyterLab server (127.0.0.1, a token, no user config) serves a temporary copy of lessons/
(JupyterLab autosaves outputs into the files it opens) to one headless Chromium driven by
Playwright. Each lesson is opened in a fresh kernel and run with "Run All" exactly as a learner
does, exercises open: every code cell must have run, and no cell (nor any widget output inside
it) may show an error. This checks what nbval's run of lessons/ checks (every cell runs without
an error), in the browser, plus the widgets' own outputs.

For the lessons with sliders (LATENCY), the test then presses an arrow key on the first slider
(the `interact` one if any) and measures, in the page, the time from the key press to a new
first image in that cell's output (decoded and painted); it prints the median and p95. The
bound asserted is loose (the machine may be busy): the figures printed are the result. Each
lesson's Run All time and its slider's latency are also written to
artifacts/browser_figures.json (tests/browser_figures.py), which scripts/test.sh prints.

Skips, saying why, when Chromium or Playwright is missing (scripts/test.sh installs both).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_figures import record

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
LATENCY = ("00", "01", "06")  # lessons whose first slider's latency is measured
PRESSES = 10  # key presses measured per slider
SANE_MEDIAN_MS = 5_000  # a loose bound: far above a live slider, far below a broken one
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")  # Debian's package
ARTIFACTS = ROOT / "artifacts"
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
RUN_ALL_S = 600  # one lesson's "Run All" on a loaded 2-core machine (nbval: 180 s per cell)
REDRAW_S = 60
SETTLE_MS = 250  # a slider has settled: kernel idle and its output unchanged this long
UI_MS = 60_000

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None,
        reason="no Playwright: pip install playwright (the course's test extra has it)",
    ),
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"no browser: {CHROMIUM} is missing (apt-get install chromium; scripts/test.sh "
        "does this when run as root)",
    ),
]


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of lessons/ at its root; yields (base URL, token)."""
    tmp = tmp_path_factory.mktemp("lab")
    root, home = tmp / "lessons", tmp / "jupyter"
    shutil.copytree(ROOT / "lessons", root)
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = tmp / "jupyterlab.log"
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


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    """One Chromium page with JupyterLab loaded (an empty workspace)."""
    base, token = lab
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.set_default_timeout(UI_MS)
        page.goto(f"{base}/lab?reset&token={token}")
        page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)")
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        try:
            yield page
        finally:
            browser.close()


OPEN_AND_RUN_ALL = """async ([path, timeoutMs]) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    app.shell.activateById(panel.id);
    await panel.context.ready;
    await panel.sessionContext.ready;
    await panel.sessionContext.session.kernel.info;
    const start = performance.now();
    const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
    const ran = await Promise.race([app.commands.execute('notebook:run-all-cells'), timeout]);
    return {seconds: (performance.now() - start) / 1000, timedOut: ran === 'timeout'};
}"""

# Code cells that did not run, error outputs in the notebook's cells, and tracebacks shown inside
# them (widget outputs live in the widgets, not in the cells' outputs). Cells tagged
# raises-exception are meant to raise, as for nbval.
PROBLEMS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const problems = [];
    panel.content.widgets.forEach((cell, i) => {
        if (cell.model.type !== 'code') return;
        if ((cell.model.getMetadata('tags') || []).includes('raises-exception')) return;
        if (cell.model.sharedModel.getSource().trim() && cell.model.executionCount === null) {
            problems.push(`cell ${i} did not run`);
        }
        for (const out of cell.model.outputs.toJSON()) {
            if (out.output_type === 'error') {
                problems.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
            }
        }
        for (const el of cell.node.querySelectorAll('.jp-OutputArea-output')) {
            if (el.innerText.includes('Traceback (most recent call last)')) {
                problems.push(`cell ${i} shows a traceback:\\n${el.innerText.slice(0, 1500)}`);
            }
        }
    });
    return problems;
}"""

CLOSE_CURRENT = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.sessionContext.shutdown();
    panel.context.model.dirty = false;
    panel.dispose();
}"""

# The first slider's handle in the current notebook (an `interact` slider first), its cell's
# output area (kept as window.__area) and how far it can move each way.
FIND_SLIDER = """() => {
    const nb = window.jupyterapp.shell.currentWidget.node;
    const handle = nb.querySelector('.widget-interact .noUi-handle') ||
        nb.querySelector('.noUi-handle');
    if (!handle) return null;
    handle.setAttribute('data-latency-probe', 'handle');
    const slider = handle.closest('.widget-slider');
    const readout = slider && slider.querySelector('.widget-readout');
    if (readout) readout.setAttribute('data-latency-probe', 'readout');
    window.__area = handle.closest('.jp-Cell').querySelector('.jp-Cell-outputArea');
    const [now, lo, hi] = ['aria-valuenow', 'aria-valuemin', 'aria-valuemax'].map(
        a => parseFloat(handle.getAttribute(a)));
    return {now, lo, hi, image: !!window.__area.querySelector('img')};
}"""

# Arm a probe: the time from the next keydown to a new first image in the area, decoded and
# painted (the next animation frame), in ms.
ARM = """() => {
    const area = window.__area;
    const before = area.querySelector('img');
    const beforeSrc = before ? before.src : null;
    let t0 = null;
    const onKey = () => { if (t0 === null) t0 = performance.now(); };
    document.addEventListener('keydown', onKey, true);
    window.__probe = new Promise(resolve => {
        let done = false;
        const check = async () => {
            const img = area.querySelector('img');
            if (done || t0 === null || !img || !img.src) return;
            if (img === before && img.src === beforeSrc) return;
            done = true;
            obs.disconnect();
            try { await img.decode(); } catch (e) {}
            await new Promise(r => requestAnimationFrame(() => r()));
            document.removeEventListener('keydown', onKey, true);
            resolve(performance.now() - t0);
        };
        const obs = new MutationObserver(check);
        obs.observe(area, {subtree: true, childList: true, attributes: true,
                           attributeFilter: ['src']});
    });
}"""

AWAIT_PROBE = """async (timeoutMs) => Promise.race([
    window.__probe, new Promise(r => setTimeout(() => r(null), timeoutMs))])"""

# Settled: the kernel idle and nothing in the area changed for quietMs (streamed views done).
SETTLE = """async ([quietMs, maxMs]) => {
    const area = window.__area;
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    let last = performance.now();
    const obs = new MutationObserver(() => { last = performance.now(); });
    obs.observe(area, {subtree: true, childList: true, attributes: true, characterData: true});
    const start = performance.now();
    while (performance.now() - start < maxMs) {
        if (kernel.status === 'idle' && performance.now() - last >= quietMs) break;
        await new Promise(r => setTimeout(r, 50));
    }
    obs.disconnect();
}"""


def _run_lesson(page, name: str) -> float:
    """Open lesson ``name`` in a fresh kernel, run all its cells; the seconds it took."""
    result = page.evaluate(OPEN_AND_RUN_ALL, [name, RUN_ALL_S * 1000])
    assert not result["timedOut"], f"{name}: Run All still running after {RUN_ALL_S} s"
    return result["seconds"]


def _problems(page, name: str) -> list[str]:
    page.wait_for_timeout(300)  # widget views render after their cell finished
    return [f"{name}: {p}" for p in page.evaluate(PROBLEMS)]


ACTIVATE = """(path) => {
    const app = window.jupyterapp;
    for (const w of app.shell.widgets('main')) {
        if (w.context && w.context.path === path) { app.shell.activateById(w.id); return true; }
    }
    return false;
}"""


@pytest.mark.parametrize("name", LESSONS)
def test_run_all_in_jupyterlab_runs_every_cell_without_an_error(page, name):
    seconds = _run_lesson(page, name)
    keep_open = False
    try:
        problems = _problems(page, name)
        assert not problems, "\n\n".join(problems)
        print(f"\n{name}: Run All {seconds:.1f} s")
        record(name, run_all_s=seconds)
        keep_open = name[:2] in LATENCY  # its slider is measured next, in this kernel
    finally:
        if not keep_open:
            page.evaluate(CLOSE_CURRENT)


@pytest.mark.parametrize("number", LATENCY)
def test_slider_key_press_to_new_image_is_live(page, number):
    (name,) = [n for n in LESSONS if n.startswith(f"{number}_")]
    try:
        if not page.evaluate(ACTIVATE, name):  # not left open by the Run All test
            _run_lesson(page, name)
        _measure_slider(page, name)
    finally:
        page.evaluate(CLOSE_CURRENT)


def _measure_slider(page, name: str) -> None:
    """Press an arrow key PRESSES times on the first slider; print median/p95 to a new image."""
    slider = page.evaluate(FIND_SLIDER)
    assert slider, f"{name}: no slider in the lesson"
    handle = page.locator("[data-latency-probe=handle]").first
    readout = page.locator("[data-latency-probe=readout]")

    def value() -> str:  # the readout's text, more precise than the handle's aria value
        return (
            readout.first.inner_text() if readout.count() else handle.get_attribute("aria-valuenow")
        )

    handle.scroll_into_view_if_needed()
    page.wait_for_function("() => !!window.__area.querySelector('img')", timeout=REDRAW_S * 1000)
    page.evaluate(SETTLE, [SETTLE_MS, REDRAW_S * 1000])
    key = (
        "ArrowRight"
        if slider["hi"] - slider["now"] >= slider["now"] - slider["lo"]
        else "ArrowLeft"
    )
    handle.focus()
    times = []
    for _ in range(PRESSES):
        before = value()
        page.evaluate(ARM)
        page.keyboard.press(key)
        ms = page.evaluate(AWAIT_PROBE, REDRAW_S * 1000)
        assert value() != before, f"{name}: the slider did not move from {before}"
        assert ms is not None, f"{name}: no new image {REDRAW_S} s after the key press"
        times.append(ms)
        page.evaluate(SETTLE, [SETTLE_MS, REDRAW_S * 1000])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser_{Path(name).stem}.png"))
    problems = _problems(page, name)
    assert not problems, "after moving the slider:\n" + "\n\n".join(problems)
    median = statistics.median(times)
    p95 = sorted(times)[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"{name}: key press to new image over {len(times)} presses: median {median:.0f} ms, "
        f"p95 {p95:.0f} ms, max {max(times):.0f} ms"
    )
    record(name, median_ms=median, p95_ms=p95, max_ms=max(times), presses=len(times))
    assert median < SANE_MEDIAN_MS, f"{name}: median {median:.0f} ms from key press to image"
