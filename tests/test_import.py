import json
import subprocess
import sys

PROBE = """
import json, sys
import course
alone = sorted(m for m in sys.modules if m.startswith("course.") or m in ("numpy", "torch"))
import course.autodiff, course.neuron, course.gradcheck, course.graph
import course.twolayer, course.data, course.layers, course.mlp, course.losses, course.optim
heavy = [m for m in ("torch", "matplotlib") if m in sys.modules]
print(json.dumps({"alone": alone, "heavy": heavy}))
"""


def _probe():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_course_scalar_and_numpy_modules_loads_neither_torch_nor_matplotlib():
    assert _probe()["heavy"] == []


def test_import_course_alone_loads_no_submodule_and_not_numpy():
    """The package is import-light: each concept loads where it is used."""
    assert _probe()["alone"] == []
