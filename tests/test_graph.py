import math

import matplotlib
import matplotlib.pyplot as plt
import pytest

from course.autodiff import Value
from course.graph import GraphLayout, draw_graph, layout, node_text

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _neuron():
    x1, x2, w1, w2, b = (Value(v, label=n) for v, n in
                         [(2.0, "x1"), (0.0, "x2"), (-3.0, "w1"), (1.0, "w2"), (6.88, "b")])
    out = (x1 * w1 + x2 * w2 + b).tanh()
    out.label = "o"
    out.backward()
    return out


def _boxes(fig):
    return [t for t in fig.axes[0].texts if t.get_bbox_patch() is not None]


def _arrows(fig):
    return [c for c in fig.axes[0].get_children() if isinstance(c, matplotlib.text.Annotation)]


def test_layout_of_a_neuron_counts_nodes_edges_and_depths():
    lay = layout(_neuron())
    assert isinstance(lay, GraphLayout)
    assert len(lay.nodes) == 10 and len(lay.edges) == 9
    assert max(lay.depth) == 4 and lay.nodes[-1].label == "o"
    index = {id(n): i for i, n in enumerate(lay.nodes)}
    for (p, c) in lay.edges:
        assert p < c and lay.depth[p] < lay.depth[c]
    assert all(lay.depth[index[id(n)]] == 0 for n in lay.nodes if not n.parents)


def test_drawn_neuron_has_a_box_per_node_an_arrow_per_edge_and_value_and_grad_labels():
    out = _neuron()
    fig = draw_graph(out, title="neuron")
    boxes, arrows = _boxes(fig), _arrows(fig)
    assert len(boxes) == 10 and len(arrows) == 9
    texts = [b.get_text() for b in boxes]
    assert f"data {out.data:.4g}" in texts[-1] and "grad 1" in texts[-1]
    w1 = next(t for t in texts if t.startswith("w1"))
    assert w1 == "w1: input\ndata -3\ngrad " + f"{2.0 * (1 - out.data**2):.4g}"
    assert fig.axes[0].get_title() == "neuron"


def test_x_times_x_draws_x_once_with_one_arrow_marked_twice():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    lay = layout(y)
    assert len(lay.nodes) == 2 and lay.edges == {(0, 1): 2}
    fig = draw_graph(y)
    assert len(_boxes(fig)) == 2 and len(_arrows(fig)) == 1
    assert "used 2 times" in [t.get_text() for t in fig.axes[0].texts]
    assert "grad 6" in node_text(x)


def test_diamond_draws_the_shared_input_once():
    x = Value(2.0, label="x")
    d = x * 3 + x.exp()
    d.backward()
    lay = layout(d)
    assert sum(n is x for n in lay.nodes) == 1
    assert len(lay.nodes) == 5 and len(lay.edges) == 5
    fig = draw_graph(d)
    assert len(_boxes(fig)) == 5
    assert math.isclose(x.grad, 3 + math.exp(2))


def test_draws_into_given_axes_and_saves_headless(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert draw_graph(_neuron(), ax=ax) is fig
    fig.savefig(tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000


@pytest.mark.parametrize("bad", [3.0, "x", None, [Value(1.0)]])
def test_not_a_value_is_a_type_error_naming_root(bad):
    with pytest.raises(TypeError, match="root must be a course.autodiff.Value"):
        draw_graph(bad)


def test_too_large_a_graph_is_refused_naming_max_nodes():
    y = Value(0.0)
    for _ in range(30):
        y = y + 1.0
    with pytest.raises(ValueError, match="max_nodes=20"):
        layout(y, max_nodes=20)


class _LessonNode:
    """A node that is not a course.autodiff.Value but has its attributes (a learner's class)."""

    def __init__(self, data, parents=(), op="", label=""):
        self.data, self.grad, self.parents, self.op, self.label = data, 0.0, parents, op, label


def test_draws_any_node_with_the_values_attributes():
    x = _LessonNode(2.0, label="x")
    y = _LessonNode(4.0, (x, x), "*", "y")
    lay = layout(y)
    assert lay.nodes == [x, y] and lay.edges == {(0, 1): 2} and lay.depth == [0, 1]
    assert len(_boxes(draw_graph(y))) == 2
