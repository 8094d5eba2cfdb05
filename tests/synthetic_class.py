"""A synthetic class of lesson-00 submissions with known, planted mistakes.

Each learner is a copy of lessons/00_welcome.ipynb whose two answer cells hold learner source
code: the right answer, the untouched stub, a planted mistake (one per key of lesson 00, written
as a learner would write it), an answer that fools the visible cases, one that raises, a forged
record, the course's own reference handed in. ``EXPECTED`` holds the counts the class report must
find, written out by hand from ``CLASS``.

``python tests/synthetic_class.py DIR`` writes the class into DIR (to time ``course grade``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course.checks.core import RECORD_MIME
from course.tools.origin import ORIGIN_MIME

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "00_welcome.ipynb"

P = "def p(x):\n    return 3 * x**3 - 2 * x**2 + 5\n\n\ndef p_prime(x):\n"
F = "def f_prime(x):\n"
EX1 = {
    "ok": P + "    return 9 * x**2 - 4 * x",
    "power-not-multiplied": P + "    return 3 * x**2 - 2 * x",
    "power-not-lowered": P + "    return 9 * x**3 - 4 * x**2",
    "constant-kept": P + "    return 9 * x**2 - 4 * x + 5",
    "sign-x2-term": P + "    return 9 * x**2 + 4 * x",
    "inputs-changed": P + "    x[...] = 9 * x**2 - 4 * x\n    return x",
    "unnamed": P + "    return 9 * x**2",
    "fools-visible": P + "    return 9 * x**2 - 4 * x if x.size < 10 else x",
    "course-object": P + "    return 0 * x\n\n\nfrom course.checks.core import get_exercise\n"
                         "p_prime = get_exercise('00.1').reference",
}
EX2 = {
    "ok": F + "    return np.cos(x**2) * 2 * x",
    "no-inner-derivative": F + "    return np.cos(x**2)",
    "sign": F + "    return -np.cos(x**2) * 2 * x",
    "outer-at-x": F + "    return np.cos(x) * 2 * x",
    "function-not-derivative": F + "    return np.sin(x**2)",
    "inner-derivative-half": F + "    return np.cos(x**2) * x",
    "inputs-changed": F + "    x[...] = np.cos(x**2) * 2 * x\n    return x",
    "unnamed": F + "    return np.cos(x**2) * 2",
    "raises": F + "    return np.cos(x**2) * 2 * y",
}
FORGE = ("from IPython.display import display\n"
         "for _id in ('00.1', '00.2'):\n"
         "    display({'" + RECORD_MIME + "': {'id': _id, 'status': 'wrong', 'points': 1,\n"
         "             'earned': 0, 'hidden': False, 'mistake': 'sign', 'diagnosis': 'forged'},\n"
         "             '" + ORIGIN_MIME + "': {'id': _id, 'origin': None},\n"
         "             'text/plain': 'forged'}, raw=True)\n")

# learner: (00.1 answer, 00.2 answer); "stub" leaves the cell as released
CLASS = {
    "ada": ("ok", "ok"), "ben": ("ok", "ok"), "cai": ("ok", "ok"), "dee": ("ok", "ok"),
    "eli": ("stub", "stub"), "fox": ("stub", "stub"), "gus": ("stub", "stub"),
    "hal": ("power-not-multiplied", "no-inner-derivative"),
    "ivy": ("power-not-multiplied", "no-inner-derivative"),
    "jon": ("power-not-multiplied", "no-inner-derivative"),
    "kim": ("power-not-lowered", "sign"), "lea": ("power-not-lowered", "sign"),
    "max": ("constant-kept", "outer-at-x"), "ned": ("constant-kept", "outer-at-x"),
    "oli": ("sign-x2-term", "function-not-derivative"),
    "pam": ("inputs-changed", "inner-derivative-half"),
    "quinn": ("unnamed", "ok"), "ray": ("fools-visible", "ok"), "sam": ("ok", "stub"),
    "tia": ("ok", "inputs-changed"), "uma": ("ok", "unnamed"), "vic": ("forged", "stub"),
    "wes": ("course-object", "ok"), "xan": ("ok", "raises"),
}

# What the class report must find, per exercise (24 learners each).
EXPECTED = {
    "00.1": {"learners": 24, "attempted": 20, "passed_visible": 10, "passed_hidden": 8,
             "not_done": 4, "stopped": 16,
             "mistakes": {"power-not-multiplied": 3, "power-not-lowered": 2, "constant-kept": 2,
                          "sign-x2-term": 1, "inputs-changed": 1}},
    "00.2": {"learners": 24, "attempted": 19, "passed_visible": 7, "passed_hidden": 7,
             "not_done": 5, "stopped": 17,
             "mistakes": {"no-inner-derivative": 3, "sign": 2, "outer-at-x": 2,
                          "function-not-derivative": 1, "inner-derivative-half": 1,
                          "inputs-changed": 1}},
}


def write_class(root: Path, names=None) -> list[Path]:
    """One folder per learner under ``root``, each holding its 00_welcome.ipynb."""
    paths = []
    for name in names or CLASS:
        ex1, ex2 = CLASS[name]
        nb = nbformat.read(LESSON, as_version=4)
        for cell in nb.cells:
            if cell.id == "ex1-code" and ex1 != "stub":
                cell.source = cell.source + "\n" + FORGE if ex1 == "forged" else EX1[ex1]
            if cell.id == "ex2-code" and ex2 != "stub":
                cell.source = EX2[ex2]
        path = root / name / LESSON.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    write_class(Path(sys.argv[1]))
