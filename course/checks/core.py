"""Exercise checks: instant feedback for learners, machine-readable results for grading.

Defining a lesson's exercises (in ``course/checks/lessonNN.py``, one module per lesson)::

    import numpy as np

from course.backend import is_torch, to_numpy
    from course.checks.core import Exercise

    def _sigmoid_prime(z):
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)

    def _cases():                                   # smallest first
        rng = np.random.default_rng(0)
        return [(np.array([0.0]),), (rng.normal(size=5),)]

    EXERCISES = [
        Exercise(
            id="01.1",
            title="derivative of the sigmoid",
            points=2,
            reference=_sigmoid_prime,      # a function, or a value for value answers
            cases=_cases,                  # argument tuples, or a callable returning them
            mistakes={                     # diagnosis -> planted mistake (same signature)
                "used the activation instead of its derivative": lambda z: 1 / (1 + np.exp(-z)),
                "wrong sign": lambda z: -_sigmoid_prime(z),
                "forgot the outer sigmoid: z * (1 - z)": lambda z: z * (1 - z),
            },
        ),
    ]

Using one in a notebook (the cell after the exercise)::

    from course.checks import check
    sigmoid_prime = check("01.1", sigmoid_prime)

The visible ``check`` never raises into the notebook. It shows one verdict: passed; not done yet
(the stub raised NotImplementedError, or a value answer is still ``...``); raised (type, message
and the line of the learner's code); returned None / the wrong shape / the wrong dtype; or wrong,
naming the planted mistake the answer matches and the smallest failing input. It returns the
learner's answer when it passed and the reference otherwise, so later cells always run.

A hidden test (``check(id, hidden=True)``) raises AssertionError when it does not pass.

A verdict displays as coloured HTML in a notebook and plain text in a terminal, and carries a
machine-readable record ``{"id", "status", "points", "earned", "hidden"}`` (and the grader's
``"nonce"``) under the MIME type ``RECORD_MIME`` in the display data, which ``course grade``
reads from an executed notebook.
Planted mistakes must return values (not raise) and must differ from the reference and from
each other on at least one case; ``tests/test_exercises.py`` proves every mistake is diagnosed
as itself.
"""

from __future__ import annotations

import ast
import copy
import html
import importlib
import inspect
import os
import pkgutil
import re
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course.backend import is_torch, to_numpy

RECORD_MIME = "application/vnd.backprop-course.check+json"
ID_PATTERN = re.compile(r"^(\d\d)\.(\d+)$")
NO_MATCH = "does not match any common mistake"
FALLBACK = "Using the reference implementation for now."

PASSED, NOT_DONE, RAISED, WRONG = "passed", "not done", "raised", "wrong"
RETURNED_NONE, WRONG_SHAPE, WRONG_DTYPE = "returned None", "wrong shape", "wrong dtype"
STATUSES = (PASSED, NOT_DONE, RAISED, WRONG, RETURNED_NONE, WRONG_SHAPE, WRONG_DTYPE)


@dataclass(frozen=True)
class Exercise:
    """One exercise: what the right answer is and which mistakes to recognise.

    ``reference`` is a function (kind "function": called on every case) or a value (kind
    "value": the learner's value is compared with it). ``cases`` (function kind only) is a
    list of argument tuples, or a callable returning one, smallest first. ``mistakes`` maps a
    diagnosis to a planted mistake: a function with the reference's signature, or a value.
    ``compare(got, expected) -> bool`` replaces the default comparison (same structure, shape
    and dtype kind, values within ``rtol``/``atol``). ``hidden_cases`` are used by hidden tests.
    ``torch=True`` (an exercise about torch) rejects answers holding NumPy arrays.
    ``fallback=(value, words)``: what ``check`` returns until the answer passes, and the line
    saying so, in place of the reference (for an answer the learner must find, such as a
    diagnosis, which handing over would give away).
    """

    id: str
    title: str
    points: int
    reference: Any
    cases: Any = None
    mistakes: Mapping[str, Any] = field(default_factory=dict)
    compare: Callable[[Any, Any], bool] | None = None
    hidden_cases: Any = None
    rtol: float = 1e-6
    atol: float = 1e-9
    torch: bool = False
    fallback: tuple | None = None

    def __post_init__(self):
        if not ID_PATTERN.match(self.id):
            raise ValueError(f"Exercise id must look like 'NN.M' (e.g. '01.2'), got {self.id!r}")
        if self.kind == "function" and self.cases is None:
            raise ValueError(f"Exercise {self.id}: a function reference needs cases")

    @property
    def kind(self) -> str:
        """"function" when the reference is callable, else "value"."""
        return "function" if callable(self.reference) else "value"

    def case_list(self, hidden: bool = False) -> list[tuple]:
        """The argument tuples to call the answer with (hidden ones when asked and defined)."""
        cases = self.hidden_cases if hidden and self.hidden_cases is not None else self.cases
        cases = cases() if callable(cases) else cases
        return [c if isinstance(c, tuple) else (c,) for c in cases]


# ---------------------------------------------------------------- registry


def lesson_modules() -> list[str]:
    """Names of the existing ``course.checks.lessonNN`` modules, in lesson order."""
    import course.checks as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__)
             if re.fullmatch(r"lesson\d\d", m.name)]
    return [f"course.checks.{n}" for n in sorted(names)]


def lesson_exercises(lesson: str) -> list[Exercise]:
    """The exercises of lesson ``"NN"`` (empty when that lesson defines none)."""
    name = f"course.checks.lesson{lesson}"
    if name not in lesson_modules():
        return []
    return list(importlib.import_module(name).EXERCISES)


def all_exercises() -> list[Exercise]:
    """Every registered exercise of every lesson module that exists."""
    return [ex for mod in lesson_modules() for ex in importlib.import_module(mod).EXERCISES]


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise with this id, loaded from ``course.checks.lessonNN`` by its prefix."""
    match = ID_PATTERN.match(str(exercise_id))
    if not match:
        raise ValueError(f"exercise id must look like 'NN.M' (e.g. '01.2'), got {exercise_id!r}")
    for ex in lesson_exercises(match.group(1)):
        if ex.id == exercise_id:
            return ex
    raise KeyError(f"no exercise {exercise_id!r} in course.checks.lesson{match.group(1)}")


# ---------------------------------------------------------------- comparison


def _to_numpy(x):
    """Torch tensors to numpy (course.backend.to_numpy); a tensor on torch's "meta" device (shape
    and dtype, no values) to a description of it; everything else unchanged."""
    if is_torch(x) and getattr(x, "is_meta", False):
        return f"tensor(shape={tuple(x.shape)}, dtype={x.dtype}, device='meta')"
    return to_numpy(x) if is_torch(x) else x


def _mismatch(got, expected, rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``expected``; else the status saying how it differs."""
    got, expected = _to_numpy(got), _to_numpy(expected)
    if got is None and expected is not None:
        return RETURNED_NONE
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return WRONG_SHAPE
        for g, e in zip(got, expected):
            status = _mismatch(g, e, rtol, atol)
            if status:
                return status
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping) or set(got) != set(expected):
            return WRONG_SHAPE
        statuses = (_mismatch(got[k], expected[k], rtol, atol) for k in expected)
        return next((s for s in statuses if s), None)
    return _array_mismatch(got, expected, rtol, atol)


def _array_mismatch(got, expected, rtol: float, atol: float) -> str | None:
    got, expected = _to_numpy(got), _to_numpy(expected)
    try:
        g = np.asarray(got)
    except Exception:  # an object numpy cannot read is simply a wrong answer
        return WRONG
    e = np.asarray(expected)
    if g.dtype == object or g.dtype.kind not in "biufc":
        if e.dtype.kind in "biufc":
            return WRONG
        return None if _same_object(got, expected) else WRONG
    if g.shape != e.shape:
        return WRONG_SHAPE
    if isinstance(expected, np.ndarray) and not _dtype_compatible(g.dtype, e.dtype):
        return WRONG_DTYPE
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=False):
        return WRONG
    return None


def _same_object(got, expected) -> bool:
    try:
        return bool(got == expected)
    except Exception:
        return False


def _dtype_compatible(got: np.dtype, expected: np.dtype) -> bool:
    """Same kind (float/int/bool/complex) and, for floats, the same precision."""
    if expected.kind == "f":
        return got == expected
    if expected.kind in "iu":
        return got.kind in "iu"
    return got.kind == expected.kind


# ---------------------------------------------------------------- formatting


def _short(x, limit: int = 160) -> str:
    kind = "tensor" if is_torch(x) and not getattr(x, "is_meta", False) else "array"
    where = f", device='{x.device}'" if kind == "tensor" else ""
    x = _to_numpy(x)
    if isinstance(x, np.ndarray):
        text = np.array2string(x, precision=4, suppress_small=True, threshold=12, edgeitems=2)
        dtype = f"torch.{x.dtype}" if kind == "tensor" else x.dtype
        text = f"{kind}({text}, shape={x.shape}, dtype={dtype}{where})" if x.ndim else text
    elif isinstance(x, (tuple, list)):
        inner = ", ".join(_short(v, limit) for v in x)
        text = f"({inner})" if isinstance(x, tuple) else f"[{inner}]"
    elif isinstance(x, Mapping):
        text = "{" + ", ".join(f"{k} -> {_brief(v)}" for k, v in x.items()) + "}"
        limit = max(limit, len(text))
    elif isinstance(x, float):
        text = f"{x:.6g}"
    else:
        text = repr(x)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _brief(x) -> str:
    """For dict entries: a small array (up to 6 numbers) as its values and shape, a larger one
    as its shape (and dtype), anything else as a short value."""
    x = _to_numpy(x)
    if isinstance(x, np.ndarray) and x.ndim:
        if x.size <= 6 and x.dtype.kind in "biuf":
            values = np.array2string(x, precision=4, suppress_small=True)
            return f"{' '.join(values.split())} (shape {x.shape})"
        return f"array of shape {x.shape} ({x.dtype})"
    return _short(x, 40)


def _format_args(func, args: tuple) -> str:
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        names = []
    names = names + [f"arg{i}" for i in range(len(names), len(args))]
    return ", ".join(f"{n}={_short(a)}" for n, a in zip(names, args))


_LIBRARY_ROOTS = tuple(sorted({
    os.path.abspath(p) + os.sep
    for p in [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    + [sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    if p}))


def _learner_frames(exc: BaseException) -> list:
    """The traceback's frames in the learner's code: not ``course``, numpy or any installed
    package, nor the standard library (innermost last)."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if not filename.startswith(_LIBRARY_ROOTS) and "site-packages" not in filename:
            frames.append(tb)
        tb = tb.tb_next
    return frames


def _learner_line(exc: BaseException) -> str:
    """'line N: <source>' of the innermost frame in the learner's code (never numpy's)."""
    frames = _learner_frames(exc)
    if not frames:
        return ""
    summary = traceback.extract_tb(frames[-1], limit=1)[0]
    return f"line {summary.lineno}: {summary.line}" if summary.line else f"line {summary.lineno}"


def _shape_of(x):
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else None


def _operand(node, frame):
    """The value of a simple operand expression (names, attributes such as ``.T``, constant
    subscripts) in ``frame``; None for anything that could have side effects."""
    for sub in ast.walk(node):
        if not isinstance(sub, (ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.Load,
                                ast.Tuple, ast.Slice, ast.UnaryOp, ast.USub)):
            return None
    try:
        code = compile(ast.Expression(node), "<operand>", "eval")
        return eval(code, dict(frame.f_globals), dict(frame.f_locals))  # noqa: S307
    except Exception:
        return None


def _matmul_hint(exc: BaseException) -> list[str]:
    """For a failed ``a @ b`` in the learner's line: both shapes and which transpose fits."""
    frames = _learner_frames(exc)
    if not frames:
        return []
    tb = frames[-1]
    line = traceback.extract_tb(tb, limit=1)[0].line or ""
    try:
        tree = ast.parse(line.strip().removeprefix("return ").strip() or "0")
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)):
            continue
        a, b = _operand(node.left, tb.tb_frame), _operand(node.right, tb.tb_frame)
        sa, sb = _shape_of(a), _shape_of(b)
        if not sa or not sb or len(sa) < 1 or len(sb) < 1:
            continue
        inner_b = sb[-2] if len(sb) >= 2 else sb[0]
        if sa[-1] == inner_b:
            continue
        left, right = ast.unparse(node.left), ast.unparse(node.right)
        hint = [f"hint: in {left} @ {right}, {left} has shape {sa} and {right} has shape {sb}: "
                f"the last size of the left ({sa[-1]}) must equal the first of the right "
                f"({inner_b})"]
        if len(sb) == 2 and sa[-1] == sb[-1]:
            hint.append(f"{right}.T has shape {sb[::-1]}, which fits: a transpose is probably "
                        "missing")
        elif len(sa) == 2 and sa[0] == inner_b:
            hint.append(f"{left}.T has shape {sa[::-1]}, which fits: a transpose is probably "
                        "missing")
        return hint
    return []


def _shape_hint(got, expected) -> list[str]:
    """A hint for a result whose shape has an extra leading axis: an un-summed gradient."""
    g, e = _shape_of(_to_numpy(got)), _shape_of(_to_numpy(expected))
    if g is None or e is None or g == e:
        return []
    if len(g) == len(e) + 1 and g[1:] == e:
        return [f"hint: your result has shape {g}, one more axis (of size {g[0]}, the batch) "
                f"than the expected {e}: a bias gradient sums delta over the batch "
                "(delta.sum(axis=0)); yours was not summed"]
    if len(g) == len(e) == 2 and g == e[::-1]:
        return [f"hint: your result has shape {g}, the expected one {e} turned around: a "
                "transpose is probably missing or misplaced"]
    return []


_MATMUL_MESSAGES = ("matmul", "cannot be multiplied", "shapes", "not aligned")


# ---------------------------------------------------------------- the verdict


@dataclass
class CheckResult:
    """The verdict of one check: displays itself and carries the grading record."""

    exercise: Exercise
    status: str
    detail: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    hidden: bool = False
    nonce: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def earned(self) -> int:
        return self.exercise.points if self.passed else 0

    @property
    def record(self) -> dict:
        """What the grader reads: id, status, points, earned, hidden (and a diagnosis)."""
        rec = {"id": self.exercise.id, "status": self.status, "points": self.exercise.points,
               "earned": self.earned, "hidden": self.hidden}
        if self.diagnosis:
            rec["diagnosis"] = self.diagnosis
        if self.nonce:
            rec["nonce"] = self.nonce
        return rec

    def headline(self) -> str:
        ex = self.exercise
        tag = " (hidden test)" if self.hidden else ""
        words = {
            PASSED: f"passed, {ex.points}/{ex.points} points",
            NOT_DONE: "not done yet",
            RAISED: "your code raised an exception",
            WRONG: "not right yet",
            RETURNED_NONE: "returned None (is a `return` missing?)",
            WRONG_SHAPE: "returned the wrong shape",
            WRONG_DTYPE: "returned the wrong dtype",
        }[self.status]
        return f"Exercise {ex.id} ({ex.title}){tag}: {words}"

    def lines(self) -> list[str]:
        out = list(self.detail)
        if self.diagnosis:
            out.insert(0, f"Diagnosis: {self.diagnosis}")
        if not self.passed:
            out.append(FALLBACK if self.exercise.fallback is None else self.exercise.fallback[1])
        return out

    def __str__(self) -> str:
        mark = "PASS" if self.passed else ("TODO" if self.status == NOT_DONE else "FAIL")
        return "\n".join([f"[{mark}] {self.headline()}"] + [f"  {line}" for line in self.lines()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {PASSED: "#1a7f37", NOT_DONE: "#9a6700"}.get(self.status, "#cf222e")
        body = "".join(f"<div style='margin-left:1.2em'>{html.escape(line)}</div>"
                       for line in self.lines())
        box = f"border-left:4px solid {colour};padding:2px 8px;font-family:monospace"
        return (f"<div style='{box}'>"
                f"<b style='color:{colour}'>{html.escape(self.headline())}</b>{body}</div>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": str(self), "text/html": self._repr_html_(), RECORD_MIME: self.record}


def evaluate(exercise: Exercise, answer, *, hidden: bool = False) -> CheckResult:
    """Judge ``answer`` against ``exercise`` without displaying anything; never raises."""
    try:
        if exercise.kind == "value":
            return _evaluate_value(exercise, answer, hidden)
        return _evaluate_function(exercise, answer, hidden)
    except Exception as exc:  # a broken comparison must still not crash the lesson
        return CheckResult(exercise, RAISED, [f"checking failed: {type(exc).__name__}: {exc}"],
                           hidden=hidden)


def _plain(x):
    """NumPy scalars (np.float32(0.5), np.int64(3), ...) as the Python numbers they hold."""
    return x.item() if isinstance(x, np.generic) and x.dtype.kind in "biuf" else x


def _matches(exercise: Exercise, got, expected) -> bool:
    if exercise.compare is not None:
        try:
            return bool(exercise.compare(_plain(got), expected))
        except Exception:
            return False
    return _mismatch(got, expected, exercise.rtol, exercise.atol) is None


def _holds_numpy(x) -> bool:
    if isinstance(x, np.ndarray):
        return True
    if isinstance(x, (tuple, list)):
        return any(_holds_numpy(v) for v in x)
    if isinstance(x, Mapping):
        return any(_holds_numpy(v) for v in x.values())
    return False


def _numpy_for_torch(exercise: Exercise, got, hidden: bool) -> CheckResult | None:
    if not (exercise.torch and _holds_numpy(got)):
        return None
    return CheckResult(exercise, WRONG_DTYPE, [f"got: {_short(got)}"],
                       "returned a NumPy array where this torch exercise expects a torch tensor "
                       "(compute with torch operations, or torch.from_numpy(...))", hidden=hidden)


def _evaluate_value(exercise: Exercise, answer, hidden: bool) -> CheckResult:
    if answer is Ellipsis or answer is NotImplemented:
        return CheckResult(exercise, NOT_DONE, ["Replace the `...` with your answer."],
                           hidden=hidden)
    rejected = _numpy_for_torch(exercise, answer, hidden)
    if rejected is not None:
        return rejected
    if _matches(exercise, answer, exercise.reference):
        return CheckResult(exercise, PASSED, hidden=hidden)
    status = _status_of_mismatch(exercise, answer, exercise.reference)
    diagnosis = next(
        (d for d, v in exercise.mistakes.items() if _matches(exercise, answer, v)), None)
    return CheckResult(exercise, WRONG if diagnosis else status, [f"your answer: {_short(answer)}"],
                       diagnosis or (NO_MATCH if status == WRONG else None), hidden=hidden)


def _status_of_mismatch(exercise: Exercise, got, expected) -> str:
    if exercise.compare is not None:
        return RETURNED_NONE if got is None else WRONG
    return _mismatch(got, expected, exercise.rtol, exercise.atol) or WRONG


def _call(func, args: tuple):
    return func(*copy.deepcopy(args))


def _evaluate_function(exercise: Exercise, answer, hidden: bool) -> CheckResult:
    if not callable(answer):
        return CheckResult(exercise, WRONG, [f"expected a function, got {type(answer).__name__}"],
                           hidden=hidden)
    cases = exercise.case_list(hidden)
    outputs = []
    for k, args in enumerate(cases):
        try:
            got = _call(answer, args)
        except NotImplementedError:
            return CheckResult(exercise, NOT_DONE,
                               ["Write your code where it says YOUR CODE HERE."], hidden=hidden)
        except Exception as exc:
            return _raised(exercise, answer, args, exc, hidden)
        rejected = _numpy_for_torch(exercise, got, hidden)
        if rejected is not None:
            return rejected
        outputs.append(got)
        expected = _call(exercise.reference, args)
        if not _matches(exercise, got, expected):
            return _wrong(exercise, answer, cases, outputs, k, expected, hidden)
    return CheckResult(exercise, PASSED, [f"all {len(cases)} test cases agree"], hidden=hidden)


_ARRAY_TO_SCALAR = ("converted to Python scalars", "must be real number, not numpy.ndarray")


def _raised(exercise: Exercise, answer, args: tuple, exc: Exception, hidden: bool) -> CheckResult:
    detail = [f"{type(exc).__name__}: {exc}"]
    where = _learner_line(exc)
    if where:
        detail.append(f"at {where}")
    detail.append(f"input: {_format_args(answer, args)}")
    if isinstance(exc, (ValueError, RuntimeError)) and any(m in str(exc) for m in _MATMUL_MESSAGES):
        detail += _matmul_hint(exc)
    if isinstance(exc, TypeError) and any(s in str(exc) for s in _ARRAY_TO_SCALAR):
        detail.append("hint: an input is a numpy array; use numpy's functions (np.cos, np.exp, "
                      "x**2), not the math module's, which take one number")
    return CheckResult(exercise, RAISED, detail, hidden=hidden)


def _wrong(exercise, answer, cases, outputs, k, expected, hidden) -> CheckResult:
    """The verdict for a mismatch on case ``k``: diagnose with the remaining cases too."""
    outputs = outputs + _rest_outputs(answer, cases[k + 1:])
    diagnosis = _diagnose(exercise, cases[: len(outputs)], outputs)
    status = WRONG if diagnosis else _status_of_mismatch(exercise, outputs[k], expected)
    detail = [
        f"smallest failing input (case {k + 1} of {len(cases)}): {_format_args(answer, cases[k])}"]
    detail += _difference(exercise, outputs[k], expected)
    if not diagnosis and status == WRONG:
        diagnosis = NO_MATCH
    return CheckResult(exercise, status, detail, diagnosis, hidden=hidden)


def _difference(exercise, got, expected) -> list[str]:
    """Expected and got; for a tuple of results, only the first element that differs."""
    if (isinstance(expected, tuple) and isinstance(got, tuple) and len(got) == len(expected)
            and len(expected) > 1):
        for i, (g, e) in enumerate(zip(got, expected)):
            if _array_mismatch(g, e, exercise.rtol, exercise.atol):
                return [f"value [{i}] of the {len(expected)} returned differs",
                        f"expected: {_short(e)}", f"got:      {_short(g)}"] + _shape_hint(g, e)
    return [f"expected: {_short(expected)}", f"got:      {_short(got)}"] + _shape_hint(
        got, expected)


def _rest_outputs(answer, cases: list[tuple]) -> list:
    """The learner's outputs on later cases, stopping at the first that raises."""
    outputs = []
    for args in cases:
        try:
            outputs.append(_call(answer, args))
        except Exception:
            break
    return outputs


def _diagnose(exercise: Exercise, cases: list[tuple], outputs: list) -> str | None:
    """The first planted mistake that reproduces the learner's outputs on every case run."""
    for diagnosis, mistake in exercise.mistakes.items():
        try:
            pairs = zip(cases, outputs)
            if all(_matches(exercise, got, _call(mistake, args)) for args, got in pairs):
                return diagnosis
        except Exception:
            continue
    return None


def _not_submitted(*args):
    raise NotImplementedError("this exercise was never checked")


def _show(result: CheckResult) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(result)
        return
    if get_ipython() is None:
        print(result)
    else:
        display(result)


_SUBMITTED: dict[str, Any] = {}


def check(exercise_id: str, answer=Ellipsis, *, hidden: bool = False, nonce: str | None = None):
    """Check ``answer`` for exercise ``exercise_id``, show the verdict, return what to use next.

    Returns ``answer`` when it passed, else the exercise's reference: the visible check never
    raises. ``hidden=True`` marks a teacher's hidden test: it uses the exercise's hidden cases
    (the visible ones again when it defines none) and, with no ``answer``, the answer last given
    to the visible check (the learner's own, even after the name was rebound to the reference).
    A hidden test that does not pass raises AssertionError with the diagnosis after showing it,
    so a grader that scores a cell by whether it raises (nbgrader) gives it no points.
    ``nonce`` is copied into the record: ``course grade`` counts only records carrying its own.
    """
    exercise = get_exercise(exercise_id)
    if hidden and answer is Ellipsis:
        answer = _SUBMITTED.get(exercise_id, _not_submitted if exercise.kind == "function" else ...)
    elif not hidden:
        _SUBMITTED[exercise_id] = answer
    result = evaluate(exercise, answer, hidden=hidden)
    result.nonce = nonce
    _show(result)
    if hidden and not result.passed:
        raise AssertionError("\n".join([result.headline()] + result.lines()[:-1]))
    if result.passed:
        return answer
    return exercise.reference if exercise.fallback is None else exercise.fallback[0]
