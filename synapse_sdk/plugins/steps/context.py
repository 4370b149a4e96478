"""The reference synapse-sdk's ``steps.context`` path: :class:`StepContext` (what a step sees;
the reference's context-style ``BaseStepContext`` is not part of synapse_sdk)."""

from __future__ import annotations

from .._compat import module_getattr
from . import StepContext

__all__ = ["StepContext"]

__getattr__ = module_getattr(__name__, lambda: __all__)
