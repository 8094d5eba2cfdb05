"""The one notebook runner of the course's tools: nbclient driving a kernel on this interpreter.

``course execute`` runs solutions with it (a raising cell stops the run) and ``course grade`` runs
submissions with it (errors recorded, an over-long cell interrupted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

CURRENT_ENV = "course-current-env"


def kernel_manager():
    """An AsyncKernelManager (what nbclient drives) whose kernel runs on this interpreter
    (sys.executable), whatever the kernelspecs on the path say."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class _CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    return AsyncKernelManager(kernel_name=CURRENT_ENV, kernel_spec_manager=_CurrentEnvSpecs())


def run_notebook(nb, folder: Path, timeout_cell: int, *, allow_errors: bool = False,
                 on_kernel: Callable[[int | None], None] | None = None,
                 on_start: Callable[[int], None] | None = None,
                 on_cell: Callable[[int, object, float], None] | None = None) -> None:
    """Run every cell of ``nb`` (in place) in a fresh kernel whose working folder is ``folder``.

    Without ``allow_errors`` a raising cell stops the run with nbclient's CellExecutionError
    (cells tagged ``raises-exception`` may raise). With it, errors stay in the outputs and a cell
    that runs past ``timeout_cell`` seconds is interrupted. ``on_kernel(pgid)`` is called once the
    kernel runs (its process group, to end it from outside); ``on_start(index)`` before each code
    cell and ``on_cell(index, cell, seconds)`` after it.
    """
    from nbclient import NotebookClient

    started = {}

    def cell_start(cell, cell_index):
        started[cell_index] = time.monotonic()
        if on_start is not None:
            on_start(cell_index)

    def cell_done(cell, cell_index, execute_reply):
        if on_cell is not None:
            on_cell(cell_index, cell, time.monotonic() - started.get(cell_index, time.monotonic()))

    def kernel_ready(notebook=None, **kwargs):
        if on_kernel is not None:
            on_kernel(getattr(getattr(client.km, "provisioner", None), "pgid", None))

    client = NotebookClient(
        nb, timeout=timeout_cell, interrupt_on_timeout=allow_errors, allow_errors=allow_errors,
        km=kernel_manager(), on_notebook_start=kernel_ready, on_cell_start=cell_start,
        on_cell_executed=cell_done, resources={"metadata": {"path": str(folder)}})
    client.execute()
