"""Lesson 09 on a CUDA GPU, checked and written down: ``bash scripts/gpu-check.sh [REPORT]``.

It runs, with the Python it is started with (``python`` from PATH, or ``$PYTHON``; no virtual
environment needed, the repository root is put on ``PYTHONPATH``):

1. nbval over ``solutions/09_scaling_with_pytorch.ipynb`` (strict: stored outputs compared), on
   CUDA because the lesson picks the GPU when torch sees one;
2. ``benchmarks/torch_gpu.py`` (step times and crossover, the course MLP's backward on CUDA
   against torch.autograd, peak memory with and without checkpointing, ``.item()`` syncs, TF32,
   torch.compile);

and writes a short Markdown report: the device, the versions, pass/fail per notebook cell and
the benchmark's figures, to REPORT (the first argument, else ``$GPU_CHECK_REPORT``, else
``artifacts/gpu-check.md``). Without a CUDA GPU it says so in the report and exits 0; with one it
exits 1 when a cell or the benchmark failed.

Only the standard library and torch are imported here; nbval, nbclient and ipykernel must be
importable by the same Python (STACK-NOTES: "Running lesson 09 on a GPU machine").
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSON = "solutions/09_scaling_with_pytorch.ipynb"
BENCHMARK = "benchmarks/torch_gpu.py"
DEFAULT_REPORT = "artifacts/gpu-check.md"


def report_path(argv: list[str], environ=os.environ) -> Path:
    """The first argument, else $GPU_CHECK_REPORT, else artifacts/gpu-check.md (from the root)."""
    chosen = argv[0] if argv else environ.get("GPU_CHECK_REPORT") or DEFAULT_REPORT
    path = Path(chosen)
    return path if path.is_absolute() else Path.cwd() / path


def device_lines() -> tuple[bool, list[str]]:
    """(whether torch sees a CUDA GPU, lines naming the device and the versions)."""
    lines = [f"- Python {platform.python_version()} ({sys.executable})"]
    try:
        import torch
    except ImportError:
        return False, lines + ["- torch: not installed"]
    lines.append(f"- torch {torch.__version__}, CUDA build {torch.version.cuda}")
    for name in ("numpy", "nbval", "nbclient", "ipykernel"):
        lines.append(f"- {name} {_version(name)}")
    if not torch.cuda.is_available():
        return False, lines + ["- device: CPU only (torch sees no CUDA GPU)"]
    props = torch.cuda.get_device_properties(0)
    lines.append(f"- device: {props.name}, compute capability {props.major}.{props.minor}, "
                 f"{props.total_memory / 2**30:.0f} GiB, {torch.cuda.device_count()} GPU(s)")
    lines.append(f"- cuDNN {torch.backends.cudnn.version()}, {os.cpu_count()} CPU cores")
    return True, lines


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cell_results(junit_xml: Path) -> list[tuple[str, str]]:
    """(test name, 'pass' | 'FAIL' | 'skip') per notebook cell, from pytest's JUnit XML."""
    if not junit_xml.exists():
        return []
    results = []
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        outcome = "pass"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "FAIL"
        elif case.find("skipped") is not None:
            outcome = "skip"
        results.append((case.get("name", "?"), outcome))
    return results


def compose(device: list[str], cells: list[tuple[str, str]], nbval_rc: int | None,
            bench: str, bench_rc: int | None, seconds: dict) -> str:
    """The Markdown report."""
    out = ["# Lesson 09 GPU check", "", f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
           , "", "## Device and versions", "", *device, ""]
    if nbval_rc is None:
        out += ["## Result", "", "No CUDA GPU is visible to torch here, so nothing was run: "
                "the GPU check needs a machine with an NVIDIA GPU and a CUDA build of torch. "
                "(On the CPU, CI runs the same notebook under nbval.)", ""]
        return "\n".join(out)
    failed = [name for name, outcome in cells if outcome == "FAIL"]
    out += ["## nbval over " + LESSON, "",
            f"{len(cells) - len(failed)} of {len(cells)} cells pass"
            + (f"; failed: {', '.join(failed)}" if failed else "")
            + f" (pytest exit status {nbval_rc}, {seconds.get('nbval', 0):.0f} s).", "",
            "| cell | result |", "|---|---|", *(f"| {n} | {o} |" for n, o in cells), ""]
    out += [f"## {BENCHMARK} (exit status {bench_rc}, {seconds.get('bench', 0):.0f} s)", "",
            "```", bench.rstrip(), "```", ""]
    return "\n".join(out)


def _run(command: list[str], log: Path, env: dict) -> tuple[int, float]:
    started = time.perf_counter()
    with open(log, "w") as handle:
        rc = subprocess.call(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env)
    return rc, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    report = report_path(argv)
    report.parent.mkdir(parents=True, exist_ok=True)
    cuda, device = device_lines()
    if not cuda:
        report.write_text(compose(device, [], None, "", None, {}))
        print(f"no CUDA GPU visible to torch: nothing to check (report: {report})")
        return 0
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    work = report.parent
    junit = work / "gpu-check-nbval.xml"
    nbval_rc, nbval_s = _run([sys.executable, "-m", "pytest", LESSON, "-p", "no:randomly",
                              "-q", f"--junitxml={junit}"], work / "gpu-check-nbval.log", env)
    bench_log = work / "gpu-check-benchmark.log"
    bench_rc, bench_s = _run([sys.executable, BENCHMARK], bench_log, env)
    text = compose(device, cell_results(junit), nbval_rc, bench_log.read_text(), bench_rc,
                   {"nbval": nbval_s, "bench": bench_s})
    report.write_text(text)
    print(text)
    print(f"(report: {report}; nbval log: {work / 'gpu-check-nbval.log'})")
    return 0 if nbval_rc == 0 and bench_rc == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
