"""What the front door needs from the executors: shared executors, action refs, backend configs.

``run_plugin(..., mode=...)`` and ``run_action(..., mode=...)`` (:mod:`synapse_sdk.plugins.runner`)
validate and resolve once, then hand an :class:`ActionRef` to the shared executor of the mode.
"""

from __future__ import annotations

import atexit
import sys
import threading
from typing import Any

from ..loading import ResolvedAction
from ._protocol import ActionRef

__all__ = ["backend_config", "plugin_action_ref", "shared_executor"]

_SHARED: dict[str, Any] = {}
_LOCK = threading.Lock()


def shared_executor(mode: str, **options: Any) -> Any:
    """The executor ``run_plugin`` uses for ``mode`` (and ``options``) in this process,
    created on first use and closed at exit, so a warm task pool serves every later call."""
    from . import get_executor

    key = f"{mode}{sorted(options.items())}" if options else mode
    with _LOCK:
        executor = _SHARED.get(key)
        if executor is None:
            executor = _SHARED[key] = get_executor(mode, **options)
            if len(_SHARED) == 1:
                atexit.register(_close_shared)
        return executor


def _close_shared() -> None:
    for executor in list(_SHARED.values()):
        executor.close()
    _SHARED.clear()


def plugin_action_ref(resolved: ResolvedAction, plugin: Any, action: str) -> ActionRef:
    """The :class:`ActionRef` a worker loads ``action`` of ``plugin`` (``resolved``) from."""
    discovery = resolved.plugin
    root = str(discovery.root.resolve()) if discovery.root is not None else None
    data = discovery.config_data
    return ActionRef(
        discovery.get_action_entrypoint(action),
        plugin_dir=root,
        name=resolved.spec.name,
        env=dict(resolved.env),
        plugin=root if root is not None else str(plugin),
        packaging={
            "package_manager": data["package_manager"],
            "package_manager_options": list(data["package_manager_options"]),
            "wheels_dir": data["wheels_dir"],
        },
    )


def backend_config(client: Any) -> dict[str, Any] | None:
    """How a worker opens the same backend as ``client`` (None when it cannot): a LocalBackend
    by its root directory, an HTTP backend by its URL and token."""
    if client is None:
        return None
    # A client can only be an instance of a module that is already imported.
    local = sys.modules.get("synapse_sdk.clients.local")
    if local is not None and isinstance(client, local.LocalBackend):
        return {"local": str(client.root)}
    http = sys.modules.get("synapse_sdk.clients.http")
    if http is not None and isinstance(client, http.HttpBackendClient):
        return {"url": client.url, "token": getattr(client, "token", None)}
    return None
