"""Load plugins by reference, cached: a directory, a config.yaml path or a module name.

:func:`load_plugin` returns a :class:`~synapse_sdk.plugins.discovery.PluginDiscovery`;
:func:`resolve_action` returns the runnable :class:`ActionSpec` of one action with config.yaml's
metadata applied. Both are cached per reference and re-checked on every call with one
``os.stat`` (mtime and size) of config.yaml and of each module of the plugin's directory that
was imported when the action was loaded (its module, helpers, packages' ``__init__``): editing
config.yaml reloads the config, editing any of those modules re-imports the plugin's code. A
module the plugin imports only later, while it runs, is picked up by
``load_plugin(ref, reload=True)``.

Plugin code from a directory is imported under a private module prefix, so the directory
needs no ``sys.path`` / ``PYTHONPATH`` edit and plugins sharing a top-level package name
(``plugin/``) run side by side.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._configfile import CONFIG_FILENAME, config_error_at, split_entrypoint
from .discovery import PluginDiscovery
from .errors import ConfigError, PluginLoadError

if TYPE_CHECKING:
    from ._isolation import PluginNamespace
    from .spec import ActionSpec

__all__ = ["clear_cache", "load_entrypoint", "load_plugin", "resolve_action", "resolve_action_env"]

_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

Stamp = tuple[bytes, int, int]  # (path, mtime_ns, size); a bytes path skips encoding per stat

_PLUGINS: dict[Any, tuple[PluginDiscovery, tuple[Stamp, ...]]] = {}
# (ref key, action) -> (spec, stamps, the plugin's config.yaml env)
_ACTIONS: dict[Any, tuple[ActionSpec, tuple[Stamp, ...], dict[str, str]]] = {}
_LOCK = threading.RLock()


def _key(ref: Any) -> Any:
    ref = os.fspath(ref)
    # a relative path means something else after a chdir
    return ref if ref.startswith("/") else (ref, os.getcwd())


def _stamp(path: str) -> Stamp:
    encoded = os.fsencode(path)
    try:
        st = os.stat(encoded)
    except OSError:
        return (encoded, -1, -1)
    return (encoded, st.st_mtime_ns, st.st_size)


def _fresh(stamps: tuple[Stamp, ...]) -> bool:
    for path, mtime, size in stamps:
        try:
            st = os.stat(path)
        except OSError:
            return mtime == -1
        if st.st_mtime_ns != mtime or st.st_size != size:
            return False
    return True


def load_plugin(ref: str | os.PathLike[str], *, reload: bool = False) -> PluginDiscovery:
    """The plugin at ``ref``: a plugin directory, its config.yaml, or an importable module name.

    Cached per reference; the config is parsed again when config.yaml changes. ``reload=True``
    also re-imports the plugin's code. Raises ConfigError when ``ref`` is none of the three.
    """
    key = _key(ref)
    cached = _PLUGINS.get(key)
    if cached is not None and not reload and _fresh(cached[1]):
        return cached[0]
    with _LOCK:
        discovery, stamps = _load(os.fspath(ref), reload=reload)
        _PLUGINS[key] = (discovery, stamps)
        if reload:
            for action_key in [k for k in _ACTIONS if k[0] == key]:
                del _ACTIONS[action_key]
        return discovery


def resolve_action(ref: str | os.PathLike[str], action: str) -> ActionSpec:
    """The runnable spec of ``action`` in plugin ``ref``, with config.yaml metadata applied.

    The hot path is a dict lookup and a stat of config.yaml and of the plugin modules the
    action imported.
    Raises ActionNotFoundError, ConfigError / PluginLoadError (entrypoint cannot be imported)
    or ActionDefinitionError.
    """
    key = _key(ref)
    cached = _ACTIONS.get((key, action))
    if cached is not None and _fresh(cached[1]):
        return cached[0]
    with _LOCK:
        stale = cached is not None
        discovery = load_plugin(ref, reload=stale and _code_changed(cached))
        spec = discovery.get_action_spec(action)
        stamps = _PLUGINS[key][1] + tuple(_stamp(f) for f in discovery.action_files(action))
        _ACTIONS[(key, action)] = (spec, stamps, dict(discovery.config_data["env"]))
        return spec


def resolve_action_env(
    ref: str | os.PathLike[str], action: str
) -> tuple[ActionSpec, dict[str, str]]:
    """:func:`resolve_action` plus the plugin's config.yaml ``env`` (what local runs start from).

    The env dict is shared: copy it before changing it.
    """
    cached = _ACTIONS.get((_key(ref), action))
    if cached is not None and _fresh(cached[1]):
        return cached[0], cached[2]
    spec = resolve_action(ref, action)
    return spec, _ACTIONS[(_key(ref), action)][2]


def _code_changed(cached: Any) -> bool:
    """True when a code file (not only config.yaml) of a cached action changed."""
    config = os.fsencode(CONFIG_FILENAME)
    return not _fresh(tuple(s for s in cached[1] if not s[0].endswith(config)))


def clear_cache() -> None:
    """Forget every cached plugin and action (their imported modules stay importable)."""
    with _LOCK:
        _PLUGINS.clear()
        _ACTIONS.clear()


def _load(ref: str, *, reload: bool) -> tuple[PluginDiscovery, tuple[Stamp, ...]]:
    path = Path(ref)
    if path.is_dir():
        config_file = path / CONFIG_FILENAME
        if not config_file.is_file():
            raise ConfigError(
                f"{path} is not a plugin directory: it has no {CONFIG_FILENAME}",
                path=str(path),
                hint="run `synapse new NAME` to scaffold one, or point at a directory with "
                "config.yaml",
            )
    elif path.is_file():
        config_file = path
    elif _MODULE_NAME.match(ref) and not ref.endswith((".yaml", ".yml")):
        return _load_module(ref), ()
    else:
        raise ConfigError(
            f"no plugin at {ref!r}: not a directory, a config.yaml file or a module name",
            path=ref,
            hint="pass the plugin directory (the one with config.yaml) or a dotted module name",
        )
    discovery = PluginDiscovery.from_path(config_file)
    if reload and discovery.root is not None:
        from ._isolation import namespace_for

        discovery._namespace = namespace_for(discovery.root, fresh=True)
    assert discovery.config_path is not None
    return discovery, (_stamp(str(discovery.config_path)),)


def _load_module(name: str) -> PluginDiscovery:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise ConfigError(
                f"no plugin at {name!r}: no such directory or importable module",
                path=name,
                hint="pass the plugin directory (the one with config.yaml) or a module "
                "importable from sys.path",
            ) from exc
        raise PluginLoadError(
            f"cannot import plugin module {name!r}: {exc}", entrypoint=name
        ) from exc
    return PluginDiscovery.from_module(module)


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
        from ._isolation import namespace_for

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
        if own:
            hint = (
                f"is {module_name!r} a module of the plugin? expected "
                f"{_module_file(plugin_dir, module_name)}"
                if plugin_dir is not None
                else f"is {module_name!r} installed and importable?"
            )
        else:
            hint = f"the plugin code needs {missing!r}: install it" if missing else None
        raise _load_error(
            f"{who}cannot import {module_name!r} (entrypoint {entrypoint!r}{where}): "
            f"{_clean(str(exc), namespace)}",
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
            from .errors import did_you_mean
            from .spec import is_action

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
