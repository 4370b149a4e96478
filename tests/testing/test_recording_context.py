"""RecordingContext is the real RuntimeContext plus a recording, with readable views."""

from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_sdk.plugins.events import LogEvent, ProgressEvent, WarningEvent
from synapse_testing import ANY, EventLog, RecordingContext


@action
def busy(params: dict, ctx: RuntimeContext) -> str:
    ctx.set_progress(0, 2)
    ctx.log("start", {"n": 2})
    for i in range(2):
        ctx.set_progress(i + 1, 2, step="load")
        ctx.set_metrics({"loss": 1.0 / (i + 1), "acc": i}, step="train")
    ctx.set_metrics({"acc": 9})
    ctx.logger.warning("careful %s", "now")
    ctx.warn("odd input", code="odd")
    ctx.step_event("load", "finished", position=1)
    ctx.set_progress(2, 2)
    return "ok"


def run_busy() -> tuple[RecordingContext, object]:
    ctx = RecordingContext(env={"A": "1"}, client="client")
    run = run_action(busy, {}, ctx=ctx)
    return ctx, run


def test_it_is_a_runtime_context_with_env_client_and_its_own_events():
    ctx, run = run_busy()
    assert isinstance(ctx, RuntimeContext)
    assert ctx.env == {"A": "1"} and ctx.client == "client"
    assert ctx.events == run.events  # the recorder saw exactly what the run saw
    assert [e.seq for e in ctx.events] == list(range(len(ctx.events)))
    assert repr(ctx) == f"RecordingContext(run_id={ctx.run_id!r}, action='busy', events=14)"


def test_progress_views_are_per_step():
    ctx, _ = run_busy()
    assert ctx.progress_timeline() == {None: [(0, 2), (2, 2)], "load": [(1, 2), (2, 2)]}
    assert ctx.progress() == [(0, 2), (1, 2), (2, 2), (2, 2)]
    assert ctx.progress(None) == [(0, 2), (2, 2)]
    assert ctx.progress("load") == [(1, 2), (2, 2)]
    assert ctx.progress("nope") == []


def test_metrics_views_give_series_per_step_and_key():
    ctx, _ = run_busy()
    assert ctx.metrics_series() == {
        "train": {"loss": [1.0, 0.5], "acc": [0, 1]},
        None: {"acc": [9]},
    }
    assert ctx.metrics("acc") == [0, 1, 9]
    assert ctx.metrics("acc", step="train") == [0, 1]
    assert ctx.metrics("acc", step=None) == [9]
    assert ctx.metrics("acc", step=ANY) == [0, 1, 9]
    assert ctx.latest_metrics() == {"loss": 0.5, "acc": 9}
    assert ctx.latest_metrics("train") == {"loss": 0.5, "acc": 1}


def test_log_views_separate_structured_events_and_messages():
    ctx, _ = run_busy()
    assert [(e.event, dict(e.data)) for e in ctx.logs("start")] == [("start", {"n": 2})]
    # ctx.warn is a warning event, not a log event (its logger record is not re-recorded)
    assert ctx.messages() == ["careful now"]
    assert ctx.messages(level="info") == []
    assert all(isinstance(e, LogEvent) for e in ctx.logs(level="warning"))
    assert [(w.code, w.message) for w in ctx.warnings()] == [("odd", "odd input")]
    assert ctx.warnings("other") == []
    assert ctx.step_events() == [("load", "finished")]
    assert ctx.step_events("train") == []


def test_timeline_reads_as_one_line_per_event():
    ctx, _ = run_busy()
    assert ctx.timeline() == [
        "run_started busy",
        "progress 0/2",
        "log info start {'n': 2}",
        "progress [load] 1/2",
        "metrics [train] loss=1.0 acc=0",
        "progress [load] 2/2",
        "metrics [train] loss=0.5 acc=1",
        "metrics acc=9",
        "log warning 'careful now'",
        "warning odd: odd input",
        "step load finished position=1",
        "progress 2/2",
        "result",
        "run_finished succeeded",
    ]


def test_event_log_wraps_a_run_and_is_a_sequence():
    _, run = run_busy()
    log = EventLog.of(run)
    assert len(log) == len(run.events) and list(log) == run.events
    assert log[0].type == "run_started"
    assert log.events_of(ProgressEvent)[0].current == 0
    assert log.events_of(WarningEvent)[0].code == "odd"
    assert EventLog.of(log) is log
    assert log.run_ids == [run.run_id]
    assert repr(log) == f"EventLog({len(run.events)} events)"


def test_fresh_context_shares_env_and_client_but_not_events():
    ctx, _ = run_busy()
    other = ctx.fresh()
    assert other.env == ctx.env and other.client == "client"
    assert other.events == [] and other.run_id != ctx.run_id


@action
def epochs(params: dict, ctx: RuntimeContext) -> str:
    for i in range(4):
        ctx.set_progress(i + 1, 4, step="train")
    return "done"


def test_cancel_at_progress_stops_the_action_at_its_next_cancellation_point():
    ctx = RecordingContext()
    ctx.cancel_at_progress(0.5, step="train")
    run = run_action(epochs, {}, ctx=ctx)
    assert run.status.value == "cancelled"
    assert ctx.progress("train") == [(1, 4), (2, 4)]
    assert ctx.timeline()[-1] == "run_finished cancelled: The run was cancelled"


def test_cancel_when_takes_any_predicate_and_other_steps_do_not_trigger_it():
    ctx = RecordingContext()
    ctx.cancel_at_progress(0.5, step="eval")
    assert run_action(epochs, {}, ctx=ctx).status.value == "succeeded"
    ctx = RecordingContext()
    ctx.cancel_when(lambda e: isinstance(e, ProgressEvent) and e.current == 3)
    run = run_action(epochs, {}, ctx=ctx)
    assert run.status.value == "cancelled" and ctx.progress() == [(1, 4), (2, 4), (3, 4)]
