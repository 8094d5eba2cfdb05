"""``course lab``: open JupyterLab on the course, starting at lesson 00.

Arguments ``course lab`` does not know go to JupyterLab as they are (``course lab --no-browser
--port 8890 --ip 0.0.0.0``). JupyterLab prints one URL, with its token, that opens lesson 00,
whether or not it opened a browser; its "Jupyter news" pop-up is off. The process becomes
JupyterLab (exec), so a signal sent to ``course lab`` reaches the server itself and stopping it
leaves nothing running.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST = "00_welcome.ipynb"
# JupyterLab reads default settings from overrides.d/*.json in its app settings folder.
SETTINGS_FILE = "backprop-course.json"
SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}


def add_arguments(parser) -> None:
    parser.add_argument(
        "--folder",
        choices=["lessons", "solutions"],
        default="lessons",
        help="which notebooks to open (default: lessons, the exercises left open)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the command instead of running it"
    )
    parser.allow_abbrev = False  # "--d" must not become --dry-run: it may be meant for JupyterLab
    parser.epilog = "Any other argument goes to JupyterLab, e.g. --no-browser --port 8890."
    _pass_unknown_arguments_to_jupyterlab(parser)


def _pass_unknown_arguments_to_jupyterlab(parser) -> None:
    """Make ``parser`` keep the arguments it does not know, in order, as ``jupyterlab_args``."""
    parse_known_args = parser.parse_known_args

    def keep_unknown(args=None, namespace=None):
        namespace, unknown = parse_known_args(args, namespace)
        namespace.jupyterlab_args = list(getattr(namespace, "jupyterlab_args", [])) + unknown
        return namespace, []

    parser.parse_known_args = keep_unknown


def command(folder: str = "lessons", jupyterlab_args: Sequence[str] = ()) -> list[str]:
    """The JupyterLab command line that serves ``folder`` and opens its first lesson.

    The options here come first, so the same options in ``jupyterlab_args`` win.
    """
    root = ROOT / folder
    if not root.is_dir():
        raise FileNotFoundError(
            f"no {folder}/ folder next to the course package (looked in {root}); "
            "run `course lab` from a clone of the repository"
        )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",  # one address, so the log prints one URL (not two)
    ]
    if (root / FIRST).exists():
        cmd.append(f"--LabApp.default_url=/lab/tree/{FIRST}")  # that URL opens the first lesson
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root; JupyterLab refuses otherwise
    return cmd + list(jupyterlab_args)


def settings_path(prefix: str | Path = sys.prefix) -> Path:
    """Where this environment's JupyterLab reads the course's default settings."""
    app_dir = os.environ.get("JUPYTERLAB_DIR") or Path(prefix, "share", "jupyter", "lab")
    return Path(app_dir, "settings", "overrides.d", SETTINGS_FILE)


def write_settings(path: Path) -> bool:
    """Write the course's JupyterLab defaults (no news pop-up) unless already there.

    Returns False when the folder cannot be written (a system-wide JupyterLab): JupyterLab then
    runs with its own defaults.
    """
    text = json.dumps(SETTINGS, indent=2) + "\n"
    try:
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    except OSError:
        return False
    return True


def run(args) -> int:
    cmd = command(args.folder, args.jupyterlab_args)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    write_settings(settings_path())
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(cmd[0], cmd)
    return 1  # not reached: execv replaces this process or raises
