"""Enumerations of the public API: plugin categories, run methods and how a run ended."""

from __future__ import annotations

from enum import Enum

__all__ = ["PluginCategory", "RunMethod", "RunStatus"]


class PluginCategory(str, Enum):
    """What kind of work a plugin (or action) does; used for grouping and defaults."""

    NEURAL_NET = "neural_net"
    EXPORT = "export"
    UPLOAD = "upload"
    SMART_TOOL = "smart_tool"
    PRE_ANNOTATION = "pre_annotation"
    POST_ANNOTATION = "post_annotation"
    DATA_VALIDATION = "data_validation"
    CUSTOM = "custom"

    def __str__(self) -> str:
        return self.value


class RunMethod(str, Enum):
    """How an action is executed: a quick ``task``, an isolated ``job`` or an HTTP ``serve``.

    ``restapi`` is the reference synapse-sdk's name for an HTTP action; it runs as ``serve``.
    """

    TASK = "task"
    JOB = "job"
    SERVE = "serve"
    RESTAPI = "restapi"

    def __str__(self) -> str:
        return self.value


class RunStatus(str, Enum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value
