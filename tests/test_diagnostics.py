"""Diagnostics find what was planted: dead ReLUs, saturated sigmoid/tanh units, gradient norms per
layer, update-to-weight ratios.

The networks here are bare lists of course layers with planted weights; the diagnostics look
only at ``net.layers`` and each layer's ``forward``.
"""

import numpy as np
import pytest

from course import layers
from course.diagnostics import (
    LayerTable,
    activation_stats,
    dead_fraction,
    gradient_norms,
    layer_gradient_norms,
    saturated_fraction,
    saturated_fractions,
    snapshot,
    update_to_weight,
)
from course.layers import ReLU, Sigmoid, Tanh
from course.optim import SGD


def Linear(W, b):
    """A course Linear layer with the given W (d_in, d_out) and b (d_out,)."""
    W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
    layer = layers.Linear(*W.shape)
    layer.params["W"], layer.params["b"] = W, b
    return layer


class Net:
    def __init__(self, *layers):
        self.layers = list(layers)


X = np.random.default_rng(0).uniform(-1, 1, size=(64, 2))


def test_dead_fraction_counts_units_zero_on_every_row():
    a = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert dead_fraction(a) == 0.5


def test_saturated_fraction_counts_entries_near_either_bound():
    a = np.array([[0.001, 0.5], [0.999, 0.98]])
    assert saturated_fraction(a, 0.0, 1.0, tol=0.01) == 0.5
    assert saturated_fraction(np.array([[-0.995, 0.995, 0.0, 0.3]]), -1.0, 1.0) == 0.5


def test_array_level_functions_reject_activations_that_are_not_2d():
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        dead_fraction(np.zeros(5))
    with pytest.raises(ValueError, match="tol"):
        saturated_fraction(np.zeros((2, 2)), 0.0, 1.0, tol=0.7)


def dead_relu_fractions(net, x) -> dict[str, float]:
    """Layer name -> dead fraction, for each ReLU layer of activation_stats' table."""
    table = activation_stats(net, x)
    return {n: d for n, d in zip(table["layer"], table["dead"]) if d is not None}


def test_planted_dead_relus_are_found_in_their_layer():
    W = np.ones((2, 8))
    b = np.zeros(8)
    b[:3] = -10.0
    net = Net(Linear(W, b), ReLU(), Linear(np.ones((8, 2)), np.zeros(2)))
    assert dead_relu_fractions(net, X) == {"1 ReLU": 3 / 8}


def test_a_healthy_relu_layer_has_no_dead_units():
    W = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    net = Net(Linear(W, np.zeros(4)), ReLU())
    assert dead_relu_fractions(net, X) == {"1 ReLU": 0.0}


@pytest.mark.parametrize("act, name", [(Sigmoid, "1 Sigmoid"), (Tanh, "1 Tanh")])
def test_planted_saturation_is_found_and_small_weights_are_not_saturated(act, name):
    big = Net(Linear(np.full((2, 4), 100.0), np.full(4, 50.0)), act())
    small = Net(Linear(np.full((2, 4), 0.1), np.zeros(4)), act())
    assert saturated_fractions(big, X)[name] > 0.9
    assert saturated_fractions(small, X)[name] == 0.0


def test_activation_stats_table_has_mean_std_and_the_applicable_health_column():
    net = Net(Linear(np.eye(2), np.zeros(2)), ReLU(), Linear(np.eye(2), np.zeros(2)), Tanh())
    table = activation_stats(net, X)
    assert table["layer"] == ["0 Linear", "1 ReLU", "2 Linear", "3 Tanh"]
    assert table["mean"][0] == pytest.approx(X.mean())
    assert table["std"][1] == pytest.approx(np.maximum(X, 0).std())
    assert table["dead"] == [None, 0.0, None, None]
    assert table["saturated"][:3] == [None, None, None] and table["saturated"][3] == 0.0
    text = repr(table)
    assert text.splitlines()[0] == "activations"
    assert "1 ReLU" in text and " - " in text


def test_layer_gradient_norms_group_parameters_by_layer():
    grads = {"0.W": np.full((2, 2), 1.0), "0.b": np.full(2, 1.0), "2.W": np.array([[3.0, 4.0]])}
    norms = layer_gradient_norms(grads)
    assert norms == {"0": pytest.approx(np.sqrt(6.0)), "2": pytest.approx(5.0)}
    assert gradient_norms(grads)["grad norm"] == pytest.approx([2.0, np.sqrt(2.0), 5.0])


def test_layer_gradient_norms_report_non_finite_gradients():
    norms = layer_gradient_norms({"0.W": np.array([1.0, np.nan]), "1.W": np.array([np.inf])})
    assert np.isnan(norms["0"]) and norms["1"] == np.inf


def test_update_to_weight_ratio_is_the_step_over_the_weight_norm_for_matrices_only():
    params = {"0.W": np.full((2, 2), 2.0), "0.b": np.zeros(2)}
    before = snapshot(params)
    SGD(params, lr=0.1).step({"0.W": np.ones((2, 2)), "0.b": np.ones(2)})
    table = update_to_weight(before, params)
    assert table["parameter"] == ["0.W"]
    assert table["ratio"] == [pytest.approx(0.1 / 2.0)]


def test_update_to_weight_rejects_mismatched_snapshots():
    with pytest.raises(KeyError, match="0.W"):
        update_to_weight({"0.W": np.ones((2, 2))}, {})


def test_tables_are_indexable_by_column_and_name_the_columns_on_a_typo():
    table = LayerTable("t", ["layer", "value"], [["a", 1.23456], ["bb", None]])
    assert table["value"] == [1.23456, None] and len(table) == 2
    assert repr(table).splitlines() == ["t", "layer  value", "a       1.23", "bb         -"]
    with pytest.raises(KeyError, match="columns"):
        table["valu"]


def test_torch_activations_are_measured_like_numpy_ones():
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 1.0], [0.0, 3.0]])
    assert dead_fraction(torch.tensor(a, dtype=torch.float32)) == dead_fraction(a) == 0.5
