"""The live view pushes at a bounded rate whatever the action's event rate."""

from __future__ import annotations

import time

from synapse_sdk.notebook import ActionPanel, NotebookSink, RunView
from synapse_sdk.plugins import RuntimeContext, action
from synapse_sdk.plugins.events import ProgressEvent, RunFinished, RunStarted

N = 100_000


@action(name="flood")
def flood(params: dict, ctx: RuntimeContext) -> dict:
    for i in range(N):
        ctx.set_progress(i + 1, N, step="load")
    return {"done": N}


def test_100k_progress_events_send_a_few_hundred_bar_updates_and_end_at_100(comm_log):
    panel = ActionPanel(flood)
    panel.start()
    run = panel.wait(timeout=30)

    assert run is not None and run.ok
    bar = panel.view.bars["load"].bar
    updates = comm_log.updates_to(bar)
    # the run's record keeps a bounded timeline: evenly spaced samples, the first and the last
    kept = run.events_of(ProgressEvent)
    assert len(kept) <= 300 and run.omitted == {"progress": N - len(kept)}
    assert (kept[0].current, kept[-1].current) == (1, N)
    assert 1 <= len(updates) <= 300
    # The last message the front end got puts the bar at the final value, styled as done.
    values = [u["value"] for u in updates if "value" in u]
    assert values[-1] == N
    assert bar.value == bar.max == N
    assert bar.bar_style == "success"
    assert panel.view.bars["load"].text.value.startswith(f"{N}/{N} (100%) [00:0")


def test_bar_updates_stay_under_ten_per_second_for_a_slow_steady_stream(comm_log):
    view = RunView()
    sink = NotebookSink(view, interval=0.1, action="steady")
    ctx = RuntimeContext(sinks=[sink], action_name="steady")
    ctx.emit(ctx.make_event(RunStarted, "steady", {}))
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < 1.0:  # ~1 s of events, one every 0.5 ms
        i += 1
        ctx.set_progress(i, 1_000_000)
        time.sleep(0.0005)
    ctx.emit(ctx.make_event(RunFinished, "steady", "succeeded", 1.0, None))
    sink.close()
    elapsed = time.monotonic() - t0

    bar = view.bars[None].bar
    value_updates = [u for u in comm_log.updates_to(bar) if "value" in u]
    assert i > 200  # the stream was far faster than the view
    # at most 10 per second plus the final flush (and one of slack for timer jitter)
    assert len(value_updates) <= 10 * elapsed + 2
    assert value_updates[-1]["value"] == i


def test_flusher_shows_progress_while_the_action_is_paused(comm_log):
    """A trailing update: the last value shows up even when no later event arrives."""
    view = RunView()
    sink = NotebookSink(view, interval=0.05, action="pause")
    ctx = RuntimeContext(sinks=[sink], action_name="pause")
    ctx.emit(ctx.make_event(RunStarted, "pause", {}))
    for i in range(1, 51):
        ctx.set_progress(i, 100)
    deadline = time.monotonic() + 5
    while view.bars.get(None) is None or view.bars[None].bar.value != 50:
        assert time.monotonic() < deadline, "the flusher never pushed the paused value"
        time.sleep(0.01)
    sink.close()
    assert view.bars[None].bar.bar_style == "info"  # no RunFinished: not styled as done
