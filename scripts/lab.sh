#!/usr/bin/env bash
# Set up the course in ./.venv (first run only) and open JupyterLab on lesson 00.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e . 2> >(grep -v "is ignored: it is neither" >&2)
exec "$VENV/bin/course" lab "$@"
