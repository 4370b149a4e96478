"""Built-in sinks: in-memory, JSONL run log and console.

Each one is a small subscriber to a run's events (see :class:`~synapse_sdk.plugins.events.Sink`).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .events import (
    Event,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
    StepEvent,
    WarningEvent,
)

__all__ = ["ConsoleSink", "JsonlSink", "MemorySink"]


class MemorySink:
    """Keeps every event in ``.events``, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


class JsonlSink:
    """Writes every event as one JSON line to ``path`` (the run log).

    Lines are buffered and flushed when the run ends (succeeded, failed or interrupted), when
    the buffer fills, and at least every ``flush_interval`` seconds. Nothing is dropped.
    """

    def __init__(self, path: str | os.PathLike[str], *, flush_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8", buffering=1 << 16)
        self._flush_interval = flush_interval
        self._last_flush = time.monotonic()

    def emit(self, event: Event) -> None:
        if self._file is None:
            raise RuntimeError(f"JsonlSink({self.path}) is closed")
        self._file.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        now = time.monotonic()
        if now - self._last_flush >= self._flush_interval or isinstance(event, RunFinished):
            self._file.flush()
            self._last_flush = now

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def is_terminal(stream: IO[str]) -> bool:
    """True on an interactive terminal that can draw (not ``TERM=dumb``)."""
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, io.UnsupportedOperation):
        return False


def _use_color(stream: IO[str]) -> bool:
    return not os.environ.get("NO_COLOR") and is_terminal(stream)


class ConsoleSink:
    """Renders events for a terminal.

    On a TTY (and without ``NO_COLOR``) it shows live progress bars when ``rich`` is installed
    (extra ``rich``); otherwise it writes plain lines, with progress throttled to one line per
    ``plain_progress_every`` percent per step plus the final value, and metrics to one line
    per ``metrics_interval`` seconds per step plus the last values. Writes to stderr by default
    so stdout stays clean for results.
    """

    # it shows (or records) the latest progress: a run may coalesce progress events for it
    coalesce_progress = True

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        live: bool | None = None,
        plain_progress_every: float = 10.0,
        metrics_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        tty = _use_color(self.stream)
        self._live = _RichBars(self.stream) if (tty if live is None else live) else None
        if self._live is not None and not self._live.available:
            self._live = None
        self._every = plain_progress_every
        self._last_pct: dict[str | None, float] = {}
        self._clock = clock
        self._metrics_interval = metrics_interval
        self._metrics_at: dict[str | None, float] = {}
        self._pending_metrics: dict[str | None, MetricsEvent] = {}

    def _line(self, text: str) -> None:
        if self._live is not None:
            self._live.print(text)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def emit(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            self._progress(event)
        elif isinstance(event, MetricsEvent):
            now = self._clock()
            last = self._metrics_at.get(event.step)
            if last is not None and now - last < self._metrics_interval:
                self._pending_metrics[event.step] = event
                return
            self._metrics_at[event.step] = now
            self._pending_metrics.pop(event.step, None)
            self._metrics_line(event)
        elif isinstance(event, LogEvent):
            if event.level == "debug":
                return
            level = "" if event.level == "info" else f"{event.level.upper()}: "
            self._line(f"{level}{event.message}")
        elif isinstance(event, WarningEvent):
            self._line(f"WARNING: {event.message}")
        elif isinstance(event, StepEvent):
            if event.status not in ("started", "pending"):
                self._line(f"step {event.step}: {event.status.replace('_', ' ')}")
        elif isinstance(event, RunStarted):
            self._line(f"run {event.run_id}: {event.action} started")
        elif isinstance(event, RunFinished):
            for pending in self._pending_metrics.values():
                self._metrics_line(pending)
            self._pending_metrics.clear()
            if self._live is not None:
                self._live.stop()
            tail = f": {event.error.splitlines()[0]}" if event.error else ""
            self._line(f"run {event.run_id}: {event.status} in {event.duration:.2f}s{tail}")
        elif isinstance(event, ResultEvent):
            return

    def _metrics_line(self, event: MetricsEvent) -> None:
        where = f"[{event.step}] " if event.step else ""
        values = " ".join(f"{k}={_fmt(v)}" for k, v in event.values.items())
        self._line(f"{where}metrics {values}")

    def _progress(self, event: ProgressEvent) -> None:
        if self._live is not None:
            self._live.update(event)
            return
        pct = event.percent
        if pct is None:
            return
        last = self._last_pct.get(event.step)
        if last is not None and pct < 100.0 and pct - last < self._every:
            return
        if last is not None and last >= 100.0 and pct >= 100.0:
            return
        self._last_pct[event.step] = pct
        label = event.step or "progress"
        self._line(f"{label}: {pct:5.1f}% ({_fmt(event.current)}/{_fmt(event.total)})")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


class _RichBars:
    """Live progress bars through rich (optional dependency, extra ``rich``)."""

    def __init__(self, stream: IO[str]) -> None:
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            self.available = False
            return
        self.available = True
        self._console = Console(file=stream)
        self._progress = Progress(console=self._console, transient=False)
        self._tasks: dict[str | None, Any] = {}
        self._started = False

    def print(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

    def update(self, event: ProgressEvent) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        task = self._tasks.get(event.step)
        total = event.total if event.total > 0 else None
        if task is None:
            task = self._progress.add_task(event.step or "progress", total=total)
            self._tasks[event.step] = task
        self._progress.update(task, completed=event.current, total=total)

    def stop(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False
