"""RunView / NotebookSink details: step states, indeterminate progress, metrics history."""

from __future__ import annotations

from synapse_sdk.notebook import NotebookSink, RunView, sparkline_svg
from synapse_sdk.plugins import RuntimeContext
from synapse_sdk.plugins.events import RunFinished, RunStarted


def finished_sink(drive, status: str = "succeeded") -> RunView:
    view = RunView(log_lines=3)
    sink = NotebookSink(view, interval=10.0, action="demo")  # only the final flush
    ctx = RuntimeContext(sinks=[sink], action_name="demo")
    ctx.emit(ctx.make_event(RunStarted, "demo", {}))
    drive(ctx)
    ctx.emit(ctx.make_event(RunFinished, "demo", status, 0.1, None))
    sink.close()
    return view


def test_step_events_make_one_bar_per_step_styled_by_state():
    def drive(ctx: RuntimeContext) -> None:
        ctx.step_event("prepare", "started")
        ctx.set_progress(5, 5, step="prepare")
        ctx.step_event("prepare", "finished")
        ctx.step_event("upload", "started")
        ctx.set_progress(2, 10, step="upload")
        ctx.step_event("upload", "failed")
        ctx.step_event("cleanup", "skipped")

    view = finished_sink(drive, status="failed")
    assert list(view.bars) == ["prepare", "upload", "cleanup"]
    styles = {step: bar.bar.bar_style for step, bar in view.bars.items()}
    assert styles == {"prepare": "success", "upload": "danger", "cleanup": "warning"}
    assert view.bars["upload"].text.value == "2/10 (20%)"
    assert [b.bar.description for b in view.bars.values()] == ["prepare", "upload", "cleanup"]


def test_indeterminate_progress_shows_the_count_and_an_empty_bar():
    view = finished_sink(lambda ctx: ctx.set_progress(7, 0, step="scan"))
    assert view.bars["scan"].bar.value == 0
    assert view.bars["scan"].text.value == "7"


def test_metrics_show_latest_values_with_a_bounded_history_and_logs_a_tail():
    def drive(ctx: RuntimeContext) -> None:
        for i in range(10_000):
            ctx.set_metrics({"loss": 1.0 / (i + 1), "phase": "warmup" if i < 10 else "main"})
        for i in range(5):
            ctx.log("tick", {"i": i})
        ctx.warn("disk almost full", code="disk")

    view = finished_sink(drive)
    html = view.metrics.value
    assert "loss" in html and "0.0001" in html and "main" in html
    points = html.split('points="')[1].split('"')[0].split()
    assert 100 <= len(points) < 240  # decimated, never 10,000 points
    logs = view.logs.value
    assert "… 3 earlier lines" in logs
    assert "tick {&#x27;i&#x27;: 4}" in logs and "warning disk almost full" in logs
    assert "tick {&#x27;i&#x27;: 1}" not in logs


def test_sparkline_needs_two_points_and_scales_into_the_box():
    assert sparkline_svg([1.0]) == ""
    svg = sparkline_svg([0.0, 5.0, 10.0], width=100, height=20)
    assert 'points="0.0,18.0 50.0,10.0 100.0,2.0"' in svg
