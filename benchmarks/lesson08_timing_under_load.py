"""Run lesson 08's timing cells 20 times while two busy loops load both cores, and report the
range of every ratio the notebook asserts and how many runs its asserts passed.

    PYTHONPATH=. python benchmarks/lesson08_timing_under_load.py [runs]

The busy loops are ``python -c "while True: pass"``, started and ended by
``benchmarks/timing_under_load.py`` (:func:`rerun_under_load`): the setup cells run once; the
cells that measure and the cells that assert on the measurements run ``runs`` times.
"""

from __future__ import annotations

import sys
from pathlib import Path

from timing_under_load import rerun_under_load

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
    results, failures, seconds = rerun_under_load(NOTEBOOK, runs, TIMED)
    print(f"{runs} runs under two busy loops in {seconds:.0f} s")
    for name, get in RECORDED.items():
        values = [float(get(r)) for r in results]
        print(f"{name:50} min {min(values):8.3f}  max {max(values):8.3f}")
    print(f"assert failures: {len(failures)}")
    for f in failures:
        print("  ", f)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
