"""RunView / NotebookSink details: step states, indeterminate progress, metrics history."""

from __future__ import annotations

from synapse_sdk.notebook import NotebookSink, RunView, sparkline_svg
from synapse_sdk.notebook.views import progress_text
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
    # a stopped step promises no time left
    assert view.bars["upload"].text.value.startswith("2/10 (20%) [00:00, ")
    assert "<" not in view.bars["upload"].text.value
    assert [b.label for b in view.bars.values()] == ["prepare", "upload", "cleanup"]


def test_indeterminate_progress_shows_the_count_and_an_empty_bar():
    view = finished_sink(lambda ctx: ctx.set_progress(7, 0, step="scan"))
    assert view.bars["scan"].bar.value == 0
    assert view.bars["scan"].text.value == "7 [00:00, ? it/s]"  # one event: no rate yet


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


def test_bar_text_reads_like_tqdm_count_elapsed_left_and_rate():
    assert progress_text(59, 300, 1.3, 45.1) == "59/300 (20%) [00:01<00:05, 45.1 it/s]"
    assert progress_text(300, 300, 6.6, 45.3) == "300/300 (100%) [00:06<00:00, 45.3 it/s]"
    assert progress_text(2, 10, 5.0, 0.4) == "2/10 (20%) [00:05<00:20, 2.50 s/it]"
    assert progress_text(1797, 1797, 0.9, 1996.7) == "1797/1797 (100%) [00:00<00:00, 1,997 it/s]"
    assert progress_text(5, 10, 3725.0, None) == "5/10 (50%) [1:02:05<?, ? it/s]"
    assert progress_text(7, 0, 2.0, 3.5) == "7 [00:02, 3.5 it/s]"
    assert progress_text(5, 10, 2.0, 2.5, live=False) == "5/10 (50%) [00:02, 2.5 it/s]"


def test_bars_are_timed_by_the_events_clock():
    from synapse_sdk.plugins.events import ProgressEvent

    view = RunView()
    sink = NotebookSink(view, interval=10.0, action="demo")
    for i, t in enumerate((1.0, 2.0, 3.0), start=1):
        sink.emit(ProgressEvent("r", i, 0.0, t, float(i * 10), 100.0, "train"))
    sink.flush()
    # 20 more items in 2 s since the step was first seen: 10 it/s, 70 left: 7 s
    assert view.bars["train"].text.value == "30/100 (30%) [00:02<00:07, 10.0 it/s]"
    assert view.bars["train"].bar.bar_style == "info"
    view.close()


def test_a_step_that_reached_its_total_keeps_green_when_the_run_is_cancelled():
    def drive(ctx: RuntimeContext) -> None:
        ctx.set_progress(1797, 1797, step="dataset")
        ctx.set_progress(59, 300, step="train")

    view = finished_sink(drive, status="cancelled")
    styles = {step: bar.bar.bar_style for step, bar in view.bars.items()}
    assert styles == {"dataset": "success", "train": "warning"}


def test_the_static_snapshot_shows_each_bar_with_its_fill_colour_and_text():
    def drive(ctx: RuntimeContext) -> None:
        ctx.set_progress(4, 4, step="load")
        ctx.set_progress(1, 4, step="train")

    view = finished_sink(drive, status="failed")
    html = view.snapshot_html()
    assert 'width:100.0%;height:14px;background:#4caf50"' in html  # load, green
    assert 'width:25.0%;height:14px;background:#f44336"' in html  # train, red
    assert "1/4 (25%) [00:00, " in html
