#!/usr/bin/env bash
# Lesson 09 on a CUDA GPU: nbval over solutions/09 and benchmarks/torch_gpu.py, written down.
#
#   bash scripts/gpu-check.sh [REPORT]     # default: $GPU_CHECK_REPORT, else artifacts/gpu-check.md
#
# Uses `python` from PATH (or $PYTHON); no virtual environment is needed: the repository root goes
# on PYTHONPATH, and a machine whose Python lacks the notebook stack can carry it there (see
# course/tools/gpu_check.py). Without a CUDA GPU it says so and exits 0.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
if [ -n "${1:-}" ]; then
  case "$1" in /*) ;; *) set -- "$PWD/$1" ;; esac
fi
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m course.tools.gpu_check "$@"
