"""synapse_testing: the pytest kit for testing synapse-sdk plugin actions.

Installed with ``pip install 'synapse-sdk[testing]'``; the pytest plugin (entry point
``pytest11``) gives every test the fixtures ``synapse_ctx``, ``synapse_backend``,
``synapse_run`` and ``synapse_snapshot`` with no configuration. The objects behind them are
public and usable without pytest fixtures. Names load on first access, so importing the
plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import BackendCall, FakeBackend
    from ._context import RecordingContext
    from ._runner import ActionRunner
    from ._save import save_as_test
    from ._snapshot import Masker, snapshot_data
    from ._syrupy import SynapseSnapshotExtension
    from ._views import ANY, AnyStep, EventLog, EventViews
    from .asserts import (
        assert_logged,
        assert_metrics,
        assert_model_uploaded,
        assert_progress_complete,
        assert_warned,
    )

__all__ = [
    "ANY",
    "ActionRunner",
    "AnyStep",
    "BackendCall",
    "EventLog",
    "EventViews",
    "FakeBackend",
    "Masker",
    "RecordingContext",
    "SynapseSnapshotExtension",
    "assert_logged",
    "assert_metrics",
    "assert_model_uploaded",
    "assert_progress_complete",
    "assert_warned",
    "save_as_test",
    "snapshot_data",
]

# name -> module (relative to this package) that defines it
_LAZY: dict[str, str] = {
    "ANY": "._views",
    "ActionRunner": "._runner",
    "AnyStep": "._views",
    "BackendCall": "._backend",
    "EventLog": "._views",
    "EventViews": "._views",
    "FakeBackend": "._backend",
    "Masker": "._snapshot",
    "RecordingContext": "._context",
    "SynapseSnapshotExtension": "._syrupy",
    "assert_logged": ".asserts",
    "assert_metrics": ".asserts",
    "assert_model_uploaded": ".asserts",
    "assert_progress_complete": ".asserts",
    "assert_warned": ".asserts",
    "save_as_test": "._save",
    "snapshot_data": "._snapshot",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module, __name__), name)
    except ImportError as exc:  # only the syrupy part is optional
        raise ImportError(
            f"synapse_testing.{name} needs syrupy: pip install 'synapse-sdk[testing]'"
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
