"""course.backend: one namespace per array kind, conversions that keep or set the dtype."""

from __future__ import annotations

import numpy as np
import pytest

from course.backend import convert, namespace, to_numpy


def test_numpy_arrays_get_numpy_itself_and_torch_tensors_the_standard_namespace():
    assert namespace(np.ones(2)) is np
    torch = pytest.importorskip("torch")
    xp = namespace(torch.ones(2))
    assert float(xp.sum(torch.ones(3), axis=0)) == 3.0


def test_convert_keeps_float_dtype_unless_asked_and_leaves_integer_labels_alone():
    torch = pytest.importorskip("torch")
    t = convert(np.ones(3, dtype=np.float32), "torch")
    assert t.dtype == torch.float32
    assert convert(t, "numpy", dtype="float64").dtype == np.float64
    labels = convert(np.array([0, 2]), "torch", dtype="float32")
    assert labels.dtype == torch.int64
    np.testing.assert_array_equal(to_numpy(labels), [0, 2])


def test_convert_refuses_unknown_namespaces_dtypes_and_a_gpu_for_numpy():
    with pytest.raises(ValueError, match="xp must be 'numpy' or 'torch'"):
        convert(np.ones(2), "cupy")
    with pytest.raises(ValueError, match="dtype must be one of"):
        convert(np.ones(2), dtype="float16")
    with pytest.raises(ValueError, match="numpy arrays live on the CPU"):
        convert(np.ones(2), "numpy", device="cuda")
