"""The one-neuron learning-rate explorer: its compute (gradients, outcomes) and its widget."""

from __future__ import annotations

import numpy as np
import pytest

from course.gradcheck import numerical_gradient, relative_error
from course.neuron import descend, loss_and_grads, neuron_data, sigmoid
from course.widgets import NeuronExplorer


def test_loss_and_grads_agree_with_central_differences():
    x, y = neuron_data()
    params = np.array([0.7, -0.3])
    _, dw, db = loss_and_grads(params[0], params[1], x, y)
    numerical = numerical_gradient(lambda _: loss_and_grads(params[0], params[1], x, y)[0], params)
    assert relative_error(np.array([dw, db]), numerical) < 1e-7


def test_loss_and_grads_agree_with_torch_autograd():
    torch = pytest.importorskip("torch")
    x, y = neuron_data()
    w = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
    loss = ((torch.sigmoid(w * torch.from_numpy(x) + b) - torch.from_numpy(y)) ** 2).mean()
    loss.backward()
    ours = loss_and_grads(0.7, -0.3, x, y)
    assert np.allclose(ours, [loss.item(), w.grad.item(), b.grad.item()], rtol=1e-12)


def test_sigmoid_is_stable_at_extremes():
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(z)
    assert s[0] == 0.0 and s[2] == 0.5 and s[-1] == 1.0


def test_data_come_from_a_neuron_so_the_true_parameters_reach_zero_loss():
    x, y = neuron_data()
    assert loss_and_grads(2.0, -0.5, x, y)[0] == 0.0


@pytest.mark.parametrize(("lr", "outcome"), [(0.01, "still descending"),
                                             (1.0, "still descending"),
                                             (10.0, "converges"), (60.0, "oscillates"),
                                             (300.0, "overshoots and saturates")])
def test_learning_rate_decides_the_outcome(lr, outcome):
    assert descend(lr).outcome == outcome


def test_overshooting_run_names_the_first_step_above_the_start_and_never_says_diverged():
    run = descend(100.0)
    k = run.diverged_at
    assert run.loss[k] > run.loss[0] and np.all(run.loss[:k] <= run.loss[0])
    assert run.outcome == "overshoots and saturates" and "diverged" not in run.describe()
    assert f"at step {k}" in run.describe()
    assert f"{run.loss[0]:.3g} -> {run.loss[k]:.3g}" in run.describe()
    assert np.all(run.loss < 1)


def test_a_99_percent_drop_is_still_descending_and_the_status_says_how_far():
    run = descend(1.0)
    assert run.outcome == "still descending"
    assert "(98.9% lower)" in run.describe()


def test_non_finite_data_stop_the_run_with_a_message_instead_of_raising():
    x, y = neuron_data()
    x[3] = np.nan
    run = descend(1.0, x=x, y=y)
    assert run.diverged_at == 0 and run.loss.size == 1 and run.outcome == "diverges"
    assert "NaN or infinite" in run.describe()


def test_run_records_one_loss_per_step_plus_the_start():
    run = descend(1.0, steps=25)
    assert run.loss.shape == run.w.shape == run.b.shape == (26,)
    assert np.all(np.diff(run.loss) <= 0)


@pytest.mark.parametrize("lr", [0.0, -1.0, float("nan"), "fast"])
def test_bad_learning_rate_is_rejected_naming_lr(lr):
    with pytest.raises((ValueError, TypeError), match="lr"):
        descend(lr)


def test_mismatched_data_shapes_are_rejected_naming_both():
    with pytest.raises(ValueError, match=r"x and y must both have shape \(n,\)"):
        descend(1.0, x=np.zeros(3), y=np.zeros(4))


def test_explorer_redraws_the_same_figure_and_reports_an_overshoot():
    explorer = NeuronExplorer(lr=1.0, steps=30)
    figure, before = explorer.figure, explorer.image.value
    explorer.slider.value = 300.0
    assert explorer.figure is figure
    assert explorer.image.value != before
    assert "overshoots and saturates: at step 1" in explorer.status.value
    explorer.slider.value = 10.0
    assert "converges" in explorer.status.value
