"""Run lesson 08's timing cells 20 times while two busy loops load both cores, and report the
range of every ratio the notebook asserts and how many runs its asserts passed.

    PYTHONPATH=. python benchmarks/lesson08_timing_under_load.py [runs]

The busy loops are ``python -c "while True: pass"``, started here and ended here by their pid.
The setup cells run once; the cells that measure and the cells that assert on the measurements
run ``runs`` times (20 by default) in the same namespace.
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

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "08_what_backprop_costs.ipynb"
TIMED = ("pass_times(", "finite_difference_cost(", "min_times(")
RECORDED = {
    "backward / forward, width 512": lambda ns: ns["backward_ratio"][-1],
    "step / forward, width 512": lambda ns: ns["step_ratio"][-1],
    "finite differences: slope of log ratio": lambda ns: ns["slope"],
    "finite differences / backprop, 3332 parameters": lambda ns: ns["measured"][-1]["ratio"],
    "one extra forward pass predicts": lambda ns: ns["extra_forward"],
    "checkpointed / plain at k = 14": lambda ns: ns["slowdown"][ns["k_theory"]],
    "checkpointed at k = 1 / at k = 14":
        lambda ns: ns["slowdown"][1] / ns["slowdown"][ns["k_theory"]],
}


def main(runs: int = 20) -> None:
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
             if c.cell_type == "code"]
    timed = [i for i, src in enumerate(cells) if any(t in src for t in TIMED)]
    ns: dict = {}
    before: dict[int, dict] = {}
    for i, src in enumerate(cells):             # the whole notebook once, in order
        if i in timed:
            before[i] = dict(ns)
        exec(compile(src, f"cell {i}", "exec"), ns)
        plt.close("all")
    values: dict[str, list[float]] = {name: [] for name in RECORDED}
    failures: list[str] = []
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    start = time.perf_counter()
    try:
        for run in range(runs):
            results: dict = dict(ns)
            for i in timed:                     # each measuring cell and the cell asserting on it
                g = dict(before[i])
                for j in (i, i + 1):
                    try:
                        exec(compile(cells[j], f"cell {j}", "exec"), g)
                    except AssertionError as error:
                        failures.append(f"run {run + 1}, cell {j}: {error}")
                    plt.close("all")
                results.update({k: v for k, v in g.items()
                                if k not in before[i] or before[i][k] is not v})
            for name, get in RECORDED.items():
                values[name].append(float(get(results)))
    finally:
        for p in busy:
            p.kill()
            p.wait()
    print(f"{runs} runs under two busy loops in {time.perf_counter() - start:.0f} s")
    for name, v in values.items():
        print(f"{name:50} min {min(v):8.3f}  max {max(v):8.3f}")
    print(f"assert failures: {len(failures)}")
    for f in failures:
        print("  ", f)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
