"""ipywidgets wiring for the lessons' sliders (the compute behind each lives in a plain module).

Every widget keeps ONE matplotlib figure (Agg, no pyplot) whose artists are updated in place and
rendered as PNG into an ``ipywidgets.Image``, with a status line that says what happened
("diverged at step k") instead of a traceback:

- :func:`tangent_slider` (lesson 00): a function, its derivative and the tangent at a point;
- :func:`explore_learning_rate` / :class:`NeuronExplorer` (lesson 01): gradient descent on one
  neuron (``course.neuron``) as the learning rate moves;
- :func:`explore` / :class:`Explorer` (lessons 05-06): depth, activation, initialisation,
  residual, normalisation, clipping, optimizer and learning rate (``course.explore``).
"""

from course.widgets.explorer import Explorer, explore
from course.widgets.neuron import NeuronExplorer, explore_learning_rate
from course.widgets.tangent import TangentSlider, tangent_slider

__all__ = ["Explorer", "NeuronExplorer", "TangentSlider", "explore", "explore_learning_rate",
           "tangent_slider"]
