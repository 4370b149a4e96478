"""Hypothesis strategies from params models: property-based tests of actions.

``params(Model)`` draws params a user could pass (plain dicts keyed as the model reads them)
that the model accepts: every declared constraint (``ge/gt/le/lt``, ``multiple_of``, lengths,
patterns), ``Literal``, enums, nested models, optionals, lists, tuples, dicts and defaults
(a field with a default is sometimes left out). Values the model's validators reject are
filtered out; when most are, hypothesis's ``filter_too_much`` health check says so, and an
override (``params(Model, field=strategy)``) is the fix.

``invalid_params(Model)`` draws :class:`InvalidParams`: valid params with exactly one thing
broken (a bound, a length, a pattern, a choice, a type, a missing required field or a
misspelled key) and the dotted path of the field a ``ValidationError`` must name.

``assert_runs_for_any_params(action)`` is the one-line property test: for any valid params the
action finishes or fails with an error of the ``synapse_sdk.plugins.errors`` hierarchy, and its
progress never goes backwards and, when it succeeds, ends complete.

Needs the ``strategies`` extra: ``pip install 'synapse-sdk[strategies]'``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from pathlib import PurePath
from typing import Any, NamedTuple

try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised by a test that hides hypothesis
    raise ImportError(
        "synapse_testing.strategies needs hypothesis: pip install 'synapse-sdk[strategies]'"
    ) from exc

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.plugins import Run, RunStatus, run_action
from synapse_sdk.plugins.errors import (
    ActionDefinitionError,
    PluginError,
    ValidationError,
    did_you_mean,
)
from synapse_sdk.plugins.events import ProgressEvent
from synapse_sdk.plugins.spec import ActionSpec

__all__ = ["KINDS", "InvalidParams", "assert_runs_for_any_params", "invalid_params", "params"]

Strategy = st.SearchStrategy

#: Every invalid-params kind, in the order they are tried.
KINDS = ("bounds", "length", "pattern", "choice", "type", "missing", "unknown")


# -- constraints ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Bounds:
    """The declared constraints of one value, gathered from pydantic / annotated-types."""

    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None
    multiple_of: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def numeric(self) -> bool:
        return any(v is not None for v in (self.gt, self.ge, self.lt, self.le))


_NO_BOUNDS = _Bounds()
_BOUND_KEYS = tuple(f.name for f in dataclasses.fields(_Bounds))


def _bounds(metadata: Sequence[Any], base: _Bounds = _NO_BOUNDS) -> _Bounds:
    """``base`` tightened by ``metadata`` (annotated-types objects, pydantic's metadata,
    ``StringConstraints``, a ``FieldInfo`` inside ``Annotated``)."""
    found: dict[str, Any] = {}
    for item in metadata:
        if item is None:
            continue
        inner = getattr(item, "metadata", None)
        if isinstance(inner, list):  # a FieldInfo: Annotated[int, Field(ge=0)]
            found.update(dataclasses.asdict(_bounds(inner)))
        for key in _BOUND_KEYS:
            value = getattr(item, key, None)
            if value is not None:
                found[key] = getattr(value, "pattern", value)  # re.Pattern -> str
    return dataclasses.replace(base, **{k: v for k, v in found.items() if v is not None})


def _unwrap(tp: Any, bounds: _Bounds) -> tuple[Any, _Bounds]:
    """``Annotated[T, ...]`` -> ``(T, bounds with the annotations)``, repeatedly."""
    while typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        tp, bounds = args[0], _bounds(args[1:], bounds)
    return tp, bounds


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


# -- valid values ------------------------------------------------------------------------------


def _json_values() -> Strategy[Any]:
    """JSON values two levels deep: scalars, and short lists and objects of scalars (a
    recursive strategy costs several times as much per draw and finds little more)."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    return scalars | st.lists(scalars, max_size=3) | st.dictionaries(st.text(), scalars, max_size=3)


def _low_high(bounds: _Bounds, integral: bool) -> tuple[Any, Any]:
    low = bounds.ge if bounds.ge is not None else bounds.gt
    high = bounds.le if bounds.le is not None else bounds.lt
    if integral:
        if bounds.ge is not None:
            low = math.ceil(bounds.ge)
        elif bounds.gt is not None:
            low = math.floor(bounds.gt) + 1
        if bounds.le is not None:
            high = math.floor(bounds.le)
        elif bounds.lt is not None:
            high = math.ceil(bounds.lt) - 1
    return low, high


def _multiples(m: Any, low: Any, high: Any, cap: int) -> Strategy[Any]:
    k_low = None if low is None else math.ceil(low / m)
    k_high = None if high is None else math.floor(high / m)
    if k_low is None and k_high is None:
        k_low, k_high = -cap, cap
    return st.integers(k_low, k_high).map(lambda k: k * m)


def _integers(bounds: _Bounds) -> Strategy[int]:
    low, high = _low_high(bounds, integral=True)
    if bounds.multiple_of:
        return _multiples(bounds.multiple_of, low, high, 10**9)
    return st.integers(low, high)


def _floats(bounds: _Bounds) -> Strategy[float]:
    low, high = _low_high(bounds, integral=False)
    if bounds.multiple_of:
        return _multiples(bounds.multiple_of, low, high, 10**6).map(float)
    return st.floats(
        None if low is None else float(low),
        None if high is None else float(high),
        exclude_min=bounds.ge is None and bounds.gt is not None,
        exclude_max=bounds.le is None and bounds.lt is not None,
        allow_nan=False,  # params come from JSON, the CLI and forms: no NaN, no infinity
        allow_infinity=False,
    )


def _sized(bounds: _Bounds, default_max: int | None = None) -> dict[str, Any]:
    high = bounds.max_length if bounds.max_length is not None else default_max
    low = bounds.min_length or 0
    return {"min_size": low, "max_size": max(low, high) if high is not None else None}


def _text(bounds: _Bounds, where: str) -> Strategy[str]:
    if bounds.pattern is None:
        return st.text(**_sized(bounds))
    try:
        # pydantic searches for the pattern (it is not anchored unless written so)
        matching = st.from_regex(bounds.pattern, fullmatch=False)
    except (re.error, hypothesis.errors.InvalidArgument) as exc:
        raise _unsupported(where, f"the pattern {bounds.pattern!r} ({exc})") from exc
    low, high = bounds.min_length or 0, bounds.max_length
    if low or high is not None:
        matching = matching.filter(lambda s: low <= len(s) and (high is None or len(s) <= high))
    return matching


def _unsupported(where: str, what: str) -> ActionDefinitionError:
    field = where.rsplit(".", 1)[-1]
    return ActionDefinitionError(
        f"params(): cannot generate values for {where}: {what}",
        hint=f"pass a strategy for it: params(Model, {field}=st.just(...)), or register one "
        "with hypothesis.strategies.register_type_strategy",
    )


_COLLECTIONS = {list: list, set: set, frozenset: frozenset}
_ABSTRACT_SEQUENCES = {Sequence, AbstractSet}  # typing.List & co. have these origins too


def _value(tp: Any, bounds: _Bounds, where: str, seen: tuple[type, ...]) -> Strategy[Any]:
    """A strategy of values of type ``tp`` under ``bounds``, as plain (JSON-like) data."""
    tp, bounds = _unwrap(tp, bounds)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return _json_values()
    if tp is None or tp is type(None):
        return st.none()
    if origin is typing.Literal:
        return st.sampled_from(args)
    if _is_union(tp):
        return st.one_of([_value(arg, bounds, where, seen) for arg in args])
    if _is_model(tp):
        if tp in seen:  # a recursive model: built when drawn, so it nests as deep as drawn
            model = tp
            return st.deferred(lambda: _model_values(model, {}, (model,), nested=True))
        return _model_values(tp, {}, (*seen, tp), nested=True)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from([member.value for member in tp])
    if tp is bool:
        return st.booleans()
    if isinstance(tp, type) and issubclass(tp, int):
        return _integers(bounds)
    if tp is float:
        return _floats(bounds)
    if tp is Decimal:
        low, high = _low_high(bounds, integral=False)
        return st.decimals(low, high, allow_nan=False, allow_infinity=False)
    if tp is str:
        return _text(bounds, where)
    if tp is bytes:
        return st.binary(**_sized(bounds))
    if isinstance(tp, type) and issubclass(tp, PurePath):
        # relative names of a few safe characters: an action writing there stays in its cwd
        part = st.text("abcxyz_-0123456789", min_size=1, max_size=8)
        return st.lists(part, min_size=1, max_size=3).map("/".join)
    if origin in _COLLECTIONS or origin in _ABSTRACT_SEQUENCES or tp in (list, set, frozenset):
        item = _value(args[0] if args else Any, _NO_BOUNDS, f"{where}[]", seen)
        unique = origin in (set, frozenset, AbstractSet) or tp in (set, frozenset)
        return st.lists(item, unique=unique, **_sized(bounds, default_max=8))
    if origin is tuple or tp is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _value(args[0], _NO_BOUNDS, f"{where}[]", seen)
            return st.lists(item, **_sized(bounds, default_max=8))
        if not args:
            return st.lists(_json_values(), max_size=4)
        parts = [_value(a, _NO_BOUNDS, f"{where}[{i}]", seen) for i, a in enumerate(args)]
        return st.tuples(*parts).map(list)
    if origin in (dict, Mapping) or tp is dict:
        key_type, value_type = args if len(args) == 2 else (str, Any)
        return st.dictionaries(
            _value(key_type, _NO_BOUNDS, f"{where}{{key}}", seen),
            _value(value_type, _NO_BOUNDS, f"{where}{{}}", seen),
            **_sized(bounds, default_max=5),
        )
    strategy = st.from_type(tp)
    try:
        strategy.validate()
    except hypothesis.errors.HypothesisException as exc:
        raise _unsupported(where, f"hypothesis does not know the type {tp!r}") from exc
    return strategy


# -- models -----------------------------------------------------------------------------------


def _input_key(model: type[BaseModel], name: str, info: Any) -> str:
    """The key a user writes for the field: its alias when the model reads aliases."""
    config = model.model_config
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    if alias and config.get("validate_by_alias", True):
        return str(alias)
    return name


def _has_validators(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    return bool(
        decorators.field_validators or decorators.model_validators or decorators.root_validators
    )


def _accepts(model: type[BaseModel], data: Mapping[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except PydanticValidationError:
        return False
    return True


def _model_values(
    model: type[BaseModel],
    overrides: Mapping[str, Any],
    seen: tuple[type, ...],
    *,
    nested: bool,
) -> Strategy[dict[str, Any]]:
    required: dict[str, Strategy[Any]] = {}
    optional: dict[str, Strategy[Any]] = {}
    for name, info in model.model_fields.items():
        key = _input_key(model, name, info)
        if name in overrides or key in overrides:
            given = overrides[name] if name in overrides else overrides[key]
            strategy = given if isinstance(given, st.SearchStrategy) else st.just(given)
            required[key] = strategy  # an override is always drawn
            continue
        strategy = _value(info.annotation, _bounds(info.metadata), f"{model.__name__}.{name}", seen)
        (required if info.is_required() else optional)[key] = strategy
    drawn = st.fixed_dictionaries(required, optional=optional)
    if nested and not _has_validators(model):
        return drawn  # the outermost filter checks the whole tree once
    return drawn.filter(lambda data: _accepts(model, data))


def params(model: type[BaseModel], /, **overrides: Any) -> Strategy[dict[str, Any]]:
    """A strategy of params dicts that ``model`` accepts (what a user passes to an action).

    Keys are the names the model reads (aliases where it uses them); a field with a default is
    sometimes left out so the default is exercised too. ``overrides`` fix fields by name, as
    strategies or plain values: ``params(TrainParams, epochs=st.integers(1, 3), seed=0)``; for
    a nested model pass ``params(Inner, ...)``. Draws the model's validators reject are
    filtered. ``.map(model.model_validate)`` gives model instances instead of dicts.
    """
    if not _is_model(model):
        raise TypeError(f"params() takes a pydantic model class, got {model!r}")
    fields = model.model_fields
    keys = {n for n in fields} | {_input_key(model, n, i) for n, i in fields.items()}
    for name in overrides:
        if name not in keys:
            close = did_you_mean(name, keys)
            tip = f"; did you mean {close!r}?" if close else ""
            raise TypeError(f"params({model.__name__}): no field {name!r}{tip}")
    return _model_values(model, overrides, (model,), nested=False)


# -- invalid values ---------------------------------------------------------------------------


class InvalidParams(NamedTuple):
    """Params with one thing broken, and the field a ``ValidationError`` must name.

    ``field`` is the dotted path as :attr:`synapse_sdk.plugins.ValidationError.fields` spells
    it; ``kind`` is one of ``bounds``, ``length``, ``pattern``, ``choice``, ``type``,
    ``missing``, ``unknown``; ``value`` is the bad value (None for a missing field).
    """

    params: dict[str, Any]
    field: str
    kind: str
    value: Any

    def named_by(self, error: ValidationError) -> bool:
        """Whether ``error`` names :attr:`field` (or a part of it: ``tags[0]``, ``aug.rotate``)."""
        return _names_path(error, self.field)


def _names_path(error: ValidationError, field: str) -> bool:
    return any(f == field or f.startswith((field + ".", field + "[")) for f in error.fields)


_MISSING = object()


@dataclasses.dataclass(frozen=True)
class _Target:
    path: tuple[str, ...]
    annotation: Any
    bounds: _Bounds
    required: bool
    model: type[BaseModel]


def _targets(
    model: type[BaseModel], data: Mapping[str, Any], path: tuple[str, ...]
) -> Iterator[_Target]:
    """The fields of ``model`` (and of the nested models present in ``data``) one could
    break; a field left out of ``data`` can still be set to a bad value."""
    for name, info in model.model_fields.items():
        key = _input_key(model, name, info)
        present = key in data
        tp, bounds = _unwrap(info.annotation, _bounds(info.metadata))
        yield _Target((*path, key), tp, bounds, info.is_required(), model)
        value = data.get(key)
        inner = [a for a in (typing.get_args(tp) if _is_union(tp) else (tp,)) if _is_model(a)]
        if len(inner) != 1:
            continue
        if present and isinstance(value, dict):
            yield from _targets(inner[0], value, (*path, key))
        elif not present and not any(f.is_required() for f in inner[0].model_fields.values()):
            yield from _targets(inner[0], {}, (*path, key))  # set to {} with one bad field


def _outside(bounds: _Bounds, integral: bool) -> Strategy[Any]:
    low, high = _low_high(bounds, integral)
    sides: list[Strategy[Any]] = []
    if low is not None:
        if integral:
            sides.append(st.integers(max_value=low - 1))
        else:
            sides.append(st.floats(max_value=float(low), exclude_max=bounds.ge is not None))
    if high is not None:
        if integral:
            sides.append(st.integers(min_value=high + 1))
        else:
            sides.append(st.floats(min_value=float(high), exclude_min=bounds.le is not None))
    return st.one_of(sides).filter(lambda v: not (isinstance(v, float) and math.isnan(v)))


def _scalar(tp: Any) -> Any:
    """The non-None type of an optional, or ``tp`` itself."""
    if _is_union(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0], _NO_BOUNDS)[0]
    return tp


# Values no lax pydantic conversion turns into the named kind of type.
_WRONG_TYPE: tuple[Any, ...] = ("not a valid value", [["nested"]], {"not": "expected"}, 12345)


def _candidates(target: _Target, kind: str) -> Strategy[Any] | None:
    """A strategy of bad values of ``kind`` for ``target``, or None when ``kind`` cannot
    break it."""
    tp, bounds = _scalar(target.annotation), target.bounds
    origin = typing.get_origin(tp)
    if kind == "bounds" and bounds.numeric and tp in (int, float, Decimal):
        return _outside(bounds, integral=tp is int)
    if kind == "length":
        sizes = []
        if bounds.min_length:
            sizes.append(bounds.min_length - 1)
        if bounds.max_length is not None:
            sizes.append(bounds.max_length + 1)
        if not sizes:
            return None
        if tp is str:
            return st.sampled_from(sizes).map(lambda n: "a" * n)
        if tp is bytes:
            return st.sampled_from(sizes).map(lambda n: b"a" * n)
        item = _value(typing.get_args(tp)[0], _NO_BOUNDS, "", ()) if typing.get_args(tp) else None
        items = item if item is not None else st.none()
        return st.sampled_from(sizes).flatmap(lambda n: st.lists(items, min_size=n, max_size=n))
    if kind == "pattern" and bounds.pattern is not None:
        pattern = re.compile(bounds.pattern)
        misses = [s for s in ("", " ", "~", "\x00", "0", "aA_ -") if not pattern.search(s)]
        return st.sampled_from(misses) if misses else None
    if kind == "choice":
        if origin is typing.Literal:
            allowed = typing.get_args(tp)
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            allowed = tuple(m.value for m in tp)
        else:
            return None
        wrong = [v for v in ("not-a-choice", -987654321) if v not in allowed]
        return st.sampled_from(wrong)
    if kind == "type" and tp is not Any and tp is not object:
        return st.sampled_from(_WRONG_TYPE)
    return None


def _with(data: Mapping[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``path`` set to ``value`` (removed for ``_MISSING``)."""
    out = dict(data)
    head, *rest = path
    if rest:
        out[head] = _with(out.get(head, {}), tuple(rest), value)
    elif value is _MISSING:
        del out[head]
    else:
        out[head] = value
    return out


def _names(model: type[BaseModel], data: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether the SDK rejects ``data`` with a ValidationError naming ``path``."""
    spec = _validator_spec(model)
    try:
        spec.validate_params(dict(data))
    except ValidationError as err:
        return _names_path(err, ".".join(path))
    return False


_SPECS: dict[type[BaseModel], ActionSpec] = {}


def _validator_spec(model: type[BaseModel]) -> ActionSpec:
    """A spec with ``model`` as its params: validates exactly as every run does."""
    spec = _SPECS.get(model)
    if spec is None:
        spec = _SPECS[model] = ActionSpec(
            name=f"params:{model.__name__}", target=model, kind="function", params_model=model
        )
    return spec


def invalid_params(
    model: type[BaseModel], /, *, kinds: Sequence[str] = KINDS, **overrides: Any
) -> Strategy[InvalidParams]:
    """A strategy of :class:`InvalidParams`: valid params (``params(model, **overrides)``) with
    one field broken, which every run must reject with a ``ValidationError`` naming it.

    ``kinds`` picks the ways to break a field (default: all of :data:`KINDS`). Each draw is
    checked against the SDK's own validation, so a break the model happens to accept (a
    validator that coerces, say) is never returned.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise TypeError(f"invalid_params(): kinds must be among {KINDS}, got {tuple(kinds)!r}")
    valid = params(model, **overrides)
    order = tuple(k for k in KINDS if k in kinds)

    @st.composite
    def broken(draw: st.DrawFn) -> InvalidParams:
        # drawn first: choices drawn after a large example lean towards the first one
        pick = draw(st.integers(0, 2**16))
        data = draw(valid)
        targets = list(_targets(model, data, ()))
        if "unknown" in order and model.model_config.get("extra") != "allow":
            targets.append(_Target((), None, _NO_BOUNDS, False, model))
        choices = [(t, k) for t in targets for k in order if _can_break(t, k)]
        hypothesis.assume(choices)
        target, kind = choices[pick % len(choices)]
        if kind == "unknown":
            keys = sorted(data) or sorted(model.model_fields)
            key = draw(st.sampled_from(keys)) + "_typo"
            return InvalidParams({**data, key: 1}, key, kind, 1)
        if kind == "missing":
            value: Any = _MISSING
        else:
            strategy = _candidates(target, kind)
            assert strategy is not None  # _can_break said so
            value = draw(strategy)
        broken_data = _with(data, target.path, value)
        hypothesis.assume(_names(model, broken_data, target.path))
        return InvalidParams(
            broken_data, ".".join(target.path), kind, None if value is _MISSING else value
        )

    return broken()


def _can_break(target: _Target, kind: str) -> bool:
    if kind == "unknown":
        return not target.path
    if not target.path:
        return False
    if kind == "missing":
        return target.required
    return _candidates(target, kind) is not None


# -- the one-line property test -------------------------------------------------------------


_FRESH: Any = object()


def _client(backend: Any) -> Any:
    """The ctx.client of one example: a fresh FakeBackend (seeded by ``backend`` when it is a
    function), the given one, or None."""
    if backend is None:
        return None
    from ._backend import FakeBackend

    if backend is _FRESH:
        return FakeBackend()
    if callable(backend) and not isinstance(backend, FakeBackend):
        fresh = FakeBackend()
        backend(fresh)
        return fresh
    return backend


def _check_progress(run: Run) -> None:
    """Progress of every step never went backwards; after a success each step is complete."""
    __tracebackhide__ = True
    last: dict[str | None, float] = {}
    for event in run.events:
        if type(event) is not ProgressEvent or event.total <= 0:
            continue
        fraction = event.current / event.total
        before = last.get(event.step)
        if before is not None and fraction < before:
            where = "the run" if event.step is None else f"step {event.step!r}"
            raise AssertionError(
                f"progress of {where} went backwards: {before:.3g} -> {fraction:.3g} "
                f"({event.current}/{event.total})"
            )
        last[event.step] = fraction
    if run.ok and any(e for e in run.events if type(e) is ProgressEvent):
        from .asserts import assert_progress_complete

        assert_progress_complete(run)


def _check_run(run: Run, allowed: tuple[type[BaseException], ...]) -> None:
    __tracebackhide__ = True
    if run.status is RunStatus.FAILED and run.error is not None:
        cause = run.error.__cause__
        if cause is not None and not isinstance(cause, (PluginError, *allowed)):
            from ._runner import _action_traceback

            raise AssertionError(
                f"action {run.action!r} failed with an untyped {type(cause).__name__} for "
                f"params its model accepts:\n  params: {run.params!r}\n\n"
                f"{_action_traceback(cause)}\n\n"
                "hint: declare the constraint on the params model (Field(ge=..., le=...), "
                "Literal, a validator) so such params are rejected up front, or raise an error "
                "of synapse_sdk.plugins.errors; pass allowed=(...) to accept this type"
            )
    _check_progress(run)


def assert_runs_for_any_params(
    target: Any,
    action_name: str | None = None,
    /,
    *,
    backend: Any = _FRESH,
    env: Mapping[str, str] | None = None,
    allowed: tuple[type[BaseException], ...] = (),
    max_examples: int = 20,
    shrink: bool = True,
    settings: hypothesis.settings | None = None,
    **overrides: Any,
) -> None:
    """For any params the model accepts, the action finishes or fails with a typed error
    (``synapse_sdk.plugins.errors``), and its progress stays monotonic and ends complete.

    ``target`` is what ``synapse_run`` takes: an action, or a plugin (directory, config.yaml,
    module) with ``action_name``. Each example runs with :func:`synapse_sdk.plugins.run_action`
    in a fresh :class:`~synapse_testing.RecordingContext` whose client is a fresh FakeBackend;
    ``backend`` may instead be a function seeding that fresh backend, one ``FakeBackend`` for
    every example, or None. ``overrides`` narrow fields as in :func:`params` (keep costly ones
    small: ``epochs=st.integers(1, 2)``). ``allowed`` adds exception types an action may
    fail with. Runs ``max_examples`` examples without a deadline, or with ``settings``;
    ``shrink=False`` reports the first failing params as drawn, for an action so slow that
    shrinking them to the simplest would take minutes.
    """
    __tracebackhide__ = True
    from ._context import RecordingContext
    from ._runner import _resolve

    spec, config_env = _resolve(target, action_name)
    if spec.params_model is None:
        raise TypeError(
            f"assert_runs_for_any_params: action {spec.name!r} has no params model to draw from"
        )
    merged_env = {**config_env, **(env or {})}
    chosen = settings or hypothesis.settings(max_examples=max_examples, deadline=None)
    if not shrink:
        chosen = hypothesis.settings(
            chosen, phases=[p for p in chosen.phases if p is not hypothesis.Phase.shrink]
        )

    @chosen
    @hypothesis.given(params(spec.params_model, **overrides))
    def any_valid_params(values: dict[str, Any]) -> None:
        __tracebackhide__ = True
        client = _client(backend)
        ctx = RecordingContext(env=merged_env, client=client, action_name=spec.name)
        run = run_action(spec, values, ctx=ctx)
        _check_run(run, allowed)

    any_valid_params()
