"""``RecordingContext``: a real RuntimeContext that records the events it emits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.events import Event, ProgressEvent, Sink
from synapse_sdk.plugins.run import RunRecord

from ._views import ANY, AnyStep, EventViews

__all__ = ["RecordingContext"]

#: What a RecordingContext keeps by default: every event of any test-sized run; beyond that,
#: 10,000 evenly spaced progress / metrics samples per step and the first and last 50,000
#: of the other events (``keep_all=True`` keeps everything).
SAMPLES_PER_STEP = 10_000
HEAD_TAIL = 50_000


class _AllEvents(list[Event]):
    """The ``keep_all=True`` record: a list that is also a sink."""

    __slots__ = ()
    emit = list.append

    def events(self) -> list[Event]:
        return self

    def omitted(self) -> dict[str, int]:
        return {}

    def size(self) -> int:
        return len(self)


class _Recorder:
    """The context's recording sink (its ``emit`` is replaced by ``cancel_when``)."""

    __slots__ = ("emit",)

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self.emit = emit


class _RunTag(logging.Filter):
    """Tags each log record of a recorded run with its run id, so a failure report that
    shows the run's events can leave the same lines out of pytest's captured log."""

    def __init__(self, ctx: RuntimeContext) -> None:
        super().__init__()
        self._ctx = ctx

    def filter(self, record: logging.LogRecord) -> bool:
        record.synapse_run_id = self._ctx.run_id
        return True


class _AlsoRecord:
    """A sink recording another run's events into a context (no cancellation checks)."""

    __slots__ = ("emit",)

    def __init__(self, ctx: RecordingContext) -> None:
        self.emit = ctx._record.emit


class RecordingContext(EventViews, RuntimeContext):
    """A :class:`~synapse_sdk.plugins.RuntimeContext` that records its events in ``.events``.

    It is the real context (same events, logger, cancellation, env and client semantics) with
    one extra sink, so an action behaves exactly as it does in production. The views of
    :class:`~synapse_testing.EventViews` read the recording: ``progress_timeline()``,
    ``metrics_series()``, ``metrics(key)``, ``logs()``, ``messages()``, ``warnings()``,
    ``step_events()`` and ``timeline()``.

    Memory is bounded: a run of any test size is recorded whole; past 10,000 progress (or
    metrics) events of one step the timeline keeps evenly spaced samples with the first and
    the last, and past 100,000 other events their first and last 50,000. ``omitted`` counts
    what was left out. ``keep_all=True`` (or ``@pytest.mark.synapse(keep_all_events=True)``)
    keeps every event.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        client: Any = None,
        run_id: str | None = None,
        sinks: Iterable[Sink] = (),
        action_name: str | None = None,
        keep_all: bool = False,
    ) -> None:
        self.keep_all = keep_all
        self._record: Any = (
            _AllEvents() if keep_all else RunRecord.sized(SAMPLES_PER_STEP, HEAD_TAIL)
        )
        self._cached: tuple[int, list[Event]] = (0, [])
        self._cancel_checks: list[Callable[[Event], bool]] = []
        self._tagged: logging.Logger | None = None
        self._recorder = _Recorder(self._record.emit)
        super().__init__(
            env=env,
            client=client,
            run_id=run_id,
            sinks=(self._recorder, *sinks),
            action_name=action_name,
        )

    @property
    def events(self) -> list[Event]:  # type: ignore[override]
        """The recorded events in emission order."""
        size = self._record.size()
        if self._cached[0] != size or self.keep_all:
            self._cached = (size, self._record.events())
        return self._cached[1]

    @property
    def logger(self) -> logging.Logger:
        """The run's stdlib logger (see RuntimeContext.logger); its records carry the run id."""
        logger = super().logger
        if logger is not self._tagged:
            logger.addFilter(_RunTag(self))
            self._tagged = logger
        return logger

    def also_record(self) -> _AlsoRecord:
        """A sink that adds another context's events to this recording (``synapse_ctx``
        records every run of its test this way)."""
        return _AlsoRecord(self)

    @property
    def omitted(self) -> dict[str, int]:
        """How many events of each type the bounded recording left out (see the class)."""
        result: dict[str, int] = self._record.omitted()
        return result

    def __repr__(self) -> str:
        return (
            f"RecordingContext(run_id={self.run_id!r}, action={self.action_name!r}, "
            f"events={len(self.events)})"
        )

    def cancel_when(self, predicate: Callable[[Event], bool]) -> None:
        """Cancel the run right after the first event for which ``predicate(event)`` is true,
        as a user pressing Cancel then would: the action stops at its next cancellation point
        (``set_progress``, ``check_cancelled``) and the run ends ``cancelled``."""
        self._cancel_checks.append(predicate)
        record = self._record.emit
        checks = self._cancel_checks

        def emit(event: Event) -> None:
            record(event)
            if not self.cancelled and any(check(event) for check in checks):
                self.cancel()

        self._recorder.emit = emit

    def cancel_at_progress(self, fraction: float, step: str | AnyStep | None = ANY) -> None:
        """Cancel once progress (of ``step``, or of any step) reaches ``fraction`` (0..1)."""

        def reached(event: Event) -> bool:
            return (
                isinstance(event, ProgressEvent)
                and (step is ANY or event.step == step)
                and event.total > 0
                and event.current / event.total >= fraction
            )

        self.cancel_when(reached)

    def fresh(self) -> RecordingContext:
        """A new recording context with the same env and client (for one more run)."""
        return RecordingContext(env=self.env, client=self.client, keep_all=self.keep_all)
