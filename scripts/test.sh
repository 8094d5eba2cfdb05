#!/usr/bin/env bash
# Set up ./.venv with the course, its test tools and a CPU build of torch, then run every test:
# ruff, the library's pytest suite, nbval over solutions/ and the JupyterLab browser tests (which
# run every lesson in lessons/; without Chromium nbval runs lessons/ instead).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Pinned CPU build of torch first, so the torch extra finds it satisfied (no multi-GB CUDA build).
# A browser for the JupyterLab tests (Debian's Chromium), installed while pip works; they skip,
# saying why, without one.
BROWSER_JOB=
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) &
  BROWSER_JOB=$!
fi

quiet "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
quiet "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[torch,test,dev,teach]"
"$VENV/bin/python" -c "import course, torch, nbval, hypothesis, nbgrader" # fail early if the install did not take
if [ -n "$BROWSER_JOB" ]; then
  wait "$BROWSER_JOB" || echo "could not install chromium: the browser tests will skip"
fi

# With a browser, tests/test_browser.py runs every notebook in lessons/ in JupyterLab (Run All,
# no error output), so nbval runs only solutions/ (where it also compares the stored outputs).
ARGS=()
if command -v chromium >/dev/null 2>&1; then
  ARGS+=(-o "testpaths=tests solutions")
fi

"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "${ARGS[@]}" "$@"
