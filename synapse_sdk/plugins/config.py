"""config.yaml as pydantic models, with errors that point at file:line:column.

:func:`load_config` parses a plugin's ``config.yaml`` (with libyaml when it is installed) and
validates it into :class:`PluginConfig`. Unknown keys are errors with a "did you mean"; every
problem is a :class:`~synapse_sdk.plugins.errors.ConfigError` carrying ``path``, ``line`` and
``column`` of the offending key or value. Key positions are only computed when there is an
error, so the happy path is one C-level YAML parse plus one pydantic validation.

Loading a plugin to run it does not come here: :mod:`synapse_sdk.plugins._configfile` reads
the file and checks it without pydantic, falling back to these models (and their errors)
whenever it is not sure. These models stay the definition of a valid config.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from ._configfile import (
    CODE,
    CONFIG_FILENAME,
    ENTRYPOINT,
    config_error_at,
    load_yaml_mapping,
    locate,
    read_config_text,
    split_entrypoint,
)
from .enums import PluginCategory, RunMethod
from .errors import ConfigError, did_you_mean, format_loc

__all__ = [
    "CONFIG_FILENAME",
    "ActionConfig",
    "PluginConfig",
    "config_error_at",
    "load_config",
    "parse_config",
    "split_entrypoint",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ActionConfig(_Strict):
    """One entry of the ``actions:`` mapping.

    ``entrypoint`` is ``module.path:Name`` (``module.path.Name`` is accepted too), relative
    to the plugin directory. ``method`` says how the action is executed (default ``task``);
    ``input_type`` / ``output_type`` are DataType names, usually written by ``synapse sync``.
    """

    entrypoint: str
    method: RunMethod = RunMethod.TASK
    description: str = ""
    input_type: str | None = None
    output_type: str | None = None

    @field_validator("entrypoint")
    @classmethod
    def _check_entrypoint(cls, value: str) -> str:
        if not ENTRYPOINT.match(value) or ("." not in value and ":" not in value):
            raise ValueError(
                f"entrypoint {value!r} must look like 'package.module:Name' "
                "(or 'package.module.Name')"
            )
        return value

    @property
    def module_and_attr(self) -> tuple[str, str]:
        """``('plugin.train', 'TrainAction')`` for either entrypoint spelling."""
        return split_entrypoint(self.entrypoint)


class PluginConfig(_Strict):
    """A plugin's ``config.yaml``: metadata, dependencies, environment and actions."""

    name: str
    code: str
    version: str = "0.1.0"
    category: PluginCategory = PluginCategory.CUSTOM
    description: str = ""
    readme: str = "README.md"
    data_type: Literal["image", "text", "video", "pcd", "audio", "data"] | None = None
    tasks: list[str] = Field(default_factory=list)
    package_manager: Literal["pip", "uv"] = "pip"
    package_manager_options: list[str] = Field(default_factory=list)
    wheels_dir: str = "wheels"
    env: dict[str, str] = Field(default_factory=dict)
    # Passed through to the execution backend (Ray's runtime_env): free-form on purpose.
    runtime_env: dict[str, Any] = Field(default_factory=dict)
    actions: dict[str, ActionConfig] = Field(default_factory=dict)

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_are_strings(cls, value: Any) -> Any:
        # YAML reads `CUDA_VISIBLE_DEVICES: 0` as an int; environment values are strings.
        if isinstance(value, Mapping):
            return {
                k: (str(v).lower() if isinstance(v, bool) else str(v))
                if isinstance(v, (int, float, bool))
                else v
                for k, v in value.items()
            }
        return value

    @field_validator("code")
    @classmethod
    def _check_code(cls, value: str) -> str:
        if not CODE.match(value):
            raise ValueError(
                f"code {value!r} must be letters, digits, '-', '_' or '.' (e.g. 'image-classifier')"
            )
        return value


# -- loading ------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> PluginConfig:
    """Read and validate ``config.yaml`` at ``path`` (a file, or a plugin directory).

    Raises ConfigError (with file:line:column) for a missing file, malformed YAML, unknown
    keys or invalid values.
    """
    file = Path(path)
    if file.is_dir():
        file = file / CONFIG_FILENAME
    return parse_config(read_config_text(file), path=str(file))


def parse_config(text: str, *, path: str = CONFIG_FILENAME) -> PluginConfig:
    """Validate config.yaml ``text``; ``path`` is only used in error messages."""
    return validate_config(load_yaml_mapping(text, path=path), text, path)


def validate_config(data: Mapping[str, Any], text: str, path: str) -> PluginConfig:
    """Validate parsed config.yaml ``data`` (read from ``text`` at ``path``, for positions)."""
    try:
        return PluginConfig.model_validate(data)
    except PydanticValidationError as exc:
        raise _config_validation_error(exc, text, path) from exc


def _config_validation_error(exc: PydanticValidationError, text: str, path: str) -> ConfigError:
    errors = exc.errors(include_url=False)
    # the first error decides the position; every error is listed in the message
    lines = []
    first_pos: tuple[int | None, int | None] = (None, None)
    first_hint: str | None = None
    for i, err in enumerate(errors):
        loc = tuple(err["loc"])
        msg, hint = _describe(err, loc)
        line, column = locate(text, loc, key=err["type"] == "extra_forbidden")
        where = f"line {line}: " if line is not None else ""
        lines.append(f"  {where}{format_loc(loc)}: {msg}")
        if i == 0:
            first_pos = (line, column)
            first_hint = hint
    count = len(errors)
    head = "invalid config" if count == 1 else f"invalid config ({count} errors)"
    return ConfigError(
        head + ":\n" + "\n".join(lines),
        path=path,
        line=first_pos[0],
        column=first_pos[1],
        hint=first_hint,
    )


def _fields_at(loc: Sequence[Any]) -> Sequence[str]:
    """The allowed keys of the mapping that ``loc``'s last element lives in."""
    if len(loc) >= 3 and loc[0] == "actions":
        return list(ActionConfig.model_fields)
    return list(PluginConfig.model_fields)


def _describe(err: Mapping[str, Any], loc: Sequence[Any]) -> tuple[str, str | None]:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = _fields_at(loc)
        guess = did_you_mean(key, allowed)
        if guess:
            return f"unknown key (did you mean {guess!r}?)", f"rename {key!r} to {guess!r}"
        return "unknown key", "allowed keys: " + ", ".join(allowed)
    if kind == "missing":
        return "required key is missing", _missing_hint(loc)
    value = err.get("input")
    got = ""
    if "input" in err and not isinstance(value, (dict, list)):
        got = f" (got {value!r})"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "model_type":  # "a valid dictionary or instance of ActionConfig": no class names
        msg = "Input should be a mapping of keys"
    return msg + got, _value_hint(kind, loc, value, err.get("ctx") or {})


def _missing_hint(loc: Sequence[Any]) -> str:
    key = str(loc[-1]) if loc else "?"
    example = "package.module:Name" if key == "entrypoint" else "..."
    where = f"under {format_loc(loc[:-1])}" if len(loc) > 1 else "at the top level"
    return f"add `{key}: {example}` {where}"


def _value_hint(kind: str, loc: Sequence[Any], value: Any, ctx: Mapping[str, Any]) -> str | None:
    key = str(loc[-1]) if loc else "value"
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        guess = did_you_mean(str(value), choices) if choices else None
        if guess:
            return f"did you mean {guess!r}?"
        return "use one of: " + ", ".join(choices) if choices else None
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        return f"quote it so YAML reads text: {key}: '{value}'"
    if kind == "list_type":
        return f"write a YAML list: `{key}: [a, b]` or one `- item` line per entry"
    if kind == "dict_type":
        return f"write a mapping: `{key}:` followed by indented `name: value` lines"
    if kind == "model_type" and len(loc) == 2 and loc[0] == "actions":
        shown = value if isinstance(value, str) else "package.module:Name"
        return f"an action is a mapping: `{key}:` then an indented `entrypoint: {shown}` line"
    return None
