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
from typing import Any, NamedTuple

from ._configfile import CONFIG_FILENAME
from ._entrypoint import load_entrypoint
from ._isolation import namespace_for
from .discovery import PluginDiscovery
from .errors import ConfigError, PluginLoadError
from .spec import ActionSpec

__all__ = [
    "ResolvedAction",
    "clear_cache",
    "load_entrypoint",
    "load_plugin",
    "resolve",
    "resolve_action",
    "resolve_action_env",
]

_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

Stamp = tuple[bytes, int, int]  # (path, mtime_ns, size); a bytes path skips encoding per stat


class ResolvedAction(NamedTuple):
    """One action of one plugin, resolved: what every way of running it needs."""

    spec: ActionSpec  # runnable, config.yaml's metadata applied
    env: dict[str, str]  # config.yaml's env (shared: copy before changing it)
    plugin: PluginDiscovery
    stamps: tuple[Stamp, ...]  # what is stat-ed to tell whether the cache entry is fresh


_PLUGINS: dict[Any, tuple[PluginDiscovery, tuple[Stamp, ...]]] = {}
_ACTIONS: dict[Any, ResolvedAction] = {}  # (ref key, action) ->
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


def resolve(ref: str | os.PathLike[str], action: str) -> ResolvedAction:
    """``action`` of plugin ``ref`` resolved once: its runnable spec with config.yaml's metadata
    applied, config.yaml's ``env`` and the plugin.

    The hot path is a dict lookup and a stat of config.yaml and of the plugin modules the
    action imported. Raises ActionNotFoundError, ConfigError / PluginLoadError (entrypoint
    cannot be imported) or ActionDefinitionError.
    """
    key = _key(ref)
    cached = _ACTIONS.get((key, action))
    if cached is not None and _fresh(cached.stamps):
        return cached
    with _LOCK:
        discovery = load_plugin(ref, reload=cached is not None and _code_changed(cached))
        spec = discovery.get_action_spec(action)
        stamps = _PLUGINS[key][1] + tuple(_stamp(f) for f in discovery.action_files(action))
        resolved = ResolvedAction(spec, dict(discovery.config_data["env"]), discovery, stamps)
        _ACTIONS[(key, action)] = resolved
        return resolved


def resolve_action(ref: str | os.PathLike[str], action: str) -> ActionSpec:
    """The runnable spec of ``action`` in plugin ``ref`` (see :func:`resolve`)."""
    return resolve(ref, action).spec


def resolve_action_env(
    ref: str | os.PathLike[str], action: str
) -> tuple[ActionSpec, dict[str, str]]:
    """:func:`resolve_action` plus the plugin's config.yaml ``env`` (see :func:`resolve`)."""
    resolved = resolve(ref, action)
    return resolved.spec, resolved.env


def _code_changed(cached: ResolvedAction) -> bool:
    """True when a code file (not only config.yaml) of a cached action changed."""
    config = os.fsencode(CONFIG_FILENAME)
    return not _fresh(tuple(s for s in cached.stamps if not s[0].endswith(config)))


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
