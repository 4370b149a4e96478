"""Backend clients: the ``BackendClient`` protocol, the embedded ``LocalBackend``, the
``HttpBackendClient`` of a remote server and the ``BackendSink`` that records runs as jobs.

Everything but the protocol is imported on first access, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    JOB_STATUSES,
    RUN_STEP,
    BackendClient,
    DatasetRecord,
    DataUnitRecord,
    FileRecord,
    FileSource,
    JobRecord,
    LogEntry,
    ModelRecord,
    ProgressRecord,
)

if TYPE_CHECKING:
    from ._reads import ReadRecorder
    from .http import HttpBackendClient
    from .local import LocalBackend, default_home
    from .sink import BackendSink

__all__ = [
    "JOB_STATUSES",
    "RUN_STEP",
    "BackendClient",
    "BackendSink",
    "DataUnitRecord",
    "DatasetRecord",
    "FileRecord",
    "FileSource",
    "HttpBackendClient",
    "JobRecord",
    "LocalBackend",
    "LogEntry",
    "ModelRecord",
    "ProgressRecord",
    "ReadRecorder",
    "default_home",
]

_LAZY = {
    "BackendSink": ".sink",
    "HttpBackendClient": ".http",  # needs the 'http' extra (httpx) only when used
    "LocalBackend": ".local",
    "ReadRecorder": "._reads",  # records what a run reads: synapse_testing.save_as_test
    "default_home": ".local",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
