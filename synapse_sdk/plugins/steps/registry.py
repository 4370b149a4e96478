"""The reference synapse-sdk's ``steps.registry`` path: :class:`StepRegistry`."""

from __future__ import annotations

from .._compat import module_getattr
from . import StepRegistry

__all__ = ["StepRegistry"]

__getattr__ = module_getattr(__name__, lambda: __all__)
