"""Live run views: ``NotebookSink`` buffers a run's events; ``RunView`` shows them.

The sink's ``emit`` only records the latest state (a dict store per event, no widget work), so
an action may call ``set_progress`` a million times. A flusher thread pushes the buffered state
to the widgets at most every ``interval`` seconds (10 updates/s per widget by default), and
``close()`` (called by the runner when the run ends) pushes the final state, so the bars always
end at their last reported value. Flooding the front end instead trips the Jupyter server's
IOPub rate limit, which silently drops updates and freezes the bar.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..plugins._html import esc, traceback_html, value_html
from ..plugins.events import (
    Event,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    RunFinished,
    RunStarted,
    StepEvent,
    WarningEvent,
)

__all__ = ["NotebookSink", "RunView", "close_tree", "sparkline_svg"]

_STEP_STYLES = {
    "finished": "success",
    "succeeded": "success",
    "failed": "danger",
    "rollback_failed": "danger",
    "rolled_back": "warning",
    "skipped": "warning",
    "cancelled": "warning",
}
_LOG = logging.getLogger("synapse_sdk.notebook")
_HISTORY = 120  # points kept per metric for the sparkline


def sparkline_svg(values: list[float], *, width: int = 140, height: int = 28) -> str:
    """A small SVG polyline of ``values`` (empty string for fewer than two points)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg class="synapse-sparkline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><polyline fill="none" stroke="#1976d2" '
        f'stroke-width="1.5" points="{points}"/></svg>'
    )


def close_tree(widget: widgets.Widget) -> None:
    """Close ``widget`` and every widget inside it (their models leave the kernel)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    layout = getattr(widget, "layout", None)
    if isinstance(layout, widgets.Widget):
        layout.close()
    style = getattr(widget, "style", None)
    if isinstance(style, widgets.Widget):
        style.close()
    widget.close()


class _Series:
    """A metric's history, decimated uniformly so it never holds more than 2 * _HISTORY points."""

    __slots__ = ("_count", "stride", "values")

    def __init__(self) -> None:
        self.values: list[float] = []
        self.stride = 1
        self._count = 0

    def add(self, value: float) -> None:
        self._count += 1
        if (self._count - 1) % self.stride:
            return
        self.values.append(value)
        if len(self.values) >= 2 * _HISTORY:
            self.values = self.values[::2]
            self.stride *= 2


class _Bar:
    """One step's progress bar with its numbers beside it."""

    def __init__(self, label: str) -> None:
        self.bar = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, description=label, bar_style="info"
        )
        self.bar.style.description_width = "120px"
        self.text = widgets.HTML("")
        self.box = widgets.HBox([self.bar, self.text])
        self.shown: tuple[float, float] | None = None

    def show(self, current: float, total: float) -> None:
        if self.shown == (current, total):
            return
        self.shown = (current, total)
        with self.bar.hold_sync():  # one message for max and value together
            if total > 0:
                self.bar.max = float(total)
                self.bar.value = float(min(current, total))
            else:  # indeterminate: an empty bar and the count
                self.bar.value = 0.0
        if total > 0:
            self.text.value = f"{_num(current)}/{_num(total)} ({100.0 * current / total:.0f}%)"
        else:
            self.text.value = f"{_num(current)}"

    def close(self) -> None:
        close_tree(self.box)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


class RunView:
    """The widgets showing one run at a time: progress bars per step, metrics, logs, result."""

    def __init__(self, *, log_lines: int = 15) -> None:
        self.log_lines = log_lines
        self.status = widgets.HTML("")
        self.status.add_class("synapse-status")
        self.progress = widgets.VBox([])
        self.metrics = widgets.HTML("")
        self.metrics.add_class("synapse-metrics")
        self.logs = widgets.HTML("")
        self.logs.add_class("synapse-logs")
        self.result = widgets.HTML("")
        self.result.add_class("synapse-result")
        self.bars: dict[str | None, _Bar] = {}
        self.widget = widgets.VBox([self.progress, self.metrics, self.logs, self.result])

    def reset(self) -> None:
        """Clear the previous run (its bars are closed, not left as blank lines)."""
        old = list(self.bars.values())
        self.bars = {}
        self.progress.children = ()
        for bar in old:
            bar.close()
        self.metrics.value = ""
        self.logs.value = ""
        self.result.value = ""

    def bar(self, step: str | None, action: str) -> _Bar:
        found = self.bars.get(step)
        if found is None:
            found = self.bars[step] = _Bar(step if step is not None else action)
            self.progress.children = (*self.progress.children, found.box)
        return found

    def show_metrics(self, latest: Mapping[str, Any], series: Mapping[str, _Series]) -> None:
        rows = []
        for name, value in latest.items():
            history = series.get(name)
            chart = sparkline_svg(history.values) if history is not None else ""
            shown = f"{value:.6g}" if isinstance(value, float) else esc(value)
            rows.append(
                f'<tr><th style="text-align:left;padding:0 8px">{esc(name)}</th>'
                f'<td class="synapse-metric-value" style="padding:0 8px">{shown}</td>'
                f"<td>{chart}</td></tr>"
            )
        self.metrics.value = f'<table style="font-size:12px">{"".join(rows)}</table>'

    def show_logs(self, lines: deque[str], total: int) -> None:
        hidden = total - len(lines)
        head = f'<div style="color:#777">… {hidden} earlier lines</div>' if hidden > 0 else ""
        body = "\n".join(esc(line) for line in lines)
        self.logs.value = (
            f'{head}<pre style="margin:0;font-size:11px;line-height:1.3;'
            f'border-left:3px solid #ddd;padding-left:6px">{body}</pre>'
        )

    def show_run(self, run: Any) -> None:
        """The final result table or the error with a folded traceback."""
        if run.error is not None:
            self.result.value = traceback_html(
                f"{type(run.error).__name__}: {run.error}", run.traceback
            )
        else:
            self.result.value = f"<div><b>Result</b></div>{value_html(run.result)}"

    def close(self) -> None:
        self.reset()
        close_tree(self.widget)
        close_tree(self.status)


class NotebookSink:
    """A sink that buffers a run's state and pushes it to a :class:`RunView` at a bounded rate.

    ``interval`` is the minimum time between two pushes (0.1 s: at most 10 updates/s per
    widget). ``flushes`` counts pushes, ``events`` the events received.
    """

    # it shows (or records) the latest progress: a run may coalesce progress events for it
    coalesce_progress = True

    def __init__(self, view: RunView, *, interval: float = 0.1, action: str = "run") -> None:
        self.view = view
        self.interval = interval
        self.action = action
        self.events = 0
        self.flushes = 0
        self.final_status: str | None = None
        self._progress: dict[str | None, tuple[float, float]] = {}
        self._step_status: dict[str, str] = {}
        self._metrics: dict[str, Any] = {}
        self._series: dict[str, _Series] = {}
        self._logs: deque[str] = deque(maxlen=view.log_lines)
        self._log_total = 0
        self._dirty = False
        self._metrics_dirty = False
        self._logs_dirty = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the hot path: record, never touch widgets ------------------------------------------

    def emit(self, event: Event) -> None:
        self.events += 1
        if type(event) is ProgressEvent:
            self._progress[event.step] = (event.current, event.total)
            self._dirty = True
            return
        if isinstance(event, MetricsEvent):
            prefix = f"{event.step}/" if event.step else ""
            for name, value in event.values.items():
                key = prefix + str(name)
                self._metrics[key] = value
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    series = self._series.get(key)
                    if series is None:
                        series = self._series[key] = _Series()
                    series.add(float(value))
            self._metrics_dirty = self._dirty = True
        elif isinstance(event, (LogEvent, WarningEvent)):
            if isinstance(event, LogEvent):
                line = f"{event.elapsed:7.2f}s {event.level:<7} {event.message}"
            else:
                line = f"{event.elapsed:7.2f}s warning {event.message}"
            self._logs.append(line)
            self._log_total += 1
            self._logs_dirty = self._dirty = True
        elif isinstance(event, StepEvent):
            self._step_status[event.step] = event.status
            self._progress.setdefault(event.step, (0.0, 0.0))
            self._dirty = True
        elif isinstance(event, RunStarted):
            self.start()
        elif isinstance(event, RunFinished):
            self.final_status = event.status

    # -- pushing to the widgets -------------------------------------------------------------

    def start(self) -> None:
        """Start the flusher thread (idempotent; RunStarted starts it too)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"synapse-notebook-{self.action}", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception as exc:  # a view must never take the run down; close() retries
                _LOG.warning("notebook view update failed: %s: %s", type(exc).__name__, exc)

    def flush(self) -> None:
        """Push the buffered state to the widgets now (at most once per call)."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            self.flushes += 1
            view = self.view
            for step, (current, total) in list(self._progress.items()):
                bar = view.bar(step, self.action)
                bar.show(current, total)
                style = self._step_status.get(step) if step is not None else None
                if style is not None:
                    bar.bar.bar_style = _STEP_STYLES.get(style, "info")
            if self._metrics_dirty:
                self._metrics_dirty = False
                view.show_metrics(dict(self._metrics), self._series)
            if self._logs_dirty:
                self._logs_dirty = False
                view.show_logs(deque(self._logs), self._log_total)

    def close(self) -> None:
        """Stop the flusher and push the final state (the runner calls this at the end)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._dirty = True
        self.flush()
        status = self.final_status
        if status is not None:
            with self._lock:
                # Bars still "running" take the run's final state; a step's own state stays.
                final = _STEP_STYLES.get(status, "danger")
                for bar in self.view.bars.values():
                    if bar.bar.bar_style == "info":
                        bar.bar.bar_style = final
