"""config.yaml as plain data, without pydantic: reading, strict YAML, positions, a fast check.

Running a plugin from the command line needs only a few fields of its config.yaml, and
importing pydantic costs more than the whole run of a small action. So the file is read here:
YAML is parsed with libyaml when it is installed, and :func:`check` validates the data
*exactly* like :class:`~synapse_sdk.plugins.config.PluginConfig` on the common shapes, returning
what ``PluginConfig.model_validate(data).model_dump()`` would return. Anything it is not sure
of (a wrong type, an unknown key, a value pydantic would coerce) makes it return None, and the
caller falls back to the pydantic models, which give the error with file:line:column. A test
holds the two to the same answers over a corpus of valid and invalid configs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .enums import PluginCategory, RunMethod
from .errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "check",
    "config_error_at",
    "load_config_data",
    "load_yaml_mapping",
    "locate",
    "read_config_text",
    "split_entrypoint",
]

CONFIG_FILENAME = "config.yaml"

# `pkg.mod:Name`, `pkg.mod:Outer.Name` or `pkg.mod.Name`
ENTRYPOINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*)?$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DATA_TYPES = ("image", "text", "video", "pcd", "audio", "data")
PACKAGE_MANAGERS = ("pip", "uv")

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed


class Loader(_BaseLoader):
    """Safe loader that refuses duplicate keys (YAML would silently keep the last one)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: let the base class report it
                continue
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    f"while reading the mapping at line {node.start_mark.line + 1}",
                    node.start_mark,
                    f"duplicate key {key!r} (first at line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    """Split ``pkg.mod:Name`` (or ``pkg.mod.Name``) into ``('pkg.mod', 'Name')``."""
    if ":" in entrypoint:
        module, _, attr = entrypoint.partition(":")
        return module, attr
    module, _, attr = entrypoint.rpartition(".")
    return module, attr


# -- reading --------------------------------------------------------------------------------------


def read_config_text(file: Path) -> str:
    """The text of config.yaml ``file``; ConfigError when it is missing or unreadable."""
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no {CONFIG_FILENAME} found at {file}",
            path=str(file),
            hint="run `synapse new NAME` to scaffold a plugin, or pass the plugin directory",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc}", path=str(file)) from exc


def load_yaml_mapping(text: str, *, path: str = CONFIG_FILENAME) -> dict[str, Any]:
    """Parse config.yaml ``text`` into a dict; ConfigError with file:line for bad YAML."""
    try:
        data = yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        duplicate = problem.startswith("duplicate key")
        raise ConfigError(
            problem if duplicate else f"malformed YAML: {problem}",
            path=path,
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
            hint="rename or remove one of the two"
            if duplicate
            else "check indentation and quoting around this line",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}", path=path) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config.yaml must be a mapping of keys (name, code, actions, ...), "
            f"got {type(data).__name__}",
            path=path,
            line=1,
            column=1,
            hint="write one `key: value` per line: name, code, then actions (see `synapse new`)",
        )
    return data


def load_config_data(file: Path) -> dict[str, Any]:
    """The validated config.yaml at ``file`` as plain data (``PluginConfig(...).model_dump()``).

    The fast :func:`check` decides the common case without importing pydantic; otherwise the
    pydantic models validate the file and raise ConfigError with file:line:column.
    """
    text = read_config_text(file)
    data = load_yaml_mapping(text, path=str(file))
    checked = check(data)
    if checked is not None:
        return checked
    from .config import validate_config

    return validate_config(data, text, str(file)).model_dump()


# -- the fast check ------------------------------------------------------------------------------

# field -> (kind, default ... when required); a kind is str, "str?" (or None), list (of str),
# dict (str keys), "env", "actions", "code", "entrypoint", an enum class or a tuple of choices
_PLUGIN_FIELDS: dict[str, tuple[Any, Any]] = {
    "name": (str, ...),
    "code": ("code", ...),
    "version": (str, "0.1.0"),
    "category": (PluginCategory, PluginCategory.CUSTOM),
    "description": (str, ""),
    "readme": (str, "README.md"),
    "data_type": ((*DATA_TYPES, None), None),
    "tasks": (list, list),
    "package_manager": (PACKAGE_MANAGERS, "pip"),
    "package_manager_options": (list, list),
    "wheels_dir": (str, "wheels"),
    "env": ("env", dict),
    "runtime_env": (dict, dict),
    "actions": ("actions", dict),
}
_ACTION_FIELDS: dict[str, tuple[Any, Any]] = {
    "entrypoint": ("entrypoint", ...),
    "method": (RunMethod, RunMethod.TASK),
    "description": (str, ""),
    "input_type": ("str?", None),
    "output_type": ("str?", None),
}
PLUGIN_KEYS = frozenset(_PLUGIN_FIELDS)
ACTION_KEYS = frozenset(_ACTION_FIELDS)


class _Unsure(Exception):
    """The fast check cannot vouch for the data: let pydantic decide (and explain)."""


def check(data: dict[str, Any]) -> dict[str, Any] | None:
    """``PluginConfig.model_validate(data).model_dump()`` for data it is sure about, else None."""
    try:
        return _fields(data, _PLUGIN_FIELDS, PLUGIN_KEYS)
    except _Unsure:
        return None


def _fields(data: Any, fields: dict[str, tuple[Any, Any]], keys: frozenset[str]) -> dict[str, Any]:
    if type(data) is not dict or not keys.issuperset(data):
        raise _Unsure
    out: dict[str, Any] = {}
    for name, (kind, default) in fields.items():
        if name in data:
            out[name] = _value(kind, data[name])
        elif default is ...:
            raise _Unsure
        else:
            out[name] = default() if default is list or default is dict else default
    return out


def _value(kind: Any, value: Any) -> Any:
    if kind is str:
        if type(value) is str:
            return value
    elif kind == "code":
        if type(value) is str and CODE.match(value):
            return value
    elif kind == "entrypoint":
        if type(value) is str and ENTRYPOINT.match(value) and ("." in value or ":" in value):
            return value
    elif kind == "str?":
        if value is None or type(value) is str:
            return value
    elif kind is list:
        if type(value) is list and all(type(item) is str for item in value):
            return list(value)
    elif kind is dict:
        if type(value) is dict and all(type(key) is str for key in value):
            return dict(value)
    elif kind == "env":  # like PluginConfig's validator: YAML numbers and booleans as text
        if type(value) is dict:
            env = {}
            for key, item in value.items():
                if type(item) is bool:
                    item = str(item).lower()
                elif type(item) is int or type(item) is float:
                    item = str(item)
                if type(key) is not str or type(item) is not str:
                    raise _Unsure
                env[key] = item
            return env
    elif kind == "actions":
        if type(value) is dict and all(type(key) is str for key in value):
            return {key: _fields(item, _ACTION_FIELDS, ACTION_KEYS) for key, item in value.items()}
    elif isinstance(kind, tuple):  # Literal choices
        if value is None and None in kind:
            return None
        if type(value) is str and value in kind:
            return value
    elif type(value) is str:  # an enum: its values are strings
        try:
            return kind(value)
        except ValueError:
            pass
    raise _Unsure


# -- positions -----------------------------------------------------------------------------------


def config_error_at(
    message: str,
    *,
    path: str,
    loc: Sequence[Any],
    hint: str | None = None,
    key: bool = False,
) -> ConfigError:
    """A ConfigError for the value (or ``key``) at ``loc`` in the config file at ``path``."""
    line = column = None
    try:
        text = Path(path).read_text(encoding="utf-8")
        line, column = locate(text, loc, key=key)
    except OSError:
        pass
    return ConfigError(message, path=path, line=line, column=column, hint=hint)


def locate(text: str, loc: Sequence[Any], *, key: bool = False) -> tuple[int | None, int | None]:
    """1-based (line, column) of the node at ``loc`` in YAML ``text``.

    With ``key=True`` the position of the mapping key itself is returned (for unknown keys).
    Falls back to the deepest parent found; (None, None) when the text cannot be composed.
    """
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return None, None
    if node is None:
        return 1, 1
    best = node.start_mark
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        found = None
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                if str(getattr(k_node, "value", None)) == str(part):
                    found = k_node if (last and key) else v_node
                    if last and not key and _is_missing(v_node):
                        found = k_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            found = node.value[part]
        if found is None:
            break
        node = found
        best = node.start_mark
    return best.line + 1, best.column + 1


def _is_missing(node: Any) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == "" and node.tag.endswith(":null")
