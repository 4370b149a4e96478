"""Live run views: ``NotebookSink`` buffers a run's events; ``RunView`` shows them.

The sink's ``emit`` only records the latest state (a dict store per event, no widget work), so
an action may call ``set_progress`` a million times. A flusher thread pushes the buffered state
to the widgets at most every ``interval`` seconds (10 updates/s per widget by default), and
``close()`` (called by the runner when the run ends) pushes the final state, so the bars always
end at their last reported value. Flooding the front end instead trips the Jupyter server's
IOPub rate limit, which silently drops updates and freezes the bar.

Each bar reads like tqdm's: ``59/300 (20%) [00:01<00:05, 45.1 it/s]`` (count, elapsed time,
time left, rate), timed by the events' own clock. A step that reached its total stays green
whatever happens after it; only the bars a failure or a cancel interrupted take its colour.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback as _traceback
from collections import deque
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..plugins._html import esc, value_html
from ..plugins.errors import CancelledError, ExecutionError, PluginError
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
from ._widgets import BAR_COLORS, BAR_WIDTH, COLORS, LABEL_WIDTH, close_tree

__all__ = [
    "NotebookSink",
    "RunView",
    "close_tree",
    "error_summary",
    "progress_text",
    "sparkline_svg",
]

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
# a hint that speaks of the command line (`synapse backend datasets`, --debug) means nothing
# in a notebook
_CLI_HINT = re.compile(r"`synapse\b|\bsynapse (run|backend|new|sync|actions|schema)\b|(^|\s)--\w")


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


# -- text ------------------------------------------------------------------------------------


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _clock(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour), as tqdm prints times."""
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _rate(rate: float | None) -> str:
    if not rate or rate <= 0:
        return "? it/s"
    if rate < 1:
        return f"{1 / rate:.2f} s/it"
    return f"{rate:,.1f} it/s" if rate < 100 else f"{rate:,.0f} it/s"


def progress_text(
    current: float, total: float, elapsed: float, rate: float | None, *, live: bool = True
) -> str:
    """The text beside a bar, tqdm's way: ``59/300 (20%) [00:01<00:05, 45.1 it/s]``.

    ``total <= 0`` is indeterminate (``7 [00:02, 3.5 it/s]``). The time left is shown while
    the step can still move (``live``); ``00:00`` once it reached its total.
    """
    if total <= 0:
        return f"{_num(current)} [{_clock(elapsed)}, {_rate(rate)}]"
    head = f"{_num(current)}/{_num(total)} ({100.0 * current / total:.0f}%)"
    if current >= total:
        left = "<00:00"
    elif live and rate and rate > 0:
        left = "<" + _clock((total - current) / rate)
    elif live:
        left = "<?"
    else:  # stopped before its total: no time left to promise
        left = ""
    return f"{head} [{_clock(elapsed)}{left}, {_rate(rate)}]"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _root_cause(error: BaseException) -> BaseException:
    """The exception the action raised (an ExecutionError only wraps it)."""
    cause = error.__cause__
    if isinstance(error, ExecutionError) and cause is not None:
        return cause
    return error


def error_summary(error: BaseException) -> tuple[str, str | None]:
    """``('NotFoundError: No dataset with id 99 ...', hint)`` for the notebook.

    The error the action raised, once: not wrapped in "Action 'x' failed: ..." and without
    hints aimed at the command line (``synapse backend ...``, ``--debug``).
    """
    cause = _root_cause(error)
    if isinstance(cause, PluginError):
        message, hint = cause.message, cause.hint
    else:
        message, hint = str(cause), None
    if hint and _CLI_HINT.search(hint):
        hint = None
    return f"{type(cause).__name__}: {message}", hint


def _traceback_of(error: BaseException, text: str | None) -> str | None:
    """The traceback without its last lines when they repeat the summary above it."""
    if not text:
        return None
    cause = _root_cause(error)
    tail = "".join(_traceback.format_exception_only(type(cause), cause))
    stripped = text.rstrip("\n")
    if stripped.endswith(tail.rstrip("\n")):
        stripped = stripped[: len(stripped) - len(tail.rstrip("\n"))].rstrip("\n")
    return stripped or None


def _error_html(error: BaseException, traceback: str | None) -> str:
    summary, hint = error_summary(error)
    line = f'<b style="color:{COLORS["failed"]}">{esc(summary)}</b>'
    hint_html = (
        f'<div style="color:{COLORS["muted"]};margin-left:14px">hint: {esc(hint)}</div>'
        if hint
        else ""
    )
    tb = _traceback_of(error, traceback)
    if not tb:
        return f'<div class="synapse-error">{line}{hint_html}</div>'
    return (
        f'<details class="synapse-error"><summary>{line}</summary>{hint_html}'
        f'<pre style="font-size:11px;white-space:pre-wrap">{esc(tb)}</pre></details>'
    )


# -- the widgets -----------------------------------------------------------------------------


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
    """One step's row: its name in the form's label column, the bar, tqdm-like numbers."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.name = widgets.HTML(
            f'<span title="{esc(label)}">{esc(label)}</span>',
            layout=widgets.Layout(width=LABEL_WIDTH, min_width=LABEL_WIDTH),
        )
        self.bar = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=widgets.Layout(width=BAR_WIDTH)
        )
        self.text = widgets.HTML("")
        self.text.add_class("synapse-bar-text")
        self.box = widgets.HBox([self.name, self.bar, self.text])
        self.box.add_class("synapse-bar")
        self.shown: tuple[Any, ...] | None = None

    def show(
        self,
        current: float,
        total: float,
        elapsed: float = 0.0,
        rate: float | None = None,
        *,
        live: bool = True,
    ) -> None:
        text = progress_text(current, total, elapsed, rate, live=live)
        if self.shown == (current, total, text):
            return
        if self.shown is None or self.shown[:2] != (current, total):
            with self.bar.hold_sync():  # one message for max and value together
                if total > 0:
                    self.bar.max = float(total)
                    self.bar.value = float(min(current, total))
                else:  # indeterminate: an empty bar and the count
                    self.bar.value = 0.0
        self.shown = (current, total, text)
        self.text.value = text

    @property
    def complete(self) -> bool:
        return self.shown is not None and self.shown[1] > 0 and self.shown[0] >= self.shown[1]

    def snapshot_html(self) -> str:
        bar = self.bar
        fraction = 0.0 if bar.max <= 0 else max(0.0, min(1.0, bar.value / bar.max))
        color = BAR_COLORS.get(bar.bar_style, BAR_COLORS[""])
        return (
            f'<tr><td style="width:{LABEL_WIDTH};padding:1px 0;text-align:left">'
            f"{esc(self.label)}</td>"
            f'<td style="padding:1px 6px 1px 0"><div style="width:{BAR_WIDTH};height:14px;'
            f'background:#e0e0e0"><div class="synapse-snapshot-fill" style="width:'
            f'{100 * fraction:.1f}%;height:14px;background:{color}"></div></div></td>'
            f'<td style="padding:1px 0;text-align:left">{esc(self.text.value)}</td></tr>'
        )

    def close(self) -> None:
        close_tree(self.box)


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
                f'<tr><td style="text-align:left;width:{LABEL_WIDTH};padding:0">{esc(name)}</td>'
                f'<td class="synapse-metric-value" style="text-align:left;padding:0 8px 0 4px">'
                f"{shown}</td><td>{chart}</td></tr>"
            )
        self.metrics.value = (
            f'<table style="font-size:12px;border-collapse:collapse">{"".join(rows)}</table>'
        )

    def show_logs(self, lines: deque[str], total: int) -> None:
        hidden = total - len(lines)
        head = (
            f'<div style="color:{COLORS["muted"]}">… {hidden} earlier lines</div>'
            if hidden > 0
            else ""
        )
        body = "\n".join(esc(line) for line in lines)
        self.logs.value = (
            f'{head}<pre style="margin:0;font-size:11px;line-height:1.3;'
            f'border-left:3px solid #ddd;padding-left:6px">{body}</pre>'
        )

    def show_run(self, run: Any, *, cancelled_by_user: bool = False) -> None:
        """The result table; for a cancel, where it stopped; for a failure, the error once
        with its traceback folded."""
        if run.error is None:
            self.result.value = f"<div><b>Result</b></div>{value_html(run.result)}"
        elif isinstance(run.error, CancelledError):
            self.result.value = self._cancelled_html(run.error, cancelled_by_user)
        else:
            self.show_error(run.error, run.traceback)

    def show_error(self, error: BaseException, traceback: str | None = None) -> None:
        """An error line (the root cause, without command-line hints), traceback folded."""
        self.result.value = _error_html(error, traceback)

    def _cancelled_html(self, error: CancelledError, by_user: bool) -> str:
        stopped = [b for b in self.bars.values() if b.shown is not None and not b.complete]
        where = ""
        if stopped:
            bar = stopped[-1]
            current, total = bar.shown[:2] if bar.shown else (0, 0)
            count = f"{_num(current)}/{_num(total)}" if total > 0 else _num(current)
            where = f" during {esc(bar.label)}, at {count}"
        text = (
            f"Cancelled: you stopped the run{where}."
            if by_user
            else f"Cancelled{where}: {esc(error.message)}"
        )
        return f'<div class="synapse-cancelled" style="color:{COLORS["cancelled"]}">{text}</div>'

    def snapshot_html(self) -> str:
        """The view as plain HTML (bars, metrics, logs, result), for a saved notebook."""
        bars = "".join(bar.snapshot_html() for bar in self.bars.values())
        table = (
            f'<table style="border-collapse:collapse;font-size:12px">{bars}</table>' if bars else ""
        )
        return (
            f"{table}{self.metrics.value}{self.logs.value}"
            f'<div style="margin-top:4px">{self.result.value}</div>'
        )

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
        # step -> its latest ProgressEvent (None: a step event came, no progress yet)
        self._progress: dict[str | None, ProgressEvent | None] = {}
        # step -> (elapsed, current) when it was first seen: the origin of its clock and rate
        self._first: dict[str | None, tuple[float, float]] = {}
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
            step = event.step
            if step not in self._first:
                self._first[step] = (event.elapsed, event.current)
            self._progress[step] = event
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
            self._first.setdefault(event.step, (event.elapsed, 0.0))
            self._progress.setdefault(event.step, None)
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

    def _style(self, step: str | None, complete: bool) -> str:
        status = self._step_status.get(step) if step is not None else None
        explicit = _STEP_STYLES.get(status) if status is not None else None
        return explicit or ("success" if complete else "info")

    def flush(self, *, live: bool = True) -> None:
        """Push the buffered state to the widgets now (at most once per call)."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            self.flushes += 1
            view = self.view
            for step, latest in list(self._progress.items()):
                bar = view.bar(step, self.action)
                t0, c0 = self._first.get(step, (0.0, 0.0))
                if latest is None:
                    current = total = 0.0
                    elapsed, rate = 0.0, None
                else:
                    current, total = latest.current, latest.total
                    elapsed = latest.elapsed - t0
                    rate = (current - c0) / elapsed if elapsed > 0 else None
                bar.show(current, total, elapsed, rate, live=live)
                style = self._style(step, total > 0 and current >= total)
                if bar.bar.bar_style != style:
                    bar.bar.bar_style = style
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
        status = self.final_status
        self.flush(live=status is None)
        if status is not None:
            with self._lock:
                # Bars the end interrupted take the run's final state; a step that reached
                # its total, or has a state of its own, keeps it.
                final = _STEP_STYLES.get(status, "danger")
                for bar in self.view.bars.values():
                    if bar.bar.bar_style == "info":
                        bar.bar.bar_style = final
