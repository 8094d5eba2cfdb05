"""One code path for numpy arrays and torch tensors (any device), via the array API standard.

Every layer, loss and the MLP ask :func:`namespace` for the module of functions that goes with
their input (``xp.exp``, ``xp.sum``, ``xp.where``, ...) and never call numpy or torch directly.
numpy 2 implements the standard itself; torch is reached through ``array_api_compat``.
Parameters move between the two with :func:`convert`; dtype is kept unless asked otherwise.
"""

from __future__ import annotations

import array_api_compat
import numpy as np

_NUMPY_IS_STANDARD = int(np.__version__.split(".")[0]) >= 2
FLOATS = ("float32", "float64")


def namespace(*arrays):
    """The array-API namespace of ``arrays`` (numpy itself for numpy arrays under numpy 2)."""
    if _NUMPY_IS_STANDARD and all(isinstance(a, np.ndarray) for a in arrays):
        return np
    return array_api_compat.array_namespace(*arrays)


def is_torch(a) -> bool:
    return array_api_compat.is_torch_array(a)


def is_array(a) -> bool:
    return isinstance(a, np.ndarray) or is_torch(a)


_DTYPE_NAMES: dict = {}


def dtype_name(a) -> str:
    """'float32', 'float64', 'int64', ... for a numpy array or torch tensor (looked up once per
    dtype: formatting a dtype costs more than a small layer's arithmetic)."""
    name = _DTYPE_NAMES.get(a.dtype)
    if name is None:
        name = _DTYPE_NAMES[a.dtype] = str(a.dtype).removeprefix("torch.")
    return name


def is_float(a) -> bool:
    return dtype_name(a) in FLOATS


def device(a):
    """The device ``a`` lives on ('cpu' for numpy, a torch.device for a tensor)."""
    return array_api_compat.device(a)


def copy(a):
    """A copy of ``a`` of the same kind, dtype and device."""
    return namespace(a).asarray(a, copy=True)


def sum_of_squares(a) -> float:
    """sum(a**2) of one array as a Python float (float64; a dot product for numpy)."""
    if isinstance(a, np.ndarray):
        flat = a.reshape(-1)
        return float(flat @ flat)
    xp = namespace(a)
    return float(xp.sum(a * a))


def to_numpy(a, dtype: str | None = None) -> np.ndarray:
    """A numpy array with the data of ``a`` (a torch tensor is detached and copied to the CPU),
    cast to ``dtype`` ('float64', ...) when given."""
    if is_torch(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=dtype)


def convert(a, xp: str = "numpy", device=None, dtype: str | None = None):
    """``a`` as a numpy array (xp="numpy") or a torch tensor (xp="torch") on ``device``.

    dtype: "float32" or "float64", or None to keep a floating ``a``'s dtype; integer arrays
    (labels) keep theirs.
    """
    if xp not in ("numpy", "torch"):
        raise ValueError(f"xp must be 'numpy' or 'torch', got {xp!r}")
    if dtype is not None and dtype not in FLOATS:
        raise ValueError(f"dtype must be one of {FLOATS} or None, got {dtype!r}")
    target = dtype if dtype is not None and is_float(a) else dtype_name(a)
    if xp == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"numpy arrays live on the CPU; device must be None or 'cpu', "
                             f"got {device!r}")
        return to_numpy(a).astype(target, copy=True)
    import torch

    return torch.as_tensor(to_numpy(a).astype(target, copy=True), device=device)
