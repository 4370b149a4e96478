"""The reference synapse-sdk's ``steps.base`` path: :class:`BaseStep` and :class:`StepResult`."""

from __future__ import annotations

from .._compat import module_getattr
from . import BaseStep, StepResult

__all__ = ["BaseStep", "StepResult"]

__getattr__ = module_getattr(__name__, lambda: __all__)
