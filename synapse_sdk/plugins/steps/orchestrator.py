"""The reference synapse-sdk's ``steps.orchestrator`` path: :class:`Orchestrator`."""

from __future__ import annotations

from .._compat import module_getattr
from . import Orchestrator

__all__ = ["Orchestrator"]

__getattr__ = module_getattr(__name__, lambda: __all__)
