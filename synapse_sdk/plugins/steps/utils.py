"""The reference synapse-sdk's ``steps.utils`` path. Its wrapper steps (``LoggingStep``,
``TimingStep``, ``ValidationStep``) are not part of synapse_sdk: the orchestrator already
emits a StepEvent per step with its duration, so asking for one explains what to use."""

from __future__ import annotations

from .._compat import module_getattr

__all__: list[str] = []

__getattr__ = module_getattr(__name__, lambda: __all__)
