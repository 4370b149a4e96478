"""config.yaml as pydantic models, with errors that point at file:line:column.

The models accept the whole schema of the reference synapse-sdk's config.yaml (every key its
models, its ``plugin create`` scaffolds and its config sync write), type-checked, and stay
strict: an unknown key is an error with a "did you mean". :func:`load_config` parses a plugin's
``config.yaml`` (with libyaml when it is installed) and validates it into
:class:`PluginConfig`; every problem is a :class:`~synapse_sdk.plugins.errors.ConfigError`
carrying ``path``, ``line`` and ``column`` of the offending key or value. Key positions are only
computed when there is an error, so the happy path is one C-level YAML parse plus one pydantic
validation.

Loading a plugin to run it does not come here: :mod:`synapse_sdk.plugins._configload` reads the
file and checks it with :func:`synapse_sdk.plugins._configfile.check`, without pydantic, and
falls back to these models (and their errors) whenever that check is not sure. These models
stay the definition of a valid config; tests hold the check to their answers, keys and choices.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from ._configfile import (
    ANNOTATION_CATEGORIES,
    ANNOTATION_TOOLS,
    ANNOTATION_TYPES,
    CODE,
    CONFIG_FILENAME,
    DATA_TYPES,
    ENTRYPOINT,
    PACKAGE_MANAGERS,
    SMART_TOOL_TYPES,
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
    "Hyperparameters",
    "PluginConfig",
    "PluginRequires",
    "config_error_at",
    "load_config",
    "parse_config",
    "split_entrypoint",
]

# The values of the reference's enums (DataType, AnnotationCategory, ...) as plain strings: one
# list of each, in _configfile, which the fast check uses too. A type checker sees text.
if TYPE_CHECKING:
    DataTypeName: TypeAlias = str
    AnnotationCategoryName: TypeAlias = str
    AnnotationTypeName: TypeAlias = str
    AnnotationToolName: TypeAlias = str
    SmartToolName: TypeAlias = str
    PackageManagerName: TypeAlias = str
else:
    DataTypeName = Literal[DATA_TYPES]
    AnnotationCategoryName = Literal[ANNOTATION_CATEGORIES]
    AnnotationTypeName = Literal[ANNOTATION_TYPES]
    AnnotationToolName = Literal[ANNOTATION_TOOLS]
    SmartToolName = Literal[SMART_TOOL_TYPES]
    PackageManagerName = Literal[PACKAGE_MANAGERS]
# A FormKit UI schema (what the platform renders as a form): a list of node mappings.
FormKitSchema = list[dict[str, Any]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Hyperparameters(_Strict):
    """``actions.<name>.hyperparameters``: the training form the platform shows.

    The reference's config sync writes ``train_ui_schemas`` from a train action's params model;
    it is kept as written (runs validate params against the model, not this form).
    """

    train_ui_schemas: FormKitSchema = Field(default_factory=list)


class ActionConfig(_Strict):
    """One entry of the ``actions:`` mapping.

    ``entrypoint`` is ``module.path:Name`` (``module.path.Name`` is accepted too), relative
    to the plugin directory. ``method`` says how the action is executed (default ``task``);
    ``input_type`` / ``output_type`` are DataType names, usually written by ``synapse sync``.
    ``name`` (a display name), ``params_schema``, ``serve_options``, ``hyperparameters``,
    ``ui_schema`` and ``result_schema`` are the reference's keys for the platform: kept,
    type-checked, not acted on by local runs.
    """

    entrypoint: str
    method: RunMethod = RunMethod.TASK
    description: str = ""
    name: str | None = None
    input_type: str | None = None
    output_type: str | None = None
    params_schema: dict[str, Any] | None = None
    serve_options: dict[str, Any] | None = None
    hyperparameters: Hyperparameters | None = None
    ui_schema: FormKitSchema | None = None
    result_schema: FormKitSchema | None = None

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


class PluginRequires(_Strict):
    """``requires:``: the SDK, Python and CUDA versions a plugin declares it needs.

    Version specifiers as text (``'>=3.10,<3.13'``); quote them, since YAML reads ``3.10`` as
    the number 3.1.
    """

    sdk: str | None = None
    python: str | None = None
    cuda: str | None = None


def _env_name(name: str) -> str:
    if not name or "=" in name or "\0" in name:
        raise ValueError(
            "not a usable environment variable name: it must be non-empty, without '=' (or NUL)"
        )
    return name


def _env_value(value: str) -> str:
    if "\0" in value:
        raise ValueError("an environment value cannot hold a NUL character")
    return value


# What an environment (os.environ, a process's env) can hold: checked here, so a bad key is a
# ConfigError at its config.yaml line, not a ValueError when a job process starts.
EnvName = Annotated[str, AfterValidator(_env_name)]
EnvValue = Annotated[str, AfterValidator(_env_value)]


class PluginConfig(_Strict):
    """A plugin's ``config.yaml``: metadata, data types, packaging, environment and actions.

    ``supported_data_type`` is accepted for ``supported_data_types`` and ``smart_tool_type``
    (which the reference's scaffold writes) for ``smart_tool``.
    """

    name: str
    code: str
    version: str = "0.1.0"
    variant: str | None = None
    category: PluginCategory = PluginCategory.CUSTOM
    description: str = ""
    readme: str = "README.md"
    data_type: DataTypeName | None = None
    tasks: list[str] = Field(default_factory=list)
    supported_data_types: list[DataTypeName] = Field(
        default_factory=list,
        validation_alias=AliasChoices("supported_data_types", "supported_data_type"),
    )
    supported_annotation_tools: dict[AnnotationCategoryName, list[AnnotationToolName]] = Field(
        default_factory=dict
    )
    annotation_category: AnnotationCategoryName | None = None
    annotation_type: AnnotationTypeName | None = None
    smart_tool: SmartToolName | None = Field(
        default=None, validation_alias=AliasChoices("smart_tool", "smart_tool_type")
    )
    package_manager: PackageManagerName = "pip"
    package_manager_options: list[str] = Field(default_factory=list)
    wheels_dir: str = "wheels"
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    # Passed through to the execution backend (Ray's runtime_env): free-form on purpose.
    runtime_env: dict[str, Any] = Field(default_factory=dict)
    requires: PluginRequires | None = None
    # other plugins this one needs: {plugin code: version specifier}
    dependencies: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
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


def _accepted_keys(model: type[BaseModel]) -> dict[str, str]:
    """Every key ``model`` accepts, mapped to its field name (aliases included)."""
    keys: dict[str, str] = {}
    for name, info in model.model_fields.items():
        keys[name] = name
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            keys.update((str(choice), name) for choice in alias.choices)
        elif isinstance(alias, str):
            keys[alias] = name
    return keys


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
        on_key = err["type"] == "extra_forbidden" or loc[-1:] == ("[key]",)
        if loc[-1:] == ("[key]",):  # a mapping key with a bad value: point at that key
            loc = loc[:-1]
        line, column = locate(text, loc, key=on_key)
        msg, hint = _describe(err, loc, _written(text, line, column))
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


def _written(text: str, line: int | None, column: int | None) -> str | None:
    """The plain scalar at ``line``:``column`` of ``text`` as written (YAML reads 3.10 as 3.1)."""
    if line is None or column is None:
        return None
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    token = lines[line - 1][column - 1 :].split(" #", 1)[0].strip()
    return token or None


def _model_at(loc: Sequence[Any]) -> type[BaseModel]:
    """The model of the mapping that ``loc``'s last element lives in."""
    if len(loc) >= 3 and loc[0] == "actions":
        return Hyperparameters if len(loc) >= 4 and loc[2] == "hyperparameters" else ActionConfig
    if len(loc) >= 2 and loc[0] == "requires":
        return PluginRequires
    return PluginConfig


def _describe(
    err: Mapping[str, Any], loc: Sequence[Any], written: str | None
) -> tuple[str, str | None]:
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown_key(str(loc[-1]) if loc else "?", _accepted_keys(_model_at(loc)))
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
    return msg + got, _value_hint(kind, loc, value, err.get("ctx") or {}, written)


def _unknown_key(key: str, accepted: Mapping[str, str]) -> tuple[str, str | None]:
    field = accepted.get(key)
    if field is not None:  # an accepted spelling, refused because another one is given too
        other = field if key != field else next(k for k, f in accepted.items() if f == field != k)
        return (
            f"given twice: {key!r} and {other!r} are two spellings of one key",
            f"keep one of {key!r} and {other!r}",
        )
    guess = did_you_mean(key, accepted)
    if guess:
        return f"unknown key (did you mean {guess!r}?)", f"rename {key!r} to {guess!r}"
    return "unknown key", "allowed keys: " + ", ".join(accepted)


def _missing_hint(loc: Sequence[Any]) -> str:
    key = str(loc[-1]) if loc else "?"
    example = "package.module:Name" if key == "entrypoint" else "..."
    where = f"under {format_loc(loc[:-1])}" if len(loc) > 1 else "at the top level"
    return f"add `{key}: {example}` {where}"


def _value_hint(
    kind: str, loc: Sequence[Any], value: Any, ctx: Mapping[str, Any], written: str | None
) -> str | None:
    key = str(loc[-1]) if loc else "value"
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        guess = did_you_mean(str(value), choices) if choices else None
        if guess:
            return f"did you mean {guess!r}?"
        return "use one of: " + ", ".join(choices) if choices else None
    if kind == "value_error" and loc[:1] == ("env",) and len(loc) == 2 and value == loc[1]:
        return "name it like MY_SETTING (letters, digits and '_'), or remove it"
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        shown = written if written and written[0] not in "'\"[{" else value
        return f"quote it so YAML reads text: {key}: '{shown}'"
    if kind == "list_type":
        return f"write a YAML list: `{key}: [a, b]` or one `- item` line per entry"
    if kind in ("dict_type", "model_type") and not (len(loc) == 2 and loc[0] == "actions"):
        return f"write a mapping: `{key}:` followed by indented `name: value` lines"
    if kind == "model_type":
        shown = value if isinstance(value, str) else "package.module:Name"
        return f"an action is a mapping: `{key}:` then an indented `entrypoint: {shown}` line"
    return None
