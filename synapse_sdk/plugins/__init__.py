"""The public API of synapse-sdk: define, run and compose actions.

Importing this package is cheap: it imports neither pydantic nor any optional dependency.
Category base classes (``BaseTrainAction``, ...) are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .action import action
from .base import BaseAction, NoResult
from .context import RuntimeContext
from .enums import PluginCategory, RunMethod, RunStatus
from .errors import (
    ActionDefinitionError,
    ActionNotFoundError,
    CancelledError,
    ConfigError,
    ExecutionError,
    PluginError,
    ValidationError,
)
from .events import Sink
from .run import Run
from .runner import run_action, run_plugin
from .sinks import ConsoleSink, JsonlSink, MemorySink
from .spec import ActionSpec, as_spec

if TYPE_CHECKING:  # the lazily loaded names below, for type checkers
    from .actions.export import BaseExportAction
    from .actions.inference import BaseInferenceAction
    from .actions.train import BaseTrainAction
    from .actions.upload import BaseUploadAction
    from .steps import BaseStep, Orchestrator, StepRegistry, StepResult

__all__ = [
    "ActionDefinitionError",
    "ActionNotFoundError",
    "ActionSpec",
    "BaseAction",
    "BaseExportAction",
    "BaseInferenceAction",
    "BaseStep",
    "BaseTrainAction",
    "BaseUploadAction",
    "CancelledError",
    "ConfigError",
    "ConsoleSink",
    "ExecutionError",
    "JsonlSink",
    "MemorySink",
    "NoResult",
    "Orchestrator",
    "PluginCategory",
    "PluginError",
    "Run",
    "RunMethod",
    "RunStatus",
    "RuntimeContext",
    "Sink",
    "StepRegistry",
    "StepResult",
    "ValidationError",
    "action",
    "as_spec",
    "run_action",
    "run_plugin",
]

# name -> module (relative to this package) that defines it; imported on first access.
_LAZY: dict[str, str] = {
    "BaseDeploymentAction": ".actions.deployment",  # the reference synapse-sdk's names
    "BaseServeDeployment": ".actions.deployment",
    "BaseExportAction": ".actions.export",
    "BaseInferenceAction": ".actions.inference",
    "BaseStep": ".steps",
    "BaseTrainAction": ".actions.train",
    "BaseUploadAction": ".actions.upload",
    "Orchestrator": ".steps",
    "StepRegistry": ".steps",
    "StepResult": ".steps",
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
