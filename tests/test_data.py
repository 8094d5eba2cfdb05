import numpy as np
import pytest

from course import data

MAKERS = [data.spiral, data.moons]


@pytest.mark.parametrize("make", MAKERS, ids=lambda f: f.__name__)
def test_classification_sets_have_documented_shapes_dtypes_and_are_seeded(make):
    x, y = make(n=60, noise=0.1, seed=3)
    assert x.shape == (60, 2) and x.dtype == np.float64
    assert y.shape == (60,) and y.dtype == np.int64 and y.min() == 0
    x2, y2 = make(n=60, noise=0.1, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, make(n=60, noise=0.1, seed=4)[0])


def test_regression_1d_shapes_and_determinism():
    x, y = data.regression_1d(n=40, noise=0.0, seed=1)
    assert x.shape == y.shape == (40, 1)
    assert np.allclose(y, np.sin(3 * x) + 0.3 * x)


@pytest.mark.parametrize("n,noise,match", [(0, 0.1, "n must"), (5, -1.0, "noise must")])
def test_bad_arguments_raise_naming_the_argument(n, noise, match):
    with pytest.raises(ValueError, match=match):
        data.moons(n=n, noise=noise)


DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_load_digits_shapes_dtypes_range_and_label_counts():
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.array_equal(x, np.round(x))
    assert np.bincount(y).tolist() == DIGIT_COUNTS
    assert x[0].reshape(8, 8)[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0] and y[0] == 0


def test_load_digits_returns_fresh_arrays():
    x, y = data.load_digits()
    x[:] = -1
    y[:] = -1
    x2, y2 = data.load_digits()
    assert x2.min() == 0 and np.bincount(y2).tolist() == DIGIT_COUNTS


def test_shipped_digits_file_is_the_documented_one():
    import hashlib
    from importlib.resources import files

    folder = files("course") / "datasets"
    digest = hashlib.sha256((folder / "digits.csv.gz").read_bytes()).hexdigest()
    assert digest in (folder / "README.md").read_text()


def test_split_is_stratified_disjoint_complete_and_seeded():
    x, y = data.load_digits()
    xtr, ytr, xte, yte = data.split(x, y, test_fraction=0.25, seed=0)
    assert len(xtr) + len(xte) == 1797 and xtr.shape[1] == xte.shape[1] == 64
    assert np.bincount(yte).tolist() == [round(0.25 * c) for c in DIGIT_COUNTS]
    assert np.array_equal(np.bincount(ytr) + np.bincount(yte), DIGIT_COUNTS)
    rows = {r.tobytes() + bytes([k]) for r, k in zip(x, y)}
    assert {r.tobytes() + bytes([k]) for r, k in zip(np.r_[xtr, xte], np.r_[ytr, yte])} == rows
    again = data.split(x, y, test_fraction=0.25, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((xtr, ytr, xte, yte), again))
    other = data.split(x, y, test_fraction=0.25, seed=1)
    assert not np.array_equal(yte, other[3]) or not np.array_equal(xte, other[2])


@pytest.mark.parametrize("kwargs,match", [
    ({"test_fraction": 0.0}, "test_fraction"),
    ({"test_fraction": 1.5}, "test_fraction"),
    ({"y": np.zeros(5)}, "y must be integer labels"),
    ({"x": np.zeros((4, 2))}, "x must have shape"),
])
def test_split_rejects_bad_arguments_naming_them(kwargs, match):
    args = {"x": np.zeros((5, 2)), "y": np.arange(5) % 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.split(**args)
