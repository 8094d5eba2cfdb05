"""What backpropagation keeps in memory, counted exactly: the bytes of the activations the forward
pass caches for the backward pass (timings live in course.timing).
"""

from __future__ import annotations

from course.backend import is_array
from course.layers import iter_layers


def nbytes(obj, seen: set | None = None) -> int:
    """Bytes held by the arrays in ``obj`` (an array, or a tuple/list of them; others count 0).

    An array met twice (a Tanh's output is also the next Linear's cached input) counts once:
    ``seen`` holds the ids already counted.
    """
    seen = set() if seen is None else seen
    if is_array(obj):
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        return int(obj.nbytes) if hasattr(obj, "nbytes") else obj.element_size() * obj.nelement()
    if isinstance(obj, (tuple, list)):
        return sum(nbytes(o, seen) for o in obj)
    return 0


def cache_bytes(net_or_layers) -> int:
    """Bytes of activations kept for the backward pass right now: the sum over every layer of
    the arrays in its ``cache`` (its input x for a Linear layer, its output or mask for an
    activation, xhat and 1/std for a normalisation), each array counted once."""
    return nbytes([layer.cache for layer in iter_layers(net_or_layers)])
