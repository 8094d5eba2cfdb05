#!/usr/bin/env bash
# Set up ./.venv with everything every lesson needs (the course, JupyterLab, widgets, torch) and
# open JupyterLab on lesson 00. It prints one URL, with its token, that opens lesson 00.
#
#   bash scripts/lab.sh                          # install (first run only), then open a browser
#   bash scripts/lab.sh --no-browser --port 8890 # any argument goes to JupyterLab
#   VENV=~/venvs/course bash scripts/lab.sh      # another virtual environment (made if absent)
#
# The install runs again only when pyproject.toml, this script, the clone's folder or the
# environment's Python changed, or the course, torch or JupyterLab cannot be found in it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
STAMP="$VENV/.backprop-course-installed"
quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

[ -x "$PY" ] || python3 -m venv "$VENV"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "The course needs Python 3.10 or newer; $PY is $("$PY" --version 2>&1)." >&2
  echo "Install a newer Python (python.org), then: rm -r $VENV && bash scripts/lab.sh" >&2
  exit 1
}

# What the install depends on, as one hash: the stamp holds it after an install that worked.
state=$("$PY" - <<'HASH'
import hashlib, os, sys
h = hashlib.sha256()
for name in ("pyproject.toml", "scripts/lab.sh"):
    with open(name, "rb") as f:
        h.update(f.read())
h.update(os.getcwd().encode() + sys.version.encode())
print(h.hexdigest())
HASH
)
# -I: look only in the environment itself (not in this folder or PYTHONPATH).
installed() {
  "$PY" -I -c 'import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ("course", "torch", "jupyterlab", "ipywidgets")))'
}

if [ "$(cat "$STAMP" 2>/dev/null)" != "$state" ] || ! installed; then
  echo "Installing the course and what its lessons need into $VENV (about a minute, once)..."
  rm -f "$STAMP"
  # The pinned torch build CI tests first, so the torch extra finds it satisfied.
  quiet "$PY" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  quiet "$PY" -m pip install --quiet --disable-pip-version-check -e ".[torch]"
  installed || { echo "The install did not take: see the messages above." >&2; exit 1; }
  echo "$state" > "$STAMP"
fi

exec "$PY" -m course lab "$@"
