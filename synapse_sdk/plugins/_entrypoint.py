"""Import the object an entrypoint names (``pkg.mod:Name``), from a plugin directory or not.

Used by discovery (an action's code is imported on first use) and by the executors' workers.
Errors name the action, the entrypoint, the plugin directory and config.yaml's line.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ._configfile import config_error_at, split_entrypoint
from ._isolation import PluginNamespace, namespace_for
from .errors import PluginError, PluginLoadError, did_you_mean
from .spec import is_action

__all__ = ["load_entrypoint"]


def load_entrypoint(
    entrypoint: str,
    plugin_dir: str | os.PathLike[str] | None = None,
    *,
    action: str | None = None,
    config_path: str | None = None,
    namespace: PluginNamespace | None = None,
) -> Any:
    """Import the object named by ``entrypoint`` (``pkg.mod:Name`` or ``pkg.mod.Name``).

    With ``plugin_dir`` the plugin's own modules are imported from that directory under its
    private prefix (no ``sys.path`` change); other modules are imported normally. Raises
    PluginLoadError naming the action, the entrypoint and the plugin directory, with the
    import error chained.
    """
    module_name, attr = split_entrypoint(entrypoint)
    if plugin_dir is not None and namespace is None:
        namespace = namespace_for(plugin_dir)
    where = f" in plugin {str(plugin_dir)!r}" if plugin_dir is not None else ""
    who = f"action {action!r}: " if action else ""
    if not module_name or not attr:
        raise _load_error(
            f"{who}entrypoint {entrypoint!r} must look like 'package.module:Name'",
            action,
            entrypoint,
            plugin_dir,
            config_path,
        )
    try:
        if namespace is not None:
            module = namespace.import_module(module_name)
        else:
            module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise PluginLoadError(
            f"{who}cannot import {module_name!r} (entrypoint {entrypoint!r}{where}): "
            f"syntax error: {exc.msg}",
            action=action,
            entrypoint=entrypoint,
            plugin_dir=None if plugin_dir is None else str(plugin_dir),
            path=exc.filename,
            line=exc.lineno,
            column=exc.offset,
        ) from exc
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if namespace is not None and missing:
            missing = namespace.public_name(missing)
        own = missing is not None and module_name.split(".")[0] == missing.split(".")[0]
        hint: str | None
        detail = _clean(str(exc), namespace)
        if isinstance(exc, PluginError):  # our own "synapse_sdk has no X (did you mean Y?)"
            detail, hint = exc.message, exc.hint
        elif missing is not None and missing.split(".")[0] == "synapse_sdk":
            # a module path of the reference product that ours does not have: never "install"
            detail = f"synapse_sdk has no module {missing!r}"
            hint = "see 'Coming from synapse-sdk' in the README for what maps to what"
        elif own:
            hint = (
                f"is {module_name!r} a module of the plugin? expected "
                f"{_module_file(plugin_dir, module_name)}"
                if plugin_dir is not None
                else f"is {module_name!r} installed and importable?"
            )
        else:
            hint = f"the plugin code needs {missing!r}: install it" if missing else None
        raise _load_error(
            f"{who}cannot import {module_name!r} (entrypoint {entrypoint!r}{where}): {detail}",
            action,
            entrypoint,
            plugin_dir,
            config_path,
            hint=hint,
        ) from exc
    except Exception as exc:
        raise _load_error(
            f"{who}importing {module_name!r} (entrypoint {entrypoint!r}{where}) raised "
            f"{type(exc).__name__}: {_clean(str(exc), namespace)}",
            action,
            entrypoint,
            plugin_dir,
            config_path,
            hint="the module fails at import time; run with --debug for the traceback",
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            names = [n for n, v in vars(obj).items() if is_action(v)] or [
                n for n in dir(obj) if not n.startswith("_")
            ]
            lowered = {n.lower(): n for n in names}
            guess = lowered.get(part.lower()) or did_you_mean(part, names)
            raise _load_error(
                f"{who}module {module_name!r} has no attribute {attr!r} "
                f"(entrypoint {entrypoint!r}{where})",
                action,
                entrypoint,
                plugin_dir,
                config_path,
                hint=f"did you mean {module_name}:{guess}?" if guess else None,
            ) from exc
    return obj


def _module_file(plugin_dir: Any, module_name: str) -> str:
    base = Path(plugin_dir, *module_name.split("."))
    return f"{base}.py or {base}/__init__.py"


def _clean(text: str, namespace: PluginNamespace | None) -> str:
    if namespace is None:
        return text
    return text.replace(namespace.prefix + ".", "")


def _load_error(
    message: str,
    action: str | None,
    entrypoint: str,
    plugin_dir: Any,
    config_path: str | None,
    *,
    hint: str | None = None,
) -> PluginLoadError:
    line = column = None
    if config_path is not None and action is not None:
        located = config_error_at("", path=config_path, loc=("actions", action, "entrypoint"))
        line, column = located.line, located.column
    return PluginLoadError(
        message,
        action=action,
        entrypoint=entrypoint,
        plugin_dir=None if plugin_dir is None else str(plugin_dir),
        path=config_path,
        line=line,
        column=column,
        hint=hint,
    )
