"""The widgets keep one figure and update it in place; the explorer streams its training views,
reads at notebook width and says what it did (no browser needed)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from course.explore import Settings, train_run, train_stream
from course.widgets import Explorer, NeuronExplorer, TangentSlider, tangent_slider
from course.widgets.figure import FONT_PX, distinct_ticks, new_figure

SMALL = Settings(depth=3, width=8, steps=12)


def p(x):
    return 3 * x**3 - 2 * x**2 + 5


def p_prime(x):
    return 9 * x**2 - 4 * x


def test_tangent_slider_moves_its_lines_in_the_same_figure():
    xs = np.linspace(-1.0, 1.5, 101)
    slider = tangent_slider(p, p_prime, xs, x0=1.0, lo=-1.0, hi=1.5, step=0.05, ylim=(0, 12))
    assert isinstance(slider, TangentSlider)
    figure, first = slider.figure, slider.image.value
    assert bytes(first).startswith(b"\x89PNG")
    slider.slider.value = 0.5
    assert slider.figure is figure and slider.image.value != first
    tx, ty = slider.tangent.get_data()
    np.testing.assert_allclose(np.diff(ty) / np.diff(tx), p_prime(0.5))
    assert slider.point.get_data()[1][0] == pytest.approx(p(0.5))
    assert "slope 0.25" in slider.legend.get_texts()[1].get_text()
    assert slider.slider.step == 0.05 and (slider.slider.min, slider.slider.max) == (-1.0, 1.5)


def test_tangent_slider_refuses_bad_ranges_naming_them():
    with pytest.raises(ValueError, match="xs must be a 1-d array"):
        tangent_slider(p, p_prime, [1.0])
    with pytest.raises(ValueError, match="lo must be below hi"):
        tangent_slider(p, p_prime, np.linspace(0, 1, 5), lo=1.0, hi=0.0)


def test_widget_figures_fit_a_notebook_with_text_of_at_least_10_px():
    for widget in (Explorer(SMALL), NeuronExplorer(lr=1.0, steps=20),
                   tangent_slider(p, p_prime, np.linspace(-1, 1.5, 50))):
        width = widget.figure.canvas.get_width_height()[0]
        assert 600 <= width <= 800
        for ax in widget.figure.axes:
            for label in ax.get_xticklabels() + ax.get_yticklabels():
                assert label.get_fontsize() * widget.figure.dpi / 72 >= 10
    assert FONT_PX >= 10


def test_distinct_ticks_never_repeat_a_label_on_a_nearly_flat_curve():
    ax = new_figure(400, 300).subplots()
    ax.plot([1, 2, 3], [1.0123e17, 1.01231e17, 1.01232e17])
    ax.set_ylim(1.01229e17, 1.01233e17)
    distinct_ticks(ax)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) >= 2 and len(set(labels)) == len(labels)


def test_depth_one_draws_its_activation_spread_instead_of_an_empty_panel():
    ex = Explorer(Settings(depth=1, width=8, steps=5))
    verts = ex.artists["bands"][0].get_paths()[0].vertices
    assert np.ptp(verts[:, 0]) > 0 and np.ptp(verts[:, 1]) > 0


def test_a_snapped_learning_rate_is_named_in_the_status_line():
    ex = Explorer(SMALL)
    assert "snaps" not in ex.status.value
    ex.controls["lr"].value = 10 ** 1.5 / 1000
    assert "learning rate 0.0316 (the slider snaps" in ex.status.value
    ex.controls["lr"].value = 0.01
    assert "snaps" not in ex.status.value


def test_the_activation_and_norm_controls_show_the_old_words_and_set_the_mlp_names():
    ex = Explorer(SMALL)
    ex.controls["activation"].value = "leaky_relu"
    ex.controls["norm"].value = "layernorm"
    assert (ex.settings.activation, ex.settings.norm) == ("leaky_relu", "layernorm")
    assert ex.controls["activation"].label == "leaky relu"
    ex.set(norm=None)
    assert ex.controls["norm"].value == "none" and ex.settings.norm is None


def test_train_stream_yields_a_growing_curve_and_ends_with_the_train_run():
    s = Settings(depth=2, width=8, steps=12, activation="relu", init="he")
    runs = list(train_stream(s, chunk=5))
    assert [r.loss.size for r in runs[:-1]] == [5, 10] and not any(r.done for r in runs[:-1])
    whole = train_run(s)
    np.testing.assert_array_equal(runs[-1].loss, whole.loss)
    np.testing.assert_array_equal(runs[-1].boundary, whole.boundary)
    diverging = Settings(depth=30, activation="relu", init="large normal", optimizer="sgd",
                         lr=0.01, steps=40)
    last = list(train_stream(diverging, chunk=3))[-1]
    assert last.diverged_at == train_run(diverging).diverged_at


def test_in_a_running_event_loop_training_streams_in_after_the_first_image():
    async def scenario():
        ex = Explorer(SMALL)
        while ex.pending is not None:
            await asyncio.sleep(0)
        ex.controls["depth"].value = 4
        first = ex.image.value
        assert ex.pending is not None and "training..." in ex.status.value
        while ex.pending is not None:
            await asyncio.sleep(0)
        assert ex.image.value != first and "accuracy" in ex.status.value
        assert ("run", ex.settings) in ex.cache.items
        ex.controls["depth"].value = 5
        ex.controls["depth"].value = 6
        while ex.pending is not None:
            await asyncio.sleep(0)
        return ex

    ex = asyncio.run(scenario())
    assert ("run", Settings(**{**SMALL.__dict__, "depth": 6})) in ex.cache.items
    assert ("run", Settings(**{**SMALL.__dict__, "depth": 5})) not in ex.cache.items
