"""``RecordingContext``: a real RuntimeContext that keeps every event it emits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.events import Event, ProgressEvent, Sink

from ._views import ANY, AnyStep, EventViews

__all__ = ["RecordingContext"]


class _Recorder:
    """The sink that appends to the context's ``events`` list."""

    __slots__ = ("emit",)

    def __init__(self, events: list[Event]) -> None:
        self.emit: Callable[[Event], None] = events.append


class RecordingContext(EventViews, RuntimeContext):
    """A :class:`~synapse_sdk.plugins.RuntimeContext` that records every event in ``.events``.

    It is the real context (same events, logger, cancellation, env and client semantics) with
    one extra sink, so an action behaves exactly as it does in production. The views of
    :class:`~synapse_testing.EventViews` read the recording: ``progress_timeline()``,
    ``metrics_series()``, ``metrics(key)``, ``logs()``, ``messages()``, ``warnings()``,
    ``step_events()`` and ``timeline()``.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        client: Any = None,
        run_id: str | None = None,
        sinks: Iterable[Sink] = (),
        action_name: str | None = None,
    ) -> None:
        self.events: list[Event] = []
        self._recorder = _Recorder(self.events)
        self._cancel_checks: list[Callable[[Event], bool]] = []
        super().__init__(
            env=env,
            client=client,
            run_id=run_id,
            sinks=(self._recorder, *sinks),
            action_name=action_name,
        )

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
        append = self.events.append
        checks = self._cancel_checks

        def emit(event: Event) -> None:
            append(event)
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
        return RecordingContext(env=self.env, client=self.client)
