"""backprop-course: learn backpropagation by building it, checking it, breaking it, scaling it.

The package stays light on import (no torch, no matplotlib): each concept lives in its own
module, imported where it is used, e.g. ``from course.gradcheck import check_gradients``.
One implementation of each formula per representation (scalar ``Value``, array); the lesson
experiments reuse the library instead of re-deriving it.

Where everything lives (module -> lesson -> what it holds):

====================  ======  ==============================================================
module                lesson  what it holds
====================  ======  ==============================================================
neuron                01      one sigmoid neuron: the functions lesson 01's learner writes
                              (dL_da ... descent_path); gradient descent over a data set
                              (neuron_data, loss_and_grads, descend)
autodiff              02      the scalar engine lesson 02's learner writes: Value (local
                              backward closures), Neuron/Layer/MLP, fit; forward mode (Dual);
                              the scalar sigmoid
autodiff_cost         02      forward vs reverse mode: passes counted, time measured
graph                 02      drawing a Value's computational graph
twolayer              03      the worked one-hidden-unit example; a vectorised TwoLayerNet;
                              train (full-batch gradient descent)
data                  03-09   toy data sets (moons, spiral, ...), digits, train/test split
layers                04      Linear, activations, Residual, LayerNorm, BatchNorm (forward +
                              backward); the array sigmoid; iter_layers, the one layer walker
losses                04      MSE, softmax and binary cross-entropy with their deltas
mlp                   04      the MLP: a list of layers, forward, backward, parameters;
                              l2_penalty, sgd_train (mini-batch SGD, validation split),
                              tune_l2; MLP(classes=...) builds from other layer classes
gradcheck             00-04   central differences (numerical_gradient(f, x)), relative error,
                              pass/suspicious thresholds; check_layer (one layer alone)
initializers          04, 06  zeros, normal, Xavier, He
optim                 05      SGD (momentum), RMSprop, Adam, AdamW; warmup_cosine (the rate
                              schedule); global-norm clipping
train                 05      fit (the training loop, divergence reported, a schedule),
                              predict, accuracy
experiment            05-06   the fair experiment: carve_validation, experiment (tune on
                              validation, then every seed, test once), Result, cliff,
                              results_table
plots                 03-06   loss curves, decision boundaries, per-layer gradient norms;
                              sweeps, seed spreads, a watched run
explore               05-06   the explorer's compute: gradient profile, Jacobian norms,
                              training runs (streamed), one clipped step
diagnostics           06-07   per-layer gradient norms, dead and saturated units,
                              update-to-weight ratios; layer_pass and watch_run (a whole run
                              watched layer by layer)
clinic                07      broken training runs, one per symptom, with their fixes; their
                              recipes (HEALTHY, BROKEN, train_recipe)
mystery               07      mystery runs made of four replaceable pieces (prepare, init,
                              batches, step) and the judge of a repaired run (seven facts)
costs                 08      bytes: cached activations, training memory by kind (counted and
                              measured), the peak of the caches during a run
timing                08      timeit (every timing), one BLAS thread, CPU-time minima, pass and
                              finite-difference costs
checkpoint            08      gradient checkpointing: segments, recomputation, peak memory
backend               04, 09  numpy or torch through the array API (the only such module)
torch_bridge          09      the course MLP against torch.autograd; autograd.Function;
                              PyTorch training as its users write it (DigitsDataset,
                              train_epoch, evaluate, save/load_checkpoint, amp_step) and GPU
                              measurements (checkpoint_peaks, loop_seconds, tf32_matmul,
                              compile_backend)
distributed           09      data parallel with torch.distributed: the all-reduce by hand
torch_ddp             09      torch's DistributedDataParallel and DistributedSampler
table                 -       the plain-text table formatter behind every printed table
widgets               00-06   ipywidgets wiring (the only package that imports ipywidgets):
                              tangent (00, tangent_slider), neuron (01, explore_learning_rate),
                              explorer (05-06, explore); figure (persistent figures)
checks                00-09   exercises: core (Exercise, Mistake, check, hint), variants
                              (planted-mistake factories), lessonNN (each lesson's exercises)
requires              09      a lesson's optional package: a plain message and its install command
tools/                -       teacher and set-up commands (``python -m course ...``): cli, lab,
                              doctor, release, execute, grade, runner (the one notebook
                              runner), nbgrader_plugin (nbgrader's release with the course's
                              stubs), report (the class report and feedback pages of grade),
                              origin (where a graded answer came from), gpu_check (lesson 09
                              under nbval on CUDA and benchmarks/torch_gpu.py, written to a
                              report: scripts/gpu-check.sh); never imported by notebooks
====================  ======  ==============================================================
"""

__version__ = "0.1.0"
