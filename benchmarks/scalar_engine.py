"""Time one SGD step of a 2-16-16-1 MLP on 100 points: scalar Value engine vs numpy.

Each figure is the median over repeated steps after one warm-up step; the scalar step builds
and differentiates a graph of about 68,000 nodes. The scalar network is defined here (one
``Value`` per multiply and add), as lesson 02's learner would write it.
"""

import gc
import random
import statistics
import time

import numpy as np

from course.autodiff import Value


class Neuron:
    """act(sum_i w_i x_i + b) over a list of d_in inputs; act is "tanh", "relu" or "linear"."""

    def __init__(self, d_in: int, act: str = "tanh", rng: random.Random | None = None):
        rng = rng or random.Random(0)
        self.w = [Value(rng.uniform(-1, 1) / d_in**0.5) for _ in range(d_in)]
        self.b = Value(0.0)
        self.act = act

    def __call__(self, x: list) -> Value:
        z = self.b
        for wi, xi in zip(self.w, x):
            z = z + wi * xi
        return z if self.act == "linear" else getattr(z, self.act)()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer:
    """d_out neurons reading the same d_in inputs: list (d_in) -> list (d_out)."""

    def __init__(self, d_in: int, d_out: int, act: str, rng: random.Random):
        self.neurons = [Neuron(d_in, act, rng) for _ in range(d_out)]

    def __call__(self, x: list) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """Layers of sizes e.g. [2, 16, 16, 1]; hidden ``act``, linear output: list (sizes[0]) ->
    list (sizes[-1])."""

    def __init__(self, sizes: list[int], act: str = "tanh", seed: int = 0):
        rng = random.Random(seed)
        acts = [act] * (len(sizes) - 2) + ["linear"]
        self.layers = [Layer(i, o, a, rng) for i, o, a in zip(sizes[:-1], sizes[1:], acts)]

    def __call__(self, x: list) -> list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]


def mse_step(net: MLP, xs: list[list[float]], ys: list[float], lr: float) -> float:
    """One SGD step on the mean squared error over the batch; returns the loss before it.

    The graph holds no reference cycles, so the cyclic garbage collector is paused during the
    step (reference counting frees the graph); its tracking of ~68,000 new nodes would
    otherwise cost more than the arithmetic.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        preds = [net(x)[0] for x in xs]
        loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), Value(0.0)) / len(xs)
        params = net.parameters()
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return loss.data
    finally:
        if was_enabled:
            gc.enable()



def scalar_ms(repeats: int = 9) -> float:
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(100, 2)).tolist(), rng.normal(size=100).tolist()
    net = MLP([2, 16, 16, 1], seed=0)
    mse_step(net, xs, ys, 0.01)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        mse_step(net, xs, ys, 0.01)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def numpy_ms(repeats: int = 201) -> float:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 2)), rng.normal(size=(100, 1))
    sizes = [2, 16, 16, 1]
    Ws = [rng.normal(size=(i, o)) / i**0.5 for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o) for o in sizes[1:]]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        hs = [x]
        for k, (W, b) in enumerate(zip(Ws, bs)):
            z = hs[-1] @ W + b
            hs.append(z if k == len(Ws) - 1 else np.tanh(z))
        d = 2 * (hs[-1] - y) / len(x)
        for k in reversed(range(len(Ws))):
            dW, db = hs[k].T @ d, d.sum(0)
            if k:
                d = (d @ Ws[k].T) * (1 - hs[k] ** 2)
            Ws[k] -= 0.01 * dW
            bs[k] -= 0.01 * db
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


if __name__ == "__main__":
    print(f"scalar Value engine: {scalar_ms():.1f} ms per step")
    print(f"vectorised numpy:    {numpy_ms():.3f} ms per step")
