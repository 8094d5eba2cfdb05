#!/usr/bin/env bash
# Set up ./.venv-test, an environment of the tests' own (the course, a CPU build of torch, and the
# test and teacher tools: pytest, nbval, hypothesis, Playwright, nbgrader, ruff), then run every
# test: ruff, the library's pytest suite, nbval over solutions/ and the JupyterLab browser tests
# (which run every lesson in lessons/; without Chromium nbval runs lessons/ instead). The
# learner's .venv (scripts/lab.sh) is left alone, so its JupyterLab never shows nbgrader.
#
#   bash scripts/test.sh                # everything
#   bash scripts/test.sh -m "not slow"  # any argument goes to pytest: here the fast loop
#   VENV=path bash scripts/test.sh      # another environment (made if absent)
#
# The install runs again only when pyproject.toml, this script, the clone's folder or the
# environment's Python changed. Run as root on Debian or Ubuntu, it also installs Chromium
# with apt for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-test}
PY="$VENV/bin/python"
STAMP="$VENV/.backprop-course-test-installed"
FIGURES=artifacts/browser_figures.json
quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

[ -x "$PY" ] || python3 -m venv "$VENV"
state=$("$PY" - <<'HASH'
import hashlib, os, sys
h = hashlib.sha256()
for name in ("pyproject.toml", "scripts/test.sh"):
    with open(name, "rb") as f:
        h.update(f.read())
h.update(os.getcwd().encode() + sys.version.encode())
print(h.hexdigest())
HASH
)

# -I: look only in the environment itself (not in this folder or PYTHONPATH).
ready() {
  [ -x "$VENV/bin/ruff" ] && "$PY" -I -c 'import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in (
    "course", "torch", "pytest", "nbval", "hypothesis", "playwright", "nbgrader")))'
}

if [ "$(cat "$STAMP" 2>/dev/null)" != "$state" ] || ! ready; then
  rm -f "$STAMP"
  # A browser for the JupyterLab tests (Debian's Chromium), installed while pip works; they
  # skip, saying why, without one.
  BROWSER_JOB=
  if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
      && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
      >/dev/null) &
    BROWSER_JOB=$!
  fi
  # Pinned CPU build of torch first, so the torch extra finds it satisfied (no multi-GB CUDA build).
  quiet "$PY" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  quiet "$PY" -m pip install --quiet --disable-pip-version-check -e ".[torch,test,dev,teach]"
  ready || { echo "The install did not take: see the messages above." >&2; exit 1; }
  if [ -n "$BROWSER_JOB" ]; then
    wait "$BROWSER_JOB" || echo "could not install chromium: the browser tests will skip"
  fi
  echo "$state" > "$STAMP"
fi

# With a browser, tests/test_browser.py runs every notebook in lessons/ in JupyterLab (Run All,
# no error output), so nbval runs only solutions/ (where it also compares the stored outputs).
ARGS=()
if command -v chromium >/dev/null 2>&1; then
  ARGS+=(-o "testpaths=tests solutions")
fi

"$VENV/bin/ruff" check .
rm -f "$FIGURES"
status=0
"$PY" -m pytest "${ARGS[@]}" "$@" || status=$?
# The browser tests' figures (Run All per lesson, key press to image), seen without -s.
"$PY" tests/browser_figures.py "$FIGURES"
exit "$status"
