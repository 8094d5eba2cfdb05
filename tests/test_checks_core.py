"""The check framework on small exercises defined here (not registered in any lesson)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.checks import core
from course.checks.core import RECORD_MIME, Exercise, Mistake, evaluate


def _grad_w(x, delta):
    """dL/dW = x.T @ delta; x: (n, d_in), delta: (n, d_out) -> (d_in, d_out)."""
    return x.T @ delta


def _cases():
    rng = np.random.default_rng(1)
    return [(np.ones((1, 2)), np.ones((1, 3))), (rng.normal(size=(4, 2)), rng.normal(size=(4, 3)))]


GRAD_W = Exercise(
    id="99.1", title="weight gradient", points=3, reference=_grad_w, cases=_cases,
    mistakes=[
        Mistake("sum-not-mean", "your gradient grows with the batch size",
                lambda x, d: x.T @ d * len(x),
                hint="the loss is a mean over the batch"),
        Mistake("sign", "wrong sign", lambda x, d: -(x.T @ d)),
        Mistake("doubled", "twice too large", lambda x, d: 2 * (x.T @ d)),
    ],
)
TWO_OUTPUTS = Exercise(
    id="99.2", title="two gradients", points=1,
    reference=lambda x, d: (x.T @ d, d.sum(axis=0)), cases=_cases,
    mistakes=[Mistake("no-bias", "forgot the bias gradient",
                      lambda x, d: (x.T @ d, np.zeros(d.shape[1]))),
              Mistake("wrong-axis", "bias gradient summed over features",
                      lambda x, d: (x.T @ d, d.sum(axis=1))),
              Mistake("sign", "wrong sign", lambda x, d: (-(x.T @ d), -d.sum(axis=0)))],
)
VALUE = Exercise(id="99.3", title="a number", points=2, reference=0.25,
                 mistakes=[Mistake("no-square", "forgot the square", 0.5),
                           Mistake("sign", "wrong sign", -0.25),
                           Mistake("inverted", "inverted", 4.0)])


def test_passing_answer_earns_the_points_and_is_recorded():
    result = evaluate(GRAD_W, lambda x, d: x.T @ d)
    assert result.passed
    assert result.record == {"id": "99.1", "status": "passed", "points": 3, "earned": 3,
                             "hidden": False}


def test_a_mistake_is_diagnosed_with_the_smallest_failing_input():
    result = evaluate(GRAD_W, lambda x, d: -(x.T @ d))
    assert (result.status, result.diagnosis) == (core.WRONG, "wrong sign")
    assert "case 1 of 2" in str(result)
    assert result.record["earned"] == 0


def test_a_mistake_hidden_by_the_first_case_is_caught_and_named_on_a_later_one():
    # with one example (n = 1) a sum equals a mean; the batch of 4 tells them apart
    result = evaluate(GRAD_W, lambda x, d: x.T @ d * len(x))
    assert result.mistake_key == "sum-not-mean"
    assert "case 2 of 2" in str(result)


def test_an_unknown_wrong_answer_says_it_matches_no_common_mistake():
    result = evaluate(GRAD_W, lambda x, d: x.T @ d + 1)
    assert result.diagnosis == core.NO_MATCH


def test_missing_transpose_is_reported_as_the_wrong_shape():
    result = evaluate(GRAD_W, lambda x, d: np.zeros((3, 2)))
    assert result.status == core.WRONG_SHAPE
    assert "shape=(3, 2)" in str(result)


def test_tuple_outputs_are_compared_part_by_part():
    assert evaluate(TWO_OUTPUTS, lambda x, d: (x.T @ d, d.sum(axis=0))).passed
    wrong = evaluate(TWO_OUTPUTS, lambda x, d: (x.T @ d, np.zeros(d.shape[1])))
    assert wrong.diagnosis == "forgot the bias gradient"
    assert evaluate(TWO_OUTPUTS, lambda x, d: x.T @ d).status == core.WRONG_SHAPE


def test_torch_tensor_answers_are_read_as_arrays():
    torch = pytest.importorskip("torch")
    result = evaluate(GRAD_W, lambda x, d: torch.from_numpy(x).T @ torch.from_numpy(d))
    assert result.passed


def test_raised_exception_names_type_message_and_the_learners_line():
    def answer(x, d):
        w = x.T
        return w @ d.T  # shapes do not align

    result = evaluate(GRAD_W, answer)
    assert result.status == core.RAISED
    assert "ValueError" in str(result) and "return w @ d.T" in str(result)


def test_a_non_function_answer_is_rejected_without_raising():
    assert evaluate(GRAD_W, 3.0).status == core.WRONG


def test_value_exercises_diagnose_values_and_treat_ellipsis_as_not_done():
    assert evaluate(VALUE, 0.25).passed
    assert evaluate(VALUE, ...).status == core.NOT_DONE
    assert evaluate(VALUE, -0.25).diagnosis == "wrong sign"
    assert evaluate(VALUE, "a quarter").status == core.WRONG


def test_check_returns_the_answer_when_it_passes_and_the_reference_otherwise(monkeypatch, capsys):
    monkeypatch.setattr(core, "get_exercise", lambda _id: GRAD_W)

    def right(x, d):
        return x.T @ d

    assert core.check("99.1", right) is right
    assert core.check("99.1", lambda x, d: -(x.T @ d)) is _grad_w
    out = capsys.readouterr().out
    assert "[PASS] Exercise 99.1" in out and "Using the reference implementation" in out


def test_an_exercise_with_a_fallback_never_hands_over_its_reference(monkeypatch, capsys):
    secret = Exercise(id="99.7", title="a diagnosis", points=1, reference="lr_too_high",
                      mistakes=[Mistake("opposite", "too low is the opposite", "lr_too_low"),
                                Mistake("luck", "not a cause", "bad luck"),
                                Mistake("loss", "the loss is not a cause", "loss")],
                      fallback=(None, "Shown unchanged until your answer passes."))
    monkeypatch.setattr(core, "get_exercise", lambda _id: secret)
    assert core.check("99.7", "lr_too_low") is None
    assert core.check("99.7", ...) is None
    assert core.check("99.7", "lr_too_high") == "lr_too_high"
    out = capsys.readouterr().out
    assert "Shown unchanged until your answer passes." in out and "reference" not in out


def test_display_bundle_carries_html_text_and_the_grading_record():
    bundle = evaluate(GRAD_W, lambda x, d: -(x.T @ d), hidden=True)._repr_mimebundle_()
    assert bundle[RECORD_MIME]["hidden"] is True
    assert bundle[RECORD_MIME]["status"] == "wrong"
    assert "<div" in bundle["text/html"] and "hidden test" in bundle["text/plain"]


def test_ids_must_name_a_lesson_and_an_exercise():
    with pytest.raises(ValueError, match="NN.M"):
        core.get_exercise("1.2")
    with pytest.raises(KeyError, match="00.99"):
        core.get_exercise("00.99")
    with pytest.raises(ValueError, match="needs cases"):
        Exercise(id="99.9", title="t", points=1, reference=_grad_w)


def test_a_wrong_tuple_answer_shows_only_the_element_that_differs():
    pair = Exercise(id="99.9", title="two results", points=1,
                    reference=lambda x: (x.sum(), x * 2.0), cases=[(np.arange(3.0),)])
    text = str(evaluate(pair, lambda x: (x.sum(), x * 3.0)))
    assert "value [1] of the 2 returned differs" in text
    assert "got:      array([0. 3. 6.]" in text


def test_math_functions_on_an_array_get_a_hint_to_use_numpy():
    square = Exercise(id="99.9", title="square", points=1, reference=lambda x: x**2,
                      cases=[(np.arange(3.0),)])
    text = str(evaluate(square, lambda x: math.pow(x, 2)))
    assert "your code raised an exception" in text and "use numpy's functions" in text
    assert "\n  hint: " in text
    assert "\n  hint: " not in str(evaluate(square, lambda x: x + "s"))


def test_a_matmul_shape_error_names_both_shapes_and_the_missing_transpose():
    def answer(x, d):
        return x @ d  # should be x.T @ d

    text = str(evaluate(GRAD_W, answer))
    assert "hint: in x @ d, x has shape (1, 2) and d has shape (1, 3)" in text
    assert "x.T has shape (2, 1), which fits: a transpose is probably missing" in text


def test_an_unsummed_bias_gradient_is_named_and_keepdims_is_told_apart():
    batch = Exercise(id="99.2", title="two gradients", points=1, reference=TWO_OUTPUTS.reference,
                     cases=[_cases()[1]])
    text = str(evaluate(batch, lambda x, d: (x.T @ d, d)))
    assert "one more axis (of size 4, the batch)" in text and "not reduced over the batch" in text
    kept = str(evaluate(batch, lambda x, d: (x.T @ d, d.sum(0, keepdims=True))))
    assert "shape (1, 3) instead of (3,)" in kept and "not reduced" not in kept


def test_numeric_answers_accept_numpy_scalars():
    strict = Exercise(id="99.4", title="a count", points=1, reference=3,
                      compare=lambda got, expected: isinstance(got, int) and got == expected)
    assert evaluate(strict, np.int64(3)).passed
    assert evaluate(VALUE, np.float32(0.25)).passed
    assert evaluate(VALUE, np.float64(0.25)).passed


def test_at_line_points_into_the_learners_code_never_numpy():
    def answer(x, d):
        return np.concatenate([x, d], axis=0)  # widths 2 and 3 cannot be stacked

    text = str(evaluate(GRAD_W, answer))
    assert "at line" in text and "return np.concatenate([x, d], axis=0)" in text
    assert "numpy" not in text.split("at line")[1].splitlines()[0].split(":")[0]


def test_a_torch_exercise_rejects_numpy_arrays():
    torch = pytest.importorskip("torch")
    about_torch = Exercise(id="99.5", title="weight gradient in torch", points=1,
                           reference=lambda x, d: torch.from_numpy(x).T @ torch.from_numpy(d),
                           cases=_cases, torch=True)
    result = evaluate(about_torch, lambda x, d: x.T @ d)
    assert result.status == core.WRONG_DTYPE and "torch tensor" in result.diagnosis
    assert evaluate(about_torch, lambda x, d: torch.from_numpy(x.T @ d)).passed


def test_dicts_print_as_name_to_shape_or_value():
    text = core._short({"W1": np.zeros((2, 4)), "b1": np.array([0.6, 0.8]), "lr": 0.1})
    assert text == ("{W1 -> array of shape (2, 4) (float64), b1 -> [0.6 0.8] (shape (2,)), "
                    "lr -> 0.1}")


def test_a_torch_answer_prints_as_a_tensor_with_its_device():
    torch = pytest.importorskip("torch")
    assert core._short(torch.ones(2)) == ("tensor([1. 1.], shape=(2,), dtype=torch.float32, "
                                          "device='cpu')")


def test_a_failing_hidden_check_raises_with_the_diagnosis_and_the_visible_one_never(capsys):
    assert not evaluate(GRAD_W, lambda x, d: -(x.T @ d), hidden=True).passed  # visible cases
    with pytest.raises(AssertionError, match="hidden test.*not right yet"):
        core.check("00.1", lambda x: x, hidden=True)
    assert core.check("00.1", lambda x: x) is not None
    with pytest.raises(AssertionError, match="not done yet"):
        core.check("00.2", hidden=True)


def test_the_record_carries_the_mistakes_stable_key_and_its_first_tier_text():
    record = evaluate(GRAD_W, lambda x, d: -(x.T @ d)).record
    assert record["mistake"] == "sign" and record["diagnosis"] == "wrong sign"
    assert "mistake" not in evaluate(GRAD_W, lambda x, d: x.T @ d + 1).record


def test_a_function_that_changes_its_input_in_place_is_told_so_first():
    def in_place(x, d):
        x *= 1.0
        x[0, 0] = 5.0  # writes into the caller's array
        return x.T @ d

    result = evaluate(GRAD_W, in_place)
    assert result.status == core.WRONG and result.mistake_key == core.INPUTS_CHANGED
    assert "changed its input `x` in place" in str(result)
    updates = Exercise(id="99.9", title="in place", points=1, reference=lambda v: v.__iadd__(1),
                       cases=[(np.zeros(2),)], mutates=True)
    assert evaluate(updates, lambda v: v.__iadd__(1)).passed


def test_the_guard_sees_lists_dicts_and_object_attributes():
    class Box:
        def __init__(self):
            self.w = np.zeros(2)

    def run(fn, box, items, params):
        return fn(box, items, params)

    ex = Exercise(id="99.9", title="guard", points=1, reference=lambda b, i, p: 1.0,
                  cases=lambda: [(Box(), [1, 2], {"a": np.ones(1)})], run=run)
    assert evaluate(ex, lambda b, i, p: 1.0).passed
    for change, name in [(lambda b, i, p: b.w.fill(3), "box"), (lambda b, i, p: i.pop(), "items"),
                         (lambda b, i, p: p.update(c=1), "params")]:
        result = evaluate(ex, lambda b, i, p, change=change: (change(b, i, p), 1.0)[1])
        assert result.mistake_key == core.INPUTS_CHANGED and f"`{name}`" in str(result)


def test_a_pair_is_accepted_as_tuple_list_or_array_and_numpy_scalars_as_numbers():
    pair = Exercise(id="99.9", title="pair", points=1, reference=lambda a: (a * 2.0, a + 1.0),
                    cases=[(1.5,), (-0.5,)])
    for answer in (lambda a: [a * 2, a + 1], lambda a: np.array([a * 2, a + 1]),
                   lambda a: (np.float64(a * 2), np.float32(a + 1))):
        assert evaluate(pair, answer).passed, str(evaluate(pair, answer))


def test_expected_and_got_print_enough_digits_to_differ():
    near = Exercise(id="99.9", title="near", points=1, reference=lambda x: x * 1.98812,
                    cases=[(np.array([1.0]),)], rtol=1e-6)
    text = str(evaluate(near, lambda x: x * 1.98815))
    got = [line for line in text.splitlines() if "got:" in line][0]
    expected = [line for line in text.splitlines() if "expected:" in line][0]
    assert got.split(":", 1)[1].strip() != expected.split(":", 1)[1].strip()


def test_cases_of_a_seed_split_visible_from_hidden():
    seen = []
    ex = Exercise(id="99.9", title="seeds", points=1, reference=lambda x: x,
                  cases=lambda seed: (seen.append(seed), [(float(seed),)])[1])
    assert ex.case_list() == [(0.0,)] and ex.case_list(hidden=True) == [(1.0,), (2.0,)]


def test_run_drives_a_class_answer():
    class Doubler:
        def __call__(self, x):
            return 2 * x

    class Tripler(Doubler):
        def __call__(self, x):
            return 3 * x

    ex = Exercise(id="99.9", title="class", points=1, reference=Doubler,
                  cases=[(np.arange(3.0),)], run=lambda cls, x: cls()(x),
                  mistakes=[Mistake("triple", "one factor too many", Tripler)])
    assert evaluate(ex, Doubler).passed
    assert evaluate(ex, Tripler).mistake_key == "triple"


def test_hint_shows_the_slip_then_the_section(monkeypatch, capsys):
    ex = Exercise(id="99.1", title="weight gradient", points=3, reference=_grad_w, cases=_cases,
                  mistakes=GRAD_W.mistakes, section="section 2, 'Sum or mean'")
    monkeypatch.setattr(core, "get_exercise", lambda _id: ex)
    core.check("99.1", lambda x, d: x.T @ d * len(x))
    first = capsys.readouterr().out
    assert "your gradient grows with the batch size" in first and 'hint("99.1")' in first
    assert "the loss is a mean" not in first
    core.hint("99.1")
    assert "the loss is a mean over the batch" in capsys.readouterr().out
    core.hint("99.1")
    assert "section 2, 'Sum or mean'" in capsys.readouterr().out


def test_answer_fragments_are_the_references_binary_operations():
    assert core.answer_fragments(GRAD_W) == {"x.T@delta"}
    assert core.answer_fragments(VALUE) == set()
