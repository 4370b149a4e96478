"""The reference synapse-sdk's ``plugins.models`` package path (see :mod:`.logger`)."""

from __future__ import annotations

from .._compat import module_getattr

__all__: list[str] = []

__getattr__ = module_getattr(__name__, lambda: __all__)
