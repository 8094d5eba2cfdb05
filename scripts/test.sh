#!/usr/bin/env bash
# Set up ./.venv with the course, its test tools and a CPU build of torch, then run every test:
# ruff, the library's pytest suite, the browser test and nbval over lessons/ and solutions/.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Pinned CPU build of torch first, so the torch extra finds it satisfied (no multi-GB CUDA build).
quiet "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
quiet "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[torch,test,dev]"
"$VENV/bin/python" -c "import course, torch, nbval, hypothesis" # fail early if the install did not take

# A browser for the JupyterLab widget test (Debian's Chromium); the test skips, saying why, without one.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: the browser test will skip"
fi

"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "$@"
