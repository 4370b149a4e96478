"""The reference synapse-sdk's ``plugins.models.logger`` path: :class:`LogLevel`
(defined in :mod:`synapse_sdk.plugins.log_messages`)."""

from __future__ import annotations

from .._compat import module_getattr
from ..log_messages import LogLevel

__all__ = ["LogLevel"]

__getattr__ = module_getattr(__name__, lambda: __all__)
