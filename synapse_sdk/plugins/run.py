"""Running in this process: the :class:`Run` record and :func:`execute_spec`.

This layer knows what an action is (spec, context, events) and nothing of plugins,
executors or the CLI. The front door (:mod:`synapse_sdk.plugins.runner`: ``run_action``,
``run_plugin``) validates params and resolves actions, then comes here; executors' workers
come here too, on their side of the process boundary.

One rule lives here, for every caller: **a run with a backend client is recorded there as a
job** (:func:`job_sinks`).
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from time import time as wall_clock
from types import MappingProxyType
from typing import Any

from .context import RuntimeContext, new_run_id
from .enums import RunStatus
from .errors import CancelledError, ExecutionError, PluginError
from .events import (
    Event,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
    Sink,
    jsonable,
)
from .spec import ActionSpec

__all__ = ["Run", "RunRecord", "RunStatus", "execute_spec", "job_sinks", "run_alone"]


@dataclass(slots=True)
class Run:
    """The record of one run of an action.

    ``error`` is a PluginError (ExecutionError for a failure inside the action, with the
    original exception as ``__cause__``; CancelledError for a cancelled run) and
    ``traceback`` the formatted traceback of the original exception.

    ``plugin`` is the plugin's directory (or module name) when the run came through
    ``run_plugin`` / ``run_plugin_record``.

    ``events`` is the run's timeline in bounded memory (see :class:`RunRecord`): every event
    of a short run; for a long one, the progress and metrics of each step thinned to evenly
    spaced samples (first and last kept), and the first and last logs. ``omitted`` counts,
    per event type, what was left out (the JSONL run log keeps everything).
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
    omitted: dict[str, int] = field(default_factory=dict)
    # the plugin the action came from (its directory, or its module name), for runs of a plugin
    plugin: str | None = None

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
        error = self.error
        cause = None if error is None else error.__cause__
        return {
            "run_id": self.run_id,
            "action": self.action,
            "status": self.status.value,
            "params": jsonable(self.params),
            "result": jsonable(self.result),
            "error": None
            if error is None
            else {
                "type": type(error).__name__,
                "message": str(error),
                "cause": None
                if cause is None
                else {"type": type(cause).__name__, "message": str(cause)},
            },
            "traceback": self.traceback,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
            "events": [e.to_dict() for e in self.events],
            "events_omitted": dict(self.omitted),
        }


def job_sinks(client: Any, sinks: Iterable[Sink] = ()) -> list[Sink]:
    """The sinks that record a run with ``client`` as a backend job: none or one.

    The one rule for every way of running: a client that records jobs gets a job sink, unless
    one of ``sinks`` already records this run into it. The clients package is imported only
    for runs that have a client.
    """
    if client is None:
        return []
    from ..clients.sink import job_sink_for

    sink = job_sink_for(client, sinks)
    return [] if sink is None else [sink]


def run_alone(spec: ActionSpec, params: Any, env: Mapping[str, str] | None = None) -> Run:
    """:func:`execute_spec` for the common case, kept short: no context, client or sinks of
    the caller, so the run's context and record are its own (a tenth of a trivial run's
    overhead, benchmarks/bench_corridor.py)."""
    record = RunRecord()
    started = wall_clock()
    ctx = RuntimeContext._for_run(spec.name, [record], env, None, new_run_id(), started)
    return _execute(spec, params, ctx, record, started)


def execute_spec(
    spec: ActionSpec,
    params: Any,
    *,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
) -> Run:
    """Run ``spec`` with already-validated ``params`` in this process and return the ``Run``.

    Without ``ctx`` the run gets a context of its own (with ``env`` and ``client``); a given
    ``ctx`` keeps its sinks and client. ``sinks`` are subscribed for the run and closed when it
    ends (also when it is interrupted). A run whose client records jobs is recorded as one.
    """
    if ctx is not None and (env is not None or client is not None):
        raise TypeError("pass env/client either to run_action or to the RuntimeContext, not both")
    events = RunRecord()
    extra = list(sinks) if sinks else []
    backend = client if ctx is None else ctx.client
    if backend is not None:
        extra += job_sinks(backend, [*(ctx.sinks if ctx is not None else ()), *extra])
    started = wall_clock()
    if ctx is None:
        # A private context: its sinks are given once and never unsubscribed.
        ctx = RuntimeContext._for_run(
            spec.name, [events, *extra], env, client, new_run_id(), started
        )
        if not extra:
            return _execute(spec, params, ctx, events, started)
        if backend is not None:
            ctx._job_sink = _job_recorder(backend, extra)
        try:
            return _execute(spec, params, ctx, events, started)
        finally:
            _close(extra, ctx)
    if ctx.action_name is None:
        ctx.action_name = spec.name
    ctx.subscribe(events)
    for sink in extra:
        ctx.subscribe(sink)
    if backend is not None:
        ctx._job_sink = _job_recorder(backend, ctx._sinks)
    try:
        return _execute(spec, params, ctx, events, started)
    finally:
        ctx.unsubscribe(events)
        for sink in extra:
            ctx.unsubscribe(sink)
        _close(extra, ctx)


class _Thinned:
    """Evenly spaced samples of one step's progress (or metrics), in at most ``limit + 1``.

    Every ``stride``-th event is kept; when the samples pass ``limit``, every other one is
    dropped and the stride doubles. The first event is always a sample, the latest is kept
    aside, so a timeline keeps its start and its end.
    """

    __slots__ = ("count", "kept", "last", "limit", "stride")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stride = 1
        self.count = 0
        self.kept: list[Event] = []
        self.last: Event | None = None


_NO_SERIES: dict[str | None, _Thinned] = MappingProxyType({})  # type: ignore[assignment]
_NO_EVENTS: list[Event] = ()  # type: ignore[assignment]


class RunRecord(list[Event]):
    """The sink that keeps a run's timeline in bounded memory (what ``Run.events`` shows).

    Memory does not grow with the number of events: progress and metrics are thinned per
    step to at most ``samples`` evenly spaced events plus the latest one; logs, warnings and
    the other events keep the first and the last ``head_tail`` of them. Run start, result and
    end are always kept. What was left out is counted per event type (``omitted``).

    The list itself holds run start, result and end when the run hands them over directly
    (:func:`_execute`); everything else is made on first use, so the record of a trivial run
    costs what an empty list costs (a tenth of its overhead, benchmarks/bench_corridor.py).
    """

    coalesce_progress = True  # it keeps samples: progress may reach it coalesced
    samples = 256
    _head = 5000
    # made on first use
    _progress: dict[str | None, _Thinned] = _NO_SERIES
    _metrics: dict[str | None, _Thinned] = _NO_SERIES
    _other: list[Event] = _NO_EVENTS  # the first `head_tail` of the other events
    _tail: deque[Event] | None = None  # and the latest ones, once there are more
    _seen = 0

    @classmethod
    def sized(cls, samples: int, head_tail: int) -> RunRecord:
        """A record keeping ``samples`` per step and ``head_tail`` first and last others."""
        record = cls()
        record.samples = samples
        record._head = head_tail
        return record

    def emit(self, event: Event) -> None:
        cls = event.__class__
        if cls is ProgressEvent or cls is MetricsEvent:
            # the hot path (a progress report per batch): a count and, now and then, a sample
            table = self._progress if cls is ProgressEvent else self._metrics
            step = event.step  # type: ignore[attr-defined]
            series = table.get(step)
            if series is None:
                if table is _NO_SERIES:
                    table = {}
                    if cls is ProgressEvent:
                        self._progress = table
                    else:
                        self._metrics = table
                series = table[step] = _Thinned(self.samples)
            series.last = event
            count = series.count
            series.count = count + 1
            if count % series.stride:
                return
            kept = series.kept
            kept.append(event)
            if len(kept) > series.limit:
                del kept[1::2]
                series.stride *= 2
            return
        self._seen += 1
        other = self._other
        if other is _NO_EVENTS:
            other = self._other = []
        if len(other) < self._head:
            other.append(event)
            return
        if self._tail is None:
            self._tail = deque(maxlen=self._head)
        self._tail.append(event)

    def events(self) -> list[Event]:
        """The kept events in emission order."""
        frame, other = self, self._other
        if not other and not self._progress and not self._metrics and self._tail is None:
            return list(frame)  # a run that reported nothing: its start, result and end
        out = [*frame[:1], *other, *(self._tail or ()), *frame[1:]]
        if not self._progress and not self._metrics:
            return out  # in order already: nothing to merge
        for table in (self._progress, self._metrics):
            for series in table.values():
                out += series.kept
                last = series.last
                if last is not None and (not series.kept or series.kept[-1] is not last):
                    out.append(last)
        out.sort(key=_seq)
        return out

    def finish(self, coalesced: int = 0) -> tuple[list[Event], dict[str, int]]:
        """:meth:`events` and :meth:`omitted` at the end of a run, with ``coalesced`` progress
        calls that never reached it counted too."""
        if not self._other and not self._progress and not self._metrics and self._tail is None:
            return self, {"progress": coalesced} if coalesced else {}
        omitted = self.omitted()
        if coalesced:
            omitted["progress"] = omitted.get("progress", 0) + coalesced
        return self.events(), omitted

    def size(self) -> int:
        """How many events it was given."""
        return self._seen + sum(
            series.count for table in (self._progress, self._metrics) for series in table.values()
        )

    def omitted(self) -> dict[str, int]:
        """How many events of each type were left out, e.g. ``{'progress': 999_700}``."""
        out: dict[str, int] = {}
        if not self._progress and not self._metrics and self._tail is None:
            return out
        for kind, table in (("progress", self._progress), ("metrics", self._metrics)):
            dropped = 0
            for series in table.values():
                kept = len(series.kept)
                if series.last is not None and (not kept or series.kept[-1] is not series.last):
                    kept += 1
                dropped += series.count - kept
            if dropped:
                out[kind] = dropped
        others = self._seen - len(self._other) - len(self._tail or ())
        if others:
            out["other"] = others
        return out


def _seq(event: Event) -> int:
    return event.seq


def _job_recorder(client: Any, sinks: Iterable[Sink]) -> Any:
    """The sink among ``sinks`` that records the run as a job of ``client`` (or None): what
    ``ctx.job_id`` reads, found once per run."""
    for sink in sinks:
        if getattr(sink, "client", None) is client and hasattr(sink, "job_id"):
            return sink
    return None


def _close(sinks: list[Sink], ctx: RuntimeContext) -> None:
    for sink in sinks:
        close = getattr(sink, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # closing a view must not lose the run record
                ctx.logger.warning("closing sink %r failed: %s", sink, exc)


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


# Events here are built with tuple.__new__ (the named tuples' generated __new__ is a Python
# function): three events per run, about a tenth of the overhead of a trivial run_action
# (benchmarks/bench_core.py). Enum members are looked up once for the same reason.
_event: Any = tuple.__new__
_SUCCEEDED = RunStatus.SUCCEEDED
_FAILED = RunStatus.FAILED


def _execute(
    spec: ActionSpec, params: Any, ctx: RuntimeContext, record: RunRecord, started: float
) -> Run:
    """Run the action in ``ctx`` (subscribed to ``record`` already), from RunStarted to
    RunFinished. The result and the end are stamped ``started`` plus
    the action's duration (one wall-clock read per run). A KeyboardInterrupt is recorded
    (RunFinished, cancelled) and raised again.
    """
    name = spec.name
    run_id = ctx.run_id
    seq = ctx._seq
    t0 = ctx._t0
    sinks = ctx._sinks
    # the run's record alone (the common case): start, result and end go straight into its frame
    deliver = record.append if len(sinks) == 1 and sinks[0] is record else ctx.emit
    deliver(_event(RunStarted, (run_id, next(seq), started, started - t0, name, params)))
    status = _FAILED
    result: Any = None
    error: PluginError | None = None
    trace: str | None = None
    interrupted: BaseException | None = None
    clock = perf_counter()
    try:
        result = spec.invoke(params, ctx)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # sys.exit() in an action: failed
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
        duration = perf_counter() - clock
        now = started + duration
        if ctx._pending:  # coalesced progress goes out before the end (see set_progress)
            ctx.flush_progress()
        # the action may have subscribed sinks of its own meanwhile
        deliver = record.append if len(sinks) == 1 and sinks[0] is record else ctx.emit
        if status is _SUCCEEDED:
            deliver(_event(ResultEvent, (run_id, next(seq), now, now - t0, result)))
        message = None if error is None else str(error)
        deliver(
            _event(
                RunFinished,
                (run_id, next(seq), now, now - t0, name, status._value_, duration, message),
            )
        )
    if interrupted is not None:
        raise interrupted
    if record._seen or record._progress is not _NO_SERIES or record._metrics is not _NO_SERIES:
        kept, omitted = record.finish(ctx.progress_coalesced)
    else:  # nothing but its start, result and end: the record is the timeline
        kept, omitted = record, {}
    return Run(
        run_id, name, status, params, result, error, trace, kept, started, now, duration, omitted
    )
