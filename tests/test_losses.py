"""Losses: delta against central differences (float64, hypothesis-drawn), against torch, finite
and warning-free at logits of +-1000, and clear errors for bad targets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mathcases import LOSS_CASES

from course import losses
from course.gradcheck import check_gradients, relative_error
from course.losses import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True, database=None)
# A grid keeps the points well conditioned (no gradients of 1e-120 that only round-off sees).
values = st.integers(-500, 500).map(lambda k: k / 100)
dims = st.integers(1, 6)


def assert_delta_matches_differences(loss_fn, pred, target):
    loss_fn.forward(pred, target)
    delta = loss_fn.backward()
    report = check_gradients(lambda: float(loss_fn.forward(pred, target)),
                             {"pred": pred}, {"pred": delta})
    assert report.ok, str(report)


@EXAMPLES
@given(st.data(), dims, dims)
def test_mse_delta_matches_central_differences(data, n, d):
    pred = data.draw(hnp.arrays(np.float64, (n, d), elements=values))
    target = data.draw(hnp.arrays(np.float64, (n, d), elements=values))
    assume(not np.array_equal(pred, target))  # a zero gradient: differences see only round-off
    assert_delta_matches_differences(MSE(), pred, target)


@EXAMPLES
@given(st.data(), dims, st.integers(2, 6))
def test_softmax_cross_entropy_delta_matches_central_differences(data, n, k):
    logits = data.draw(hnp.arrays(np.float64, (n, k), elements=values))
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
    assert_delta_matches_differences(SoftmaxCrossEntropy(), logits, labels)


@EXAMPLES
@given(st.data(), dims, st.booleans())
def test_binary_cross_entropy_delta_matches_central_differences(data, n, column):
    shape = (n, 1) if column else (n,)
    logits = data.draw(hnp.arrays(np.float64, shape, elements=values))
    targets = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    assert_delta_matches_differences(BinaryCrossEntropy(), logits, targets)


def test_logits_of_plus_minus_1000_give_finite_loss_and_delta_without_warnings():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ce = SoftmaxCrossEntropy()
        loss = float(ce.forward(logits, np.array([1, 1])))
        assert loss == pytest.approx((2000.0 + np.log1p(np.exp(-1.0))) / 2, rel=1e-12)
        assert np.all(np.isfinite(ce.backward()))
        bce = BinaryCrossEntropy()
        loss = float(bce.forward(np.array([1000.0, -1000.0, 1000.0]), np.array([0.0, 1.0, 1.0])))
        assert loss == pytest.approx(2000.0 / 3, rel=1e-12)
        np.testing.assert_allclose(bce.backward(), [1 / 3, -1 / 3, 0.0])


def test_a_minus_inf_logit_of_a_class_that_is_not_the_label_costs_nothing():
    """Regression: log_p * onehot made -inf * 0 = nan; torch's cross_entropy gives the limit."""
    logits = np.array([[-np.inf, 1.0, 2.0], [0.0, -np.inf, 0.0]])
    ce = SoftmaxCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = float(ce.forward(logits, np.array([1, 2])))
        delta = ce.backward()
    want = (np.log1p(np.exp(1.0)) + np.log(2.0)) / 2
    assert loss == pytest.approx(want, rel=1e-12)
    assert delta[0, 0] == 0.0 and delta[1, 1] == 0.0 and np.all(np.isfinite(delta))


def test_the_label_at_minus_inf_costs_inf_with_a_finite_delta():
    ce = SoftmaxCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(ce.forward(np.array([[-np.inf, 0.0]]), np.array([0]))) == np.inf
        np.testing.assert_array_equal(ce.backward(), [[-1.0, 1.0]])


@pytest.mark.parametrize(
    ("z", "y", "loss", "delta"),
    [
        (np.inf, 1.0, 0.0, 0.0),
        (-np.inf, 0.0, 0.0, 0.0),
        (np.inf, 0.0, np.inf, 1.0),
        (-np.inf, 1.0, np.inf, -1.0),
        (np.inf, 0.5, np.inf, 0.5),
    ],
)
def test_binary_cross_entropy_at_infinite_logits_gives_the_limit(z, y, loss, delta):
    """Regression: 0 * logits and y * logits met inf * 0 and inf - inf (nan, also in torch)."""
    bce = BinaryCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(bce.forward(np.array([z]), np.array([y]))) == loss
        np.testing.assert_array_equal(bce.backward(), [delta])


def test_a_nan_logit_gives_a_nan_loss_so_a_diverged_run_shows_as_one():
    with np.errstate(invalid="ignore"):
        assert np.isnan(float(SoftmaxCrossEntropy()(np.array([[np.nan, 0.0]]), np.array([1]))))
        assert np.isnan(float(BinaryCrossEntropy()(np.array([np.nan]), np.array([1.0]))))


def test_float32_logits_keep_their_dtype():
    ce = SoftmaxCrossEntropy()
    loss = ce.forward(np.zeros((2, 3), dtype=np.float32), np.array([0, 2]))
    assert loss.dtype == np.float32 and ce.backward().dtype == np.float32
    assert float(loss) == pytest.approx(np.log(3), rel=1e-6)


def test_labels_out_of_range_name_the_valid_range_and_what_was_given():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] for 3 classes, got values "
                                         r"from 0 to 3"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"from -1 to 0"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([-1, 0]))


def test_float_labels_wrong_label_count_and_mismatched_targets_are_refused():
    with pytest.raises(TypeError, match="labels must be integers"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"shape of pred \(2, 3\), got \(2,\)"):
        MSE().forward(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        BinaryCrossEntropy().forward(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="use SoftmaxCrossEntropy"):
        BinaryCrossEntropy().forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="pred must be float32 or float64, got int64"):
        MSE().forward(np.zeros((2, 1), dtype=np.int64), np.zeros((2, 1)))


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        MSE().backward()


def test_every_loss_runs_on_torch_tensors_and_matches_numpy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    cases = [(MSE(), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))),
             (SoftmaxCrossEntropy(), rng.normal(size=(4, 3)), rng.integers(0, 3, 4)),
             (BinaryCrossEntropy(), rng.normal(size=4), rng.integers(0, 2, 4).astype(float))]
    for loss_fn, pred, target in cases:
        expected = float(loss_fn.forward(pred, target)), loss_fn.backward()
        got = float(loss_fn.forward(torch.tensor(pred), torch.tensor(target)))
        assert abs(got - expected[0]) < 1e-12
        assert relative_error(loss_fn.backward().numpy(), expected[1]) < 1e-12


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.name)
def test_every_loss_matches_the_shared_case_in_numpy_and_torch(case):
    pred, target = case.make(np.random.default_rng(5))
    loss_fn = getattr(losses, case.course)()
    assert abs(float(loss_fn.forward(pred, target)) - case.numpy(pred, target)) < 1e-12
    assert_delta_matches_differences(loss_fn, pred, target)
    torch = pytest.importorskip("torch")
    t = torch.tensor(pred, requires_grad=True)
    expected = case.torch(t, target)
    expected.backward()
    loss_fn.forward(pred, target)
    assert abs(float(loss_fn.forward(pred, target)) - expected.item()) < 1e-12
    assert relative_error(loss_fn.backward(), t.grad.numpy()) < 1e-12


def test_every_course_loss_has_a_shared_case():
    assert {c.course for c in LOSS_CASES} == {"MSE", "SoftmaxCrossEntropy", "BinaryCrossEntropy"}
