"""``BackendSink``: record a run as a backend job (status, progress, metrics, logs).

The action's thread appends events to a queue (progress replaces the pending value of its
step) and writes a batch itself once ``batch_size`` entries wait, as one ``append_job_logs``
plus one ``update_job`` call; a background thread flushes what is pending every
``flush_interval`` seconds, so progress reaches the backend while the action computes
quietly. While the backend fails, only the thread retries, until ``max_pending`` entries wait:
then the action's thread waits for the backend (backpressure) instead of dropping anything.
Every log, metrics, warning and step event becomes one log entry, in order; progress is
coalesced to the latest value per step between flushes; metrics are also merged into the job
record.

The runner attaches one automatically when a run has a client (see :func:`job_sink_for`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from ..plugins.errors import BackendError
from ..plugins.events import (
    Event,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
    StepEvent,
    WarningEvent,
    jsonable,
)
from .base import RUN_STEP, BackendClient, LogEntry, ProgressRecord

__all__ = ["BackendSink", "current_job_id", "job_sink_for"]

_QUEUED = (LogEvent, MetricsEvent, WarningEvent, StepEvent)


class BackendSink:
    """A sink that records one run as a job of ``client``.

    The job is created when the run starts (``RunStarted``), or pass ``job_id`` to report into
    an existing job. ``close()`` (called by the runner) flushes everything and sets the final
    status, result and error; it raises BackendError if entries could not be delivered.
    """

    def __init__(
        self,
        client: BackendClient,
        *,
        plugin: str | None = None,
        job_id: int | None = None,
        flush_interval: float = 0.5,
        batch_size: int = 2000,
        max_pending: int = 50_000,
        background: bool = True,
    ) -> None:
        self.client = client
        self.plugin = plugin
        self.job_id = job_id
        self._interval = flush_interval
        self._batch_size = batch_size
        self._max_pending = max(max_pending, batch_size)
        self._background = background
        self._queue: deque[Event] = deque()
        self._progress: dict[str | None, ProgressEvent] = {}
        self._result: Any = None
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None
        self._disabled = False
        self._finished = False
        self.flushes = 0
        self._last_flush = 0.0

    def __repr__(self) -> str:
        return f"BackendSink({self.client!r}, job_id={self.job_id!r})"

    # -- the action's side: cheap ------------------------------------------------------------

    def emit(self, event: Event) -> None:
        if self._disabled:
            return
        cls = type(event)
        if cls is ProgressEvent:
            self._progress[event.step] = event  # type: ignore[attr-defined,assignment]
            return
        if cls in _QUEUED:
            queue = self._queue
            queue.append(event)
            # A full batch is written by the producer itself: one call per batch costs it
            # less than a flushing thread contending for the GIL row by row. While the
            # backend fails, the thread retries; the producer only waits (backpressure,
            # nothing dropped) once max_pending entries are queued.
            if len(queue) >= self._batch_size and (
                self._failed is None or len(queue) >= self._max_pending
            ):
                self.flush()
            return
        if cls is RunStarted:
            self._start(event)  # type: ignore[arg-type]
        elif cls is ResultEvent:
            self._result = jsonable(event.value)  # type: ignore[attr-defined]
        elif cls is RunFinished:
            self._finish(event)  # type: ignore[arg-type]

    def _start(self, event: RunStarted) -> None:
        if self.job_id is None:
            try:
                job = self.client.create_job(
                    event.action,
                    params=jsonable(event.params),
                    run_id=event.run_id,
                    plugin=self.plugin,
                )
            except Exception:
                self._disabled = True  # never queue events for a job that does not exist
                raise
            self.job_id = job["id"]
        if self._background and self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"synapse-backend-sink-{self.job_id}", daemon=True
            )
            self._thread.start()

    # -- the flushing side -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._failed is None and time.monotonic() - self._last_flush < self._interval:
                continue  # the producer is flushing full batches itself: stay out of its way
            # a failure is kept in self._failed and retried; close() reports it if it persists
            with contextlib.suppress(Exception):
                self.flush()

    def flush(self) -> None:
        """Send everything pending now (in this thread)."""
        with self._flush_lock:
            if self.job_id is None:
                return
            while True:
                batch = self._take_batch()
                progress = self._take_progress()
                if not batch and not progress:
                    return
                try:
                    self._send(batch, progress)
                except BaseException as exc:
                    self._queue.extendleft(reversed(batch))  # back in front, order kept
                    for step, event in progress.items():
                        self._progress.setdefault(step, event)  # unless a newer one arrived
                    self._failed = exc
                    raise
                self.flushes += 1
                self._failed = None
                self._last_flush = time.monotonic()

    def _take_batch(self) -> list[Event]:
        queue = self._queue
        batch: list[Event] = []
        limit = self._batch_size * 5
        while queue and len(batch) < limit:
            batch.append(queue.popleft())
        return batch

    def _take_progress(self) -> dict[str | None, ProgressEvent]:
        pending = self._progress
        taken: dict[str | None, ProgressEvent] = {}
        for step in list(pending):
            event = pending.pop(step, None)
            if event is not None:
                taken[step] = event
        return taken

    def _send(self, batch: list[Event], progress: dict[str | None, ProgressEvent]) -> None:
        assert self.job_id is not None
        entries: list[LogEntry] = []
        metrics: dict[str, dict[str, Any]] = {}
        for event in batch:
            entry = _entry(event)
            entries.append(entry)
            if type(event) is MetricsEvent:
                metrics.setdefault(event.step or RUN_STEP, {}).update(entry["data"]["values"])
        if entries:
            self.client.append_job_logs(self.job_id, entries)
        if progress or metrics:
            records: dict[str, ProgressRecord] = {
                step or RUN_STEP: {
                    "current": event.current,
                    "total": event.total,
                    "percent": event.percent,
                }
                for step, event in progress.items()
            }
            self.client.update_job(self.job_id, progress=records or None, metrics=metrics or None)

    # -- the end -----------------------------------------------------------------------------

    def _finish(self, event: RunFinished) -> None:
        if self._finished or self.job_id is None:
            return
        self._finished = True
        self._stop_thread()
        try:
            self.flush()
        except Exception as exc:
            pending = len(self._queue)
            raise BackendError(
                f"Could not record {pending} log entries of job {self.job_id}: {exc}",
                backend=repr(self.client),
            ) from exc
        self.client.update_job(
            self.job_id,
            status=event.status,
            result=self._result if event.status == "succeeded" else None,
            error=event.error,
        )

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Flush what is pending and stop the flushing thread (idempotent)."""
        self._stop_thread()
        if self.job_id is not None and not self._disabled:
            self.flush()


def _entry(event: Event) -> LogEntry:
    if type(event) is LogEvent:
        return {
            "seq": event.seq,
            "time": event.time,
            "event": event.event,
            "level": event.level,
            "data": _json_data(event.data),
            "file": event.file,
        }
    if type(event) is MetricsEvent:
        data = {"values": jsonable(event.values), "step": event.step}
        return {"seq": event.seq, "time": event.time, "event": "metrics", "level": "info",
                "data": data, "file": None}  # fmt: skip
    if type(event) is WarningEvent:
        data = {"message": event.message, "code": event.code}
        return {"seq": event.seq, "time": event.time, "event": "warning", "level": "warning",
                "data": data, "file": None}  # fmt: skip
    data = {k: v for k, v in event.to_dict().items() if k not in ("type", "run_id", "seq", "time")}
    return {"seq": event.seq, "time": event.time, "event": event.type, "level": "info",
            "data": data, "file": None}  # fmt: skip


_PLAIN = (str, int, float, bool, type(None))


def _json_data(data: Any) -> Any:
    # Most log data is a flat dict of plain values (ctx.log already copied it): skip the
    # recursive conversion for those; it is the bulk of the flushing thread's work.
    if type(data) is dict:
        for value in data.values():
            if type(value) not in _PLAIN:
                return jsonable(data)
        return data
    return jsonable(data)


def _records_jobs(client: Any) -> bool:
    return all(
        callable(getattr(client, name, None))
        for name in ("create_job", "update_job", "append_job_logs")
    )


def job_sink_for(client: Any, sinks: Iterable[Any] = ()) -> BackendSink | None:
    """A BackendSink for a run with ``client``, or None when ``client`` cannot record jobs or
    one of ``sinks`` already records this run into it (what the runner calls)."""
    if client is None or not _records_jobs(client):
        return None
    for sink in sinks:
        if isinstance(sink, BackendSink) and sink.client is client:
            return None
    # A client may ask for flushes in the emitting thread (the testing kit's fake backend:
    # its calls then come in a deterministic order, and no thread is started per test).
    return BackendSink(client, background=getattr(client, "sink_in_background", True))


def current_job_id(ctx: Any) -> int | None:
    """The backend job id of the run of ``ctx`` (None when no BackendSink records it)."""
    client = getattr(ctx, "client", None)
    for sink in getattr(ctx, "sinks", ()):
        if isinstance(sink, BackendSink) and sink.client is client:
            return sink.job_id
    return None
