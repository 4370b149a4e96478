"""The reference synapse-sdk's import paths: one table, one error.

Plugins written for Datamaker's synapse-sdk import names from module paths of their own
(``synapse_sdk.plugins.action``, ``.decorators``, ``.models.logger``, ``.steps.base``, ...).
Those modules exist here as thin re-exports of our objects. A name the reference has and we do
not (or any other unknown name) raises :class:`UnknownNameError` from the module's
``__getattr__``: "synapse_sdk has no X (did you mean Y?)", never a hint to install something.

:data:`NEAREST` maps the reference's names we do not have to the name to use instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .errors import PluginError, did_you_mean

__all__ = ["NEAREST", "UnknownAttributeError", "UnknownNameError", "module_getattr"]

#: Reference name -> what to use here instead (a name, or "module.name").
NEAREST: dict[str, str] = {
    "BaseStepContext": "StepContext",
    "TrainContext": "StepContext",
    "ExportContext": "StepContext",
    "InferenceContext": "StepContext",
    "DeploymentContext": "StepContext",
    "PipelineContext": "StepContext",
    "LoggingStep": "BaseStep",
    "TimingStep": "BaseStep",
    "ValidationStep": "BaseStep",
    "ExportDatasetStep": "synapse_sdk.plugins.actions.train.DatasetStep",
    "ConvertDatasetStep": "synapse_sdk.plugins.actions.train.BaseTrainAction.convert_dataset",
    "TrainExecuteStep": "synapse_sdk.plugins.actions.train.TrainStep",
    "TrainProgressCategories": "synapse_sdk.plugins.actions.train.TrainProgress",
    "InferenceProgressCategories": "synapse_sdk.plugins.actions.inference.InferenceProgress",
    "ExportProgressCategories": "synapse_sdk.plugins.actions.export.ExportProgress",
    "UploadProgressCategories": "synapse_sdk.plugins.actions.upload.UploadProgress",
    "LocalExecutor": "synapse_sdk.plugins.run_action",
    "ExecutorProtocol": "synapse_sdk.plugins.run_action",
    "ActionPipeline": "synapse_sdk.plugins.run_action",
    "PluginEnvironment": "RuntimeContext.env",
    "LocalizedMessage": "a {language: template} dict passed to log_message",
    "BaseLogger": "RuntimeContext.logger",
    "ConsoleLogger": "synapse_sdk.plugins.ConsoleSink",
    "NoOpLogger": "synapse_sdk.plugins.MemorySink",
    "ExecutionMode": "run_plugin(mode=...)",
    "DatasetOperation": "DatasetAction.download_dataset",
    "DefaultExportAction": "BaseExportAction",
    "MetricsCategory": "log_metric's category ('train', 'validation', 'test')",
}


def _message(module: str, name: str, names: Iterable[str]) -> str:
    suggestion = NEAREST.get(name) or did_you_mean(name, names)
    tip = f" (did you mean {suggestion}?)" if suggestion else ""
    return f"synapse_sdk has no {name} in {module}{tip}"


_HINT = "see 'Coming from synapse-sdk' in the README for what maps to what"


class UnknownNameError(PluginError, ImportError):
    """A module path of the reference synapse-sdk was asked for a name we do not have.

    An ImportError, so ``from synapse_sdk.plugins.steps import LoggingStep`` shows our message
    (an AttributeError there would be replaced by Python's generic "cannot import name").
    ``.name`` is the missing name, ``.module`` the module it was asked from.
    """

    def __init__(self, module: str, name: str, names: Iterable[str] = ()) -> None:
        PluginError.__init__(self, _message(module, name, names), hint=_HINT)
        self.name = name
        self.module = module


class UnknownAttributeError(PluginError, AttributeError):
    """The AttributeError twin of :class:`UnknownNameError`, for modules that code probes
    with ``getattr(module, name, default)`` (which only an AttributeError satisfies)."""

    def __init__(self, module: str, name: str, names: Iterable[str] = ()) -> None:
        PluginError.__init__(self, _message(module, name, names), hint=_HINT)
        self.name = name
        self.module = module


def module_getattr(
    module: str, names: Callable[[], Iterable[str]], *, probed: bool = False
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that explains a missing public name.

    ``names`` returns the module's public names (for the "did you mean"). It raises
    :class:`UnknownNameError`, or :class:`UnknownAttributeError` when ``probed`` (the module
    is looked into with ``getattr(..., default)``). Dunder lookups (``__path__``, ...) raise a
    plain AttributeError, as the import system and ``hasattr`` expect.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if probed:
            raise UnknownAttributeError(module, name, names())
        raise UnknownNameError(module, name, names())

    return __getattr__
