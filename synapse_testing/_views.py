"""Read-only views over a run's recorded events (progress, metrics, logs, warnings, steps).

:class:`EventViews` is shared by :class:`~synapse_testing.RecordingContext` and
:class:`EventLog`, which wraps any event list (``EventLog.of(run)``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, TypeVar, overload

from synapse_sdk.plugins.events import (
    Event,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    StepEvent,
    WarningEvent,
)

from ._checked import mark_checked
from ._masking import Masker

__all__ = ["ANY", "AnyStep", "EventLog", "EventViews", "describe_event", "events_of_source"]

E = TypeVar("E", bound=Event)


class AnyStep:
    """Type of :data:`ANY`: "every step" (as opposed to ``None``, the run-level step)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


#: Pass as ``step=`` to mean every step; ``step=None`` means the run-level progress/metrics.
ANY: Final = AnyStep()


def describe_event(event: Event) -> str:
    """One readable line for ``event`` (used in failure messages and the events report)."""
    return Masker(mask=False).event(event)


class EventViews:
    """Helpers reading ``self.events``; mixed into RecordingContext and EventLog."""

    events: list[Event]

    # -- generic -----------------------------------------------------------------------------

    def events_of(self, kind: type[E]) -> list[E]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def timeline(self) -> list[str]:
        """Every event as one readable line (``'progress [train] 1/3'``), in order."""
        masker = Masker(mask=False)
        return [masker.event(e) for e in self.events]

    # -- progress ----------------------------------------------------------------------------

    def progress_timeline(self) -> dict[str | None, list[tuple[float, float]]]:
        """``(current, total)`` pairs per step (``None`` = run level), steps in first-seen order."""
        out: dict[str | None, list[tuple[float, float]]] = {}
        for e in self.events:
            if isinstance(e, ProgressEvent):
                out.setdefault(e.step, []).append((e.current, e.total))
        return out

    def progress(self, step: str | AnyStep | None = ANY) -> list[tuple[float, float]]:
        """``(current, total)`` pairs of one step (``None`` = run level) or of every step."""
        return [
            (e.current, e.total)
            for e in self.events
            if isinstance(e, ProgressEvent) and (step is ANY or e.step == step)
        ]

    # -- metrics -----------------------------------------------------------------------------

    def metrics_series(self) -> dict[str | None, dict[str, list[Any]]]:
        """Every metric's values per step: ``{'train': {'loss': [0.5, 0.3]}}``."""
        out: dict[str | None, dict[str, list[Any]]] = {}
        for e in self.events:
            if isinstance(e, MetricsEvent):
                per_key = out.setdefault(e.step, {})
                for key, value in e.values.items():
                    per_key.setdefault(key, []).append(value)
        return out

    def metrics(self, key: str, step: str | AnyStep | None = ANY) -> list[Any]:
        """The values recorded for metric ``key`` (in one step, or in every step), in order."""
        return [
            e.values[key]
            for e in self.events
            if isinstance(e, MetricsEvent) and key in e.values and (step is ANY or e.step == step)
        ]

    def latest_metrics(self, step: str | AnyStep | None = ANY) -> dict[str, Any]:
        """The last value of each metric (in one step, or across steps)."""
        out: dict[str, Any] = {}
        for e in self.events:
            if isinstance(e, MetricsEvent) and (step is ANY or e.step == step):
                out.update(e.values)
        return out

    # -- logs and warnings -------------------------------------------------------------------

    def logs(self, event: str | None = None, *, level: str | None = None) -> list[LogEvent]:
        """Log events (structured ``ctx.log`` entries and logger messages), optionally only
        those named ``event`` and/or at ``level``."""
        return [
            e
            for e in self.events
            if isinstance(e, LogEvent)
            and (event is None or e.event == event)
            and (level is None or e.level == level)
        ]

    def messages(self, level: str | None = None) -> list[str]:
        """The text of every logger message (``ctx.logger`` / ``ctx.log_message``)."""
        return [
            str(e.data.get("message", ""))
            for e in self.events
            if isinstance(e, LogEvent)
            and e.event == "message"
            and (level is None or e.level == level)
        ]

    def warnings(self, code: str | None = None) -> list[WarningEvent]:
        """Warning events (only those with ``code`` when given). Looking at them satisfies the
        strict "unchecked warnings" teardown check."""
        found = [
            e
            for e in self.events
            if isinstance(e, WarningEvent) and (code is None or e.code == code)
        ]
        mark_checked(self.events)
        return found

    # -- steps and result --------------------------------------------------------------------

    def step_events(self, step: str | None = None) -> list[tuple[str, str]]:
        """``(step, status)`` pairs of StepEvents (only for ``step`` when given)."""
        return [
            (e.step, e.status)
            for e in self.events
            if isinstance(e, StepEvent) and (step is None or e.step == step)
        ]

    @property
    def run_ids(self) -> list[str]:
        """The run ids seen in the events, in first-seen order."""
        return list(dict.fromkeys(e.run_id for e in self.events))


class EventLog(EventViews, Sequence[Event]):
    """The event views over any list of events: ``EventLog.of(run)``, ``EventLog(events)``."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events if isinstance(events, list) else list(events)

    @classmethod
    def of(cls, source: Any) -> EventLog:
        """Views over a ``Run``, a RecordingContext, an EventLog or a list of events."""
        if isinstance(source, EventLog):
            return source
        return cls(events_of_source(source))

    def __repr__(self) -> str:
        return f"EventLog({len(self.events)} events)"

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | Sequence[Event]:
        return self.events[index]


def events_of_source(source: Any) -> list[Event]:
    """The event list of a Run, RecordingContext, EventLog or plain sequence of events."""
    events = getattr(source, "events", source)
    if isinstance(events, list):
        return events
    if isinstance(events, Sequence) and not isinstance(events, (str, bytes)):
        return list(events)
    raise TypeError(
        f"expected a Run, a RecordingContext, an EventLog or a list of events, got "
        f"{type(source).__name__}"
    )
