"""Assertion helpers for runs: progress, metrics, logs, warnings and backend uploads.

Each helper takes a ``Run``, a :class:`~synapse_testing.RecordingContext`, an
:class:`~synapse_testing.EventLog` or a list of events, raises ``AssertionError`` whose
message shows what actually happened, and hides its own frame from pytest tracebacks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.errors import did_you_mean
from synapse_sdk.plugins.events import LogEvent, WarningEvent

from ._checked import mark_checked
from ._views import ANY, AnyStep, EventLog

if TYPE_CHECKING:
    from synapse_sdk.clients.base import ModelRecord

    from ._backend import FakeBackend

__all__ = [
    "assert_logged",
    "assert_metrics",
    "assert_model_uploaded",
    "assert_progress_complete",
    "assert_warned",
]


def _step(step: str | None) -> str:
    return "the run" if step is None else f"step {step!r}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _pairs(points: Sequence[tuple[float, float]]) -> str:
    return ", ".join(f"{_num(c)}/{_num(t)}" for c, t in points)


def _events_text(log: EventLog, limit: int = 30) -> str:
    lines = log.timeline()
    if not lines:
        return "  (no events)"
    shown = [f"  {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"  ... and {len(lines) - limit} more")
    return "\n".join(shown)


def assert_progress_complete(source: Any, step: str | AnyStep | None = ANY) -> None:
    """Progress of ``step`` (of every step that reported progress, by default) never went
    backwards and its last update reached the total."""
    __tracebackhide__ = True
    log = EventLog.of(source)
    timeline = log.progress_timeline()
    if step is ANY:
        if not timeline:
            raise AssertionError(
                f"no progress was reported; the run's events:\n{_events_text(log)}"
            )
        steps = list(timeline)
    else:
        assert not isinstance(step, AnyStep)
        if step not in timeline:
            have = ", ".join(_step(s) for s in timeline) or "none"
            raise AssertionError(f"no progress was reported for {_step(step)}; progress: {have}")
        steps = [step]
    for name in steps:
        points = timeline[name]
        previous = None
        for index, (current, total) in enumerate(points):
            fraction = current / total if total > 0 else None
            if fraction is not None and previous is not None and fraction < previous:
                before = points[index - 1]
                raise AssertionError(
                    f"progress of {_step(name)} went backwards at update {index + 1}: "
                    f"{_num(before[0])}/{_num(before[1])} -> {_num(current)}/{_num(total)}\n"
                    f"  timeline: {_pairs(points)}"
                )
            if fraction is not None:
                previous = fraction
        current, total = points[-1]
        if total <= 0:
            raise AssertionError(
                f"progress of {_step(name)} never got a total (indeterminate: "
                f"{_num(current)}/{_num(total)})\n  timeline: {_pairs(points)}"
            )
        if current < total:
            raise AssertionError(
                f"progress of {_step(name)} did not reach its total: last update "
                f"{_num(current)}/{_num(total)}\n  timeline: {_pairs(points)}"
            )


def _close(a: Any, b: Any, rel: float | None, abs_: float | None) -> bool:
    if rel is None and abs_ is None:
        return bool(a == b)
    try:
        return math.isclose(float(a), float(b), rel_tol=rel or 0.0, abs_tol=abs_ or 0.0)
    except (TypeError, ValueError):
        return bool(a == b)


def assert_metrics(
    source: Any,
    key: str,
    expected: Sequence[Any],
    *,
    step: str | AnyStep | None = ANY,
    rel: float | None = None,
    abs: float | None = None,
) -> None:
    """The values recorded for metric ``key`` (in ``step``, or in every step) equal
    ``expected``, or are close to it when ``rel`` / ``abs`` tolerances are given."""
    __tracebackhide__ = True
    log = EventLog.of(source)
    actual = log.metrics(key, step)
    where = "" if isinstance(step, AnyStep) else f" in {_step(step)}"
    if not actual:
        series = log.metrics_series()
        known = sorted(
            {(k, s) for s, per_key in series.items() for k in per_key},
            key=lambda ks: (ks[0], ks[1] or ""),
        )
        listed = ", ".join(f"{k} [{'run' if s is None else s}]" for k, s in known) or "none"
        close = did_you_mean(key, {k for k, _ in known})
        hint = f"; did you mean {close!r}?" if close and close != key else ""
        raise AssertionError(
            f"metric {key!r} was never recorded{where}; recorded metrics: {listed}{hint}"
        )
    expected = list(expected)
    tolerance = ""
    if rel is not None or abs is not None:
        tolerance = f" (rel={rel}, abs={abs})"
    mismatch = None
    for index, (a, b) in enumerate(zip(actual, expected, strict=False)):
        if not _close(a, b, rel, abs):
            mismatch = f"first difference at index {index}: {a!r} != {b!r}{tolerance}"
            break
    if mismatch is None and len(actual) != len(expected):
        mismatch = f"{len(actual)} values recorded, {len(expected)} expected"
    if mismatch is not None:
        raise AssertionError(
            f"metric {key!r}{where} series differs\n"
            f"  expected: {expected!r}\n"
            f"  actual:   {actual!r}\n"
            f"  {mismatch}"
        )


def _data_matches(data: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(k in data and data[k] == v for k, v in wanted.items())


def assert_logged(
    source: Any,
    event: str | None = None,
    *,
    message: str | None = None,
    level: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> LogEvent:
    """A log event happened and is returned: ``event`` is a ``ctx.log`` event name,
    ``message`` a substring of a logger message, ``data`` a subset of the event's data."""
    __tracebackhide__ = True
    if event is None and message is None:
        raise TypeError("assert_logged needs an event name or message=")
    log = EventLog.of(source)
    for entry in log.logs(level=level):
        if event is not None and entry.event != event:
            continue
        if message is not None and message not in entry.message:
            continue
        if data is not None and not _data_matches(entry.data, data):
            continue
        return entry
    wanted = []
    if event is not None:
        wanted.append(f"event {event!r}")
    if message is not None:
        wanted.append(f"message containing {message!r}")
    if data is not None:
        wanted.append(f"data {dict(data)!r}")
    if level is not None:
        wanted.append(f"level {level!r}")
    entries = [line for line in log.timeline() if line.startswith("log ")]
    listed = "\n".join(f"  {line}" for line in entries) or "  (no log events)"
    raise AssertionError(f"no log with {', '.join(wanted)}; the run logged:\n{listed}")


def assert_warned(
    source: Any, code: str | None = None, *, match: str | None = None
) -> WarningEvent:
    """A warning event (with ``code``; whose message contains ``match``) happened; it is
    returned and counts as checked for the strict teardown check."""
    __tracebackhide__ = True
    log = EventLog.of(source)
    warnings = log.events_of(WarningEvent)
    mark_checked(warnings)
    for warning in warnings:
        if (code is None or warning.code == code) and (match is None or match in warning.message):
            return warning
    wanted = " and ".join(
        part
        for part in (
            f"code {code!r}" if code is not None else "",
            f"a message containing {match!r}" if match is not None else "",
        )
        if part
    )
    listed = "\n".join(f"  {w.code}: {w.message}" for w in warnings) or "  (no warnings)"
    raise AssertionError(f"no warning{' with ' + wanted if wanted else ''}; warnings:\n{listed}")


def assert_model_uploaded(
    backend: FakeBackend,
    *,
    name: str | None = None,
    meta: Mapping[str, Any] | None = None,
    dataset: int | None = None,
    content: bytes | None = None,
) -> ModelRecord:
    """The code under test uploaded a model (``create_model``) matching every given field;
    returns its record. ``meta`` is matched as a subset."""
    __tracebackhide__ = True
    models = backend.uploaded_models
    for model in models:
        if name is not None and model["name"] != name:
            continue
        if meta is not None and not _data_matches(model["meta"], meta):
            continue
        if dataset is not None and model["dataset"] != dataset:
            continue
        if content is not None and backend.model_bytes(model) != content:
            continue
        return model
    wanted = ", ".join(
        f"{k}={v!r}"
        for k, v in (("name", name), ("meta", meta), ("dataset", dataset), ("content", content))
        if v is not None
    )
    if not models:
        calls = ", ".join(str(c) for c in backend.calls[:10]) or "none"
        raise AssertionError(
            f"no model was uploaded (expected one with {wanted or 'any fields'}); "
            f"backend calls: {calls}"
        )
    listed = "\n".join(
        f"  {m['id']} {m['name']!r} meta={m['meta']!r} dataset={m['dataset']!r} "
        f"size={m['file']['size']}"
        for m in models
    )
    raise AssertionError(f"no uploaded model with {wanted}; uploaded models:\n{listed}")
