"""backprop-course: learn backpropagation by building it, checking it, breaking it, scaling it.

The package stays light on import (no torch, no matplotlib): each concept lives in its own
module, imported where it is used, e.g. ``from course.gradcheck import check_gradients``.
"""

__version__ = "0.1.0"
