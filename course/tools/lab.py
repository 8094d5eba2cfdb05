"""``course lab``: open JupyterLab on the course, starting at lesson 00."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST = "00_welcome.ipynb"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--folder",
        choices=["lessons", "solutions"],
        default="lessons",
        help="which notebooks to open (default: lessons, the exercises left open)",
    )
    parser.add_argument("--port", type=int, help="port for the server (default: JupyterLab's)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the command instead of running it"
    )


def command(folder: str, port: int | None = None) -> list[str]:
    """The JupyterLab command line that opens ``folder``'s first lesson."""
    root = ROOT / folder
    if not root.is_dir():
        raise FileNotFoundError(
            f"no {folder}/ folder next to the course package (looked in {root}); "
            "run `course lab` from a clone of the repository"
        )
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}"]
    first = root / FIRST
    if first.exists():
        cmd.append(str(first))  # an absolute path: JupyterLab reads a relative one from the cwd
    if port:
        cmd.append(f"--port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root; JupyterLab refuses otherwise
    return cmd


def run(args) -> int:
    cmd = command(args.folder, args.port)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    return subprocess.call(cmd)
