"""The training loop: it learns, it reports divergence with the step, it shows progress only on
long runs, and its helpers predict and score.

The network here is a minimal stand-in that follows the stack's protocol (layers with forward /
backward, parameters and gradients by name), so the loop is tested on its own.
"""

import io
import time

import numpy as np
import pytest

from course.optim import SGD, Adam
from course.train import History, accuracy, fit, predict


class Linear:
    def __init__(self, d_in, d_out, rng):
        self.params = {"W": rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in),
                       "b": np.zeros(d_out)}
        self.grads = {}

    def forward(self, x):
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, upstream):
        self.grads = {"W": self.cache.T @ upstream, "b": upstream.sum(axis=0)}
        return upstream @ self.params["W"].T


class Tanh:
    params: dict = {}
    grads: dict = {}

    def forward(self, z):
        self.cache = np.tanh(z)
        return self.cache

    def backward(self, upstream):
        return upstream * (1.0 - self.cache**2)


class Net:
    """Linear-tanh-...-Linear; parameters named '<layer index>.W' / '<layer index>.b'."""

    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            self.layers += [Linear(d_in, d_out, rng), Tanh()]
        self.layers.pop()

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, upstream):
        for layer in reversed(self.layers):
            upstream = layer.backward(upstream)
        return upstream

    def parameters(self):
        return {f"{i}.{k}": v for i, lay in enumerate(self.layers) for k, v in lay.params.items()}

    def gradients(self):
        return {f"{i}.{k}": v for i, lay in enumerate(self.layers) for k, v in lay.grads.items()}


class SoftmaxCrossEntropy:
    def forward(self, logits, y):
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.cache = (np.exp(logp), y)
        return float(-logp[np.arange(len(y)), y].mean())

    def backward(self):
        p, y = self.cache
        d = p.copy()
        d[np.arange(len(y)), y] -= 1.0
        return d / len(y)


class MSE:
    def forward(self, out, y):
        self.cache = out - np.eye(out.shape[1])[y]
        return float(np.mean(self.cache**2))

    def backward(self):
        return 2.0 * self.cache / self.cache.size


def xor_data(n=200, seed=0):
    """Points in [-1, 1]^2 labelled 1 where x1 * x2 > 0: (n, 2) float64, (n,) int64."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2))
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)


def test_training_reduces_the_loss_and_learns_xor():
    x, y = xor_data()
    net = Net([2, 16, 2])
    history = fit(net, SoftmaxCrossEntropy(), Adam(net.parameters(), lr=0.05), x, y,
                  steps=300, batch_size=32, progress=False)
    assert history.steps == 300 and not history.diverged
    assert np.mean(history.loss[-20:]) < 0.5 * np.mean(history.loss[:20])
    assert accuracy(net, x, y) > 0.9


def test_history_records_every_step_per_layer_and_the_eval_metric():
    x, y = xor_data()
    net = Net([2, 8, 8, 2])
    history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y, steps=30,
                  batch_size=50, progress=False, eval_fn=lambda n: accuracy(n, x, y), eval_every=10)
    assert list(history.grad_norms) == ["0", "2", "4"]
    assert history.grad_norm_array().shape == (30, 3)
    assert len(history.grad_norm) == len(history.loss) == 30
    assert history.eval_steps == [10, 20, 30]
    assert all(0.0 <= v <= 1.0 for v in history.eval_values)
    assert "30 steps, finished" in repr(history)


def test_record_updates_gives_each_weight_matrix_its_update_to_weight_ratio_per_step():
    x, y = xor_data()
    net = Net([2, 8, 2])
    w0 = net.parameters()["0.W"].copy()
    history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y, steps=3,
                  batch_size=None, progress=False, record_updates=True)
    assert list(history.update_ratios) == ["0.W", "2.W"]
    assert all(len(r) == 3 for r in history.update_ratios.values())
    net1 = Net([2, 8, 2])
    fit(net1, SoftmaxCrossEntropy(), SGD(net1.parameters(), lr=0.1), x, y, steps=1,
        batch_size=None, progress=False)
    expected = np.linalg.norm(net1.parameters()["0.W"] - w0) / np.linalg.norm(w0)
    assert history.update_ratios["0.W"][0] == pytest.approx(expected, rel=1e-12)


def test_same_seed_gives_the_same_run_and_another_seed_another_batch_order():
    x, y = xor_data()
    runs = []
    for seed in (0, 0, 1):
        net = Net([2, 8, 2])
        runs.append(fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y,
                        steps=20, batch_size=16, seed=seed, progress=False).loss)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_clipping_bounds_every_applied_step():
    x, y = xor_data()
    net = Net([2, 8, 2])
    before = {k: v.copy() for k, v in net.parameters().items()}
    history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=1.0), x, y, steps=1,
                  batch_size=None, clip=1e-3, progress=False)
    moved = np.sqrt(sum(np.sum((v - before[k]) ** 2) for k, v in net.parameters().items()))
    assert history.grad_norm[0] > 1e-3
    assert moved == pytest.approx(1e-3, rel=1e-9)


def test_divergence_stops_training_and_names_the_step(capsys):
    x, y = xor_data()
    net = Net([2, 8, 2])
    history = fit(net, MSE(), SGD(net.parameters(), lr=1e3), x, y, steps=500, batch_size=None,
                  progress=False)
    assert history.diverged_at is not None and history.diverged_at < 500
    assert history.steps == history.diverged_at - 1
    assert f"diverged at step {history.diverged_at} (" in history.message
    assert history.message in capsys.readouterr().out


def test_nan_in_the_loss_is_reported_as_loss_nan_at_step_one(capsys):
    x, y = xor_data()
    x[3, 0] = np.nan
    net = Net([2, 8, 2])
    history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y,
                  steps=5, batch_size=None, progress=False, verbose=False)
    assert history.diverged_at == 1
    assert history.message.startswith("diverged at step 1 (loss=nan)")
    assert capsys.readouterr().out == ""


def test_an_infinite_gradient_is_reported_with_its_layer_and_no_step_is_taken():
    class InfiniteDelta(SoftmaxCrossEntropy):
        def backward(self):
            d = super().backward()
            d[0, 0] = np.inf
            return d

    x, y = xor_data()
    net = Net([2, 8, 2])
    before = {k: v.copy() for k, v in net.parameters().items()}
    history = fit(net, InfiniteDelta(), SGD(net.parameters(), lr=0.1), x, y, steps=5,
                  batch_size=None, progress=False, verbose=False)
    assert history.diverged_at == 1
    assert history.message.startswith("diverged at step 1 (gradient norm of layer '2' = ")
    assert all(np.array_equal(v, before[k]) for k, v in net.parameters().items())


def test_a_layer_refusing_non_finite_parameters_becomes_a_divergence_report():
    class StrictLinear(Linear):
        def forward(self, x):
            if not np.all(np.isfinite(self.params["W"])):
                raise ValueError("Linear: W contains NaN or inf")
            return super().forward(x)

    x, y = xor_data()
    net = Net([2, 8, 2])
    net.layers[0].__class__ = StrictLinear
    net.layers[0].params["W"][0, 0] = np.inf
    history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y, steps=5,
                  batch_size=None, progress=False, verbose=False)
    assert history.diverged_at == 1
    assert "parameter '0.W' is not finite" in history.message


def test_an_error_unrelated_to_divergence_is_raised_unchanged():
    class Broken(SoftmaxCrossEntropy):
        def forward(self, logits, y):
            raise ValueError("labels out of range")

    x, y = xor_data()
    net = Net([2, 2])
    with pytest.raises(ValueError, match="labels out of range"):
        fit(net, Broken(), SGD(net.parameters(), lr=0.1), x, y, steps=2, progress=False)


def _slow_loss(seconds):
    class Slow(SoftmaxCrossEntropy):
        def forward(self, logits, y):
            time.sleep(seconds)
            return super().forward(logits, y)
    return Slow()


def _bar_output(monkeypatch, progress, loss_fn, steps):
    import tqdm.auto

    stream = io.StringIO()
    real = tqdm.auto.tqdm
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda *a, **k: real(*a, file=stream, **k))
    x, y = xor_data(40)
    net = Net([2, 4, 2])
    fit(net, loss_fn, SGD(net.parameters(), lr=0.1), x, y, steps=steps, batch_size=None,
        progress=progress)
    return stream.getvalue()


def test_progress_auto_stays_silent_on_a_short_run(monkeypatch):
    assert _bar_output(monkeypatch, "auto", SoftmaxCrossEntropy(), 20) == ""


def test_progress_auto_shows_a_bar_once_a_run_passes_the_delay(monkeypatch):
    monkeypatch.setattr("course.train.PROGRESS_DELAY_S", 0.05)
    assert "training" in _bar_output(monkeypatch, "auto", _slow_loss(0.01), 20)


def test_progress_true_forces_the_bar_and_false_suppresses_it(monkeypatch):
    assert "training" in _bar_output(monkeypatch, True, SoftmaxCrossEntropy(), 5)
    assert _bar_output(monkeypatch, False, _slow_loss(0.0), 5) == ""


def test_predict_gives_argmax_labels_and_a_sign_for_one_output():
    net = Net([2, 3])
    net.layers[0].params["W"][:] = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    x = np.array([[2.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    assert predict(net, x).tolist() == [0, 2, 1]
    single = Net([2, 1])
    single.layers[0].params["W"][:] = [[1.0], [0.0]]
    assert predict(single, x).tolist() == [1, 0, 0]
    assert accuracy(single, x, np.array([1, 1, 0])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"clip": -1.0}, "clip"),
    ({"progress": "yes"}, "progress"),
    ({"eval_every": 0}, "eval_every"),
])
def test_bad_arguments_raise_errors_naming_them(kwargs, match):
    x, y = xor_data(10)
    net = Net([2, 2])
    with pytest.raises(ValueError, match=match):
        fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y, **kwargs)


def test_labels_with_the_wrong_number_of_rows_are_rejected():
    x, y = xor_data(10)
    net = Net([2, 2])
    with pytest.raises(ValueError, match="y must"):
        fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), x, y[:5])


def test_torch_tensors_train_through_the_same_loop():
    torch = pytest.importorskip("torch")

    class TorchCE:
        def forward(self, logits, y):
            self.cache = (torch.softmax(logits, dim=1), y)
            return float(torch.nn.functional.cross_entropy(logits, y))

        def backward(self):
            p, y = self.cache
            return (p - torch.nn.functional.one_hot(y, p.shape[1]).to(p.dtype)) / len(y)

    x, y = xor_data()
    net = Net([2, 8, 2])
    for layer in net.layers[::2]:
        layer.params = {k: torch.tensor(v) for k, v in layer.params.items()}
    net.layers[1].forward = lambda z, t=net.layers[1]: setattr(t, "cache", torch.tanh(z)) or t.cache
    net.layers[1].backward = lambda u, t=net.layers[1]: u * (1.0 - t.cache**2)
    history = fit(net, TorchCE(), Adam(net.parameters(), lr=0.05), torch.tensor(x),
                  torch.tensor(y), steps=100, batch_size=32, progress=False)
    assert isinstance(history, History) and not history.diverged
    assert history.loss[-1] < history.loss[0]
    assert accuracy(net, torch.tensor(x), torch.tensor(y)) > 0.7


def test_a_schedule_sets_the_rate_of_every_step_and_the_rate_comes_back():
    from course.optim import warmup_cosine

    x, y = xor_data()
    seen = []

    class Spy(SGD):
        def step(self, grads):
            seen.append(self.lr)
            super().step(grads)

    net = Net([2, 8, 2])
    opt = Spy(net.parameters(), lr=0.5)
    fit(net, SoftmaxCrossEntropy(), opt, x, y, steps=20, batch_size=None, progress=False,
        schedule=lambda t: warmup_cosine(t, 20, 5))
    np.testing.assert_allclose(seen, [0.5 * warmup_cosine(t, 20, 5) for t in range(1, 21)])
    assert opt.lr == 0.5
