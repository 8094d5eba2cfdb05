"""Lesson 09's checks catch what a CPU-only run or a value comparison would let through: a
to_device that ignores ``device`` (caught on torch's meta device, no GPU needed), a torch
backward returning numpy arrays or a list, and a training loop that forgets zero_grad; their
messages show the inputs in a line a learner can read."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from course.checks import lesson09  # noqa: E402
from course.checks.core import PASSED, WRONG, evaluate, get_exercise  # noqa: E402


def _cpu_only(x, y, device):
    return (torch.as_tensor(x, dtype=torch.float32),
            torch.as_tensor(y, dtype=torch.int64))


def test_to_device_ignoring_device_passes_the_cpu_cases_but_not_the_meta_one():
    exercise = get_exercise("09.1")
    cpu_cases = [c for c in exercise.case_list() if c[2] == "cpu"]
    assert cpu_cases and all(exercise.compare(_cpu_only(*c), lesson09._to_device(*c))
                             for c in cpu_cases)
    for hidden in (False, True):
        result = evaluate(exercise, _cpu_only, hidden=hidden)
        assert result.status == WRONG and result.diagnosis.startswith("device ignored")
    text = str(evaluate(exercise, _cpu_only))
    assert "device='meta'" in text and "checking failed" not in text


def test_a_torch_backward_must_return_a_tuple_of_tensors():
    exercise = get_exercise("09.3")
    for answer in (lesson09._numpy_gradients, lesson09._list_returned):
        result = evaluate(exercise, answer)
        assert result.status == WRONG and result.diagnosis in exercise.mistakes
    as_float32 = lambda ctx, g: tuple(  # noqa: E731
        None if t is None else t.float() for t in lesson09._linear_backward(ctx, g))
    assert evaluate(exercise, as_float32).status == WRONG


def test_training_loop_messages_name_the_model_and_optimizer_in_one_line():
    result = evaluate(get_exercise("09.2"), lesson09._no_zero_grad)
    assert result.status == WRONG
    text = str(result)
    assert "model=nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))" in text
    assert "optimizer=torch.optim.SGD(model.parameters(), lr=0.5)" in text


def test_training_loop_written_differently_passes():
    def loop(model, optimizer, batches):
        losses, criterion = [], torch.nn.CrossEntropyLoss()
        for x, y in batches:
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            for p in model.parameters():
                p.grad = None
            losses.append(loss)
        return losses

    assert evaluate(get_exercise("09.2"), loop).status == PASSED
    assert evaluate(get_exercise("09.2"), loop, hidden=True).status == PASSED
