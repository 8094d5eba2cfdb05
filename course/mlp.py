"""A multilayer perceptron as a flat list of layers: forward runs them in order, backward in
reverse, each layer using the cache its own forward kept.

For sizes [d_0, d_1, ..., d_L] each hidden layer l = 1 .. L-1 is

    z = h @ W_l + b_l,  [z = norm(z)],  h = phi(z)

and the output layer is a plain Linear d_(L-1) -> d_L (logits or regression outputs; the loss
supplies the softmax or sigmoid). With ``residual=True`` a hidden layer whose input and output
widths agree becomes h + phi(norm(h @ W + b)).

Parameters are named '<layer index>.<param>' ('0.W', '0.b', '1.gamma', ...), and
'<block index>.<layer index>.<param>' inside a residual block; ``parameters()`` and
``gradients()`` return dicts with these names, the arrays themselves (optimizers update them in
place).
"""

from __future__ import annotations

import numpy as np

from course.backend import namespace
from course.layers import ACTIVATIONS, NORMS, Layer, Linear, Residual, check_input, iter_layers


class MLP:
    """sizes: [d_in, hidden widths..., d_out] (at least two entries).

    activation: one of ACTIVATIONS ('sigmoid', 'tanh', 'relu', 'leaky_relu', 'gelu',
    'identity'); init: an initialiser spec (course.initializers.get), by default 'he' for the
    ReLU family and 'xavier' otherwise; residual: wrap each width-preserving hidden layer in a
    Residual block; norm: None, 'layernorm' or 'batchnorm', placed before each hidden
    activation; seed: weights are drawn in layer order from numpy's default_rng(seed);
    dtype: 'float64' or 'float32'; classes: layer classes to build with in place of the
    library's, by kind ({"linear": MyLinear, "relu": MyReLU}: lesson 04 builds the network from
    the learner's own layers this way).
    """

    def __init__(self, sizes, activation: str = "relu", init=None, residual: bool = False,
                 norm: str | None = None, seed: int | None = 0, dtype: str = "float64",
                 classes: dict | None = None):
        sizes = _check_sizes(sizes)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        if norm is not None and norm not in NORMS:
            raise ValueError(f"norm must be None or one of {list(NORMS)}, got {norm!r}")
        if init is None:
            init = "he" if activation in ("relu", "leaky_relu", "gelu") else "xavier"
        self.sizes, self.activation, self.init = sizes, activation, init
        self.residual, self.norm = bool(residual), norm
        kinds = {"linear": Linear, **ACTIVATIONS, **NORMS, **(classes or {})}
        rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        for d_in, d_out in zip(sizes[:-2], sizes[1:-1]):
            block = [kinds["linear"](d_in, d_out, init, rng, dtype)]
            if norm is not None:
                block.append(kinds[norm](d_out, dtype=dtype))
            block.append(kinds[activation]())
            if residual and d_in == d_out:
                self.layers.append(Residual(block))
            else:
                self.layers.extend(block)
        self.layers.append(kinds["linear"](sizes[-2], sizes[-1], init, rng, dtype))
        _name_layers(self.layers, "")

    def __repr__(self) -> str:
        lines = [f"MLP({self.sizes}, activation={self.activation!r}, init={self.init!r}, "
                 f"residual={self.residual}, norm={self.norm!r})"]
        lines += [f"  {layer.name}: {layer!r}" for layer in self.layers]
        return "\n".join(lines)

    def __call__(self, x):
        return self.forward(x)

    # ------------------------------------------------------------ forward and backward

    def forward(self, x):
        """x: (n, d_in) -> output (n, d_out); every layer keeps its cache for backward."""
        check_input(self.layers[0], x, self.sizes[0])
        xp = namespace(x)
        if not bool(xp.all(xp.isfinite(x))):
            raise ValueError("MLP: x contains NaN or inf; clean or impute the data first")
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        return h

    def backward(self, upstream, accumulate: bool = False, input_grad: bool = True):
        """upstream: dL/d(output) (n, d_out), e.g. loss_fn.backward(). Stores every layer's
        parameter gradients (overwriting them, or adding to them with ``accumulate=True``) and
        returns dL/dx (n, d_in), or None with ``input_grad=False`` (saves one matmul)."""
        g = upstream
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and isinstance(layer, (Linear, Residual)):
                return layer.backward(g, accumulate=accumulate, input_grad=input_grad)
            g = layer.backward(g, accumulate=accumulate)
        return g if input_grad else None

    # ------------------------------------------------------------ parameters

    def named_layers(self):
        """(name, layer) for every layer holding parameters or buffers, residual blocks opened."""
        return [(layer.name, layer) for layer in iter_layers(self)
                if layer.params or layer.buffers]

    def parameters(self) -> dict:
        """'<name>.<param>' -> the parameter array itself (update in place)."""
        return {f"{name}.{k}": p for name, layer in self.named_layers()
                for k, p in layer.params.items()}

    def gradients(self) -> dict:
        """'<name>.<param>' -> its gradient from the last backward, same names as parameters()."""
        return {f"{name}.{k}": layer.grads[k] for name, layer in self.named_layers()
                for k in layer.params}

    def linear_layers(self) -> list[Linear]:
        """The Linear layers, input side first (residual blocks opened)."""
        return [layer for layer in iter_layers(self) if isinstance(layer, Linear)]

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def train(self) -> MLP:
        """Training mode: BatchNorm normalises with the batch's statistics."""
        return self._set_training(True)

    def eval(self) -> MLP:
        """Evaluation mode: BatchNorm uses its running statistics."""
        return self._set_training(False)

    def _set_training(self, flag: bool) -> MLP:
        for layer in self.layers:
            layer.train(flag)
        return self

    def to(self, xp: str = "numpy", device=None, dtype: str | None = None) -> MLP:
        """Move every parameter to numpy (xp='numpy') or torch (xp='torch', on ``device``),
        optionally casting to dtype 'float32'/'float64'. Build optimizers after moving."""
        for layer in self.layers:
            layer.to(xp, device, dtype)
        return self

    def n_params(self) -> int:
        return sum(int(np.prod(tuple(p.shape))) for p in self.parameters().values())


def _check_sizes(sizes) -> list[int]:
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a list of layer widths [d_in, ..., d_out], "
                        f"got {sizes!r}") from None
    if len(sizes) < 2 or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
                             for d in sizes):
        raise ValueError(f"sizes must be at least two positive integers [d_in, ..., d_out], "
                         f"got {sizes!r}")
    return [int(d) for d in sizes]


def _name_layers(layers, prefix: str) -> None:
    for i, layer in enumerate(layers):
        layer.name = f"{prefix}{i}"
        if isinstance(layer, Residual):
            _name_layers(layer.layers, f"{layer.name}.")


# ---------------------------------------------------------------- L2 and a mini-batch SGD loop


def l2_penalty(net, lam: float) -> float:
    """L2 regularisation of the weights W of every Linear layer (never the biases).

    Returns the loss term lam / 2 * (sum over layers of the sum of W squared), a float, and adds
    its gradient lam * W to each layer's ``grads["W"]``: call it after ``net.backward``.
    """
    penalty = 0.0
    for layer in net.linear_layers():
        W = layer.params["W"]
        penalty += lam / 2 * float(np.sum(W * W))
        layer.grads["W"] = layer.grads["W"] + lam * W
    return penalty


def sgd_train(net, loss_fn, x, y, lr: float, lam: float = 0.0, batch: int = 32,
              steps: int = 500, val_fraction: float = 0.2, every: int = 50, seed: int = 0) -> dict:
    """Mini-batch SGD with L2 on a training split of (x, y), reporting a validation split.

    rng = default_rng(seed); order = rng.permutation(n): its first round(val_fraction * n)
    indices are the validation split, the rest the training split. Each step draws ``batch``
    training rows (rng.choice(n_train, batch, replace=False) indexes the training split), runs
    forward, the loss, backward and ``l2_penalty``, then moves every parameter by -lr times its
    gradient, in place. Before steps 0, every, 2 every, ... and after the last, it records the
    validation loss (without the penalty) and accuracy.
    x (n, d_in), y (n,) class indices. -> {"train": the loss of each step's batch, penalty
    included (steps,), "val_loss": [...], "val_acc": [...]} as lists of floats.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_val = round(val_fraction * len(x))
    val, train = order[:n_val], order[n_val:]
    history = {"train": [], "val_loss": [], "val_acc": []}
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            out = net.forward(x[val])
            history["val_loss"].append(float(loss_fn.forward(out, y[val])))
            history["val_acc"].append(float(np.mean(np.argmax(out, axis=1) == y[val])))
        if step == steps:
            break
        idx = train[rng.choice(len(train), size=batch, replace=False)]
        loss = float(loss_fn.forward(net.forward(x[idx]), y[idx]))
        net.backward(loss_fn.backward())
        history["train"].append(loss + l2_penalty(net, lam))
        grads = net.gradients()
        for name, p in net.parameters().items():
            p -= lr * grads[name]
    return history


def tune_l2(make_net, x, y, lams, lr: float, steps: int, batch: int = 32,
            seed: int = 0) -> tuple[float, dict]:
    """Choose L2's lam on the validation split: for each lam, a fresh network ``make_net()``
    is trained by ``sgd_train`` (softmax cross-entropy, the given lr, steps, batch and seed);
    its last validation loss is its score.

    -> (the lam with the lowest score, {lam: score}).
    """
    from course.losses import SoftmaxCrossEntropy

    scores = {}
    for lam in lams:
        history = sgd_train(make_net(), SoftmaxCrossEntropy(), x, y, lr, lam, batch, steps,
                            seed=seed)
        scores[lam] = history["val_loss"][-1]
    return min(scores, key=scores.get), scores
