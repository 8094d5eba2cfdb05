"""Draw the computational graph of a scalar expression with matplotlib (no graphviz needed).

``draw_graph(root)`` lays the graph that ends at ``root`` out left to right: a node's column is
its topological depth (0 for inputs, otherwise 1 + the deepest parent), and each box shows the
node's operation (with its label, if any), its value and its gradient. An arrow runs from each
parent to each node that uses it, from box edge to box edge; a parent used twice by one node
(``x * x``) gets one arrow marked "used 2 times", since both uses send their gradient along it.
A leaf reads "input" when it has a label and "constant" when it has none.

A node is a ``course.autodiff.Value`` or any object with ``data``, ``grad``, ``op``, ``label``
and ``parents`` (the learner's ``Value`` of lesson 02). Matplotlib is
imported only when a graph is drawn. Without ``ax`` the figure comes from pyplot, so a notebook
shows it (end the cell with ``plt.show()``) and a machine without a display draws it with Agg.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

INPUT_COLOUR = "#dbe9f6"
OP_COLOUR = "#fdf1d6"


def _parents(node) -> tuple:
    return tuple(node.parents)


def _check_node(node, name: str = "root") -> None:
    missing = [a for a in ("data", "grad", "parents", "op", "label") if not hasattr(node, a)]
    if missing:
        raise TypeError(
            f"{name} must be a course.autodiff.Value (a node with data, grad, op, label and "
            f"parents), got {type(node).__name__}: {node!r}"
        )


@dataclass(frozen=True)
class GraphLayout:
    """Where every node of a graph goes.

    nodes: each node once, parents before children; depth[i]: column of nodes[i];
    row[i]: its vertical position (columns centred on 0); edges: (parent index, child index)
    -> how many times the child uses that parent (2 for ``x * x``).
    """

    nodes: list
    depth: list[int]
    row: list[float]
    edges: dict[tuple[int, int], int]


def layout(root, max_nodes: int = 200) -> GraphLayout:
    """Topological order (iterative), depth and row of every node reachable from ``root``."""
    _check_node(root)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive integer, got {max_nodes!r}")
    order, visited, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())
        elif id(node) not in visited:
            _check_node(node, "every node of the graph")
            visited.add(id(node))
            if len(visited) > max_nodes:
                raise ValueError(
                    f"the graph has more than max_nodes={max_nodes} nodes; draw a smaller "
                    "expression or raise max_nodes"
                )
            stack.append(node)
            stack.append(None)
            stack.extend(p for p in _parents(node) if id(p) not in visited)
    index = {id(node): i for i, node in enumerate(order)}
    edges = Counter((index[id(p)], i) for i, node in enumerate(order) for p in _parents(node))
    depth: list[int] = []
    for node in order:
        depth.append(1 + max((depth[index[id(p)]] for p in _parents(node)), default=-1))
    columns: dict[int, list[int]] = {}
    for i, d in enumerate(depth):
        columns.setdefault(d, []).append(i)
    row = [0.0] * len(order)
    for members in columns.values():
        for k, i in enumerate(members):
            row[i] = (len(members) - 1) / 2 - k
    return GraphLayout(order, depth, row, dict(edges))


def node_text(node) -> str:
    """The box text: "label: op", the value, the gradient. A leaf's op reads "input" when it
    has a label and "constant" when it has none (a number mixed into an expression)."""
    op = node.op or ("input" if node.label else "constant")
    name = f"{node.label}: {op}" if node.label else op
    return f"{name}\ndata {node.data:.4g}\ngrad {node.grad:.4g}"


def draw_graph(root, title: str = "", ax=None, figsize=None, max_nodes: int = 200):
    """Draw the graph ending at ``root`` into ``ax`` (or a new figure); returns the Figure.

    Inputs (leaves) are blue boxes, operations yellow; the x axis is the topological depth.
    """
    lay = layout(root, max_nodes=max_nodes)
    width = max(lay.depth) + 1
    height = max(Counter(lay.depth).values())
    if ax is None:
        figsize = figsize or (min(2.0 + 1.6 * width, 14.0), min(1.0 + 0.9 * height, 10.0))
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    boxes = []
    for node, x, y in zip(lay.nodes, lay.depth, lay.row):
        colour = OP_COLOUR if _parents(node) else INPUT_COLOUR
        boxes.append(ax.text(x, y, node_text(node), ha="center", va="center", fontsize=8,
                             bbox={"boxstyle": "round", "fc": colour, "ec": "grey"}))
    for (p, c), uses in lay.edges.items():
        # from the right edge of the parent's box to the left edge of the child's, head visible
        ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[c], xytext=(1.0, 0.5),
                    textcoords=boxes[p],
                    arrowprops={"arrowstyle": "-|>", "color": "grey", "shrinkA": 5,
                                "shrinkB": 5, "mutation_scale": 12})
        if uses > 1:
            start, end = (lay.depth[p], lay.row[p]), (lay.depth[c], lay.row[c])
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12,
                    f"used {uses} times", ha="center", fontsize=7, color="grey")
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-height / 2 - 0.1, height / 2 + 0.1)
    if title:
        ax.set_title(title)
    ax.axis("off")
    return ax.figure
