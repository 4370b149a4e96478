"""Typed run events and the ``Sink`` protocol.

An action emits a stream of immutable, typed event records through its ``RuntimeContext``;
every view (terminal, notebook, run log, backend, test recorder) is a :class:`Sink` subscribed
to that stream. Each event carries the run id, a per-run sequence number ``seq`` (0, 1, 2, ... in
emission order), the wall-clock ``time`` and ``elapsed`` seconds since the context started.

Events serialize with :meth:`Event.to_dict` and come back with :func:`event_from_dict`, which
is how executors relay events from worker processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

__all__ = [
    "Event",
    "LogEvent",
    "MetricsEvent",
    "ProgressEvent",
    "ResultEvent",
    "RunFinished",
    "RunStarted",
    "Sink",
    "StepEvent",
    "WarningEvent",
    "event_from_dict",
]


class Event:
    """Base of every event (a mixin: each event type is an immutable named tuple).

    Subclasses set ``type``, the tag used in serialized form. All events share the leading
    fields ``run_id``, ``seq``, ``time`` and ``elapsed``. Events of different types never
    compare equal.
    """

    __slots__ = ()
    type: ClassVar[str] = "event"

    run_id: str
    seq: int
    time: float
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{'type': ..., <fields>}``; values go through :func:`jsonable`."""
        out: dict[str, Any] = {"type": self.type}
        this: Any = self
        for name, value in zip(this._fields, this, strict=True):
            out[name] = jsonable(value)
        return out

    def __eq__(self, other: object) -> bool:
        this: Any = self
        return type(self) is type(other) and tuple.__eq__(this, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        this: Any = self
        return tuple.__hash__(this)


class _RunStarted(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    action: str
    params: Any = None


class RunStarted(Event, _RunStarted):
    """The run began; ``params`` are the validated params."""

    __slots__ = ()
    type: ClassVar[str] = "run_started"


class _RunFinished(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    action: str
    status: str
    duration: float
    error: str | None = None


class RunFinished(Event, _RunFinished):
    """The run ended with ``status`` succeeded / failed / cancelled."""

    __slots__ = ()
    type: ClassVar[str] = "run_finished"


class _Progress(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    current: float
    total: float
    step: str | None = None


class ProgressEvent(Event, _Progress):
    """Progress of the run or of one ``step``; ``total <= 0`` means indeterminate."""

    __slots__ = ()
    type: ClassVar[str] = "progress"

    @property
    def percent(self) -> float | None:
        """0..100, or None when the total is unknown (indeterminate progress)."""
        if self.total <= 0:
            return None
        return 100.0 * self.current / self.total


class _Metrics(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    values: Mapping[str, Any]
    step: str | None = None


class MetricsEvent(Event, _Metrics):
    """A set of metric values (``{'loss': 0.3, 'epoch': 2}``), optionally for one ``step``."""

    __slots__ = ()
    type: ClassVar[str] = "metrics"


class _Log(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    event: str
    data: Mapping[str, Any]
    level: str = "info"
    file: str | None = None


class LogEvent(Event, _Log):
    """A structured log entry (``ctx.log``) or a message from ``ctx.logger``.

    Messages from the stdlib logger use ``event='message'`` and ``data={'message': text}``.
    """

    __slots__ = ()
    type: ClassVar[str] = "log"

    @property
    def message(self) -> str:
        if self.event == "message" and "message" in self.data:
            return str(self.data["message"])
        if not self.data:
            return self.event
        return f"{self.event} {dict(self.data)}"


class _Warning(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    message: str
    code: str = "warning"


class WarningEvent(Event, _Warning):
    """Something the user should see but that does not stop the run (``code`` names the kind)."""

    __slots__ = ()
    type: ClassVar[str] = "warning"


class _Step(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    step: str
    status: str
    position: int | None = None
    weight: float | None = None
    detail: str | None = None


class StepEvent(Event, _Step):
    """A step changed state: started, finished, skipped, failed, rolled_back, rollback_failed."""

    __slots__ = ()
    type: ClassVar[str] = "step"


class _Result(NamedTuple):
    run_id: str
    seq: int
    time: float
    elapsed: float
    value: Any = None


class ResultEvent(Event, _Result):
    """The action's return value (emitted just before RunFinished on success)."""

    __slots__ = ()
    type: ClassVar[str] = "result"


@runtime_checkable
class Sink(Protocol):
    """A subscriber to a run's events.

    ``emit`` is called synchronously, in the thread that produced the event, once per event,
    in ``seq`` order. A sink may also define ``close()``, called once when the run ends
    (succeeded, failed or interrupted) to flush what it buffered. A sink that raises does not
    fail the action; the failure is reported once as a warning.
    """

    def emit(self, event: Event) -> None: ...


_EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        RunStarted,
        RunFinished,
        ProgressEvent,
        MetricsEvent,
        LogEvent,
        WarningEvent,
        StepEvent,
        ResultEvent,
    )
}


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output (for events relayed from workers)."""
    kind = data.get("type")
    cls = _EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"Unknown event type {kind!r}; known: {', '.join(sorted(_EVENT_TYPES))}")
    names = set(getattr(cls, "_fields", ()))
    return cls(**{k: v for k, v in data.items() if k in names})


def jsonable(value: Any) -> Any:
    """Turn ``value`` into JSON-ready data: pydantic models dump in JSON mode, enums to values,
    paths and other objects to strings, containers recursively."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:  # a model with unserializable fields: fall back to its repr below
            pass
    enum_value = getattr(value, "value", None)
    if (
        enum_value is not None
        and type(value).__module__ != "builtins"
        and hasattr(type(value), "__members__")
    ):
        return jsonable(enum_value)
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)
