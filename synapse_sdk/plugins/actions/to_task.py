"""The reference synapse-sdk's ``actions.to_task`` path.

Its to-task workflow (``ToTaskAction``), which writes annotations into platform tasks, is not
part of synapse_sdk: asking for a name here says so (write the action on
:class:`~synapse_sdk.plugins.BaseAction`).
"""

from __future__ import annotations

from .._compat import module_getattr

__all__: list[str] = []

__getattr__ = module_getattr(__name__, lambda: __all__)
