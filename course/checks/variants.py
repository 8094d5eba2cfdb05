"""Factories for planted mistakes that many exercises share (see ``course.checks.core``).

Each takes the reference (or any function) and returns a function with the same signature that
makes one classic slip:

>>> import numpy as np
>>> from course.checks import variants
>>> double = lambda x: 2 * x
>>> variants.negated(double)(np.array([1.0, 2.0]))
array([-2., -4.])
>>> variants.swapped(lambda a, b: (a, b))(1, 2)
(2, 1)
>>> x = np.array([1.0]); _ = variants.mutating(double)(x); x
array([2.])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _map(f: Callable, out):
    """Apply ``f`` to every number/array in ``out`` (a value, or a tuple/list of them)."""
    if isinstance(out, (tuple, list)):
        return type(out)(_map(f, v) for v in out)
    return f(out)


def negated(fn: Callable) -> Callable:
    """The wrong sign on every returned value."""
    return lambda *args: _map(lambda v: -v, fn(*args))


def scaled(fn: Callable, k: float) -> Callable:
    """Every returned value ``k`` times too large (a sum where a mean belongs, a lost 1/2, ...)."""
    return lambda *args: _map(lambda v: k * v, fn(*args))


def swapped(fn: Callable) -> Callable:
    """A returned pair (or tuple) in the opposite order."""
    return lambda *args: tuple(fn(*args))[::-1]


def perturb(x) -> None:
    """Change ``x`` in place, visibly: the first number of an array, a list's length, a dict's
    keys, an object's attributes."""
    if isinstance(x, np.ndarray):
        x.flat[0] = x.flat[0] + 1 if x.dtype.kind in "biuf" else x.flat[0]
    elif hasattr(x, "add_") and hasattr(x, "flatten"):  # a torch tensor
        x.view(-1)[0] += 1
    elif isinstance(x, list):
        x.append(x[0] if x else 0)
    elif isinstance(x, dict):
        x["changed in place"] = True
    else:
        x.__dict__["changed_in_place"] = True


def is_mutable(x) -> bool:
    """Whether :func:`perturb` can change ``x`` (arrays, lists, dicts, plain objects)."""
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biuf" and x.size > 0 and x.flags.writeable
    if hasattr(x, "add_") and hasattr(x, "flatten"):
        return x.numel() > 0 and not x.requires_grad
    return isinstance(x, (list, dict)) or (hasattr(x, "__dict__") and not callable(x))


def mutating(fn: Callable, arg: int = 0) -> Callable:
    """The right result, but argument ``arg`` changed in place (plant with key "inputs-changed")."""

    def changes_its_input(*args):
        out = fn(*args)
        perturb(args[arg])
        return out

    return changes_its_input
