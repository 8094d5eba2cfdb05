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
        assert result.status == WRONG and result.mistake_key == "device-ignored"
    text = str(evaluate(exercise, _cpu_only))
    assert "device='meta'" in text and "checking failed" not in text


def test_a_torch_backward_must_return_a_tuple_of_tensors():
    exercise = get_exercise("09.3")
    for answer in (lesson09._numpy_gradients, lesson09._list_returned):
        result = evaluate(exercise, answer)
        assert result.status == WRONG and result.mistake_key in {m.key for m in exercise.mistakes}
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
            losses.append(float(loss.detach()))
        return losses

    assert evaluate(get_exercise("09.2"), loop).status == PASSED
    assert evaluate(get_exercise("09.2"), loop, hidden=True).status == PASSED


def test_a_loop_that_keeps_its_loss_tensors_is_told_about_the_graph_it_keeps():
    def keeps(model, optimizer, batches):
        losses = []
        for x, y in batches:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss)
        return losses

    for exercise_id in ("09.2",):
        result = evaluate(get_exercise(exercise_id), keeps)
        assert result.status == WRONG and result.mistake_key == "tensors-kept"
        assert "graph" in result.diagnosis and "checking failed" not in str(result)


LIBRARY = {"09.5": "DigitsDataset", "09.6": "evaluate", "09.7": "train_epoch",
           "09.8": "save_checkpoint", "09.9": "load_checkpoint", "09.10": "amp_step"}


@pytest.mark.parametrize("exercise_id", list(LIBRARY))
def test_first_tier_texts_show_no_fragment_of_the_library_functions_they_check(exercise_id):
    """The references of 09.5-09.10 are lazy wrappers around course.torch_bridge; the formula
    rule is applied to the library's own source."""
    import ast
    import inspect
    import re
    import textwrap

    from course import torch_bridge

    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(torch_bridge,
                                                               LIBRARY[exercise_id]))))
    fragments = {re.sub(r"\s+", "", ast.unparse(n)) for n in ast.walk(tree)
                 if isinstance(n, ast.BinOp)}
    exercise = get_exercise(exercise_id)
    for mistake in exercise.mistakes:
        text = re.sub(r"\s+", "", str(evaluate(exercise, mistake.fn)))
        assert not [f for f in fragments if f in text], mistake.key


def test_an_evaluation_in_training_mode_or_with_autograd_on_is_diagnosed():
    from course import torch_bridge

    def no_grad_missing(model, loader, device):
        model.eval()
        total, correct, n = 0.0, 0, 0
        for x, y in loader:
            logits = model(x)
            total += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += len(y)
        return total / n, correct / n

    result = evaluate(get_exercise("09.6"), no_grad_missing)
    assert result.mistake_key == "no-no-grad"
    assert evaluate(get_exercise("09.6"), torch_bridge.evaluate).status == PASSED


def test_a_resume_that_forgets_the_optimizer_is_diagnosed_on_the_save_and_the_load_side():
    def save(path, step, model, optimizer, scheduler):
        torch.save({"step": step, "model": model.state_dict(),
                    "scheduler": scheduler.state_dict()}, path)

    result = evaluate(get_exercise("09.8"), save)
    assert result.status == WRONG and "not in one of the usual ways" in str(result)

    def load(path, model, optimizer, scheduler):
        checkpoint = torch.load(path)
        model.load_state_dict(checkpoint["model"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        return checkpoint["step"]

    assert evaluate(get_exercise("09.9"), load).mistake_key == "optimizer-not-restored"
