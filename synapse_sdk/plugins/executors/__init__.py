"""Executors: run actions in-process, on warm workers, as isolated jobs, behind HTTP, or on Ray.

Every executor takes an action (an ``@action`` function, a ``BaseAction`` subclass, an
ActionSpec, or an entrypoint string ``'package.module:Name'`` with ``plugin_dir=``) and JSON
params, and produces the same :class:`~synapse_sdk.plugins.run.Run` record as an
in-process run, relaying the worker's events live to the caller's sinks. Only the entrypoint
string and JSON params travel to a worker; the worker validates the params again.

======================  ============================================  ==========================
mode                    executor                                      needs
======================  ============================================  ==========================
``local``               in this process (``run_action``)              -
``task``                :class:`TaskExecutor`: warm worker pool       -
``job``                 :class:`JobExecutor`: fresh isolated process  -
``serve``               :class:`ServeExecutor`: FastAPI + uvicorn     ``synapse-sdk[serve]``
``ray-task``            :class:`RayTaskExecutor`: Ray task            ``synapse-sdk[ray]``
``ray-job``             :class:`RayJobExecutor`: Ray Jobs API         ``synapse-sdk[ray]``
``ray-serve``           :class:`RayServeExecutor`: Ray Serve          ``synapse-sdk[ray-serve]``
======================  ============================================  ==========================

Select one with :func:`get_executor` (``get_executor('task')``) or pass an executor object.
Every executor is a :class:`BaseExecutor` (the shared submit prologue, cancel forwarding and
context manager); a new one writes only how it starts a run (``_start``) and stops it
(``_cancel``).
``run_plugin(..., mode=...)`` and ``run_action(..., mode=...)`` (the front door,
:mod:`synapse_sdk.plugins.runner`) use one shared executor per mode and process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._base import BaseExecutor
from ._protocol import ActionRef, RemoteTraceback, RunHandle

if TYPE_CHECKING:
    from ..run import Run
    from .job import JobExecutor, JobHandle
    from .ray import RayJobExecutor, RayServeExecutor, RayTaskExecutor
    from .serve import ServeExecutor, ServeHandle
    from .task import TaskExecutor

__all__ = [
    "MODES",
    "ActionRef",
    "BaseExecutor",
    "Executor",
    "JobExecutor",
    "JobHandle",
    "RayJobExecutor",
    "RayServeExecutor",
    "RayTaskExecutor",
    "RemoteTraceback",
    "RunHandle",
    "ServeExecutor",
    "ServeHandle",
    "TaskExecutor",
    "get_executor",
]


@runtime_checkable
class Executor(Protocol):
    """Runs actions somewhere: ``submit`` returns a handle at once, ``run`` waits for the Run.

    ``submit(action, params=None, *, plugin_dir=None, ctx=None, env=None, sinks=None)``
    accepts the same keywords on every executor.
    """

    def submit(self, action: Any, params: Any = None, **options: Any) -> Any: ...

    def run(self, action: Any, params: Any = None, **options: Any) -> Run: ...

    def close(self) -> None: ...


# mode name -> (module, class)
MODES: dict[str, tuple[str, str]] = {
    "task": (".task", "TaskExecutor"),
    "job": (".job", "JobExecutor"),
    "serve": (".serve", "ServeExecutor"),
    "ray-task": (".ray", "RayTaskExecutor"),
    "ray-job": (".ray", "RayJobExecutor"),
    "ray-serve": (".ray", "RayServeExecutor"),
}

_LAZY = {
    "JobExecutor": ".job",
    "JobHandle": ".job",
    "RayJobExecutor": ".ray",
    "RayServeExecutor": ".ray",
    "RayTaskExecutor": ".ray",
    "ServeExecutor": ".serve",
    "ServeHandle": ".serve",
    "TaskExecutor": ".task",
}


def get_executor(mode: str, **options: Any) -> Any:
    """A new executor for ``mode`` (see the table above); ``options`` go to its constructor.

    Raises ValueError for an unknown mode, naming the known ones.
    """
    try:
        module, name = MODES[mode]
    except KeyError:
        known = ", ".join(["local", *MODES])
        raise ValueError(f"unknown execution mode {mode!r}; known modes: {known}") from None
    cls = getattr(importlib.import_module(module, __name__), name)
    return cls(**options)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
