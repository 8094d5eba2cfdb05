"""Teacher and author commands (the `course` CLI): lab, doctor, release, execute, grade.

Notebooks never import this package; it needs nbclient and, for nbgrader, the `teach` extra.
"""
