import json
import subprocess
import sys

PROBE = """
import json, sys, time
t = time.perf_counter()
import course
elapsed = time.perf_counter() - t
import course.autodiff, course.neuron, course.gradcheck, course.graph
import course.twolayer, course.data, course.layers, course.mlp, course.losses, course.optim
heavy = [m for m in ("torch", "matplotlib") if m in sys.modules]
print(json.dumps({"elapsed": elapsed, "heavy": heavy}))
"""


def _probe():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_course_scalar_and_numpy_modules_loads_neither_torch_nor_matplotlib():
    assert _probe()["heavy"] == []


def test_import_course_takes_under_half_a_second():
    assert _probe()["elapsed"] < 0.5
