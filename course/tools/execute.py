"""``course execute``: run notebooks in place with this interpreter's kernel and store them clean.

Used by lesson authors to store executed solutions: outputs are kept (nbval compares them),
volatile metadata (execution timing, widget state, random widget model ids) is dropped, cell ids
are kept (or made stable) and the file is written with the same deterministic bytes as
``course release``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course.tools.release import KERNELSPEC, dumps
from course.tools.runner import run_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def normalise(nb) -> nbformat.NotebookNode:
    """Drop volatile metadata in place: timings, widget state, widget views; stable cell ids."""
    meta = nb.metadata
    nb.metadata = nbformat.NotebookNode({
        "kernelspec": dict(meta.get("kernelspec") or KERNELSPEC),
        "language_info": {"name": "python"},
        **({"course": meta["course"]} if "course" in meta else {}),
    })
    for i, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{i}")
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def failed_checks(nb) -> list[str]:
    """'NN.M: status' for each check recorded in ``nb``'s outputs that did not pass."""
    from course.checks.core import RECORD_MIME

    records = [o["data"][RECORD_MIME] for c in nb.cells for o in c.get("outputs", [])
               if RECORD_MIME in o.get("data", {})]
    return [f"{r['id']}: {r['status']}" for r in records if r["status"] != "passed"]


def execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell of the notebook at ``path`` in its own folder; returns the executed copy.

    A cell that raises stops the run with nbclient's CellExecutionError (cells tagged
    ``raises-exception`` may raise).
    """
    nb = nbformat.read(path, as_version=4)
    run_notebook(nb, Path(path).resolve().parent, timeout)
    return nb


def add_arguments(parser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")


def run(args) -> int:
    from nbclient.exceptions import CellExecutionError

    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"course execute: {path} is not a notebook file (.ipynb)", file=sys.stderr)
            return 2
        try:
            nb = execute(path, timeout=args.timeout)
        except CellExecutionError as exc:
            print(f"course execute: {path}: a cell raised; nothing written\n{exc}", file=sys.stderr)
            return 1
        failed = failed_checks(nb)
        if failed:
            print(f"course execute: {path}: checks did not pass ({', '.join(failed)}); "
                  "nothing written", file=sys.stderr)
            return 1
        path.write_text(dumps(normalise(nb)), encoding="utf-8")
        print(f"executed {path}")
    return 0
