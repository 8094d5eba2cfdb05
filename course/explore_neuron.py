"""Where lesson 01's learning-rate explorer lives now (this module only re-exports it).

The compute (``sigmoid``, ``neuron_data``, ``loss_and_grads``, ``descend``, ``Run``) is in
``course.neuron``; the slider (``explore_learning_rate``, ``NeuronExplorer``) is in
``course.widgets``, imported only when asked for (it needs ipywidgets and matplotlib).
"""

from course.neuron import (  # noqa: F401
    CONVERGED_FRACTION,
    LR_MAX,
    LR_MIN,
    START_B,
    START_W,
    STEPS,
    TRUE_B,
    TRUE_W,
    Run,
    descend,
    loss_and_grads,
    neuron_data,
    sigmoid,
)


def __getattr__(name: str):
    if name in ("explore_learning_rate", "NeuronExplorer"):
        from course.widgets import neuron

        return getattr(neuron, name)
    raise AttributeError(f"module 'course.explore_neuron' has no attribute {name!r}")
