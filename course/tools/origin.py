"""Where a submitted answer comes from: the learner's notebook, or the course's own code.

``course grade`` gives 0 to an answer that is one of the course's own objects (a function or
class defined in ``course.*``, such as ``get_exercise(id).reference`` or a library class). It
judges the answer the learner gave to the visible check (``course.checks.core._SUBMITTED``), not
the name the check rebinds: a failed check hands back the course's reference, and that must not
count against the learner. The grader's check cell calls ``show_origin`` between the visible
check and the hidden one; it displays a record under ``ORIGIN_MIME`` carrying the run's nonce.

Kept small and free of grading imports: it runs inside every graded kernel.
"""

from __future__ import annotations

import functools
import inspect
import os

import course

ORIGIN_MIME = "application/vnd.backprop-course.origin+json"
COURSE_DIR = os.path.dirname(os.path.realpath(course.__file__)) + os.sep


def _in_course(code) -> bool:
    filename = getattr(code, "co_filename", "")
    return bool(filename) and os.path.realpath(filename).startswith(COURSE_DIR)


def _function(obj):
    """The plain function behind a partial, a bound method, a static/class method or a
    decorated function (``__wrapped__``); None for anything else."""
    for _ in range(10):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, (staticmethod, classmethod)) or inspect.ismethod(obj):
            obj = obj.__func__
        elif hasattr(obj, "__wrapped__") and not inspect.isclass(obj):
            obj = obj.__wrapped__
        else:
            break
    return obj if inspect.isfunction(obj) else None


def _own_functions(cls) -> list:
    """The functions a class defines itself (methods, properties' accessors)."""
    found = []
    for value in vars(cls).values():
        if isinstance(value, property):
            found += [f for f in (value.fget, value.fset, value.fdel) if f is not None]
        elif _function(value) is not None:
            found.append(_function(value))
    return found


def course_origin(obj) -> str | None:
    """The dotted name of ``obj`` when it is the course's own code, else None.

    A function counts as the course's when its code was compiled from a file of the ``course``
    package (whatever ``__module__`` says). A class counts when every function it defines itself
    is the course's (a course class with a method replaced by the learner's does not), or when it
    defines none and is a course class or derives from one (``class Linear(course.layers.Linear):
    pass`` adds nothing).
    """
    try:
        if inspect.isclass(obj):
            return _class_origin(obj)
        function = _function(obj)
        if function is not None and _in_course(function.__code__):
            return f"{function.__module__}.{function.__qualname__}"
    except Exception:  # an object that fights introspection is judged as the learner's
        return None
    return None


def _class_origin(cls) -> str | None:
    """A class is judged by the code it defines: a course class one of whose methods the
    learner replaced is the learner's answer."""
    name = f"{cls.__module__}.{cls.__qualname__}"
    own = _own_functions(cls)
    if own:
        return name if all(_in_course(f.__code__) for f in own) else None
    if str(cls.__module__).split(".")[0] == "course":
        return name
    base = next((b for b in cls.__mro__[1:] if b is not object and _class_origin(b)), None)
    return f"{base.__module__}.{base.__qualname__}" if base is not None else None


def show_origin(exercise_id: str, nonce: str) -> None:
    """Display, for the grader, where the answer given to the visible check comes from."""
    from IPython.display import display

    from course.checks import core

    origin = course_origin(core._SUBMITTED.get(exercise_id))
    where = f"the course's own {origin}" if origin else "written in the notebook"
    display({ORIGIN_MIME: {"id": exercise_id, "origin": origin, "nonce": nonce},
             "text/plain": f"answer to {exercise_id}: {where}"}, raw=True)
