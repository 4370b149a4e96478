"""Run actions in this process: ``run_action`` returns a ``Run`` record.

This is the local executor; the other executors (task, job, serve, Ray) produce the same
``Run`` records and relay their events to the same sinks.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType
from typing import Any

from .context import RuntimeContext
from .context import new_run_id as _new_run_id
from .errors import CancelledError, ExecutionError, PluginError
from .events import Event, ResultEvent, RunFinished, RunStarted, Sink, jsonable
from .spec import ActionSpec, as_spec, is_action

_time = time.time
_perf_counter = time.perf_counter
_tuple_new: Any = tuple.__new__  # builds events without the named tuple's Python-level __new__
_for_run = RuntimeContext._for_run

__all__ = ["Run", "RunStatus", "run_action", "run_plugin"]


class RunStatus(str, Enum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


@dataclass(slots=True)
class Run:
    """The record of one run of an action.

    ``error`` is a PluginError (ExecutionError for a failure inside the action, with the
    original exception as ``__cause__``; CancelledError for a cancelled run) and
    ``traceback`` the formatted traceback of the original exception.
    """

    run_id: str
    action: str
    status: RunStatus
    params: Any = None
    result: Any = None
    error: PluginError | None = None
    traceback: str | None = None
    events: list[Event] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    def raise_for_status(self) -> Run:
        """Raise the run's error if it did not succeed; return the run otherwise."""
        if self.error is not None:
            raise self.error
        return self

    def _repr_html_(self) -> str:
        """The notebook summary (status, params, result or a folded traceback)."""
        from ._html import run_html

        return run_html(self)

    def events_of(self, kind: type[Event]) -> list[Any]:
        """The events of one type, in order (``run.events_of(ProgressEvent)``)."""
        return [e for e in self.events if isinstance(e, kind)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (what ``synapse run --json`` prints)."""
        return {
            "run_id": self.run_id,
            "action": self.action,
            "status": self.status.value,
            "params": jsonable(self.params),
            "result": jsonable(self.result),
            "error": None
            if self.error is None
            else {
                "type": type(self.error).__name__,
                "message": str(self.error),
                "cause": None
                if self.error.__cause__ is None
                else {
                    "type": type(self.error.__cause__).__name__,
                    "message": str(self.error.__cause__),
                },
            },
            "traceback": self.traceback,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
            "events": [e.to_dict() for e in self.events],
        }


_SUCCEEDED = RunStatus.SUCCEEDED
_FAILED = RunStatus.FAILED


class _EventList(list[Event]):
    """The run's own record of its events: a list that is also a Sink (emit = append)."""

    __slots__ = ()
    emit = list.append


def run_action(
    action: Any,
    params: Any = None,
    *,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
    reject_unknown: bool = True,
) -> Run:
    """Validate ``params`` and run ``action`` in this process; return the ``Run``.

    ``action`` is an ``@action`` function, a ``BaseAction`` subclass or an ActionSpec.
    ``params`` is a dict, a JSON string, a params model instance or None. Invalid params raise
    ValidationError (unknown keys too, unless ``reject_unknown=False``); a failure inside the
    action is a failed Run, not a raise. ``sinks`` receive every event and are closed when the
    run ends. ``env`` / ``client`` build the context when ``ctx`` is not given.
    """
    spec = as_spec(action)
    validated = spec.validate_params(params, reject_unknown=reject_unknown)
    if ctx is None and client is None and not sinks:
        return _run_private(spec, validated, env)
    return execute_spec(spec, validated, ctx=ctx, env=env, client=client, sinks=sinks)


def _failure(name: str, exc: BaseException) -> tuple[RunStatus, PluginError, str | None]:
    """Status, error and traceback of a run whose action raised ``exc`` (in its except block)."""
    if isinstance(exc, CancelledError):
        return RunStatus.CANCELLED, exc, traceback.format_exc()
    if isinstance(exc, KeyboardInterrupt):
        error: PluginError = CancelledError(
            "The run was interrupted (KeyboardInterrupt)", action=name
        )
        error.__cause__ = exc
        return RunStatus.CANCELLED, error, None
    error = ExecutionError(f"Action {name!r} failed: {type(exc).__name__}: {exc}", action=name)
    error.__cause__ = exc
    return RunStatus.FAILED, error, traceback.format_exc()


def _run_private(spec: ActionSpec, params: Any, env: Mapping[str, str] | None) -> Run:
    """:func:`execute_spec` for the common case: a context of its own, no sink, no client."""
    events = _EventList()
    started = _time()
    ctx = _for_run(spec.name, [events], env, None, _new_run_id(), started)
    return _execute(spec, params, ctx, events, started)


def _execute(
    spec: ActionSpec, params: Any, ctx: RuntimeContext, events: _EventList, started: float
) -> Run:
    """Run the action in ``ctx`` (subscribed to already), from RunStarted to RunFinished.

    While the run's own record ``events`` is the context's only sink (the common case),
    events are appended to it directly. Three clock reads in all: ``started`` (wall time),
    and ``perf_counter`` around the action; the result and the end are stamped ``started``
    plus the action's duration.
    A KeyboardInterrupt is recorded (RunFinished, cancelled) and raised again.
    """
    name = spec.name
    run_id = ctx.run_id
    seq = ctx._seq
    ctx_t0 = ctx._t0
    event: Event = _tuple_new(
        RunStarted, (run_id, next(seq), started, started - ctx_t0, name, params)
    )
    sinks = ctx._sinks
    deliver = events.append if len(sinks) == 1 and sinks[0] is events else ctx.emit
    deliver(event)
    status = _FAILED
    result: Any = None
    error: PluginError | None = None
    trace: str | None = None
    interrupted: BaseException | None = None
    t0 = _perf_counter()
    try:
        result = spec.invoke(params, ctx)
    except (Exception, KeyboardInterrupt) as exc:
        status, error, trace = _failure(name, exc)
        if isinstance(exc, KeyboardInterrupt):
            interrupted = exc
    else:
        status = _SUCCEEDED
        if spec.result_model is not None:
            warning = spec.check_result(result)
            if warning is not None:
                ctx.warn(warning, code="result_validation")
    finally:
        duration = _perf_counter() - t0
        now = started + duration
        # the action may have subscribed sinks of its own meanwhile
        deliver = events.append if len(sinks) == 1 and sinks[0] is events else ctx.emit
        if status is _SUCCEEDED:
            deliver(_tuple_new(ResultEvent, (run_id, next(seq), now, now - ctx_t0, result)))
        deliver(
            _tuple_new(
                RunFinished,
                (
                    run_id,
                    next(seq),
                    now,
                    now - ctx_t0,
                    name,
                    status._value_,
                    duration,
                    None if error is None else str(error),
                ),
            )
        )
    if interrupted is not None:
        raise interrupted
    return Run(run_id, name, status, params, result, error, trace, events, started, now, duration)


def execute_spec(
    spec: ActionSpec,
    params: Any,
    *,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
) -> Run:
    """Run ``spec`` with already-validated ``params``; the core of every in-process run.

    ``sinks`` are subscribed for the run and closed when it ends (also when it is
    interrupted); a given ``ctx`` keeps its own sinks.
    """
    if ctx is None and client is None and not sinks:
        return _run_private(spec, params, env)
    events = _EventList()
    extra = list(sinks) if sinks else []
    if client is not None or (ctx is not None and ctx.client is not None):
        # A run with a backend client is recorded there as a job (imported lazily: runs
        # without a client never load the clients package).
        from ..clients.sink import job_sink_for

        job_sink = job_sink_for(
            client if ctx is None else ctx.client, [*(ctx.sinks if ctx else ()), *extra]
        )
        if job_sink is not None:
            extra.append(job_sink)
    started = _time()
    own_ctx = ctx is None
    if ctx is None:
        # The context is private to this run: its sinks are given once, never unsubscribed.
        ctx = _for_run(spec.name, [events, *extra], env, client, _new_run_id(), started)
    else:
        if env is not None or client is not None:
            raise TypeError(
                "pass env/client either to run_action or to the RuntimeContext, not both"
            )
        if ctx.action_name is None:
            ctx.action_name = spec.name
        ctx.subscribe(events)
        for sink in extra:
            ctx.subscribe(sink)
    try:
        return _execute(spec, params, ctx, events, started)
    finally:
        if not own_ctx:
            ctx.unsubscribe(events)
        for sink in extra:
            if not own_ctx:
                ctx.unsubscribe(sink)
            close = getattr(sink, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # closing a view must not lose the run record
                    ctx.logger.warning("closing sink %r failed: %s", sink, exc)


# -- run_plugin ----------------------------------------------------------------------------------


def module_actions(module: ModuleType) -> dict[str, ActionSpec]:
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


def _resolve_module_action(plugin: Any, action: str) -> ActionSpec:  # replaced on first call
    # loading imports pydantic and yaml: keep it out of `import synapse_sdk.plugins`
    global _resolve_module_action
    from .loading import resolve_action

    _resolve_module_action = resolve_action  # type: ignore[assignment]
    return resolve_action(plugin, action)


def _resolve_with_env(plugin: Any, action: str) -> tuple[ActionSpec, dict[str, str]]:
    # like _resolve_module_action, plus the plugin's config.yaml env (replaced on first call)
    global _resolve_with_env
    from .loading import resolve_action_env

    _resolve_with_env = resolve_action_env  # type: ignore[assignment]
    return resolve_action_env(plugin, action)


def _with_config_env(env: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` whose ``env`` starts from config.yaml's ``env`` (a given ctx keeps its own)."""
    if env and "ctx" not in options:
        options["env"] = {**env, **(options.get("env") or {})}
    return options


def run_plugin(
    plugin: Any,
    action: str,
    params: Any = None,
    *,
    mode: str = "local",
    **options: Any,
) -> Any:
    """Run ``action`` of ``plugin`` and return its result (raising the run's error on failure).

    ``plugin`` is a plugin directory, its config.yaml path or an importable module name; the
    plugin is loaded once and cached (re-checked with a stat or two per call, see
    :mod:`synapse_sdk.plugins.loading`). ``options`` go to :func:`run_action` (``env``,
    ``client``, ``sinks``, ``ctx``, ``reject_unknown``); ``env`` is laid over config.yaml's.
    """
    if mode == "local":
        spec, env = _resolve_with_env(plugin, action)
        if env:
            options = _with_config_env(env, options)
        return run_action(spec, params, **options).raise_for_status().result
    return run_plugin_record(plugin, action, params, mode=mode, **options).raise_for_status().result


def run_plugin_record(
    plugin: Any,
    action: str,
    params: Any = None,
    *,
    mode: str = "local",
    **options: Any,
) -> Run:
    """Like :func:`run_plugin` but return the ``Run`` record (what ``synapse run`` prints)."""
    if mode == "local":
        spec, env = _resolve_with_env(plugin, action)
        return run_action(spec, params, **_with_config_env(env, options))
    # other modes: the executors (task, job, serve, ray-*) with the same Run record
    from .executors import MODES
    from .executors._dispatch import run_in_mode

    if mode not in MODES:
        from .errors import ValidationError

        known = ", ".join(["local", *MODES])
        raise ValidationError(
            f"unknown mode {mode!r}; supported modes: {known}",
            errors=[{"loc": ("mode",), "msg": "unsupported mode", "type": "enum", "input": mode}],
            hint="run with mode='local' (the default), 'task', 'job' or 'serve'",
        )
    return run_in_mode(plugin, action, params, mode=mode, **options)
