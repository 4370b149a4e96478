"""What a failed test's report shows of its runs.

* :func:`events_report`: the "synapse events" section, one timeline per run, bounded: a long
  run shows its first and last events, the warnings, errors and step changes in between, and
  ``… N events omitted`` for the rest (a 5,000-step run stays under a hundred lines).
* :func:`drop_shown_log_lines`: pytest's "Captured log" section without the records of those
  runs, which the timeline already shows (each ``ctx.log`` line would otherwise be printed
  twice).
* :func:`retarget_backend_hints`: a missing-backend error raised inside a test points at the
  kit's fixtures instead of at scripts and the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.errors import BackendNotConfiguredError, PluginError
from synapse_sdk.plugins.events import (
    Event,
    LogEvent,
    RunStarted,
    StepEvent,
    WarningEvent,
)

from ._masking import public_text
from ._views import describe_event

if TYPE_CHECKING:
    from ._context import RecordingContext

__all__ = [
    "BACKEND_HINT",
    "NO_BACKEND_MARKER_HINT",
    "drop_shown_log_lines",
    "events_report",
    "retarget_backend_hints",
]

#: event lines shown at each end of a run's timeline (shared between the runs of a test)
ENDS = 30
#: warnings, error logs and step changes shown from the middle of a long run
NOTABLE = 20
MAX_RUNS = 10
MAX_LINE = 200

BACKEND_HINT = (
    "in a test, run the action with the synapse_run fixture (synapse_run(action, params)): "
    "its ctx.client is the synapse_backend fake, seeded with synapse_backend.add_dataset(...) / "
    "add_model(...); or pass ctx=synapse_ctx to run_action"
)
NO_BACKEND_MARKER_HINT = (
    "this test is marked @pytest.mark.synapse(backend=None), so ctx.client is None; drop "
    "backend=None to give the action the synapse_backend fake"
)


# -- the events section ----------------------------------------------------------------------


def _runs(contexts: Iterable[RecordingContext]) -> dict[str, list[Event]]:
    """Each run's recorded events (by run id, in first-seen order), each event once."""
    runs: dict[str, dict[int, Event]] = {}
    for ctx in contexts:
        for event in ctx.events:
            runs.setdefault(event.run_id, {}).setdefault(event.seq, event)
    return {run_id: [by_seq[s] for s in sorted(by_seq)] for run_id, by_seq in runs.items()}


def _notable(event: Event) -> bool:
    if isinstance(event, (WarningEvent, StepEvent)):
        return True
    return isinstance(event, LogEvent) and event.level in ("warning", "error", "critical")


def _line(event: Event, width: int) -> str:
    # one line per event: a multi-line error (with its hint) is printed in full above
    text = public_text(describe_event(event)).partition("\n")[0]
    if len(text) > MAX_LINE:
        text = text[: MAX_LINE - 1] + "…"
    return f"  {event.seq:>{width}} {text}"


def _shown(events: Sequence[Event], ends: int) -> list[Event]:
    """The events a report shows of one run: all of a short run; the ends and the notable
    events between them of a long one."""
    if len(events) <= 2 * ends + 5:
        return list(events)
    middle = [e for e in events[ends:-ends] if _notable(e)][:NOTABLE]
    return [*events[:ends], *middle, *events[-ends:]]


def _run_header(run_id: str, events: Sequence[Event], shown: int, fallback: str | None) -> str:
    action = next((e.action for e in events if isinstance(e, RunStarted)), fallback)
    total = events[-1].seq - events[0].seq + 1
    if shown >= total:
        return f"run {run_id} ({action or 'no action'}):"
    return f"run {run_id} ({action or 'no action'}): {total:,} events, {shown} shown"


def events_report(contexts: Sequence[RecordingContext]) -> tuple[str, set[str]]:
    """The "synapse events" section for a test's contexts, and the run ids it covers."""
    runs = _runs(contexts)
    if not runs:
        return "", set()
    names = {c.run_id: c.action_name for c in contexts}
    listed = list(runs.items())[:MAX_RUNS]
    ends = max(5, ENDS // len(listed))
    lines: list[str] = []
    for run_id, events in listed:
        shown = _shown(events, ends)
        width = max(3, len(str(events[-1].seq)))
        lines.append(_run_header(run_id, events, len(shown), names.get(run_id)))
        previous = events[0].seq - 1
        for event in shown:
            gap = event.seq - previous - 1
            if gap > 0:
                lines.append(f"  {'…':>{width}} {gap:,} events omitted")
            lines.append(_line(event, width))
            previous = event.seq
    if len(runs) > len(listed):
        lines.append(
            f"… and {len(runs) - len(listed)} more runs (synapse_run.runs holds every Run)"
        )
    return "\n".join(lines), set(dict(listed))


# -- the captured log ------------------------------------------------------------------------


def drop_shown_log_lines(
    config: Any, sections: list[tuple[str, str]], when: str, run_ids: set[str]
) -> None:
    """Rebuild pytest's "Captured log <when>" section without the records of ``run_ids``.

    Reads the logging plugin's report handler, which still holds the phase's records when
    the report is made; without it (another pytest, ``-p no:logging``) nothing changes.
    """
    title = f"Captured log {when}"
    index = next((i for i, (name, _) in enumerate(sections) if name == title), None)
    if index is None or not run_ids:
        return
    handler = getattr(config.pluginmanager.get_plugin("logging-plugin"), "report_handler", None)
    records = getattr(handler, "records", None)
    if not isinstance(handler, logging.Handler) or not isinstance(records, list):
        return
    kept = [r for r in records if getattr(r, "synapse_run_id", None) not in run_ids]
    if len(kept) == len(records):
        return
    text = "\n".join(handler.format(r) for r in kept).strip()
    if text:
        sections[index] = (title, text)
    else:
        del sections[index]


# -- hints -----------------------------------------------------------------------------------


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and all(exc is not s for s in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def retarget_backend_hints(exc: BaseException | None, hint: str = BACKEND_HINT) -> bool:
    """Point the hint of a BackendNotConfiguredError in ``exc``'s chain at the test
    fixtures (also where an error wrapping it repeats the old hint); True if one was found."""
    chain = _chain(exc)
    found = [e for e in chain if isinstance(e, BackendNotConfiguredError)]
    for error in found:
        old = error.hint
        if not old or old == hint:
            continue
        error.hint = hint
        for other in chain:
            if isinstance(other, PluginError) and old in other.message:
                other.message = other.message.replace(old, hint)
    return bool(found)
