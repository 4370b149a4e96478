"""``RecordingContext``: a real RuntimeContext that keeps every event it emits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.events import Event, Sink

from ._views import EventViews

__all__ = ["RecordingContext"]


class _Recorder:
    """The sink that appends to the context's ``events`` list."""

    __slots__ = ("emit",)

    def __init__(self, events: list[Event]) -> None:
        self.emit = events.append


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
        super().__init__(
            env=env,
            client=client,
            run_id=run_id,
            sinks=(_Recorder(self.events), *sinks),
            action_name=action_name,
        )

    def __repr__(self) -> str:
        return (
            f"RecordingContext(run_id={self.run_id!r}, action={self.action_name!r}, "
            f"events={len(self.events)})"
        )

    def fresh(self) -> RecordingContext:
        """A new recording context with the same env and client (for one more run)."""
        return RecordingContext(env=self.env, client=self.client)
