"""Layers as forward/backward pairs, batch first: x (n, d_in) -> out (n, d_out).

Every layer has ``params`` and ``grads`` (dicts name -> array of the same shape; empty for a
layer without parameters) and ``cache``: what its forward kept, exactly what its backward needs.
``backward(upstream)`` takes dL/d(out) (n, d_out) and returns dL/d(x) (n, d_in). Parameter
gradients are overwritten by default; ``backward(upstream, accumulate=True)`` adds them to what
is there (accumulation over micro-batches, on purpose).

All arithmetic goes through the input's array namespace (``course.backend``), so the same layers
run on numpy arrays and on torch tensors on any device, in float32 or float64.
"""

from __future__ import annotations

import math

import numpy as np

from course import initializers
from course.backend import convert, dtype_name, is_array, is_float, namespace


class Layer:
    """Base class: bookkeeping shared by all layers (the math lives in each subclass)."""

    def __init__(self):
        self.params: dict = {}
        self.grads: dict = {}
        self.buffers: dict = {}
        self.cache = None
        self.training = True
        self.name = ""

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def train(self, mode: bool = True) -> Layer:
        """Training mode (BatchNorm normalises with the batch's statistics); returns self."""
        self.training = bool(mode)
        return self

    def eval(self) -> Layer:
        """Evaluation mode (BatchNorm uses its running statistics); returns self."""
        return self.train(False)

    @property
    def label(self) -> str:
        """How error messages name this layer: 'layer 2 (Linear 16 -> 16)'."""
        return f"layer {self.name} ({self!r})" if self.name else repr(self)

    def zero_grad(self) -> None:
        xp = namespace(*self.params.values()) if self.params else None
        self.grads = {k: xp.zeros_like(p) for k, p in self.params.items()}

    def _store(self, name: str, g, accumulate: bool) -> None:
        self.grads[name] = self.grads[name] + g if accumulate else g

    def _cached(self):
        if self.cache is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        return self.cache

    def to(self, xp: str = "numpy", device=None, dtype: str | None = None) -> Layer:
        """Move parameters and buffers to numpy or torch (on ``device``); gradients reset."""
        self.params = {k: convert(p, xp, device, dtype) for k, p in self.params.items()}
        self.buffers = {k: convert(b, xp, device, dtype) for k, b in self.buffers.items()}
        self.cache = None
        if self.params:
            self.zero_grad()
        return self


def check_input(layer: Layer, x, width: int | None = None) -> None:
    """Raise a clear error unless x is a 2-D float array (n, width) of the layer's dtype."""
    if not is_array(x):
        raise TypeError(f"{layer.label}: x must be a numpy array or torch tensor of shape "
                        f"(n, {width or 'd'}), got {type(x).__name__}")
    if x.ndim != 2 or (width is not None and x.shape[1] != width):
        raise ValueError(f"{layer.label}: x must have shape (n, {width or 'd'}), "
                         f"got {tuple(x.shape)}")
    if not is_float(x):
        raise TypeError(f"{layer.label}: x must be float32 or float64, got {dtype_name(x)} "
                        f"(convert integer data with x.astype('float64'))")
    if layer.params:
        want = dtype_name(next(iter(layer.params.values())))
        if dtype_name(x) != want:
            raise TypeError(f"{layer.label}: x is {dtype_name(x)} but the parameters are {want}; "
                            f"convert x, or the network with .to(dtype={dtype_name(x)!r})")


# ---------------------------------------------------------------- Linear


class Linear(Layer):
    """z = x @ W + b.  x: (n, d_in), W: (d_in, d_out), b: (d_out,), z: (n, d_out).

    init: an initialiser spec for W (see course.initializers.get); b starts at zero.
    rng: a numpy Generator or a seed.
    """

    def __init__(self, d_in: int, d_out: int, init="xavier", rng=None, dtype: str = "float64"):
        super().__init__()
        for arg, v in (("d_in", d_in), ("d_out", d_out)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Linear: {arg} must be a positive integer, got {v!r}")
        self.d_in, self.d_out = int(d_in), int(d_out)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        w = initializers.get(init)(self.d_in, self.d_out, rng)
        self.params = {"W": np.asarray(w, dtype=dtype), "b": np.zeros(self.d_out, dtype=dtype)}
        self.zero_grad()

    def __repr__(self) -> str:
        return f"Linear {self.d_in} -> {self.d_out}"

    def forward(self, x):
        check_input(self, x, self.d_in)
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, upstream, accumulate: bool = False, input_grad: bool = True):
        """upstream: delta = dL/dz (n, d_out). Stores dW = x^T delta (d_in, d_out) and
        db = sum of delta over the batch (d_out,); returns dL/dx = delta W^T (n, d_in)."""
        x = self._cached()
        if tuple(upstream.shape) != (x.shape[0], self.d_out):
            raise ValueError(f"{self.label}: upstream must have shape ({x.shape[0]}, "
                             f"{self.d_out}), got {tuple(upstream.shape)}")
        xp = namespace(upstream)
        self._store("W", x.T @ upstream, accumulate)
        self._store("b", xp.sum(upstream, axis=0), accumulate)
        return upstream @ self.params["W"].T if input_grad else None


# ---------------------------------------------------------------- activations: a = phi(z)


class Identity(Layer):
    """a = z; local derivative 1."""

    def forward(self, z):
        self.cache = ()
        return z

    def backward(self, upstream, accumulate: bool = False):
        self._cached()
        return upstream


class Sigmoid(Layer):
    """a = 1 / (1 + exp(-z)), computed from exp(-|z|) so it never overflows; phi' = a (1 - a)."""

    def forward(self, z):
        a = sigmoid(z)
        self.cache = a
        return a

    def backward(self, upstream, accumulate: bool = False):
        a = self._cached()
        return upstream * (a * (1 - a))


class Tanh(Layer):
    """a = tanh(z); phi' = 1 - a^2."""

    def forward(self, z):
        a = namespace(z).tanh(z)
        self.cache = a
        return a

    def backward(self, upstream, accumulate: bool = False):
        a = self._cached()
        return upstream * (1 - a * a)


class ReLU(Layer):
    """a = max(z, 0); phi' = 1 where z > 0, else 0 (the unit is dead for that example).

    Both passes select with ``where`` rather than multiply by the mask: -inf * 0 would be nan,
    and relu(-inf) is 0 (as in torch); an infinite upstream at a dead unit sends back 0. A nan
    stays nan (as in torch), so a diverged run still shows as one.
    """

    def forward(self, z):
        xp = namespace(z)
        self.cache = z > 0
        return xp.where(z <= 0, xp.zeros_like(z), z)

    def backward(self, upstream, accumulate: bool = False):
        xp = namespace(upstream)
        return xp.where(self._cached(), upstream, xp.zeros_like(upstream))


class LeakyReLU(Layer):
    """a = z where z > 0, slope * z elsewhere; phi' = 1 or slope, so no unit is ever dead."""

    def __init__(self, slope: float = 0.01):
        super().__init__()
        self.slope = float(slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"

    def forward(self, z):
        mask = z > 0
        self.cache = mask
        return namespace(z).where(mask, z, self.slope * z)

    def backward(self, upstream, accumulate: bool = False):
        mask = self._cached()
        return namespace(upstream).where(mask, upstream, self.slope * upstream)


GELU_C = math.sqrt(2 / math.pi)
GELU_K = 0.044715
GELU_SATURATED = 10.0  # |z| beyond this: tanh(u) is exactly +-1 in float32 and float64


class GELU(Layer):
    """a = z/2 (1 + tanh(u)), u = c (z + k z^3): the tanh form of z * Phi(z) (torch's
    GELU(approximate='tanh')). phi' = (1 + t)/2 + z/2 (1 - t^2) c (1 + 3 k z^2), t = tanh(u).

    The cubic is evaluated on z clipped to +-GELU_SATURATED, where t is already exactly +-1:
    the same values for every finite z, and no overflow or inf * 0 for huge or infinite z
    (a = z and phi' = 1 above the bound, a = 0 and phi' = 0 below it).
    """

    def forward(self, z):
        xp = namespace(z)
        zc = xp.clip(z, -GELU_SATURATED, GELU_SATURATED)
        t = xp.tanh(GELU_C * (zc + GELU_K * zc * zc * zc))
        self.cache = (zc, t)
        return xp.where(z > GELU_SATURATED, z, 0.5 * zc * (1 + t))

    def backward(self, upstream, accumulate: bool = False):
        zc, t = self._cached()
        local = 0.5 * (1 + t) + 0.5 * zc * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * zc * zc)
        return upstream * local


# ---------------------------------------------------------------- residual block


class Residual(Layer):
    """out = x + f(x), f the layers in order (their output width must equal their input's).

    backward: dL/dx = upstream + (upstream sent back through f): the identity path carries the
    gradient past f unchanged, which is why deep residual networks keep their gradients.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        super().__init__()
        if not self.layers:
            raise ValueError("Residual: layers must be a non-empty list of layers")

    @property
    def training(self) -> bool:
        return self._training

    @training.setter
    def training(self, flag: bool) -> None:
        """Setting the block's mode sets every inner layer's (a BatchNorm inside follows)."""
        self._training = bool(flag)
        for layer in self.layers:
            layer.training = self._training

    def __repr__(self) -> str:
        return "Residual(" + ", ".join(map(repr, self.layers)) + ")"

    def forward(self, x):
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        if tuple(h.shape) != tuple(x.shape):
            raise ValueError(f"{self.label}: the block maps shape {tuple(x.shape)} to "
                             f"{tuple(h.shape)}; a residual block must keep the shape")
        self.cache = ()
        return x + h

    def backward(self, upstream, accumulate: bool = False, input_grad: bool = True):
        """dL/dx = upstream + f's backward of upstream; None with ``input_grad=False`` (the
        first layer of the block then skips its own input gradient when it is a Linear)."""
        self._cached()
        g = upstream
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and not input_grad:
                if isinstance(layer, Linear):
                    layer.backward(g, accumulate=accumulate, input_grad=False)
                else:
                    layer.backward(g, accumulate=accumulate)
                return None
            g = layer.backward(g, accumulate=accumulate)
        return upstream + g

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def to(self, xp: str = "numpy", device=None, dtype: str | None = None) -> Residual:
        for layer in self.layers:
            layer.to(xp, device, dtype)
        self.cache = None
        return self


# ---------------------------------------------------------------- normalisation


class _Norm(Layer):
    """Shared parts of LayerNorm and BatchNorm: out = gamma * xhat + beta, gamma and beta (d,)."""

    def __init__(self, d: int, eps: float = 1e-5, dtype: str = "float64"):
        super().__init__()
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"{type(self).__name__}: d must be a positive integer, got {d!r}")
        self.d, self.eps = int(d), float(eps)
        self.params = {"gamma": np.ones(self.d, dtype=dtype), "beta": np.zeros(self.d, dtype=dtype)}
        self.zero_grad()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.d})"

    def _scale(self, xhat):
        return self.params["gamma"] * xhat + self.params["beta"]

    def _param_grads(self, upstream, xhat, accumulate: bool):
        """Store dgamma = sum(upstream * xhat), dbeta = sum(upstream) over the batch; return
        dL/dxhat (n, d)."""
        xp = namespace(upstream)
        self._store("gamma", xp.sum(upstream * xhat, axis=0), accumulate)
        self._store("beta", xp.sum(upstream, axis=0), accumulate)
        return upstream * self.params["gamma"]


class LayerNorm(_Norm):
    """Normalise each example over its d features: xhat = (x - mean) / sqrt(var + eps),
    statistics per row; x, out: (n, d). Same in training and evaluation."""

    def forward(self, x):
        check_input(self, x, self.d)
        xp = namespace(x)
        centred = x - xp.mean(x, axis=1, keepdims=True)
        inv_std = 1 / xp.sqrt(xp.mean(centred * centred, axis=1, keepdims=True) + self.eps)
        xhat = centred * inv_std
        self.cache = (xhat, inv_std)
        return self._scale(xhat)

    def backward(self, upstream, accumulate: bool = False):
        """dx = inv_std (g - mean(g) - xhat mean(g xhat)), means over each row; g = dL/dxhat."""
        xhat, inv_std = self._cached()
        xp = namespace(upstream)
        g = self._param_grads(upstream, xhat, accumulate)
        return inv_std * (g - xp.mean(g, axis=1, keepdims=True)
                          - xhat * xp.mean(g * xhat, axis=1, keepdims=True))


class BatchNorm(_Norm):
    """Normalise each feature over the batch (training) or with running statistics (evaluation).

    Training: xhat = (x - mean) / sqrt(var + eps), statistics per column of x (n, d), n >= 2;
    running_mean and running_var (unbiased) move towards them by ``momentum``. Evaluation
    (``training = False``): the running statistics are used, and the batch does not mix.
    """

    def __init__(self, d: int, momentum: float = 0.1, eps: float = 1e-5, dtype: str = "float64"):
        super().__init__(d, eps, dtype)
        self.momentum = float(momentum)
        self.buffers = {"running_mean": np.zeros(self.d, dtype=dtype),
                        "running_var": np.ones(self.d, dtype=dtype)}

    def forward(self, x):
        check_input(self, x, self.d)
        xp = namespace(x)
        if not self.training:
            inv_std = 1 / xp.sqrt(self.buffers["running_var"] + self.eps)
            xhat = (x - self.buffers["running_mean"]) * inv_std
            self.cache = (xhat, inv_std, False)
            return self._scale(xhat)
        n = x.shape[0]
        if n < 2:
            raise ValueError(f"{self.label}: training mode needs a batch of at least 2 rows to "
                             f"normalise over, got x of shape {tuple(x.shape)}; call .eval() first")
        mean = xp.mean(x, axis=0)
        centred = x - mean
        var = xp.mean(centred * centred, axis=0)
        m = self.momentum
        self.buffers["running_mean"] = (1 - m) * self.buffers["running_mean"] + m * mean
        self.buffers["running_var"] = (1 - m) * self.buffers["running_var"] + m * var * n / (n - 1)
        inv_std = 1 / xp.sqrt(var + self.eps)
        xhat = centred * inv_std
        self.cache = (xhat, inv_std, True)
        return self._scale(xhat)

    def backward(self, upstream, accumulate: bool = False):
        """Training: dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)), means over the batch;
        evaluation: dx = inv_std * g (the statistics are constants). g = dL/dxhat."""
        xhat, inv_std, batch_stats = self._cached()
        xp = namespace(upstream)
        g = self._param_grads(upstream, xhat, accumulate)
        if not batch_stats:
            return inv_std * g
        return inv_std * (g - xp.mean(g, axis=0) - xhat * xp.mean(g * xhat, axis=0))


def iter_layers(net_or_layers, containers: bool = False):
    """Every layer of a network, input side first, residual blocks opened: the one walker.

    net_or_layers: an MLP (anything with ``.layers``), a list of layers, or one layer. Yields
    the leaf layers (Linear, activations, norms); with ``containers=True`` each residual block
    is yielded too, just before the layers inside it.
    """
    if isinstance(net_or_layers, Layer) and not isinstance(net_or_layers, Residual):
        yield net_or_layers
        return
    if isinstance(net_or_layers, Residual):
        if containers:
            yield net_or_layers
        layers = net_or_layers.layers
    else:
        layers = getattr(net_or_layers, "layers", net_or_layers)
    for layer in layers:
        yield from iter_layers(layer, containers)


def sigmoid(z):
    """Logistic function of an array (numpy or torch), stable for any z: only exp(-|z|) is
    evaluated, so it never overflows. (n, ...) -> same shape."""
    xp = namespace(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
               "gelu": GELU, "identity": Identity}
NORMS = {"layernorm": LayerNorm, "batchnorm": BatchNorm}
