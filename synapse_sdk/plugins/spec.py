"""``ActionSpec``: one normalized description of an action, however it was written.

Function actions (``@action``) and class actions (``BaseAction`` subclasses) both become an
``ActionSpec`` here; runners, discovery, the CLI, executors, the notebook and the testing kit
only deal with specs. Turning an object into a spec validates it (signature, models) and never
mutates it; specs are cached per object.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import re
import reprlib
import sys
import types
import typing
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import BaseAction, NoResult
from .errors import ActionDefinitionError, ValidationError, did_you_mean, format_loc

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .context import RuntimeContext
    from .enums import PluginCategory
    from .types import DataType

__all__ = [
    "MAX_PARAMS_DEPTH",
    "ActionSpec",
    "as_spec",
    "check_params_depth",
    "is_action",
    "module_actions",
    "parse_params_json",
]

#: How deep params may nest (objects in lists in objects ...). Deeper input is refused as
#: invalid params: past a few hundred levels the JSON parser, pydantic's serializer and every
#: view of the run fail on it, each in its own way.
MAX_PARAMS_DEPTH = 100
#: How many problems an invalid-params message lists; ``ValidationError.errors`` keeps all.
MAX_LISTED_ERRORS = 20
_JSON_HINT = "pass a JSON object such as '{\"epochs\": 3}'"


@dataclass(frozen=True)
class ActionSpec:
    """A normalized action: metadata, models and how to invoke it.

    ``params_model`` is None for a function action without a params model (params are then a
    plain dict). ``result_model`` is None when results are not validated (``NoResult``).
    """

    name: str
    target: Any
    kind: str  # 'function' | 'class' | 'plain' (a reference scaffold's plain entrypoint)
    description: str = ""
    params_model: type[BaseModel] | None = None
    result_model: type[BaseModel] | None = None
    category: PluginCategory | None = None
    input_type: type[DataType] | None = None
    output_type: type[DataType] | None = None
    method: str | None = None
    entrypoint: str | None = None

    def __repr__(self) -> str:
        # the plugin's own names, never the private module prefix its code is imported under
        target = self.entrypoint or _public_names(
            f"{getattr(self.target, '__module__', '?')}:{getattr(self.target, '__qualname__', '?')}"
        )
        models = ", ".join(
            f"{label}={model.__name__}"
            for label, model in (("params", self.params_model), ("result", self.result_model))
            if model is not None
        )
        return f"<ActionSpec {self.name!r} {self.kind} {target}{' ' + models if models else ''}>"

    def replace(self, **changes: Any) -> ActionSpec:
        """A copy with ``changes`` applied (e.g. name, method from config.yaml)."""
        return dataclasses.replace(self, **changes)

    @property
    def source(self) -> str:
        """``file:line`` where the action is defined (for error messages)."""
        return _source_of(self.target)

    # -- params ------------------------------------------------------------------------------

    def validate_params(self, params: Any = None, *, reject_unknown: bool = True) -> Any:
        """Validate ``params`` (dict, JSON string, model instance or None) into the params model.

        Unknown keys are rejected with a "did you mean" unless ``reject_unknown`` is False.
        Raises :class:`~synapse_sdk.plugins.errors.ValidationError` naming every field path.
        """
        model = self.params_model
        if model is not None and type(params) is dict and reject_unknown:
            # The common case, kept short: a plain dict for a model.
            allowed, nested = _ALLOWED.get(model) or _model_keys(model)
            if allowed and (nested or not allowed.issuperset(params)):
                unknown = list(_unknown_keys(model, params, ()))
                if unknown:
                    raise _unknown_error(self.name, unknown)
            try:
                return model.model_validate(params)
            except Exception as exc:
                raise self._translate(exc) from exc
        if isinstance(params, (str, bytes)):
            params = self._parse_json(params)
        if model is None:
            if params is None:
                return {}
            if hasattr(params, "model_dump"):
                return params
            if not isinstance(params, Mapping):
                raise ValidationError(
                    f"Invalid params for action {self.name!r}: expected a JSON object, got "
                    f"{type(params).__name__}",
                    action=self.name,
                    errors=[
                        {
                            "loc": (),
                            "msg": "expected an object",
                            "type": "dict_type",
                            "input": params,
                        }
                    ],
                )
            return dict(params)
        if type(params) is model:
            return params
        if params is None:
            params = {}
        elif isinstance(params, model):
            return params
        elif hasattr(params, "model_dump"):
            params = params.model_dump()
        if reject_unknown and isinstance(params, Mapping):
            allowed, nested = _model_keys(model)
            if allowed and (nested or not allowed.issuperset(params)):
                unknown = list(_unknown_keys(model, params, ()))
                if unknown:
                    raise _unknown_error(self.name, unknown)
        return self._validate(model, params)

    def _validate(self, model: type[BaseModel], params: Any) -> Any:
        try:
            return model.model_validate(params)
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> Exception:
        """Our ValidationError for a pydantic one; any other exception unchanged."""
        if isinstance(exc, sys.modules["pydantic"].ValidationError):
            return _pydantic_error(self.name, exc)
        return exc

    def _parse_json(self, text: str | bytes) -> Any:
        return parse_params_json(text, where=f"Invalid params for action {self.name!r}")

    # -- invocation --------------------------------------------------------------------------

    def invoke(self, params: Any, ctx: RuntimeContext) -> Any:
        """Run the action with already-validated ``params``; returns its raw result."""
        if self.kind == "class":
            return self.target(params, ctx).run()
        return self.target(params, ctx)

    def check_result(self, result: Any) -> str | None:
        """Validate ``result`` against ``result_model``; return a warning message or None."""
        model = self.result_model
        if model is None or isinstance(result, model):
            return None
        try:
            if hasattr(result, "model_dump"):
                result = result.model_dump()
            model.model_validate(result)
        except Exception as exc:
            return (
                f"Result of action {self.name!r} does not match {model.__name__}: "
                f"{_short_errors(exc)}; the result is returned unchanged"
            )
        return None

    # -- schema ------------------------------------------------------------------------------

    def params_schema(self) -> dict[str, Any]:
        """JSON Schema of the params (an open object when there is no params model)."""
        if self.params_model is None:
            return {"type": "object", "title": f"{self.name} params"}
        return self.params_model.model_json_schema()

    def result_schema(self) -> dict[str, Any] | None:
        """JSON Schema of the result, or None when the result is not validated."""
        return None if self.result_model is None else self.result_model.model_json_schema()


# -- building specs ----------------------------------------------------------------------------

_CACHE: weakref.WeakKeyDictionary[Any, ActionSpec] = weakref.WeakKeyDictionary()
_LAST: tuple[Any, ActionSpec | None] = (None, None)


def is_action(obj: Any) -> bool:
    """True for an ``@action`` function or a concrete ``BaseAction`` subclass."""
    if isinstance(obj, type):
        return issubclass(obj, BaseAction) and not inspect.isabstract(obj)
    return callable(obj) and getattr(obj, "_is_action", False) is True


def as_spec(obj: Any) -> ActionSpec:
    """Turn an ``@action`` function, a ``BaseAction`` subclass or a spec into an ActionSpec.

    Raises ActionDefinitionError (naming the action and its file:line) when ``obj`` is not a
    valid action. The result is cached per object; ``obj`` is never modified.
    """
    if isinstance(obj, ActionSpec):
        return obj
    last = _LAST
    if last[0] is obj:
        return last[1]  # type: ignore[return-value]
    try:
        spec = _CACHE[obj]
    except (KeyError, TypeError):
        pass
    else:
        _remember(obj, spec)
        return spec
    if isinstance(obj, type) and issubclass(obj, BaseAction):
        spec = _class_spec(obj)
    elif callable(obj) and getattr(obj, "_is_action", False) is True:
        spec = _function_spec(obj)
    else:
        what = getattr(obj, "__qualname__", None) or type(obj).__name__
        raise ActionDefinitionError(
            f"{what} is not an action ({_source_of(obj)})",
            hint="decorate a function with @action or subclass BaseAction[YourParams]",
        )
    with contextlib.suppress(TypeError):  # not weak-referenceable: just don't cache
        _CACHE[obj] = spec
    _remember(obj, spec)
    return spec


_PRIVATE_PREFIX = re.compile(r"_synapse_plugin_\w*?_g\d+\.")  # see _isolation.namespace_for


def _public_names(text: str) -> str:
    """``text`` with the private module prefix of plugin code removed."""
    return _PRIVATE_PREFIX.sub("", text)


def module_actions(module: types.ModuleType) -> dict[str, ActionSpec]:
    """The actions defined in ``module`` or, for a package, in its submodules (re-exported).

    Classes imported from elsewhere (``BaseAction``, category bases) are not actions of the
    module. By name, in definition order.
    """
    name = module.__name__
    inside = name + "."
    found: dict[str, ActionSpec] = {}
    for obj in vars(module).values():
        owner = getattr(obj, "__module__", None) or ""
        if (owner == name or owner.startswith(inside)) and is_action(obj):
            spec = as_spec(obj)
            found.setdefault(spec.name, spec)
    return found


def _remember(obj: Any, spec: ActionSpec) -> None:
    # One-entry identity cache in front of the weak dictionary: running the same action
    # repeatedly (the common case) then costs one `is` check instead of a weakref lookup,
    # 0.2 µs of a 2.8 µs trivial run_action (benchmarks/bench_corridor.py).
    global _LAST
    _LAST = (obj, spec)


def _entrypoint(obj: Any) -> str | None:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname:
        return None
    return f"{module}:{qualname}"


def _function_spec(fn: Callable[..., Any]) -> ActionSpec:
    name = fn._action_name  # type: ignore[attr-defined]
    try:
        sig = inspect.signature(fn)
        sig.bind(None, None)
    except (TypeError, ValueError) as exc:
        raise ActionDefinitionError(
            f"Action function {fn.__qualname__} ({_source_of(fn)}) must accept (params, ctx); "
            f"its signature is {fn.__qualname__}{_safe_signature(fn)}",
            action=name,
            hint=f"write it as: def {fn.__name__}(params: MyParams, ctx: RuntimeContext): ...",
        ) from exc
    params_model = fn._action_params  # type: ignore[attr-defined]
    if params_model is None:
        params_model = _first_param_model(fn, sig)
    _check_model(params_model, name, fn, "params")
    result_model = fn._action_result  # type: ignore[attr-defined]
    _check_model(result_model, name, fn, "result")
    return ActionSpec(
        name=name,
        target=fn,
        kind="function",
        description=fn._action_description,  # type: ignore[attr-defined]
        params_model=params_model,
        result_model=result_model,
        category=fn._action_category,  # type: ignore[attr-defined]
        entrypoint=_entrypoint(fn),
    )


def _class_spec(cls: type[BaseAction[Any]]) -> ActionSpec:
    name = cls.action_name or default_action_name(cls.__name__)
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        if missing == "execute":
            raise ActionDefinitionError(
                f"Action class {cls.__qualname__} ({_source_of(cls)}) defines neither "
                f"execute() nor setup_steps(): it has nothing to run",
                action=name,
                hint="define `def execute(self): ...`, or register steps in "
                "`def setup_steps(self, registry): registry.register(MyStep())`",
            )
        raise ActionDefinitionError(
            f"Action class {cls.__qualname__} ({_source_of(cls)}) is abstract: it does not "
            f"implement {missing}",
            action=name,
            hint="define `def execute(self): ...` on the class",
        )
    params_model = cls.params_model
    _check_model(params_model, name, cls, "params")
    result_model = None if cls.result_model is NoResult else cls.result_model
    _check_model(result_model, name, cls, "result")
    return ActionSpec(
        name=name,
        target=cls,
        kind="class",
        description=cls.description or first_line(cls.__doc__),
        params_model=params_model,
        result_model=typing.cast("type[BaseModel] | None", result_model),
        category=cls.category,
        input_type=cls.input_type,
        output_type=cls.output_type,
        entrypoint=_entrypoint(cls),
    )


def first_line(doc: str | None) -> str:
    """The first line of a docstring, stripped ('' for none): an action's default description."""
    lines = (doc or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def default_action_name(class_name: str) -> str:
    """``'TrainAction' -> 'train'``, ``'ExportToONNXAction' -> 'export_to_onnx'``."""
    base = (
        class_name[:-6] if class_name.endswith("Action") and class_name != "Action" else class_name
    )
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", base)
    return snake.lower()


def _check_model(model: Any, name: str, target: Any, role: str) -> None:
    if model is None:
        return
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
        raise ActionDefinitionError(
            f"The {role} model of action {name!r} ({_source_of(target)}) must be a pydantic "
            f"BaseModel subclass, got {model!r}",
            action=name,
            hint=f"define `class MyModel(BaseModel): ...` and pass it as the {role} model",
        )


def _first_param_model(fn: Callable[..., Any], sig: inspect.Signature) -> type[BaseModel] | None:
    first = next(iter(sig.parameters.values()), None)
    if first is None or first.annotation is inspect.Parameter.empty:
        return None
    annotation = first.annotation
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(fn).get(first.name)
        except Exception:  # unresolvable forward reference: treat as "no model"
            return None
    pydantic = sys.modules.get("pydantic")
    if pydantic and isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _safe_signature(fn: Any) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


def _source_of(obj: Any) -> str:
    target = inspect.unwrap(obj) if callable(obj) and not isinstance(obj, type) else obj
    code = getattr(target, "__code__", None)
    if code is not None:
        return f"{code.co_filename}:{code.co_firstlineno}"
    try:
        file = inspect.getsourcefile(target)
        _, line = inspect.getsourcelines(target)
        return f"{file}:{line}"
    except (TypeError, OSError):
        module = getattr(target, "__module__", "?")
        return f"module {module}"


# -- unknown keys and error formatting -----------------------------------------------------------

_ALLOWED: dict[type, tuple[frozenset[str], dict[str, Any]]] = {}


def _model_keys(model: type[BaseModel]) -> tuple[frozenset[str], dict[str, Any]]:
    """Allowed input keys of ``model`` and, per key, the nested model type(s) to recurse into."""
    cached = _ALLOWED.get(model)
    if cached is not None:
        return cached
    allowed: set[str] = set()
    nested: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        keys = {field_name}
        if info.alias:
            keys.add(info.alias)
        if isinstance(info.validation_alias, str):
            keys.add(info.validation_alias)
        allowed |= keys
        inner = _nested_models(info.annotation)
        if inner:
            for key in keys:
                nested[key] = inner
    if model.model_config.get("extra") == "allow":
        allowed = set()  # accepts anything: signalled by the empty set below
    result = (frozenset(allowed), nested)
    _ALLOWED[model] = result
    return result


def _nested_models(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    pydantic = sys.modules["pydantic"]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return ("one", annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]
        return ("one", models[0]) if len(models) == 1 else None
    if origin in (list, tuple, set, frozenset) and args:
        inner = _nested_models(args[0])
        if inner and inner[0] == "one":
            return ("many", inner[1])
    if origin is typing.Annotated and args:
        return _nested_models(args[0])
    return None


def _unknown_keys(
    model: type[BaseModel], data: Mapping[str, Any], loc: tuple[Any, ...]
) -> Iterator[tuple[tuple[Any, ...], str | None]]:
    allowed, nested = _model_keys(model)
    if not allowed:
        return
    for key, value in data.items():
        if key not in allowed:
            yield (*loc, key), did_you_mean(str(key), allowed)
            continue
        inner = nested.get(key)
        if inner is None:
            continue
        how, sub = inner
        if how == "one" and isinstance(value, Mapping):
            yield from _unknown_keys(sub, value, (*loc, key))
        elif how == "many" and isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from _unknown_keys(sub, item, (*loc, key, i))


def _unknown_error(
    action: str, unknown: list[tuple[tuple[Any, ...], str | None]]
) -> ValidationError:
    lines: list[str] = []
    errors = []
    for loc, guess in unknown:
        path = format_loc(loc)
        tip = f" (did you mean {guess!r}?)" if guess else ""
        if len(lines) < MAX_LISTED_ERRORS:
            lines.append(f"  {path}: unknown field{tip}")
        errors.append(
            {"loc": loc, "msg": f"unknown field{tip}", "type": "extra_forbidden", "input": None}
        )
    return ValidationError(
        f"Invalid params for action {action!r}:\n" + _listing(lines, len(errors)),
        errors=errors,
        action=action,
        hint="fix the field name, or pass reject_unknown=False to ignore unknown fields",
    )


def _pydantic_error(action: str, exc: Any) -> ValidationError:
    errors = exc.errors(include_url=False)
    lines = []
    for err in errors[:MAX_LISTED_ERRORS]:
        got = ""
        if "input" in err and err.get("type") != "missing":
            got = f" (got {_short_repr(err['input'])})"
        lines.append(f"  {format_loc(err['loc'])}: {err['msg']}{got}")
    return ValidationError(
        f"Invalid params for action {action!r}:\n" + _listing(lines, len(errors)),
        errors=errors,
        action=action,
    )


def _listing(lines: list[str], total: int) -> str:
    """The first problems, one per line, and how many more there are."""
    more = total - len(lines)
    if more > 0:
        lines = [*lines, f"  … and {more} more (ValidationError.errors lists every one)"]
    return "\n".join(lines)


def _short_repr(value: Any, limit: int = 200) -> str:
    text = reprlib.repr(value) if isinstance(value, (list, dict, tuple, set)) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- params as JSON text ---------------------------------------------------------------------------


class _NotJson(ValueError):
    """A constant Python's json module takes but JSON has not (NaN, Infinity)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def parse_params_json(
    text: str | bytes, *, where: str, action: str | None = None, strict: bool = False
) -> Any:
    """Parse params given as JSON text; every problem is a ValidationError starting with
    ``where`` (e.g. ``--params`` or a file name): not JSON (with line and column), not UTF-8,
    nested deeper than :data:`MAX_PARAMS_DEPTH`, and with ``strict`` also ``NaN`` /
    ``Infinity``, which Python's json module takes and JSON has not."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant if strict else None)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{where}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            action=action,
            errors=[{"loc": (), "msg": exc.msg, "type": "json_invalid", "input": None}],
            hint=_JSON_HINT,
        ) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{where}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start})",
            action=action,
            errors=[{"loc": (), "msg": "not UTF-8", "type": "json_invalid", "input": None}],
            hint="save the params as UTF-8 JSON",
        ) from exc
    except _NotJson as exc:
        raise ValidationError(
            f"{where}: {exc} is not valid JSON (JSON numbers are finite)",
            action=action,
            errors=[{"loc": (), "msg": f"{exc} is not JSON", "type": "json_invalid"}],
            hint=f'write a number, null, or the string "{exc}" where the field takes one',
        ) from exc
    except RecursionError as exc:
        raise _too_deep(where, action) from exc
    check_params_depth(value, where=where, action=action)
    return value


def check_params_depth(value: Any, *, where: str, action: str | None = None) -> None:
    """Raise ValidationError when ``value`` nests objects and lists deeper than
    :data:`MAX_PARAMS_DEPTH` (iteratively: any depth can be checked)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_PARAMS_DEPTH:
            raise _too_deep(where, action)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _too_deep(where: str, action: str | None) -> ValidationError:
    return ValidationError(
        f"{where}: nested deeper than {MAX_PARAMS_DEPTH} levels of objects and lists",
        action=action,
        errors=[{"loc": (), "msg": "nested too deeply", "type": "json_too_deep", "input": None}],
        hint="params are settings: pass large or deep data as a file path and read it in the "
        "action",
    )


def _short_errors(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return "; ".join(
                f"{format_loc(e['loc'])}: {e['msg']}" for e in errors(include_url=False)
            )
        except TypeError:
            pass
    return str(exc)
