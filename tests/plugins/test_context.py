"""RuntimeContext: events, clamping, logging to caplog, cancellation, env."""

import logging
import os

import pytest

from synapse_sdk.plugins import CancelledError, MemorySink, RuntimeContext
from synapse_sdk.plugins.events import LogEvent, MetricsEvent, ProgressEvent, WarningEvent


def make():
    sink = MemorySink()
    return RuntimeContext(sinks=[sink], action_name="demo"), sink


def test_context_with_no_arguments_is_valid_and_has_a_run_id():
    ctx = RuntimeContext()
    ctx.set_progress(1, 2)
    ctx.set_metrics({"loss": 1.0})
    ctx.log("hello", {"a": 1})
    assert len(ctx.run_id) == 16
    assert ctx.client is None
    assert dict(ctx.env) == {}


def test_env_is_explicit_and_never_a_copy_of_os_environ(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    ctx = RuntimeContext(env={"LOG_LEVEL": "INFO"})
    assert dict(ctx.env) == {"LOG_LEVEL": "INFO"}
    assert "SECRET_TOKEN" not in RuntimeContext().env
    assert "SECRET_TOKEN" in os.environ
    with pytest.raises(TypeError):
        ctx.env["X"] = "1"  # type: ignore[index]


def test_events_carry_sequence_numbers_and_timestamps_in_order():
    ctx, sink = make()
    ctx.set_progress(1, 10, step="load")
    ctx.set_metrics({"acc": 0.5}, step="train")
    ctx.log("done", {"n": 3})
    assert [e.seq for e in sink.events] == [0, 1, 2]
    assert all(e.run_id == ctx.run_id for e in sink.events)
    assert sink.events[0].time <= sink.events[1].time <= sink.events[2].time
    assert sink.events[0].elapsed <= sink.events[2].elapsed
    assert isinstance(sink.events[0], ProgressEvent) and sink.events[0].percent == 10.0
    assert isinstance(sink.events[1], MetricsEvent) and sink.events[1].step == "train"
    assert isinstance(sink.events[2], LogEvent) and sink.events[2].data == {"n": 3}


def test_events_are_frozen():
    ctx, sink = make()
    ctx.set_progress(1, 2)
    with pytest.raises(AttributeError):
        sink.events[0].current = 5  # type: ignore[misc]


def test_out_of_range_progress_is_clamped_with_one_warning_per_step():
    ctx, sink = make()
    ctx.set_progress(11, 10, step="train")
    ctx.set_progress(12, 10, step="train")
    ctx.set_progress(-1, 10, step="train")
    progress = [e for e in sink.events if isinstance(e, ProgressEvent)]
    warnings = [e for e in sink.events if isinstance(e, WarningEvent)]
    assert [p.current for p in progress] == [10, 10, 0]
    assert len(warnings) == 1
    assert warnings[0].code == "progress_clamped"
    assert "11/10" in warnings[0].message and "'train'" in warnings[0].message


def test_zero_total_means_indeterminate():
    ctx, sink = make()
    ctx.set_progress(5, 0)
    (event,) = sink.events
    assert event.current == 5 and event.percent is None


def test_set_metrics_requires_a_mapping_with_a_helpful_message():
    ctx, _ = make()
    with pytest.raises(TypeError, match=r"set_metrics expects a mapping.*\{'loss': value\}"):
        ctx.set_metrics(0.5)  # type: ignore[arg-type]


def test_logger_records_become_events_and_reach_caplog(caplog):
    ctx, sink = make()
    with caplog.at_level(logging.INFO):
        ctx.logger.info("loading %d files", 3)
        ctx.log("train_start", {"epochs": 2})
    assert [e.message for e in sink.events] == ["loading 3 files", "train_start {'epochs': 2}"]
    assert [r.getMessage() for r in caplog.records] == [
        "loading 3 files",
        "train_start {'epochs': 2}",
    ]
    assert caplog.records[0].name == "synapse_sdk.actions.demo"


def test_warning_records_are_not_printed_twice(capsys):
    ctx, sink = make()
    ctx.logger.warning("careful")
    assert capsys.readouterr().err == ""
    assert sink.events[0].level == "warning"


def test_a_failing_sink_does_not_fail_the_action_and_is_reported_once(caplog):
    class Broken:
        def emit(self, event):
            raise RuntimeError("disk full")

    good = MemorySink()
    ctx = RuntimeContext(sinks=[Broken(), good])
    ctx.set_progress(1, 3)
    ctx.set_progress(2, 3)
    warnings = [e for e in good.events if isinstance(e, WarningEvent)]
    assert len(warnings) == 1
    assert "Broken raised RuntimeError: disk full" in warnings[0].message
    assert [e.current for e in good.events if isinstance(e, ProgressEvent)] == [1, 2]
    assert sum("disk full" in r.getMessage() for r in caplog.records) == 1


def test_cancellation_is_typed_and_progress_is_a_cancellation_point():
    ctx, _ = make()
    assert not ctx.cancelled
    ctx.check_cancelled()
    ctx.cancel()
    assert ctx.cancelled
    with pytest.raises(CancelledError):
        ctx.check_cancelled()
    with pytest.raises(CancelledError):
        ctx.set_progress(1, 2)


def test_log_rejects_non_mapping_data_naming_the_event():
    ctx, _ = make()
    with pytest.raises(TypeError, match="event 'x'"):
        ctx.log("x", [1, 2])  # type: ignore[arg-type]


def test_log_message_with_levels():
    ctx, sink = make()
    ctx.log_message("hello", "warning")
    assert sink.events[0].level == "warning"
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        ctx.log_message("x", "loud")


def test_hold_cancel_keeps_cancellation_points_quiet_and_applies_the_cancel_after():
    ctx = RuntimeContext()
    ctx.cancel()
    with ctx.hold_cancel():
        ctx.set_progress(1, 2)  # no raise: a rollback reports progress to its end
        ctx.check_cancelled()
        ctx.cancel()  # a second cancel meanwhile waits too
        assert not ctx.cancelled
    assert ctx.cancelled
    with pytest.raises(CancelledError):
        ctx.check_cancelled()


def test_a_cancel_during_a_held_block_applies_after_it():
    ctx = RuntimeContext()
    with ctx.hold_cancel():
        ctx.cancel()
    assert ctx.cancelled
    fresh = RuntimeContext()
    with fresh.hold_cancel():
        pass
    assert not fresh.cancelled
