"""Time one SGD step of a 2-16-16-1 MLP on 100 points: scalar Value engine vs numpy.

Each figure is the median over repeated steps after one warm-up step; the scalar step builds
and differentiates a graph of about 68,000 nodes.
"""

import statistics
import time

import numpy as np

from course.scalar_nn import MLP, mse_step


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
