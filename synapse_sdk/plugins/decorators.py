"""The reference synapse-sdk's home of ``@action``: the same decorator as
``synapse_sdk.plugins.action`` (which is where to import it from in new code)."""

from __future__ import annotations

from ._compat import module_getattr
from .action import action

__all__ = ["action"]

__getattr__ = module_getattr(__name__, lambda: __all__)
