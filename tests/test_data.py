import numpy as np
import pytest

from course import data

MAKERS = [data.spiral, data.moons, data.circles, data.xor]


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
