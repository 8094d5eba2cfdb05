"""Each library function that an exercise asks the learner to write agrees with that exercise's
reference (``get_exercise(id).reference``) on the exercise's own visible and hidden cases.

Lessons 01-04 need no mirror: their exercises' references are the library's own functions and
classes, which LIBRARY_REFERENCES proves (``is``, not equality), and lesson 04's layers are also
run on tests/mathcases.py's cases. MIRRORS is the table to update when an exercise of another
lesson changes: (lesson, the name of the exercise's
reference function in course/checks/lessonNN.py, the library function written with the
exercise's signature). Exercises are found by their reference's name, so renumbering a lesson's
exercises needs no change here; a reference that disappears, or whose signature no longer fits,
fails here and names the row.
"""

from __future__ import annotations

import numpy as np
import pytest
from mathcases import BY_NAME, LOSS_CASES

from course import autodiff, gradcheck, layers, losses, mlp, neuron, twolayer
from course.checkpoint import segments
from course.checks.core import evaluate, get_exercise, lesson_exercises
from course.diagnostics import dead_fraction
from course.optim import SGD, Adam, AdamW, clip_grad_norm


def momentum_step(w, g, velocity, lr=0.1, mu=0.9):
    # torch's buffer b (w -= lr b) is the heavy-ball velocity v (w += v) as b = -v / lr
    w = np.array(w, dtype=np.float64)
    opt = SGD({"w": w}, lr, momentum=mu)
    opt.state["w"]["velocity"] = -np.asarray(velocity, dtype=np.float64) / lr
    opt.step({"w": np.asarray(g, dtype=np.float64)})
    return w, -lr * opt.state["w"]["velocity"]


def _adam(cls, w, g, m, v, t, lr, **extra):
    w = np.array(w, dtype=np.float64)
    opt = cls({"w": w}, lr, **extra)
    opt.state["w"] = {"m": np.array(m, dtype=np.float64), "v": np.array(v, dtype=np.float64),
                      "t": t - 1, "xp": np}
    opt.step({"w": np.asarray(g, dtype=np.float64)})
    return w, opt.state["w"]["m"], opt.state["w"]["v"]


def adam_step(w, g, m, v, t, lr=0.01, eps=1e-8):
    return _adam(Adam, w, g, m, v, t, lr, eps=eps)


def adamw_step(w, g, m, v, t, lr=0.01, weight_decay=0.1):
    return _adam(AdamW, w, g, m, v, t, lr, weight_decay=weight_decay)


def clip_global(grads, tau):
    clipped = {k: np.array(g, dtype=np.float64) for k, g in grads.items()}
    clip_grad_norm(clipped, tau)
    return clipped


def dead_units(z):
    return dead_fraction(np.maximum(z, 0.0))


def segment_bounds(n_layers, k):
    return [(part.start, part.stop) for part in segments(n_layers, k)]


MIRRORS = [
    ("05", "_momentum_step", momentum_step),
    ("05", "_adam_step", adam_step),
    ("05", "_adamw_step", adamw_step),
    ("06", "_clip_global", clip_global),
    ("06", "_dead_fraction", dead_units),
    ("08", "_segment_bounds", segment_bounds),
]


def exercise_id(lesson: str, reference: str) -> str:
    """The id of the exercise of ``lesson`` whose reference function is named ``reference``."""
    found = [e.id for e in lesson_exercises(lesson)
             if getattr(e.reference, "__name__", None) == reference]
    assert len(found) == 1, f"lesson {lesson}: {len(found)} exercises with reference {reference}"
    return found[0]


def _same(got, want, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), where
        for k in want:
            _same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                                   np.asarray(want, dtype=np.float64), rtol=1e-9, atol=1e-12,
                                   err_msg=where)


@pytest.mark.parametrize(("lesson", "reference", "library"), MIRRORS,
                         ids=[f"{m[0]}-{m[1]}" for m in MIRRORS])
def test_library_function_agrees_with_the_exercise_reference(lesson, reference, library):
    exercise = get_exercise(exercise_id(lesson, reference))
    assert exercise.reference.__name__ == reference
    cases = exercise.case_list() + exercise.case_list(hidden=True)
    assert cases, exercise.id
    for i, args in enumerate(cases):
        want = exercise.reference(*args)
        _same(library(*args), want, f"exercise {exercise.id} ({reference}), case {i}")


# Lessons 01-04 have no mirror: their exercises' references ARE the library's objects.
LIBRARY_REFERENCES = {
    "01.1": neuron.dL_da, "01.2": neuron.da_dz, "01.3": neuron.neuron_grads,
    "01.4": neuron.predict_loss, "01.5": neuron.gd_step, "01.6": neuron.loss_and_grads,
    "01.7": neuron.descent_path,
    "02.1": autodiff.Value, "02.2": autodiff.Value, "02.3": autodiff.Value,
    "02.4": autodiff.Value, "02.5": autodiff.MLP, "02.6": autodiff.fit, "02.7": autodiff.Dual,
    "03.1": twolayer.worked_example, "03.2": twolayer.TwoLayerNet, "03.3": twolayer.TwoLayerNet,
    "03.4": twolayer.train,
    "04.1": layers.Linear, "04.2": layers.ReLU, "04.3": losses.SoftmaxCrossEntropy,
    "04.4": mlp.MLP, "04.5": mlp.l2_penalty, "04.6": mlp.sgd_train, "04.7": mlp.tune_l2,
    "04.8": gradcheck.numerical_gradient, "04.9": gradcheck.relative_error,
    "04.10": gradcheck.check_layer,
}


@pytest.mark.parametrize(("exercise", "library"), LIBRARY_REFERENCES.items(),
                         ids=list(LIBRARY_REFERENCES))
def test_the_exercise_reference_is_the_library_object_itself(exercise, library):
    assert get_exercise(exercise).reference is library


def test_every_exercise_of_lessons_01_to_04_is_listed():
    listed = {e.id for lesson in ("01", "02", "03", "04") for e in lesson_exercises(lesson)}
    assert listed == set(LIBRARY_REFERENCES)


def test_relu_layer_follows_the_math_case_and_either_slope_at_0_passes_its_exercise():
    case = BY_NAME["relu"]
    z = np.linspace(*case.domain, 13).reshape(1, -1)
    z = z[:, z[0] != 0]
    relu = layers.ReLU()
    np.testing.assert_allclose(relu.forward(z), case.numpy(z))
    np.testing.assert_allclose(relu.backward(np.ones_like(z)), case.derivative(z))

    class SlopeOneAtZero(layers.ReLU):
        def forward(self, z):
            self.cache = z >= 0
            return z * self.cache

    assert evaluate(get_exercise("04.2"), SlopeOneAtZero).passed


def test_softmax_cross_entropy_follows_the_math_case():
    case = next(c for c in LOSS_CASES if c.course == "SoftmaxCrossEntropy")
    logits, labels = case.make(np.random.default_rng(0))
    loss_fn = losses.SoftmaxCrossEntropy()
    assert float(loss_fn.forward(logits, labels)) == pytest.approx(case.numpy(logits, labels))
    numerical = gradcheck.numerical_gradient(lambda v: case.numpy(v, labels), logits.copy())
    assert gradcheck.relative_error(loss_fn.backward(), numerical) <= gradcheck.PASS


def test_linear_layer_gradients_pass_the_check_on_the_math_cases_shapes():
    rng = np.random.default_rng(1)
    for d_in, d_out in [(3, 2), (2, 5), (4, 4)]:
        errors = gradcheck.check_layer(layers.Linear(d_in, d_out, rng=rng),
                                       rng.normal(size=(6, d_in)), rng.normal(size=(6, d_out)))
        assert max(errors.values()) <= gradcheck.PASS
