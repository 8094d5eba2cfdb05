"""Rerun a solution notebook's timing cells many times while two busy loops load both cores, and
report how many runs their asserts passed.

    PYTHONPATH=. python benchmarks/timing_under_load.py solutions/02_*.ipynb [runs]

The whole notebook runs once (no load); then every cell that measures a time (its source calls
one of ``TIMED``), followed by the next cell (which may assert on the measurement), reruns
``runs`` times (20 by default) from the namespace it first ran in, while two
``python -c "while True: pass"`` processes run; they are ended here by their pid.
``benchmarks/lesson08_timing_under_load.py`` uses :func:`rerun_under_load` for lesson 08 and
also prints the range of each ratio it asserts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

TIMED = ("timeit(", "measure_costs(", "best_time(", "pass_times(", "finite_difference_cost(",
         "min_times(", "step_seconds(")


def rerun_under_load(notebook: Path, runs: int = 20,
                     timed_calls=TIMED) -> tuple[list[dict], list[str], float]:
    """Run ``notebook``'s code cells once, then its timing cells (and the cell after each)
    ``runs`` times under two busy loops. Returns (one namespace per run holding what its
    timing cells set, the assert failures as 'run k, cell j: message', seconds under load)."""
    cells = [c.source for c in nbformat.read(notebook, as_version=4).cells
             if c.cell_type == "code"]
    timed = [i for i, src in enumerate(cells) if any(t in src for t in timed_calls)]
    ns: dict = {}
    before: dict[int, dict] = {}
    for i, src in enumerate(cells):
        if i in timed:
            before[i] = dict(ns)
        exec(compile(src, f"cell {i}", "exec"), ns)
        plt.close("all")
    print(f"{notebook.name}: timing cells {timed} (code-cell indices), each with the cell after it")
    results, failures = [], []
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    start = time.perf_counter()
    try:
        for run in range(runs):
            result = dict(ns)
            for i in timed:
                g = dict(before[i])
                for j in sorted({i, min(i + 1, len(cells) - 1)}):
                    try:
                        exec(compile(cells[j], f"cell {j}", "exec"), g)
                    except AssertionError as error:
                        failures.append(f"run {run + 1}, cell {j}: {error}")
                    plt.close("all")
                result.update({k: v for k, v in g.items()
                               if k not in before[i] or before[i][k] is not v})
            results.append(result)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    return results, failures, time.perf_counter() - start


def main(notebook: Path, runs: int = 20) -> int:
    _, failures, seconds = rerun_under_load(notebook, runs)
    print(f"{runs} runs under two busy loops in {seconds:.0f} s; assert failures: {len(failures)}")
    for f in failures:
        print("  ", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20))
