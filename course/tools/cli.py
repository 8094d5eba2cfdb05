"""The ``course`` command. Each subcommand lives in the module named for its concept.

A module listed in COMMANDS provides ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "lab": ("course.tools.lab", "open JupyterLab on the course"),
    "doctor": ("course.tools.doctor", "check this machine's setup and say what is missing"),
    "release": ("course.tools.release",
                "stamp nbgrader metadata on solutions/ and make lessons/ (exercises open)"),
    "execute": ("course.tools.execute", "run notebooks in place and store their outputs clean"),
    "grade": ("course.tools.grade",
              "grade submitted notebooks: scores (CSV, JSON), class report, feedback pages"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="The backprop course.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
