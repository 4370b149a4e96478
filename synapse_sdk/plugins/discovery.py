"""Find a plugin's actions: from config.yaml, from a module, or from source with ``ast``.

Three modes, one result type:

* :meth:`PluginDiscovery.from_path` reads ``config.yaml``; action code is imported on first
  use under a private module prefix (see :mod:`synapse_sdk.plugins._isolation`), so the
  plugin directory needs no ``sys.path`` edit and two plugins that both use a top-level
  ``plugin`` package do not see each other's modules.
* :meth:`PluginDiscovery.from_module` introspects an imported module for ``@action``
  functions and ``BaseAction`` subclasses defined in it.
* :meth:`PluginDiscovery.discover_actions` parses source with ``ast`` and never imports.

Discovery never mutates user classes or functions: config.yaml metadata (name, method,
description, entrypoint, input/output types) is applied to an :class:`ActionSpec` copy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._configfile import CONFIG_FILENAME, check, config_error_at
from ._configload import load_config_data
from ._plain import plain_spec
from .enums import PluginCategory, RunMethod
from .errors import ActionDefinitionError, ActionNotFoundError, ConfigError
from .spec import ActionSpec, as_spec, first_line, is_action, module_actions

if TYPE_CHECKING:
    from .config import ActionConfig, PluginConfig

__all__ = ["PluginDiscovery"]


class PluginDiscovery:
    """The actions of one plugin and its parsed configuration.

    Build it with :meth:`from_path` or :meth:`from_module` (or use the cached
    :func:`synapse_sdk.plugins.loading.load_plugin`). Action names are listed in config
    order; :meth:`get_action_spec` gives the runnable spec with config metadata applied.

    The validated config is kept as plain data (:attr:`config_data`); the pydantic
    :class:`~synapse_sdk.plugins.config.PluginConfig` of :attr:`config` is built on first
    access, so loading and running a plugin need not import pydantic.
    """

    def __init__(
        self,
        config: PluginConfig | dict[str, Any],
        *,
        root: str | os.PathLike[str] | None = None,
        config_path: str | os.PathLike[str] | None = None,
        module: ModuleType | None = None,
        specs: Mapping[str, ActionSpec] | None = None,
    ) -> None:
        if isinstance(config, dict):  # validated data (see _configload.load_config_data)
            self._data = config
            self._config: PluginConfig | None = None
        else:
            self._data = config.model_dump()
            self._config = config
        self.root = None if root is None else Path(root)
        self.config_path = None if config_path is None else Path(config_path)
        self.module = module
        self._specs: dict[str, ActionSpec] = dict(specs or {})
        self._namespace: Any = None

    def __repr__(self) -> str:
        where = self.root or (self.module.__name__ if self.module else "?")
        return f"<PluginDiscovery {self.code!r} at {where} actions={self.list_actions()}>"

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> PluginDiscovery:
        """Load the plugin whose ``config.yaml`` is at ``path`` (the directory or the file)."""
        file = Path(path)
        if file.is_dir():
            file = file / CONFIG_FILENAME
        return cls(load_config_data(file), root=file.parent.resolve(), config_path=file.resolve())

    @classmethod
    def from_module(
        cls,
        module: ModuleType | str,
        name: str | None = None,
        category: PluginCategory | str | None = None,
    ) -> PluginDiscovery:
        """Discover the ``@action`` functions and ``BaseAction`` subclasses defined in ``module``.

        Classes and functions merely imported into the module are not included. ``name``
        and ``category`` fill the synthetic config (defaults: the module name, ``custom``).
        """
        if isinstance(module, str):
            import importlib

            module = importlib.import_module(module)
        specs = module_actions(module)
        code = module.__name__.replace("_", "-").replace(".", "-")
        actions = {
            action_name: {
                "entrypoint": spec.entrypoint or f"{module.__name__}:{action_name}",
                "method": spec.method or RunMethod.TASK.value,
                "description": spec.description,
                "input_type": None if spec.input_type is None else spec.input_type.name,
                "output_type": None if spec.output_type is None else spec.output_type.name,
            }
            for action_name, spec in specs.items()
        }
        data = {
            "name": name or module.__name__,
            "code": code,
            "category": PluginCategory(category).value if category else "custom",
            "description": first_line(module.__doc__),
            "actions": actions,
        }
        checked = check(data)
        if checked is None:  # pydantic explains what is wrong
            from .config import PluginConfig

            return cls(PluginConfig.model_validate(data), module=module, specs=specs)
        return cls(checked, module=module, specs=specs)

    @staticmethod
    def discover_actions(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
        """Scan the plugin source at ``path`` with ``ast`` (nothing is imported or executed).

        Returns ``{name: {'entrypoint', 'kind', 'description', 'docstring', 'input_type',
        'output_type', 'file', 'line'}}``; finds class and ``@action`` function actions. A
        module with a syntax error raises ConfigError naming its file:line.
        """
        from ._scan import discover_actions

        return discover_actions(path)

    # -- queries -----------------------------------------------------------------------------

    @property
    def config(self) -> PluginConfig:
        """The parsed config.yaml as pydantic models (synthetic for :meth:`from_module`)."""
        if self._config is None:
            from .config import PluginConfig

            self._config = PluginConfig.model_validate(self._data)
        return self._config

    @property
    def config_data(self) -> dict[str, Any]:
        """The validated config as plain data: ``config.model_dump()``, without pydantic."""
        return self._data

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def code(self) -> str:
        return str(self._data["code"])

    def list_actions(self) -> list[str]:
        """Action names in config order."""
        return list(self._data["actions"])

    def has_action(self, name: str) -> bool:
        return name in self._data["actions"]

    def get_action_config(self, name: str) -> ActionConfig:
        """The config.yaml entry of action ``name`` (ActionNotFoundError when unknown)."""
        self._action_data(name)
        return self.config.actions[name]

    def get_action_method(self, name: str) -> RunMethod:
        return RunMethod(self._action_data(name)["method"])

    def get_action_entrypoint(self, name: str) -> str:
        return str(self._action_data(name)["entrypoint"])

    def _action_data(self, name: str) -> dict[str, Any]:
        actions = self._data["actions"]
        try:
            return actions[name]
        except KeyError:
            raise ActionNotFoundError(name, actions, plugin=self.code) from None

    def get_action_class(self, name: str) -> Any:
        """The action's class, or the decorated function for a function action (imports it)."""
        return self.get_action_spec(name).target

    def get_action_spec(self, name: str) -> ActionSpec:
        """The runnable spec of action ``name`` with config.yaml's metadata applied."""
        spec = self._specs.get(name)
        if spec is None:
            spec = self._build_spec(name)
            self._specs[name] = spec
        return spec

    def specs(self) -> dict[str, ActionSpec]:
        """Every action's spec, in config order (imports all action modules)."""
        return {name: self.get_action_spec(name) for name in self.list_actions()}

    def load_entrypoint(self, entrypoint: str, *, action: str | None = None) -> Any:
        """Import the object ``entrypoint`` names, from this plugin's code when it is there."""
        from ._entrypoint import load_entrypoint  # imports the import machinery: on first use

        return load_entrypoint(
            entrypoint,
            self.root,
            action=action,
            config_path=None if self.config_path is None else str(self.config_path),
            namespace=self.namespace,
        )

    @property
    def namespace(self) -> Any:
        """The private import namespace of this plugin's code (None for module plugins)."""
        if self._namespace is None and self.root is not None:
            from ._isolation import namespace_for

            self._namespace = namespace_for(self.root)
        return self._namespace

    def action_files(self, name: str) -> list[str]:
        """Source files whose change makes action ``name``'s cached spec stale.

        The action's module, plus every module of this plugin's directory imported so far
        (its helpers and packages' ``__init__``), found once here, not on the hot path.
        """
        spec = self.get_action_spec(name)
        module = sys.modules.get(getattr(spec.target, "__module__", "") or "")
        file = getattr(module, "__file__", None)
        files = [file] if file else []
        namespace = self.namespace
        if namespace is not None:
            # by module name, not only by path: a virtualenv inside the plugin directory holds
            # modules that are not the plugin's
            head = namespace.prefix + "."
            inside = str(self.root) + os.sep
            for name, other in list(sys.modules.items()):
                if not (name.startswith(head) or namespace.owns(name)):
                    continue
                path = getattr(other, "__file__", None)
                if isinstance(path, str) and path.startswith(inside) and path not in files:
                    files.append(path)
        return files

    # -- building specs ----------------------------------------------------------------------

    def _build_spec(self, name: str) -> ActionSpec:
        entry = self._action_data(name)
        entrypoint = entry["entrypoint"]
        target = self.load_entrypoint(entrypoint, action=name)
        try:
            spec = as_spec(target)
        except ActionDefinitionError as exc:
            # the reference's scaffolds point some actions at a plain function or class
            plain = plain_spec(target, name, entrypoint) if not is_action(target) else None
            if plain is None:
                raise self._error(
                    f"action {name!r}: entrypoint {entrypoint!r} is not an action: {exc.message}",
                    name,
                    "entrypoint",
                    hint=exc.hint,
                ) from exc
            spec = plain
        changes: dict[str, Any] = {
            "name": name,
            "method": RunMethod(entry["method"]).value,
            "entrypoint": entrypoint,
        }
        if entry["description"]:
            changes["description"] = entry["description"]
        category = PluginCategory(self._data["category"])
        if spec.category is None and category is not PluginCategory.CUSTOM:
            changes["category"] = category
        for field in ("input_type", "output_type"):
            type_name = entry[field]
            if getattr(spec, field) is None and type_name:
                changes[field] = self._data_type(name, field, type_name)
        return spec.replace(**changes)

    def _data_type(self, action: str, field: str, type_name: str) -> Any:
        from .types import get_data_type

        try:
            return get_data_type(type_name)
        except KeyError as exc:
            raise self._error(
                f"action {action!r}: {field} {type_name!r} is not a known data type",
                action,
                field,
                hint=str(exc.args[0]).partition("; ")[2] or None,
            ) from exc

    def _error(self, message: str, action: str, field: str, *, hint: str | None) -> ConfigError:
        if self.config_path is None:
            return ConfigError(message, hint=hint)
        return config_error_at(
            message, path=str(self.config_path), loc=("actions", action, field), hint=hint
        )
