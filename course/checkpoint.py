"""Gradient checkpointing: keep only every k-th activation in the forward pass and recompute the
rest, one segment at a time, during the backward pass.

A plain forward pass keeps every layer's cache until backward: memory grows with depth. Here the
network's top-level layers are cut into segments of ``k`` layers. The forward pass stores only
each segment's input (a checkpoint) and drops the layers' caches; the backward pass walks the
segments from the last to the first, reruns one segment's forward from its checkpoint (restoring
its caches), backpropagates through it and drops them again. Peak memory is then about

    (number of checkpoints) * (one activation) + (one segment's caches),

smallest near k = sqrt(depth), for the price of one extra forward pass. The gradients are
exactly those of the plain backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from course.costs import cache_bytes, nbytes
from course.layers import check_input, iter_layers


@dataclass(frozen=True)
class CheckpointRun:
    """What one checkpointed forward + backward did.

    dx: dL/dx (n, d_in); peak_bytes: the most bytes held at once in checkpoints plus caches;
    checkpoint_bytes: bytes of the stored segment inputs; segments: number of segments;
    recomputed_layers: layers whose forward ran a second time.
    """

    dx: object
    peak_bytes: int
    checkpoint_bytes: int
    segments: int
    recomputed_layers: int


def segments(n_layers: int, k: int) -> list[range]:
    """The layer indices of each segment of k consecutive layers (the last may be shorter)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (layers per segment) must be a positive integer, got {k!r}")
    return [range(i, min(i + k, n_layers)) for i in range(0, n_layers, k)]


def _drop_caches(layers) -> None:
    """Forget the caches of ``layers`` and of every layer inside them (residual blocks too)."""
    for layer in iter_layers(layers, containers=True):
        layer.cache = None


def checkpointed_forward(net, x, k: int):
    """Forward through ``net.layers`` keeping only each segment's input.

    Returns (output (n, d_out), checkpoints: list of segment inputs, the segments)."""
    parts = segments(len(net.layers), k)
    check_input(net.layers[0], x, net.sizes[0])
    checkpoints, h = [], x
    for part in parts:
        checkpoints.append(h)
        for i in part:
            h = net.layers[i].forward(h)
        _drop_caches([net.layers[i] for i in part])
    return h, checkpoints, parts


def checkpointed_backward(net, x, upstream_fn, k: int) -> CheckpointRun:
    """Forward and backward through ``net`` with checkpoints every k layers.

    upstream_fn(output) -> dL/d(output): called once on the network's output (for example
    ``lambda out: (loss_fn.forward(out, y), loss_fn.backward())[1]``). Parameter gradients are
    stored in the layers as by ``net.backward``. BatchNorm running statistics are updated once,
    as in a plain pass (the recomputation restores them).
    """
    out, checkpoints, parts = checkpointed_forward(net, x, k)
    saved = nbytes(checkpoints)
    g = upstream_fn(out)
    peak, recomputed = saved, 0
    for part, h in zip(reversed(parts), reversed(checkpoints)):
        layers = [net.layers[i] for i in part]
        leaves = list(iter_layers(layers))
        buffers = [dict(layer.buffers) for layer in leaves]
        for layer in layers:
            h = layer.forward(h)
        for layer, kept in zip(leaves, buffers):
            layer.buffers = kept
        recomputed += len(layers)
        held = [checkpoints, [layer.cache for layer in leaves]]
        peak = max(peak, nbytes(held))
        for layer in reversed(layers):
            g = layer.backward(g)
        _drop_caches(layers)
    return CheckpointRun(g, peak, saved, len(parts), recomputed)


def plain_peak_bytes(net, x) -> int:
    """Bytes of caches a plain forward pass keeps for its backward pass (the baseline)."""
    net.forward(x)
    return cache_bytes(net)
