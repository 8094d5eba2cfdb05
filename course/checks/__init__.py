"""Exercise checks. In a notebook: ``answer = check("NN.M", answer)``; see ``course.checks.core``.

Each lesson's exercises live in ``course.checks.lessonNN`` (a list ``EXERCISES``), loaded on
first use of one of its ids.
"""

from course.checks.core import RECORD_MIME, CheckResult, Exercise, check, evaluate, get_exercise

__all__ = ["RECORD_MIME", "CheckResult", "Exercise", "check", "evaluate", "get_exercise"]
