"""Progress reaches views that only show samples coalesced; a run log still gets every event."""

from __future__ import annotations

import json

from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_sdk.plugins.context import PROGRESS_WHOLE
from synapse_sdk.plugins.events import Event, LogEvent, ProgressEvent
from synapse_sdk.plugins.sinks import JsonlSink, MemorySink

N = 20_000


class Sampling:
    """A view that shows only the latest progress (as the notebook and terminal views do)."""

    coalesce_progress = True

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


@action(name="busy")
def busy(params: dict, ctx: RuntimeContext) -> dict:
    for i in range(N):
        ctx.set_progress(i + 1, N)
        if i == N // 2:
            ctx.log("halfway")
    ctx.set_progress(5, 10, step="tail")
    return {}


def test_views_that_sample_get_a_few_events_in_order_and_always_the_last():
    view = Sampling()
    run = run_action(busy, sinks=[view])
    progress = [e for e in view.events if isinstance(e, ProgressEvent)]
    assert PROGRESS_WHOLE <= len(progress) < N / 4
    assert [p.current for p in progress[:PROGRESS_WHOLE]] == list(range(1, PROGRESS_WHOLE + 1))
    run_level = [p.current for p in progress if p.step is None]
    assert run_level == sorted(run_level) and run_level[-1] == N
    assert (progress[-1].step, progress[-1].current) == ("tail", 5)  # flushed before the end
    seqs = [e.seq for e in view.events]
    assert seqs == sorted(seqs) == list(range(len(seqs)))
    # the log comes after the progress sent before it, never before a value set earlier
    halfway = next(i for i, e in enumerate(view.events) if isinstance(e, LogEvent))
    before = [e.current for e in view.events[:halfway] if isinstance(e, ProgressEvent)]
    assert before[-1] == N // 2 + 1
    # the run's record says what it left out of its own timeline, coalesced calls included
    assert len(run.events_of(ProgressEvent)) + run.omitted["progress"] == N + 1


def test_a_run_log_or_any_other_sink_gets_every_progress_event(tmp_path):
    memory = MemorySink()
    log = tmp_path / "run.jsonl"
    run_action(busy, sinks=[Sampling(), memory, JsonlSink(log)])
    assert len([e for e in memory.events if isinstance(e, ProgressEvent)]) == N + 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum(1 for line in lines if line["type"] == "progress") == N + 1


def test_completion_goes_out_at_once():
    view = Sampling()
    ctx = RuntimeContext(sinks=[view])
    for i in range(PROGRESS_WHOLE + 50):
        ctx.set_progress(i, 10_000)
    ctx.set_progress(10_000, 10_000)
    assert view.events[-1].current == 10_000  # without a flush: completion is never held
