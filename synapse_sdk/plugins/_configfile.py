"""config.yaml as plain data, without pydantic: reading, strict YAML, positions, a fast check.

Running a plugin from the command line needs only a few fields of its config.yaml, and
importing pydantic costs more than the whole run of a small action. So the file is read here:
YAML is parsed with libyaml when it is installed, and :func:`check` validates the data
*exactly* like :class:`~synapse_sdk.plugins.config.PluginConfig` on the common shapes, returning
what ``PluginConfig.model_validate(data).model_dump()`` would return. Anything it is not sure
of (a wrong type, an unknown key, a value pydantic would coerce) makes it return None, and the
caller falls back to the pydantic models, which give the error with file:line:column. Tests
hold the two to the same answers over a corpus of valid and invalid configs, and the key sets
and value choices here to the models' fields.

This module sits below :mod:`synapse_sdk.plugins.config` and never imports it: the models use
the patterns, choices and positions defined here, and :mod:`synapse_sdk.plugins._configload`
puts the two together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from .enums import PluginCategory, RunMethod
from .errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "check",
    "config_error_at",
    "load_yaml_mapping",
    "locate",
    "read_config_text",
    "split_entrypoint",
]

CONFIG_FILENAME = "config.yaml"

# `pkg.mod:Name`, `pkg.mod:Outer.Name` or `pkg.mod.Name`
ENTRYPOINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*)?$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# The values the reference synapse-sdk's enums allow (config.py spells them as Literals; a
# test holds the two equal).
DATA_TYPES = ("image", "text", "video", "pcd", "audio", "data")
PACKAGE_MANAGERS = ("pip", "uv")
ANNOTATION_CATEGORIES = ("image", "video", "audio", "text", "pcd", "prompt", "time_series")
ANNOTATION_TYPES = ("bbox", "polygon", "point", "line", "mask", "label")
ANNOTATION_TOOLS = (
    "bounding_box",
    "polygon",
    "polyline",
    "keypoint",
    "segmentation",
    "relation",
    "classification",
    "annotationGroup",
    "named_entity",
    "3d_bounding_box",
    "3d_segmentation",
    "prompt",
    "answer",
    "time_range",
)
SMART_TOOL_TYPES = ("interactive", "automatic", "semi_automatic")

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
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at line {line})",
            path=str(file),
            line=line,
            hint="save config.yaml as UTF-8 (most editors offer it under 'Save with encoding')",
        ) from exc
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


# -- the fast check ------------------------------------------------------------------------------
#
# One table per mapping of the file: field -> (check, default). A check returns the value the
# model would hold (copies of lists and dicts) or raises _Unsure; a default is ... for a
# required field, `list` / `dict` for an empty one, else the value itself. Field order is the
# models' order, so the result has model_dump()'s key order too.


class _Unsure(Exception):
    """The fast check cannot vouch for the data: let pydantic decide (and explain)."""


_Check = Callable[[Any], Any]


def _str(value: Any) -> Any:
    if type(value) is str:
        return value
    raise _Unsure


def _optional(check: _Check) -> _Check:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


def _pattern(pattern: re.Pattern[str], *, dotted: bool = False) -> _Check:
    def matches(value: Any) -> Any:
        if (
            type(value) is str
            and pattern.match(value)
            and (not dotted or "." in value or ":" in value)
        ):
            return value
        raise _Unsure

    return matches


def _choice(choices: tuple[str, ...]) -> _Check:
    def choice(value: Any) -> Any:
        if type(value) is str and value in choices:
            return value
        raise _Unsure

    return choice


def _enum(cls: Any) -> _Check:
    def member(value: Any) -> Any:
        if type(value) is str:
            try:
                return cls(value)
            except ValueError:
                pass
        raise _Unsure

    return member


def _list(item: _Check) -> _Check:
    def items(value: Any) -> Any:
        if type(value) is not list:
            raise _Unsure
        return [item(entry) for entry in value]

    return items


def _dict(item: _Check | None, key: _Check = _str) -> _Check:
    """A mapping with ``key``-checked keys and ``item``-checked values (None: any value)."""

    def mapping(value: Any) -> Any:
        if type(value) is not dict:
            raise _Unsure
        if item is None:
            for name in value:
                key(name)
            return dict(value)
        return {key(name): item(entry) for name, entry in value.items()}

    return mapping


def _env(value: Any) -> Any:
    # like PluginConfig's validator: YAML numbers and booleans become text
    if type(value) is not dict:
        raise _Unsure
    env = {}
    for key, item in value.items():
        if type(item) is bool:
            item = str(item).lower()
        elif type(item) is int or type(item) is float:
            item = str(item)
        if type(key) is not str or type(item) is not str:
            raise _Unsure
        if not key or "=" in key or "\0" in key or "\0" in item:
            raise _Unsure  # no environment can hold it: the model explains where
        env[key] = item
    return env


class _Mapping:
    """One strict mapping of config.yaml: its fields, in the model's order, and their aliases."""

    def __init__(self, fields: dict[str, tuple[_Check, Any]], aliases: dict[str, str]) -> None:
        self.fields = fields
        self.aliases = aliases  # alias -> field name
        self.names = frozenset(fields)
        self.keys = self.names | frozenset(aliases)  # every key the mapping accepts

    def __call__(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise _Unsure
        if not self.names.issuperset(data):
            data = self._unalias(data)
        out: dict[str, Any] = {}
        for name, (check, default) in self.fields.items():
            if name in data:
                out[name] = check(data[name])
            elif default is ...:
                raise _Unsure
            else:
                out[name] = default() if default is list or default is dict else default
        return out

    def _unalias(self, data: dict[Any, Any]) -> dict[Any, Any]:
        renamed = {}
        for key, value in data.items():
            name = self.aliases.get(key, key) if type(key) is str else key
            if name not in self.names or name in renamed:  # unknown, or given twice
                raise _Unsure
            renamed[name] = value
        return renamed


# A FormKit UI schema, as the reference's config sync writes it: a list of node mappings.
_FORMKIT = _list(_dict(None))

REQUIRES = _Mapping(
    {
        "sdk": (_optional(_str), None),
        "python": (_optional(_str), None),
        "cuda": (_optional(_str), None),
    },
    {},
)
HYPERPARAMETERS = _Mapping({"train_ui_schemas": (_FORMKIT, list)}, {})
ACTION = _Mapping(
    {
        "entrypoint": (_pattern(ENTRYPOINT, dotted=True), ...),
        "method": (_enum(RunMethod), RunMethod.TASK),
        "description": (_str, ""),
        "name": (_optional(_str), None),
        "input_type": (_optional(_str), None),
        "output_type": (_optional(_str), None),
        "params_schema": (_optional(_dict(None)), None),
        "serve_options": (_optional(_dict(None)), None),
        "hyperparameters": (_optional(HYPERPARAMETERS), None),
        "ui_schema": (_optional(_FORMKIT), None),
        "result_schema": (_optional(_FORMKIT), None),
    },
    {},
)
PLUGIN = _Mapping(
    {
        "name": (_str, ...),
        "code": (_pattern(CODE), ...),
        "version": (_str, "0.1.0"),
        "variant": (_optional(_str), None),
        "category": (_enum(PluginCategory), PluginCategory.CUSTOM),
        "description": (_str, ""),
        "readme": (_str, "README.md"),
        "data_type": (_optional(_choice(DATA_TYPES)), None),
        "tasks": (_list(_str), list),
        "supported_data_types": (_list(_choice(DATA_TYPES)), list),
        "supported_annotation_tools": (
            _dict(_list(_choice(ANNOTATION_TOOLS)), key=_choice(ANNOTATION_CATEGORIES)),
            dict,
        ),
        "annotation_category": (_optional(_choice(ANNOTATION_CATEGORIES)), None),
        "annotation_type": (_optional(_choice(ANNOTATION_TYPES)), None),
        "smart_tool": (_optional(_choice(SMART_TOOL_TYPES)), None),
        "package_manager": (_choice(PACKAGE_MANAGERS), "pip"),
        "package_manager_options": (_list(_str), list),
        "wheels_dir": (_str, "wheels"),
        "env": (_env, dict),
        "runtime_env": (_dict(None), dict),
        "requires": (_optional(REQUIRES), None),
        "dependencies": (_dict(_str), dict),
        "tags": (_list(_str), list),
        "actions": (_dict(ACTION), dict),
    },
    {"supported_data_type": "supported_data_types", "smart_tool_type": "smart_tool"},
)


def check(data: dict[str, Any]) -> dict[str, Any] | None:
    """``PluginConfig.model_validate(data).model_dump()`` for data it is sure about, else None."""
    try:
        return PLUGIN(data)
    except _Unsure:
        return None


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
