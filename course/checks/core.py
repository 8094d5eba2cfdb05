"""Exercise checks: feedback in tiers for learners, machine-readable records for grading.

An exercise (one per ``Exercise`` in ``course/checks/lessonNN.py``, a list ``EXERCISES``) names
its reference, its cases and the classic mistakes it recognises, each a ``Mistake`` with a stable
``key``. A small one, checked here as a doctest:

>>> import numpy as np
>>> from course.checks.core import Exercise, Mistake, evaluate
>>> def _square_prime(x):
...     '''d/dx x^2 elementwise; x: (n,) -> (n,).'''
...     return 2 * x
>>> EX = Exercise(
...     id="99.9", title="derivative of x^2", points=1, reference=_square_prime,
...     cases=lambda seed: [(np.array([1.5, -0.5]),)] if seed == 0 else
...                        [(np.random.default_rng(seed).normal(size=6),)],
...     section="section 1, 'The power rule'",
...     mistakes=[
...         Mistake("no-power", "your derivative is half the size it should be on every case",
...                 lambda x: x, hint="the power comes down as a factor"),
...         Mistake("sign", "your derivative has the wrong sign on every case",
...                 lambda x: -2 * x, hint="x^2 rises for x > 0"),
...         Mistake("function", "you returned the function, not its derivative",
...                 lambda x: x**2, hint="differentiate before you return"),
...         Mistake("power-kept", "your derivative grows too fast: one power too many",
...                 lambda x: 2 * x**2, hint="lower the power by one"),
...     ])
>>> evaluate(EX, lambda x: 2 * x).passed
True
>>> result = evaluate(EX, lambda x: -2 * x)
>>> result.status, result.mistake_key
('wrong', 'sign')
>>> print(result.diagnosis)
your derivative has the wrong sign on every case

The tiers. A check's first failure names WHAT is wrong in the learner's terms (a planted
mistake's ``says``: which step, derivative, shape, update, or which input was changed in place)
and shows the smallest failing input with expected and got, with enough digits to see them
differ. It never prints the formula or the corrected expression: ``answer_fragments`` lists the
operator-bearing fragments of the reference's source (every binary operation, whitespace
removed) and a test proves no first-tier text contains one. ``hint(id)``, imported next to
``check``, then names the specific slip (the mistake's ``hint``: tier 2); called again, it
points to the lesson's section (``Exercise.section``: tier 3).

Cases. ``cases(seed)``: seed 0 gives the visible cases, hand-made and smallest first, which
alone reject every planted mistake (non-square shapes first, a graph node used at two depths,
values where the order of operations matters); the hidden cases, for generalisation, are
``cases(s)`` for ``s`` in ``hidden_seeds`` unless ``hidden_cases`` is given.

The inputs guard. Every call gets fresh copies of a case's arguments; unless the statement asks
for an update in place (``mutates=True``), a function that changes them (arrays, lists, dicts,
layers, Value graphs) is told so first (key ``"inputs-changed"``).

Classes and methods. With ``run``, the check calls ``run(answer, *args)`` (and the same on the
reference and every planted mistake) and compares what it returns: the learner writes the
library's own class, e.g. ``Linear``, and ``run`` drives it.

Using one in a notebook (the cell after the exercise)::

    from course.checks import check, hint
    sigmoid_prime = check("01.1", sigmoid_prime)

The visible ``check`` never raises into the notebook. It shows one verdict: passed; not done yet
(the stub raised NotImplementedError, or a value answer is still ``...``); raised (type, message
and the line of the learner's code); returned None / the wrong shape / the wrong dtype; changed
its inputs; or wrong, with what is wrong and the smallest failing input. It returns the
learner's answer when it passed and the reference otherwise, so later cells always run. A hidden
test (``check(id, hidden=True)``) raises AssertionError when it does not pass.

A verdict displays as coloured HTML in a notebook and plain text in a terminal, and carries a
machine-readable record ``{"id", "status", "points", "earned", "hidden"}`` (with ``"mistake"``,
the planted mistake's key, and ``"diagnosis"``, its first-tier text, when one was recognised,
and the grader's ``"nonce"``) under the MIME type ``RECORD_MIME``, which ``course grade`` reads.
"""

from __future__ import annotations

import ast
import copy
import html
import importlib
import inspect
import os
import pickle
import pkgutil
import re
import sysconfig
import textwrap
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course.backend import is_torch, to_numpy

RECORD_MIME = "application/vnd.backprop-course.check+json"
ID_PATTERN = re.compile(r"^(\d\d)\.(\d+)$")
KEY_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NO_MATCH = ("your result differs from the expected one, and not in one of the usual ways: "
            "compare expected and got on the smallest failing input")
FALLBACK = "Using the reference implementation for now."
INPUTS_CHANGED = "inputs-changed"

PASSED, NOT_DONE, RAISED, WRONG = "passed", "not done", "raised", "wrong"
RETURNED_NONE, WRONG_SHAPE, WRONG_DTYPE = "returned None", "wrong shape", "wrong dtype"
STATUSES = (PASSED, NOT_DONE, RAISED, WRONG, RETURNED_NONE, WRONG_SHAPE, WRONG_DTYPE)


@dataclass(frozen=True)
class Mistake:
    """One classic mistake an exercise recognises.

    ``key``: a stable slug (``"sign"``, ``"no-transpose"``, ``"inputs-changed"``) that records
    and class statistics use; prose may change, the key does not. ``says``: the first tier,
    what is wrong in the learner's terms, never the formula. ``fn``: the planted mistake, with
    the reference's signature (a value for value exercises, a class for class exercises).
    ``hint``: the second tier, the specific slip.
    """

    key: str
    says: str
    fn: Any
    hint: str = ""

    def __post_init__(self):
        if not KEY_PATTERN.match(self.key):
            raise ValueError(f"Mistake key must be a slug such as 'wrong-sign', got {self.key!r}")


def _as_mistakes(mistakes) -> tuple[Mistake, ...]:
    if isinstance(mistakes, Mapping):  # the older {diagnosis: fn} form: prose as the key
        mistakes = [Mistake(_slug(says), says, fn) for says, fn in mistakes.items()]
    mistakes = tuple(mistakes)
    if not all(isinstance(m, Mistake) for m in mistakes):
        raise TypeError("Exercise mistakes must be Mistake(key, says, fn, hint) objects")
    keys = [m.key for m in mistakes]
    if len(keys) != len(set(keys)):
        raise ValueError(f"Mistake keys must be unique within an exercise: {keys}")
    return mistakes


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:6]) or "mistake"


@dataclass(frozen=True)
class Exercise:
    """One exercise: what the right answer is and which mistakes to recognise.

    ``reference`` is a function or class (kind "function": called on every case, through
    ``run`` when given) or a value (kind "value": compared with the learner's value). ``cases``
    (function kind only): argument tuples, or a callable: ``cases(seed)`` (seed 0 visible, the
    ``hidden_seeds`` hidden) or ``cases()``. ``hidden_cases``: explicit hidden cases.
    ``mistakes``: a sequence of :class:`Mistake`. ``section``: where the lesson derives it
    (tier 3). ``mutates``: the statement asks for an update in place (no inputs guard).
    ``run(answer, *args)``: drives a class or method answer and returns what to compare.
    ``compare(got, expected) -> bool`` replaces the default comparison (same structure, shape
    and dtype kind, values within ``rtol``/``atol``, NaNs equal when ``equal_nan``).
    ``torch=True`` (an exercise about torch) rejects answers holding NumPy arrays.
    ``fallback=(value, words)``: what ``check`` returns until the answer passes, and the line
    saying so, in place of the reference (for an answer handing over would give away).
    """

    id: str
    title: str
    points: int
    reference: Any
    cases: Any = None
    mistakes: Sequence[Mistake] = ()
    compare: Callable[[Any, Any], bool] | None = None
    hidden_cases: Any = None
    rtol: float = 1e-6
    atol: float = 1e-9
    torch: bool = False
    fallback: tuple | None = None
    section: str = ""
    mutates: bool = False
    run: Callable | None = None
    equal_nan: bool = False
    hidden_seeds: tuple[int, ...] = (1, 2)

    def __post_init__(self):
        if not ID_PATTERN.match(self.id):
            raise ValueError(f"Exercise id must look like 'NN.M' (e.g. '01.2'), got {self.id!r}")
        if self.kind == "function" and self.cases is None:
            raise ValueError(f"Exercise {self.id}: a function reference needs cases")
        object.__setattr__(self, "mistakes", _as_mistakes(self.mistakes))

    @property
    def kind(self) -> str:
        """"function" when the reference is callable (a function or a class), else "value"."""
        return "function" if callable(self.reference) else "value"

    def mistake(self, key: str) -> Mistake:
        """The planted mistake with this key."""
        return next(m for m in self.mistakes if m.key == key)

    def case_list(self, hidden: bool = False) -> list[tuple]:
        """The argument tuples to call the answer with (the hidden ones when asked)."""
        if hidden and self.hidden_cases is not None:
            cases = _cases_from(self.hidden_cases, [0])
        else:
            cases = _cases_from(self.cases, self.hidden_seeds if hidden else [0])
        return [c if isinstance(c, tuple) else (c,) for c in cases]

    def call(self, fn, args: tuple):
        """``fn`` applied to ``args`` (through ``run`` when given)."""
        return self.run(fn, *args) if self.run is not None else fn(*args)


def _takes_seed(fn) -> bool:
    """Whether ``fn`` is ``cases(seed)``: one parameter without a default."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty for p in params)


def _cases_from(cases, seeds) -> list:
    if not callable(cases):
        return list(cases)
    if not _takes_seed(cases):
        return list(cases())
    return [c for seed in seeds for c in cases(seed)]


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


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _numbers(seq) -> bool:
    return isinstance(seq, (tuple, list)) and len(seq) > 0 and all(_is_number(v) for v in seq)


def _mismatch(got, expected, rtol: float, atol: float, equal_nan: bool = False) -> str | None:
    """None when ``got`` matches ``expected``; else the status saying how it differs. A tuple of
    numbers may come back as a tuple, a list or a 1-D array."""
    got, expected = _to_numpy(got), _to_numpy(expected)
    if got is None and expected is not None:
        return RETURNED_NONE
    if _numbers(expected) and isinstance(got, np.ndarray) and got.ndim == 1:
        got = list(got)
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return WRONG_SHAPE
        for g, e in zip(got, expected):
            status = _mismatch(g, e, rtol, atol, equal_nan)
            if status:
                return status
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping) or set(got) != set(expected):
            return WRONG_SHAPE
        statuses = (_mismatch(got[k], expected[k], rtol, atol, equal_nan) for k in expected)
        return next((s for s in statuses if s), None)
    return _array_mismatch(got, expected, rtol, atol, equal_nan)


def _array_mismatch(got, expected, rtol: float, atol: float, equal_nan: bool = False):
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
    if e.dtype.kind not in "biufc":
        return WRONG
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=equal_nan):
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


# ---------------------------------------------------------------- the inputs guard


def snapshot(x, _memo: dict | None = None, _depth: int = 0):
    """A comparable picture of ``x``: array bytes, numbers, containers and objects' attributes
    (functions and closures left out; shared objects and cycles visited once)."""
    memo = {} if _memo is None else _memo
    if _depth > 400:
        return ("deep",)
    x = _to_numpy(x)
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes())
    if x is None or isinstance(x, (bool, int, float, complex, str, bytes, np.generic)):
        return ("atom", repr(x))
    if callable(x) and not hasattr(x, "__dict__") or inspect.isroutine(x) or isinstance(x, type):
        return ("code",)
    if id(x) in memo:
        return ("seen", memo[id(x)])
    memo[id(x)] = len(memo)
    d = _depth + 1
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, [snapshot(v, memo, d) for v in x])
    if isinstance(x, (set, frozenset)):
        return ("set", sorted(repr(snapshot(v, memo, d)) for v in x))
    if isinstance(x, Mapping):
        return ("dict", sorted((repr(k), snapshot(v, memo, d)) for k, v in x.items()))
    if isinstance(x, (np.random.Generator, np.random.RandomState, np.random.BitGenerator)):
        return ("rng",)  # drawing from a random generator is not changing an input
    state = getattr(x, "__dict__", None)
    if state is None:
        return ("opaque", _pickled(x))
    return (type(x).__name__, sorted((k, snapshot(v, memo, d)) for k, v in state.items()))


def _pickled(x) -> bytes | str:
    try:
        return pickle.dumps(x)
    except Exception:
        return type(x).__name__


def _changed_inputs(before: list, args: tuple) -> list[int]:
    """Indices of the arguments whose snapshot differs from ``before``."""
    return [i for i, (b, a) in enumerate(zip(before, args)) if snapshot(a) != b]


# ---------------------------------------------------------------- formatting


def _short(x, limit: int = 160, precision: int = 4) -> str:
    kind = "tensor" if is_torch(x) and not getattr(x, "is_meta", False) else "array"
    where = f", device='{x.device}'" if kind == "tensor" else ""
    x = _to_numpy(x)
    if isinstance(x, np.ndarray):
        text = np.array2string(x, precision=precision, suppress_small=precision <= 4,
                               threshold=12, edgeitems=2)
        dtype = f"torch.{x.dtype}" if kind == "tensor" else x.dtype
        text = f"{kind}({text}, shape={x.shape}, dtype={dtype}{where})" if x.ndim else text
    elif isinstance(x, (tuple, list)):
        inner = ", ".join(_short(v, limit, precision) for v in x)
        text = f"({inner})" if isinstance(x, tuple) else f"[{inner}]"
    elif isinstance(x, Mapping):
        text = "{" + ", ".join(f"{k} -> {_brief(v)}" for k, v in x.items()) + "}"
        limit = max(limit, len(text))
    elif isinstance(x, float):
        text = f"{x:.{max(6, precision + 1)}g}"
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


def _arg_names(exercise, func, n: int) -> list[str]:
    """The parameter names of a case's arguments: ``run``'s after the answer, else the answer's
    (the reference's when the answer's cannot be read)."""
    names = []
    for f in ([exercise.run] if exercise.run is not None else [func, exercise.reference]):
        try:
            names = list(inspect.signature(f).parameters)[1 if exercise.run is not None else 0:]
            break
        except (TypeError, ValueError):
            continue
    names = [nm for nm in names if nm not in ("self", "args", "kwargs")]
    return names + [f"arg{i}" for i in range(len(names), n)]


def _format_args(exercise, func, args: tuple) -> str:
    names = _arg_names(exercise, func, len(args))
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
    if g == (1, *e) or g == (*e, 1):
        return [f"hint: your result has shape {g} instead of {e}: an extra axis of size 1"]
    if len(g) == len(e) + 1 and g[1:] == e:
        return [f"hint: your result has shape {g}, one more axis (of size {g[0]}, the batch) "
                f"than the expected {e}: it was not reduced over the batch"]
    if len(g) == len(e) == 2 and g == e[::-1]:
        return [f"hint: your result has shape {g}, the expected one {e} turned around: a "
                "transpose is probably missing or misplaced"]
    return []


_MATMUL_MESSAGES = ("matmul", "cannot be multiplied", "shapes", "not aligned")


# ---------------------------------------------------------------- the verdict


@dataclass
class CheckResult:
    """The verdict of one check: displays itself (tier 1) and carries the grading record."""

    exercise: Exercise
    status: str
    detail: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    hidden: bool = False
    nonce: str | None = None
    mistake: Mistake | None = None
    mistake_key: str | None = None

    def __post_init__(self):
        if self.mistake is not None:
            self.mistake_key = self.mistake.key
            self.diagnosis = self.diagnosis or self.mistake.says

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def earned(self) -> int:
        return self.exercise.points if self.passed else 0

    @property
    def record(self) -> dict:
        """What the grader reads: id, status, points, earned, hidden (the mistake's key and its
        first-tier text when one was recognised, and the grader's nonce)."""
        rec = {"id": self.exercise.id, "status": self.status, "points": self.exercise.points,
               "earned": self.earned, "hidden": self.hidden}
        if self.mistake_key:
            rec["mistake"] = self.mistake_key
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
            out.insert(0, f"What is wrong: {self.diagnosis}")
        if not self.passed and self.status != NOT_DONE and not self.hidden:
            out.append(f'Stuck? hint("{self.exercise.id}") names the slip.')
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
    return _mismatch(got, expected, exercise.rtol, exercise.atol, exercise.equal_nan) is None


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
    mistake = next((m for m in exercise.mistakes if _matches(exercise, answer, m.fn)), None)
    return CheckResult(exercise, WRONG if mistake else status, [f"your answer: {_short(answer)}"],
                       None if mistake else (NO_MATCH if status == WRONG else None),
                       hidden=hidden, mistake=mistake)


def _status_of_mismatch(exercise: Exercise, got, expected) -> str:
    if exercise.compare is not None:
        return RETURNED_NONE if got is None else WRONG
    return _mismatch(got, expected, exercise.rtol, exercise.atol, exercise.equal_nan) or WRONG


def _call(exercise: Exercise, func, args: tuple):
    """``func`` on fresh copies of ``args``; returns (result, the copies after the call)."""
    work = copy.deepcopy(args)
    return exercise.call(func, work), work


class _InputsChanged(Exception):
    def __init__(self, which: list[int]):
        self.which = which


def _guarded_call(exercise: Exercise, func, args: tuple):
    """``_call``, raising _InputsChanged when the call changed an argument it may not change."""
    got, work = _call(exercise, func, args)
    if not exercise.mutates:
        which = _changed_inputs([snapshot(a) for a in args], work)
        if which:
            raise _InputsChanged(which)
    return got


def _evaluate_function(exercise: Exercise, answer, hidden: bool) -> CheckResult:
    if not callable(answer):
        return CheckResult(exercise, WRONG, [f"expected a function, got {type(answer).__name__}"],
                           hidden=hidden)
    cases = exercise.case_list(hidden)
    outputs = []
    for k, args in enumerate(cases):
        try:
            got = _guarded_call(exercise, answer, args)
        except NotImplementedError:
            return CheckResult(exercise, NOT_DONE,
                               ["Write your code where it says YOUR CODE HERE."], hidden=hidden)
        except _InputsChanged as changed:
            return _inputs_changed(exercise, answer, args, k, len(cases), changed.which, hidden)
        except Exception as exc:
            return _raised(exercise, answer, args, exc, hidden)
        rejected = _numpy_for_torch(exercise, got, hidden)
        if rejected is not None:
            return rejected
        outputs.append(got)
        expected = _call(exercise, exercise.reference, args)[0]
        if not _matches(exercise, got, expected):
            return _wrong(exercise, answer, cases, outputs, k, expected, hidden)
    return CheckResult(exercise, PASSED, [f"all {len(cases)} test cases agree"], hidden=hidden)


def _inputs_changed(exercise, answer, args, k, n, which, hidden) -> CheckResult:
    names = _arg_names(exercise, answer, len(args))
    named = ", ".join(f"`{names[i]}`" for i in which)
    planted = next((m for m in exercise.mistakes if m.key == INPUTS_CHANGED), None)
    says = (f"your code changed its input {named} in place: the statement asks for a result "
            "that leaves its inputs as they were")
    mistake = Mistake(INPUTS_CHANGED, says, None, planted.hint if planted else
                      "an augmented assignment (+=, -=, *=) or a slice assignment on an input "
                      "writes into the caller's array: make a new one instead")
    detail = [f"input (case {k + 1} of {n}): {_format_args(exercise, answer, args)}"]
    return CheckResult(exercise, WRONG, detail, hidden=hidden, mistake=mistake)


_ARRAY_TO_SCALAR = ("converted to Python scalars", "must be real number, not numpy.ndarray")


def _raised(exercise: Exercise, answer, args: tuple, exc: Exception, hidden: bool) -> CheckResult:
    detail = [f"{type(exc).__name__}: {exc}"]
    where = _learner_line(exc)
    if where:
        detail.append(f"at {where}")
    detail.append(f"input: {_format_args(exercise, answer, args)}")
    if isinstance(exc, (ValueError, RuntimeError)) and any(m in str(exc) for m in _MATMUL_MESSAGES):
        detail += _matmul_hint(exc)
    if isinstance(exc, TypeError) and any(s in str(exc) for s in _ARRAY_TO_SCALAR):
        detail.append("hint: an input is a numpy array; use numpy's functions (np.cos, np.exp, "
                      "x**2), not the math module's, which take one number")
    return CheckResult(exercise, RAISED, detail, hidden=hidden)


def _wrong(exercise, answer, cases, outputs, k, expected, hidden) -> CheckResult:
    """The verdict for a mismatch on case ``k``: diagnose with the remaining cases too."""
    outputs = outputs + _rest_outputs(exercise, answer, cases[k + 1:])
    mistake = _diagnose(exercise, cases[: len(outputs)], outputs)
    status = WRONG if mistake else _status_of_mismatch(exercise, outputs[k], expected)
    detail = [f"smallest failing input (case {k + 1} of {len(cases)}): "
              f"{_format_args(exercise, answer, cases[k])}"]
    detail += _difference(exercise, outputs[k], expected)
    diagnosis = None if mistake or status != WRONG else NO_MATCH
    return CheckResult(exercise, status, detail, diagnosis, hidden=hidden, mistake=mistake)


def _digits(got, expected) -> int:
    """Decimals enough to show the first differing numbers of ``got`` and ``expected`` apart."""
    try:
        g = np.asarray(_to_numpy(got), dtype=np.float64).ravel()
        e = np.asarray(_to_numpy(expected), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return 4
    if g.shape != e.shape or g.size == 0:
        return 4
    differ = np.flatnonzero(~np.isclose(g, e, rtol=0, atol=0, equal_nan=True))
    if differ.size == 0:
        return 4
    i = differ[0]
    for p in range(4, 17):
        if f"{g[i]:.{p}f}" != f"{e[i]:.{p}f}" or f"{g[i]:.{p}g}" != f"{e[i]:.{p}g}":
            return p
    return 17


def _difference(exercise, got, expected) -> list[str]:
    """Expected and got; for a tuple of results, only the first element that differs."""
    got, expected = _to_numpy(got), _to_numpy(expected)
    if _numbers(expected) and isinstance(got, np.ndarray) and got.ndim == 1:
        got = tuple(got)
    if (isinstance(expected, tuple) and isinstance(got, (tuple, list))
            and len(got) == len(expected) and len(expected) > 1):
        for i, (g, e) in enumerate(zip(got, expected)):
            if _mismatch(g, e, exercise.rtol, exercise.atol, exercise.equal_nan):
                p = _digits(g, e)
                return [f"value [{i}] of the {len(expected)} returned differs",
                        f"expected: {_short(e, precision=p)}",
                        f"got:      {_short(g, precision=p)}"] + _shape_hint(g, e)
    p = _digits(got, expected)
    return [f"expected: {_short(expected, precision=p)}",
            f"got:      {_short(got, precision=p)}"] + _shape_hint(got, expected)


def _rest_outputs(exercise, answer, cases: list[tuple]) -> list:
    """The learner's outputs on later cases, stopping at the first that raises."""
    outputs = []
    for args in cases:
        try:
            outputs.append(_call(exercise, answer, args)[0])
        except Exception:
            break
    return outputs


def _diagnose(exercise: Exercise, cases: list[tuple], outputs: list) -> Mistake | None:
    """The first planted mistake that reproduces the learner's outputs on every case run."""
    for mistake in exercise.mistakes:
        if mistake.key == INPUTS_CHANGED:
            continue
        try:
            pairs = zip(cases, outputs)
            if all(_matches(exercise, got, _call(exercise, mistake.fn, args)[0])
                   for args, got in pairs):
                return mistake
        except Exception:
            continue
    return None


def answer_fragments(exercise: Exercise) -> set[str]:
    """The operator-bearing fragments of the reference's source: every binary operation
    (``ast.BinOp``), unparsed, whitespace removed. No first-tier text may contain one, so a
    wrong try never reveals the formula or the corrected expression."""
    ref = exercise.reference
    if not callable(ref):
        return set()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(ref)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return set()
    return {re.sub(r"\s+", "", ast.unparse(n)) for n in ast.walk(tree)
            if isinstance(n, ast.BinOp)}


def _not_submitted(*args):
    raise NotImplementedError("this exercise was never checked")


def _show(result) -> None:
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
_LAST: dict[str, CheckResult] = {}
_HINTS_SHOWN: dict[str, int] = {}


def check(exercise_id: str, answer=Ellipsis, *, hidden: bool = False, nonce: str | None = None):
    """Check ``answer`` for exercise ``exercise_id``, show the verdict, return what to use next.

    Returns ``answer`` when it passed, else the exercise's reference: the visible check never
    raises. ``hidden=True`` marks a teacher's hidden test: it uses the exercise's hidden cases
    and, with no ``answer``, the answer last given to the visible check (the learner's own, even
    after the name was rebound to the reference). A hidden test that does not pass raises
    AssertionError with what is wrong after showing it, so a grader that scores a cell by
    whether it raises (nbgrader) gives it no points. ``nonce`` is copied into the record:
    ``course grade`` counts only records carrying its own.
    """
    exercise = get_exercise(exercise_id)
    if hidden and answer is Ellipsis:
        answer = _SUBMITTED.get(exercise_id, _not_submitted if exercise.kind == "function" else ...)
    elif not hidden:
        _SUBMITTED[exercise_id] = answer
    result = evaluate(exercise, answer, hidden=hidden)
    result.nonce = nonce
    if not hidden:
        _LAST[exercise_id], _HINTS_SHOWN[exercise_id] = result, 0
    _show(result)
    if hidden and not result.passed:
        raise AssertionError("\n".join([result.headline()] + result.lines()[:-1]))
    if result.passed:
        return answer
    return exercise.reference if exercise.fallback is None else exercise.fallback[0]


@dataclass
class Hint:
    """Tier 2 or 3 of an exercise's feedback, as text."""

    exercise_id: str
    lines: list[str]

    def __str__(self) -> str:
        return "\n".join([f"Hint for exercise {self.exercise_id}:"] +
                         [f"  {line}" for line in self.lines])

    __repr__ = __str__


def _slip(result: CheckResult) -> str:
    """Tier 2: the named slip, or what to look at when no planted mistake matched."""
    if result.mistake is not None and result.mistake.hint:
        return result.mistake.hint
    return {
        RAISED: "read the error and the line it names: the shapes or types your code combines "
                "there are not the ones it expects",
        RETURNED_NONE: "the function ends without a `return` of its result",
        WRONG_SHAPE: "compare the shape you return with the statement's; follow the shapes of "
                     "each intermediate array",
        WRONG_DTYPE: "keep the inputs' precision: an array built without dtype= may be "
                     "float64 or int",
    }.get(result.status, "this is not one of the usual slips: work the smallest failing input "
                         "by hand, step by step, and compare each intermediate number")


def hint(exercise_id: str) -> None:
    """Show the next tier of feedback for the learner's last visible check of this exercise:
    first the specific slip (tier 2), then the lesson's section that derives it (tier 3)."""
    exercise = get_exercise(exercise_id)
    result = _LAST.get(exercise_id)
    where = exercise.section or "the section just above the exercise"
    if result is None:
        lines = [f"Run the check of exercise {exercise_id} first."]
    elif result.passed:
        lines = [f"Exercise {exercise_id} passed: no hint needed."]
    elif result.status == NOT_DONE:
        lines = [f"Start from the derivation in {where}."]
    else:
        tier = _HINTS_SHOWN[exercise_id] = min(_HINTS_SHOWN.get(exercise_id, 0) + 1, 2)
        lines = ([_slip(result), f'hint("{exercise_id}") again points to where it is derived.']
                 if tier == 1 else [_slip(result), f"Where it is derived: {where}."])
    shown = Hint(exercise_id, lines)
    _show(shown)
    return None
