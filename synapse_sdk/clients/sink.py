"""``BackendSink``: record a run as a backend job (status, progress, metrics, logs).

The action's thread appends events to a queue (progress replaces the pending value of its
step) and writes a batch itself once ``batch_size`` entries wait, as one ``append_job_logs``
plus one ``update_job`` call; a background thread flushes what is pending every
``flush_interval`` seconds, so progress reaches the backend while the action computes
quietly. Every log, metrics, warning and step event becomes one log entry, in order; progress
is coalesced to the latest value per step between flushes; metrics are also merged into the
job record.

While the backend fails, the thread retries (with growing pauses) and entries queue up to
``max_pending``. Then the action's thread waits for the backend (backpressure), at most
``max_stall`` seconds over the whole run, and not at all when the backend cannot write (a
full disk, a read-only store: see :func:`storage_failure`). Past that, new entries are
dropped and counted, never silently: the sink never stalls a run forever nor grows without
bound. At the end the job gets the run's status, and when entries were lost an ``error``
saying how many (the job is *degraded*); the sink then raises BackendError with the count, so
the run carries a ``sink_failed`` warning event.

The runner attaches one automatically when a run has a client (see :func:`job_sink_for`).
"""

from __future__ import annotations

import errno
import logging
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

__all__ = ["BackendSink", "current_job_id", "job_sink_for", "storage_failure"]

_QUEUED = (LogEvent, MetricsEvent, WarningEvent, StepEvent)
_log = logging.getLogger(__name__)
# errnos of a store that cannot take writes (EDQUOT is missing on some platforms)
_CANNOT_WRITE = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS") if hasattr(errno, name)
)


def storage_failure(exc: BaseException) -> bool:
    """True when ``exc``, or an error it was raised from, says the backend's store cannot take
    writes: a full disk or quota, a file size limit, a read-only file system or backend
    (SQLite's "database or disk is full" and "readonly database" included). Retrying soon
    will not help."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _CANNOT_WRITE:
            return True
        if type(current).__module__.startswith("sqlite3"):
            text = str(current)
            if "disk is full" in text or "readonly" in text:
                return True
        current = current.__cause__ or current.__context__
    return False


class BackendSink:
    """A sink that records one run as a job of ``client``.

    The job is created when the run starts (``RunStarted``), or pass ``job_id`` to report into
    an existing job. The run's end (``RunFinished``) flushes everything and sets the final
    status, result and error; entries that could not be delivered are counted in ``lost``
    and reported by a BackendError. ``close()`` (called by the runner) stops the thread.
    """

    # it shows (or records) the latest progress: a run may coalesce progress events for it
    coalesce_progress = True

    def __init__(
        self,
        client: BackendClient,
        *,
        plugin: str | None = None,
        job_id: int | None = None,
        flush_interval: float = 0.5,
        batch_size: int = 2000,
        max_pending: int = 50_000,
        max_stall: float = 30.0,
        final_attempts: int = 3,
        background: bool = True,
    ) -> None:
        self.client = client
        self.plugin = plugin
        self.job_id = job_id
        self._interval = flush_interval
        self._batch_size = batch_size
        self._max_pending = max(max_pending, batch_size)
        self._stall_left = max_stall
        self._final_attempts = max(final_attempts, 1)
        self._background = background
        self._queue: deque[Event] = deque()
        self._progress: dict[str | None, ProgressEvent] = {}
        self._result: Any = None
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None
        self._failures = 0  # consecutive failed flushes: the retry pause grows with them
        self._disabled = False
        self._finished = False
        self._reported = False
        #: entries that could not be delivered (dropped while the backend failed, or still
        #: pending when the run ended)
        self.lost = 0
        #: entries handed to the sink
        self.entries = 0
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
            self.entries += 1
            # A full batch is written by the producer itself: one call per batch costs it
            # less than a flushing thread contending for the GIL row by row. While the
            # backend fails, the thread retries; the producer only acts once max_pending
            # entries are queued.
            if len(queue) >= self._batch_size:
                if self._failed is None:
                    self._try_flush()
                elif len(queue) >= self._max_pending:
                    self._overflow()
            return
        if cls is RunStarted:
            self._start(event)  # type: ignore[arg-type]
        elif cls is ResultEvent:
            self._result = jsonable(event.value)  # type: ignore[attr-defined]
        elif cls is RunFinished:
            self._finish(event)  # type: ignore[arg-type]

    def _overflow(self) -> None:
        """The queue is full and the backend fails: wait for it (backpressure) while the
        stall budget lasts and it may recover, else drop the newest entry and count it."""
        while self._failed is not None and self._stall_left > 0 and not self._permanent():
            started = time.monotonic()
            pause = min(self._retry_pause(), self._stall_left)
            time.sleep(pause)
            self._try_flush()
            self._stall_left -= time.monotonic() - started
        if len(self._queue) >= self._max_pending:
            self._queue.pop()
            self.lost += 1

    def _permanent(self) -> bool:
        return self._failed is not None and storage_failure(self._failed)

    def _retry_pause(self) -> float:
        return min(self._interval * 2 ** min(self._failures, 8), 5.0)

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
        claim = getattr(self.client, "claim_job", None)
        if claim is not None:
            # a LocalBackend of this process: the job is known as this process's, so a kill
            # that leaves it 'running' is seen as stale (clients/_owners.py)
            try:
                claim(self.job_id)
            except Exception as exc:
                _log.warning("could not record the process of job %s: %s", self.job_id, exc)
        if self._background and self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"synapse-backend-sink-{self.job_id}", daemon=True
            )
            self._thread.start()

    # -- the flushing side -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            failing = self._failed is not None
            self._wake.wait(self._retry_pause() if failing else self._interval)
            self._wake.clear()
            if not failing and time.monotonic() - self._last_flush < self._interval:
                continue  # the producer is flushing full batches itself: stay out of its way
            self._try_flush()

    def _try_flush(self) -> bool:
        """Flush; a failure is kept (and retried later), never raised. True on success."""
        try:
            self.flush()
        except Exception:
            return False
        return True

    def flush(self) -> None:
        """Send everything pending now (in this thread); raises what the backend raised."""
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
                    if self._failed is None:
                        _log.warning(
                            "backend %r failed to record job %s (%s: %s); retrying while "
                            "entries queue up",
                            self.client,
                            self.job_id,
                            type(exc).__name__,
                            exc,
                        )
                    self._failed = exc
                    self._failures += 1
                    raise
                self.flushes += 1
                self._failed = None
                self._failures = 0
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

    def _drain(self) -> None:
        """Last flushes, a bounded number of them; what stays pending is lost (counted)."""
        for attempt in range(self._final_attempts):
            if attempt:
                if self._permanent():
                    break
                time.sleep(self._retry_pause())
            if self._try_flush():
                return
        self.lost += len(self._queue)
        self._queue.clear()

    def _finish(self, event: RunFinished) -> None:
        if self._finished or self.job_id is None:
            return
        self._finished = True
        self._stop_thread()
        self._drain()
        cause = self._failed
        error = event.error
        if self.lost:
            note = (
                f"degraded: {self.lost} of {self.entries} log entries could not be recorded "
                f"({type(cause).__name__}: {cause})"
            )
            error = f"{error}\n{note}" if error else note
        try:
            self.client.update_job(
                self.job_id,
                status=event.status,
                result=self._result if event.status == "succeeded" else None,
                error=error,
            )
        except Exception as exc:
            self._reported = True
            lost = f"; {self.lost} of {self.entries} log entries were lost" if self.lost else ""
            raise BackendError(
                f"Could not record the end of job {self.job_id} (status {event.status!r}): "
                f"{type(exc).__name__}: {exc}; the job stays 'running' in the backend{lost}",
                backend=repr(self.client),
            ) from exc
        if self.lost:
            self._reported = True
            raise BackendError(
                f"Could not record {self.lost} of {self.entries} log entries of job "
                f"{self.job_id} (marked degraded): {type(cause).__name__}: {cause}",
                backend=repr(self.client),
            ) from cause

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Stop the flushing thread and flush what is pending (idempotent); raises
        BackendError once, with the count, if entries could not be delivered and the run's
        end did not already report it."""
        self._stop_thread()
        if self.job_id is None or self._disabled or self._reported:
            return
        self._drain()
        if self.lost:
            self._reported = True
            cause = self._failed
            raise BackendError(
                f"Could not record {self.lost} of {self.entries} log entries of job "
                f"{self.job_id}: {type(cause).__name__}: {cause}",
                backend=repr(self.client),
            ) from cause


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
    """The backend job id of the run of ``ctx`` (None when no backend records it):
    ``ctx.job_id``, which the run sets when it subscribes its job recorder."""
    job_id: int | None = getattr(ctx, "job_id", None)
    return job_id
