"""``RuntimeContext``: everything an action may touch while it runs.

An action is handed its context (``fn(params, ctx)`` or ``self.ctx``); it never finds it
through globals. The context turns ``set_progress`` / ``set_metrics`` / ``log`` calls into
typed events (see :mod:`synapse_sdk.plugins.events`) delivered to subscribed sinks.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TypeVar

from .errors import CancelledError
from .events import (
    Event,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    Sink,
    StepEvent,
    WarningEvent,
)

__all__ = ["RuntimeContext", "new_run_id"]

E = TypeVar("E", bound=Event)
_time = time.time
# Events are built with tuple.__new__ on hot paths: half the cost of the generated __new__.
_tuple_new: Any = tuple.__new__
_EMPTY_ENV: Mapping[str, str] = MappingProxyType({})
_object_new = object.__new__
_count = itertools.count

_ACTIONS_LOGGER = logging.getLogger("synapse_sdk.actions")
# Library convention: without this, WARNING records would also reach logging.lastResort and be
# printed a second time next to the console sink's line.
logging.getLogger("synapse_sdk").addHandler(logging.NullHandler())

#: When progress is coalesced: every one of a step's first PROGRESS_WHOLE events goes out (a
#: short run is seen whole), then at most one per PROGRESS_INTERVAL seconds.
PROGRESS_WHOLE = 256
PROGRESS_INTERVAL = 0.005

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
# log_message also takes the platform's levels: success is shown apart from info, danger from
# error; for the stdlib logger they are INFO and ERROR.
_MESSAGE_LEVELS = {**_LEVELS, "success": 20, "danger": 40}


_RUN_PREFIX = os.urandom(4).hex()
# Starting at 0x10000000 keeps hex(n) at exactly 8 digits for the next ~4 billion runs.
_RUN_COUNTER = itertools.count(0x10000000 + int.from_bytes(os.urandom(3), "big"))


def new_run_id() -> str:
    """A fresh 16-hex-digit run id, unique across processes (random per-process prefix plus
    a counter)."""
    return _RUN_PREFIX + hex(next(_RUN_COUNTER))[2:]


class _ContextLogger(logging.Logger):
    """A per-run logger whose records also become LogEvents of the run.

    It behaves as a stdlib logger: ``setLevel``, handlers and ``propagate`` work, and with no
    level of its own it takes its parents' (``synapse_sdk.actions``, ``synapse_sdk``, root),
    so records reach the root logger's handlers and pytest's ``caplog``. One addition: while
    the run has sinks (a terminal, a notebook, a run log), INFO and above are always enabled,
    so the run's own views show them whatever logging's configuration says. It is not
    registered in the logging manager (no leak per run), so it keeps no level cache either.
    """

    def __init__(self, name: str, ctx: RuntimeContext) -> None:
        super().__init__(name)
        self.parent = _ACTIONS_LOGGER
        self._ctx = ctx

    def isEnabledFor(self, level: int) -> bool:
        if self.disabled or self.manager.disable >= level:
            return False
        if self.level:
            return level >= self.level
        if level >= logging.INFO and self._ctx._sinks:
            return True
        return level >= _ACTIONS_LOGGER.getEffectiveLevel()

    def handle(self, record: logging.LogRecord) -> None:
        if not getattr(record, "synapse_event", False):
            self._ctx._emit_log_record(record)
        super().handle(record)


def _has_handler(logger: logging.Logger, level: int) -> bool:
    """True when a real handler (not a NullHandler) would receive a record of ``level``."""
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if level >= handler.level and not isinstance(handler, logging.NullHandler):
                return True
        if not current.propagate:
            return False
        current = current.parent
    return False


class _ProgressState:
    """How a context sends progress, made on its first ``set_progress`` (and again after a
    change of sinks): whether it may coalesce, and per step the value waiting to go out, when
    the next may go out and how many went out; ``coalesced`` counts the calls left out."""

    __slots__ = ("coalesce", "coalesced", "due", "pending", "sent")

    def __init__(self, sinks: list[Any], carried: int) -> None:
        self.coalesce = all(getattr(sink, "coalesce_progress", False) for sink in sinks)
        self.pending: dict[str | None, tuple[float, float, float]] = {}
        self.due: dict[str | None, float] = {}
        self.sent: dict[str | None, int] = {}
        self.coalesced = carried


class RuntimeContext:
    """What an action may touch: events, logger, env, backend client, run id, cancellation.

    ``RuntimeContext()`` with no arguments is valid (for calling an action directly in a
    notebook or a test). ``env`` is an explicit mapping and never a copy of ``os.environ``.
    Users call the methods; the runner and executors manage ``sinks`` and ``run_id``.
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
        self.env: Mapping[str, str] = MappingProxyType(dict(env)) if env else _EMPTY_ENV
        self.client = client
        self.run_id = run_id or new_run_id()
        self.action_name = action_name
        self._sinks: list[Sink] = list(sinks)
        self._failed_sinks: set[int] | None = None
        self._seq = itertools.count()
        self._t0 = _time()
        self._logger: _ContextLogger | None = None
        self._cancelled = False
        self._clamp_warned: set[str | None] | None = None
        self._progress: _ProgressState | None = None  # made by the first set_progress
        self._pending: dict[str | None, tuple[float, float, float]] | None = None

    @classmethod
    def _for_run(
        cls,
        action_name: str,
        sinks: list[Sink],
        env: Mapping[str, str] | None,
        client: Any,
        run_id: str,
        t0: float,
    ) -> RuntimeContext:
        """The context of one run, for :func:`synapse_sdk.plugins.run.execute_spec` only.

        The same state as ``__init__``, built with less work: ``sinks`` is taken as is (not
        copied), ``t0`` is the run's start (no second clock read) and no keyword parsing;
        0.25 µs of a 2.8 µs trivial ``run_action`` (benchmarks/bench_corridor.py). The
        attributes are set in ``__init__``'s order, so instances share one key layout; keep
        the two in step.
        """
        if cls is not RuntimeContext:
            self = cls(env=env, client=client, action_name=action_name, sinks=sinks)
            self.run_id = run_id
            self._t0 = t0
            return self
        self = _object_new(cls)
        self.env = MappingProxyType(dict(env)) if env else _EMPTY_ENV
        self.client = client
        self.run_id = run_id
        self.action_name = action_name
        self._sinks = sinks
        self._failed_sinks = None
        self._seq = _count()
        self._t0 = t0
        self._logger = None
        self._cancelled = False
        self._clamp_warned = None
        self._progress = None
        self._pending = None
        return self

    def __repr__(self) -> str:
        return f"RuntimeContext(run_id={self.run_id!r}, action={self.action_name!r})"

    # -- sinks -------------------------------------------------------------------------------

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return tuple(self._sinks)

    def subscribe(self, sink: Sink) -> None:
        """Deliver every later event to ``sink`` too."""
        self.flush_progress()
        self._sinks.append(sink)
        self._sinks_changed()

    def unsubscribe(self, sink: Sink) -> None:
        self.flush_progress()
        self._sinks.remove(sink)
        self._sinks_changed()

    def _sinks_changed(self) -> None:
        """May progress still be coalesced? Asked again (what was left out is still counted)."""
        old = self._progress
        if old is not None:
            self._progress = _ProgressState(self._sinks, old.coalesced)
            self._pending = self._progress.pending

    def emit(self, event: Event) -> None:
        """Deliver an already-built event to every sink (used by executors relaying events)."""
        if self._pending:
            self.flush_progress()
        for sink in self._sinks:
            try:
                sink.emit(event)
            except Exception as exc:  # a view must never kill the action
                self._sink_failed(sink, exc)

    def _sink_failed(self, sink: Sink, exc: Exception) -> None:
        key = id(sink)
        if self._failed_sinks is None:
            self._failed_sinks = set()
        elif key in self._failed_sinks:
            return
        self._failed_sinks.add(key)
        failed = self._failed_sinks
        message = f"sink {type(sink).__name__} raised {type(exc).__name__}: {exc}"
        self.logger.warning(message, extra={"synapse_event": True}, exc_info=exc)
        warning = self.make_event(WarningEvent, message, "sink_failed")
        for other in self._sinks:
            if other is not sink and id(other) not in failed:
                try:
                    other.emit(warning)
                except Exception as exc2:
                    self._sink_failed(other, exc2)

    def make_event(self, cls: type[E], *fields: Any) -> E:
        """Build an event of type ``cls`` stamped with this run's id, next seq and the time;
        ``fields`` are the type's own fields, in order (trailing defaults may be left out)."""
        if self._pending:  # coalesced progress set before this event goes out first
            self.flush_progress()
        now = _time()
        return cls(self.run_id, next(self._seq), now, now - self._t0, *fields)  # type: ignore[call-arg]

    # -- progress and metrics ----------------------------------------------------------------

    def set_progress(self, current: float, total: float, step: str | None = None) -> None:
        """Report progress ``current`` of ``total`` (for ``step``, when given).

        ``total <= 0`` means indeterminate. Out-of-range values are clamped into
        ``[0, total]`` with one warning event per step; progress never kills an action. This
        is also a cancellation point: it raises CancelledError once the run is cancelled.

        Every sink gets every progress event, unless every sink says it only shows samples
        (``coalesce_progress = True``: the run's record, the notebook and terminal views, the
        backend's job record); then, past a step's first ``PROGRESS_WHOLE`` events, its
        progress goes out at most every ``PROGRESS_INTERVAL`` seconds, its last value always,
        and completion at once. A run
        log (:class:`~synapse_sdk.plugins.sinks.JsonlSink`) or any other sink turns that off.
        """
        if self._cancelled:
            raise CancelledError(action=self.action_name)
        if total > 0 and (current < 0 or current > total):
            clamped = min(max(current, 0), total)
            if self._clamp_warned is None:
                self._clamp_warned = set()
            if step not in self._clamp_warned:
                self._clamp_warned.add(step)
                where = f" for step {step!r}" if step else ""
                self.warn(
                    f"progress {current}/{total}{where} is out of range; clamped to "
                    f"{clamped}/{total} (later out-of-range values are clamped silently)",
                    code="progress_clamped",
                )
            current = clamped
        sinks = self._sinks
        if not sinks:
            return
        now = _time()
        state = self._progress
        if state is None:
            state = self._progress = _ProgressState(sinks, 0)
            self._pending = state.pending
        if state.coalesce and current != total:
            # Every sink shows a sample of progress (the run's record, a notebook bar, the
            # terminal): past a step's first PROGRESS_WHOLE events, at most one event per
            # PROGRESS_INTERVAL seconds; the latest value waits and goes out before any later
            # event and at the end.
            if now < state.due.get(step, 0.0):
                state.pending[step] = (current, total, now)
                state.coalesced += 1
                return
            sent = state.sent.get(step, 0) + 1
            state.sent[step] = sent
            if sent >= PROGRESS_WHOLE:
                state.due[step] = now + PROGRESS_INTERVAL
        pending = self._pending
        if pending:
            pending.pop(step, None)
            self.flush_progress()
        event = _tuple_new(
            ProgressEvent,
            (self.run_id, next(self._seq), now, now - self._t0, current, total, step),
        )
        for sink in sinks:
            try:
                sink.emit(event)
            except Exception as exc:  # a view must never kill the action
                self._sink_failed(sink, exc)

    @property
    def progress_coalesced(self) -> int:
        """How many ``set_progress`` calls were left out by coalescing (see there)."""
        return 0 if self._progress is None else self._progress.coalesced

    def flush_progress(self) -> None:
        """Send the progress values that wait to be coalesced (see :meth:`set_progress`)."""
        pending = self._pending
        if not pending:
            return
        if self._progress is not None:
            self._progress.coalesced -= len(pending)  # these do go out
        waiting = sorted(pending.items(), key=lambda item: item[1][2])  # in call order
        pending.clear()
        for step, (current, total, when) in waiting:
            event = _tuple_new(
                ProgressEvent,
                (self.run_id, next(self._seq), when, when - self._t0, current, total, step),
            )
            for sink in self._sinks:
                try:
                    sink.emit(event)
                except Exception as exc:  # a view must never kill the action
                    self._sink_failed(sink, exc)

    def set_metrics(self, value: Mapping[str, Any], step: str | None = None) -> None:
        """Record metric values, e.g. ``{'loss': 0.3, 'epoch': 2}``, optionally for ``step``."""
        if not isinstance(value, Mapping):
            raise TypeError(
                f"set_metrics expects a mapping of metric name to value, got "
                f"{type(value).__name__}: {value!r} (action {self.action_name!r}); "
                f"write ctx.set_metrics({{'loss': value}})"
            )
        if self._sinks:
            self.emit(self.make_event(MetricsEvent, dict(value), step))

    # -- logs and warnings -------------------------------------------------------------------

    @property
    def logger(self) -> logging.Logger:
        """A stdlib logger for this run; its records become LogEvents and reach ``caplog``."""
        if self._logger is None:
            name = f"synapse_sdk.actions.{self.action_name or 'action'}"
            self._logger = _ContextLogger(name, self)
        return self._logger

    def log(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        file: str | None = None,
        *,
        level: str = "info",
    ) -> None:
        """Log a structured event, e.g. ``ctx.log('train_start', {'epochs': 10})``."""
        if data is None:
            data = {}
        elif type(data) is not dict and not isinstance(data, Mapping):
            raise TypeError(
                f"ctx.log data must be a mapping, got {type(data).__name__}: {data!r} "
                f"(event {event!r}); wrap it: ctx.log({event!r}, {{'value': ...}})"
            )
        levelno = _LEVELS.get(level)
        if levelno is None:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}")
        if self._sinks:
            if self._pending:
                self.flush_progress()
            now = _time()
            fields = (self.run_id, next(self._seq), now, now - self._t0, event, dict(data))
            self.emit(_tuple_new(LogEvent, (*fields, level, file)))
        logger = self._logger or self.logger
        # a LogRecord costs microseconds: build one only when a handler will receive it
        if logger.isEnabledFor(levelno) and _has_handler(logger, levelno):
            logger.log(levelno, "%s %s", event, dict(data), extra={"synapse_event": True})

    def log_message(
        self,
        message: Any,
        level: Any = "info",
        *,
        context: Any = None,
        language: str | None = None,
        step: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Log a user-facing message at ``level`` (debug, info, success, warning, danger,
        error, critical; a string or a ``LogLevel``).

        ``message`` is a string (``kwargs`` fill its ``{fields}``), a ``{language: template}``
        dict, or a message code (see :mod:`synapse_sdk.plugins.log_messages`), whose own level
        wins and whose value is kept as ``data['key']``. ``language`` picks the translation
        (default :attr:`language`, then ``SYNAPSE_LANGUAGE`` in :attr:`env`, then English);
        ``step`` is recorded as ``data['step']``. ``context=`` is the deprecated name of
        ``level``.
        """
        if context is not None:
            from .log_messages import level_from_context

            level = level_from_context(context, stacklevel=2)
        if type(message) is str and not kwargs and step is None and type(level) is str:
            levelno = _LEVELS.get(level)
            if levelno is not None:
                self.logger.log(levelno, message)
                return
        self._log_user_message(message, level, language, step, kwargs)

    def _log_user_message(
        self,
        message: Any,
        level: Any,
        language: str | None,
        step: str | None,
        kwargs: dict[str, Any],
    ) -> None:
        """The general form of :meth:`log_message`: codes, translations, the platform's extra
        levels. The event keeps the level's name; the stdlib record gets its number."""
        from .log_messages import LogMessageCode, format_message, resolve_log_message

        key: str | None = None
        lang = language or self.language or self.env.get("SYNAPSE_LANGUAGE") or "en"
        if isinstance(message, LogMessageCode):
            key = str(message.value)
            text, level = resolve_log_message(message, lang, **kwargs)
        elif isinstance(message, Mapping):
            template = message.get(lang) or message.get("en") or next(iter(message.values()), "")
            text = format_message(str(template), kwargs)
        else:
            text = format_message(str(message), kwargs)
        name = str(getattr(level, "value", level))
        levelno = _MESSAGE_LEVELS.get(name)
        if levelno is None:
            raise ValueError(f"unknown log level {name!r}; use one of {', '.join(_MESSAGE_LEVELS)}")
        data: dict[str, Any] = {"message": text}
        if key is not None:
            data["key"] = key
        if step is not None:
            data["step"] = step
        if self._sinks:
            self.emit(self.make_event(LogEvent, "message", data, name, None))
        logger = self.logger
        if logger.isEnabledFor(levelno):
            logger.log(levelno, text, extra={"synapse_event": True})

    # -- the reference synapse-sdk's reporting calls ------------------------------------------

    #: The model a training run resumes from, as the platform hands it over
    #: (``{'category', 'path', 'id', 'name'}``), or None. ``BaseTrainAction`` prefers it to
    #: ``params.checkpoint``.
    checkpoint: dict[str, Any] | None = None
    #: Language of message-code texts (``log_message``); None: ``SYNAPSE_LANGUAGE`` in
    #: ``env``, else English.
    language: str | None = None

    def log_metric(self, category: str, key: str, value: Any, **metrics: Any) -> None:
        """Record one metric and its companions under ``category``:
        ``log_metric('validation', 'epoch', 3, val_loss=0.2)`` is
        ``set_metrics({'epoch': 3, 'val_loss': 0.2}, step='validation')``."""
        self.set_metrics({key: value, **metrics}, category)

    def log_visualization(
        self, category: str, group: str, index: int, image: str | os.PathLike[str], **meta: Any
    ) -> None:
        """Record an image file (a prediction, a plot): a ``visualization`` log event whose
        ``file`` is ``image`` and whose data is ``category``, ``group``, ``index`` and
        ``meta``."""
        data = {"category": category, "group": group, "index": index, **meta}
        self.log("visualization", data, os.fspath(image))

    def log_dev_event(self, message: str, data: Mapping[str, Any] | None = None) -> None:
        """A debug-level ``dev_event`` log event for plugin developers."""
        self.log("dev_event", {"message": message, "data": data}, level="debug")

    def end_log(self) -> None:
        """Say the run is complete (the reference's closing message; runs here also end with
        a ``run_finished`` event of their own)."""
        from .log_messages import CommonLogMessageCode

        self.log_message(CommonLogMessageCode.PLUGIN_RUN_COMPLETE)

    def _emit_log_record(self, record: logging.LogRecord) -> None:
        if self._sinks:
            data: dict[str, Any] = {"message": record.getMessage()}
            if record.exc_info and record.exc_info[1] is not None:
                data["exception"] = repr(record.exc_info[1])
            self.emit(self.make_event(LogEvent, "message", data, record.levelname.lower(), None))

    def warn(self, message: str, code: str = "warning") -> None:
        """Emit a warning event and a WARNING log record; the run goes on."""
        if self._sinks:
            self.emit(self.make_event(WarningEvent, message, code))
        self.logger.warning(message, extra={"synapse_event": True})

    def step_event(
        self,
        step: str,
        status: str,
        *,
        position: int | None = None,
        weight: float | None = None,
        detail: str | None = None,
    ) -> None:
        """Emit a StepEvent (used by the step orchestrator)."""
        if self._sinks:
            self.emit(self.make_event(StepEvent, step, status, position, weight, detail))

    # -- cancellation ------------------------------------------------------------------------

    # the sink recording this run as a backend job (set by the run, see job_id)
    _job_sink: Any = None

    @property
    def job_id(self) -> int | None:
        """The backend job that records this run (None when no backend records it)."""
        sink = self._job_sink
        return None if sink is None else sink.job_id

    # while a block holds cancellation (hold_cancel): a cancel waits here instead
    _holding = 0
    _held_cancel = False

    def cancel(self) -> None:
        """Ask the action to stop at its next cancellation point (thread-safe)."""
        if self._holding:
            self._held_cancel = True
        else:
            self._cancelled = True

    @contextmanager
    def hold_cancel(self) -> Iterator[None]:
        """Keep the run's cancellation points quiet in this block.

        What must run to its end even in a cancelled run (the rollback of the steps that ran)
        runs in such a block: ``set_progress`` and ``check_cancelled`` do not raise there. A
        cancel asked before the block or during it applies when the block ends.
        """
        if self._cancelled:
            self._held_cancel = True
            self._cancelled = False
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding and self._held_cancel:
                self._held_cancel = False
                self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise CancelledError if the run was cancelled; call it in long loops."""
        if self._cancelled:
            raise CancelledError(action=self.action_name)
