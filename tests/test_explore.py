"""The physics behind the explorers' sliders, and the widget wiring (no browser needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course import explore
from course.explore import (
    Settings,
    clipped_update_norm,
    gradient_profile,
    jacobian_norms,
    train_run,
    two_moons,
)
from course.widgets import Explorer


def test_sigmoid_small_init_depth_30_gradient_vanishes_below_1e_6_of_the_last_layer():
    p = gradient_profile(Settings(depth=30, activation="sigmoid", init="small normal"))
    assert p.grad_norms.shape == (31,) and p.signal_norms.shape == (31,)
    assert p.grad_norms[0] < 1e-6 * p.grad_norms[-1]
    assert p.ratio < 1e-6


def test_relu_he_depth_30_keeps_the_gradient_within_10x_from_last_to_first_layer():
    p = gradient_profile(Settings(depth=30, activation="relu", init="he"))
    assert 0.1 < p.ratio < 10 and 0.1 < p.weight_ratio < 10


def test_relu_xavier_depth_30_loses_the_gradient_by_more_than_10x():
    assert gradient_profile(Settings(depth=30, activation="relu", init="xavier")).ratio < 0.1


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
def test_large_init_explodes_the_gradient_on_its_way_back(activation):
    p = gradient_profile(Settings(depth=30, activation=activation, init="large normal"))
    healthy = gradient_profile(Settings(depth=30, activation=activation, init="he"))
    assert p.ratio > 1e6
    assert p.grad_norms[0] > 1e6 * healthy.grad_norms[0]


@pytest.mark.parametrize(("activation", "fix"), [
    ("sigmoid", {"residual": True}),
    ("tanh", {"residual": True}),
    ("tanh", {"norm": "layernorm"}),
])
def test_residual_or_layernorm_rescues_the_vanishing_network(activation, fix):
    broken = Settings(depth=30, activation=activation, init="small normal")
    assert gradient_profile(broken).ratio < 1e-20
    fixed = gradient_profile(Settings(**{**broken.__dict__, **fix}))
    assert 0.1 < fixed.ratio < 10


@pytest.mark.parametrize("init", ["small normal", "xavier", "he"])
def test_batchnorm_ignores_the_weight_scale_but_grows_the_gradient_about_1_2x_per_layer(init):
    # BatchNorm divides out the scale of the weights, so the vanishing disappears; a deep
    # network with batch statistics still amplifies the gradient on its way back (the gradient
    # explosion of batch-normalised networks at initialisation): 1e2 to 1e3 at depth 30.
    fixed = gradient_profile(Settings(depth=30, activation="tanh", init=init, norm="batchnorm"))
    assert 10 < fixed.ratio < 1e3
    assert 1.05 < fixed.ratio ** (1 / 29) < 1.3


def test_jacobian_product_tracks_the_real_gradient_and_the_top_singular_value_bounds_it():
    for s in [Settings(depth=30, activation="sigmoid", init="small normal"),
              Settings(depth=30, activation="relu", init="large normal")]:
        j, p = jacobian_norms(s), gradient_profile(s)
        assert j.sigma_max.shape == j.rms.shape == (29,)
        assert np.all(j.rms <= j.sigma_max * (1 + 1e-12))
        assert 0.01 < j.typical[-1] / p.ratio < 100
    np.testing.assert_allclose(j.bound, np.cumprod(j.sigma_max))
    assert j.typical[-1] > 1e10


def test_clipping_bounds_one_sgd_step_by_lr_times_tau():
    exploding = Settings(depth=30, activation="relu", init="large normal", lr=0.01)
    clipped = clipped_update_norm(Settings(**{**exploding.__dict__, "clip": 1.0}))
    assert clipped <= 0.01 * 1.0 * (1 + 1e-9)
    assert clipped_update_norm(exploding) > 100 * clipped


def test_clipping_leaves_a_step_below_the_threshold_unchanged():
    calm = Settings(depth=3, activation="tanh", init="xavier", lr=0.1)
    assert clipped_update_norm(Settings(**{**calm.__dict__, "clip": 1e6})) == pytest.approx(
        clipped_update_norm(calm), rel=1e-12)


def test_jacobian_norms_refuse_networks_they_do_not_model():
    with pytest.raises(ValueError, match="plain network"):
        jacobian_norms(Settings(residual=True))


def test_dead_relu_fraction_is_counted_only_for_relu_like_activations():
    p = gradient_profile(Settings(depth=4, activation="relu", init="he"))
    assert p.dead.shape == (4,) and np.all((p.dead >= 0) & (p.dead <= 1))
    assert np.all(gradient_profile(Settings(depth=4, activation="tanh")).dead == 0)
    assert len(p.activations) == 4 and p.activations[0].shape == (explore.N_POINTS, 32)


def test_training_run_learns_two_moons_with_a_small_relu_network():
    run = train_run(Settings(depth=2, activation="relu", init="he", lr=0.03, steps=60))
    assert run.diverged_at is None and run.loss[-1] < 0.5 * run.loss[0]
    assert run.boundary.shape == (explore.GRID, explore.GRID) and run.accuracy > 0.8


def test_training_run_reports_divergence_by_step_instead_of_raising():
    run = train_run(Settings(depth=30, activation="relu", init="large normal", optimizer="sgd",
                             lr=0.01, steps=40))
    assert run.diverged_at is not None and 1 <= run.diverged_at <= 40
    assert f"diverged at step {run.diverged_at}" in run.message
    assert math.isnan(run.accuracy) and np.all(np.isnan(run.boundary))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("depth", 0, r"depth must be an integer in \[1, 50\]"),
    ("depth", 51, "depth"),
    ("activation", "softplus", "activation must be one of"),
    ("init", "orthogonal", "init must be one of"),
    ("norm", "groupnorm", "norm must be one of"),
    ("lr", float("nan"), "lr must be a finite number > 0"),
    ("clip", 0.0, "clip must be a number > 0 or None"),
])
def test_settings_reject_bad_values_naming_the_argument(field, value, message):
    with pytest.raises(ValueError, match=message):
        Settings(**{field: value})


def test_two_moons_is_balanced_standardised_and_seeded():
    x, y = two_moons(100, seed=3)
    assert x.shape == (100, 2) and x.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50]
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_array_equal(x, two_moons(100, seed=3)[0])


# ---------------------------------------------------------------- the widget

SMALL = Settings(depth=3, width=8, steps=5)


def test_moving_a_control_redraws_the_image_in_place_and_caches_the_result():
    ex = Explorer(SMALL)
    first, figure = bytes(ex.image.value), ex.figure
    assert first.startswith(b"\x89PNG")
    ex.controls["depth"].value = 6
    assert ex.settings.depth == 6 and bytes(ex.image.value) != first and ex.figure is figure
    assert len(ex.axes["gradients"].get_lines()[0].get_xdata()) == 7
    ex.controls["depth"].value = 3
    assert bytes(ex.image.value) == first
    assert ("run", SMALL) in ex.cache.items
    assert sorted(s.depth for name, s in ex.cache.items if name == "profile") == [3, 6]


def test_training_controls_reuse_the_profile_and_set_trains_once():
    ex = Explorer(SMALL)
    profile = ex.compute(ex.settings)["profile"]
    ex.set(lr=0.3, optimizer="sgd", clip=1.0, steps=9)
    assert ex.compute(ex.settings)["profile"] is profile
    assert sum(name == "profile" for name, _ in ex.cache.items) == 1
    assert sum(name == "run" for name, _ in ex.cache.items) == 2


def test_divergence_is_shown_in_the_status_line_not_raised():
    ex = Explorer(Settings(depth=10, width=32, activation="relu", init="he", optimizer="sgd",
                           lr=1.0, steps=40))
    assert "diverged at step" in ex.status.value
    ex.controls["clip"].value = 1.0
    assert ex.settings.clip == 1.0 and "diverged" not in ex.status.value


def test_explorer_shows_only_the_requested_controls_and_views():
    ex = Explorer(SMALL, controls=("lr", "optimizer"), views=("loss",))
    assert set(ex.controls) == {"lr", "optimizer"} and list(ex.axes) == ["loss"]
    with pytest.raises(ValueError, match="views entry must be one of"):
        Explorer(SMALL, views=("histogram",))


def test_set_changes_several_settings_with_one_redraw():
    ex = Explorer(SMALL)
    ex.set(activation="relu", init="he", clip=None, steps=7)
    assert (ex.settings.activation, ex.settings.init, ex.settings.steps) == ("relu", "he", 7)
    assert ex.controls["clip"].value == "off"
    assert len(ex.axes["loss"].get_lines()[0].get_xdata()) == 7
