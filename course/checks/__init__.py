"""Exercise checks. In a notebook: ``answer = check("NN.M", answer)`` and, when stuck,
``hint("NN.M")``; see ``course.checks.core``.

Each lesson's exercises live in ``course.checks.lessonNN`` (a list ``EXERCISES``), loaded on
first use of one of its ids.
"""

from course.checks.core import (
    RECORD_MIME,
    CheckResult,
    Exercise,
    Mistake,
    check,
    evaluate,
    get_exercise,
    hint,
)

__all__ = ["RECORD_MIME", "CheckResult", "Exercise", "Mistake", "check", "evaluate",
           "get_exercise", "hint"]
