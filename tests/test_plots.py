"""The shared figures: what each draws, log axes where promised, bad values left out."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_loss_curves_draw_one_line_per_run_on_a_log_axis_and_mark_a_diverged_run():
    ax = plots.loss_curves({"sgd": [1.0, 0.5, 0.25], "adam": [1.0, 2.0, np.inf]})
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0] == "sgd" and "adam" in labels
    assert ax.get_yscale() == "log"
    markers = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(markers) == 1 and markers[0].get_xdata()[0] == 2


def test_gradient_norms_use_a_log_axis_and_drop_zero_and_nonfinite_values():
    ax = plots.gradient_norms({"sigmoid": [1e-9, 0.0, np.nan, 1e-2]})
    assert ax.get_yscale() == "log"
    y = ax.get_lines()[0].get_ydata()
    assert np.isnan(y[1]) and np.isnan(y[2]) and y[0] == 1e-9
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3, 4])


def test_boundary_grid_covers_the_data_with_padding():
    x = np.array([[0.0, 0.0], [1.0, 2.0]])
    xx, yy, points = plots.boundary_grid(x, resolution=5, padding=0.5)
    assert xx.shape == yy.shape == (5, 5) and points.shape == (25, 2)
    assert xx.min() == -0.5 and xx.max() == 1.5 and yy.max() == 2.5


def test_boundary_grid_rejects_data_that_is_not_two_dimensional():
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        plots.boundary_grid(np.zeros((4, 3)))


def test_decision_boundary_shades_the_class_the_predictor_gives_each_grid_point():
    x = np.array([[-1.0, 0.0], [1.0, 0.0]])
    y = np.array([0, 1])
    ax = plots.decision_boundary(lambda p: (p[:, 0] > 0).astype(int), x, y, resolution=20)
    assert len(ax.collections) >= 3  # the shaded regions plus one scatter per class
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]


def test_activation_quantiles_per_layer_and_nan_for_a_layer_without_finite_values():
    q = plots.activation_quantiles([np.arange(101.0), np.array([np.nan])])
    np.testing.assert_allclose(q[0], [5, 25, 50, 75, 95])
    assert np.all(np.isnan(q[1]))


def test_legend_labels_write_powers_as_superscripts():
    assert plots.legend_label("sigmoid, N(0, 0.01^2)") == "sigmoid, N(0, 0.01²)"
    assert plots.legend_label("lr 10^-3 and 10^{12}") == "lr 10⁻³ and 10¹²"
    ax = plots.gradient_norms({"N(0, 0.01^2)": [1.0, 2.0], "He": [1.0, 1.5]})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["N(0, 0.01²)", "He"]


def test_a_curve_far_below_the_others_gets_its_own_panel_and_the_rest_keep_their_range():
    depth = np.arange(1, 31)
    norms = {"broken": 10.0 ** (-2.0 * depth), "a": 1.0 + 0.01 * depth, "b": 2.0 / depth,
             "c": np.full(30, 0.5)}
    assert plots.far_curves(norms) == ["broken"]
    assert len(plots.gradient_norms(norms).figure.axes) == 1
    ax = plots.gradient_norms(norms, separate=True)
    far, main = ax.figure.axes
    assert main is ax and [line.get_label() for line in far.get_lines()] == ["broken"]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "c"]
    assert ax.get_ylim()[0] > 1e-3
    assert plots.far_curves({"x": [1.0], "y": [1e-30]}) == []
    _, given = plt.subplots()
    assert plots.gradient_norms(norms, ax=given, separate=True) is given
    assert len(given.get_lines()) == 4
