"""A Run keeps what a user reads in bounded memory, however many events the action emits."""

from __future__ import annotations

from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_sdk.plugins.events import (
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
)
from synapse_sdk.plugins.run import RunRecord
from synapse_sdk.plugins.sinks import MemorySink

N = 50_000


@action(name="chatty")
def chatty(params: dict, ctx: RuntimeContext) -> dict:
    for i in range(N):
        ctx.set_progress(i + 1, N, step="train")
        if i % 10 == 0:
            ctx.set_metrics({"loss": 1 / (i + 1)}, step="train")
    for i in range(12_000):
        ctx.log("tick", {"i": i})
    return {"n": N}


def test_a_long_run_keeps_samples_of_each_step_with_its_start_and_end():
    sink = MemorySink()
    run = run_action(chatty, sinks=[sink])
    progress = run.events_of(ProgressEvent)
    assert 128 <= len(progress) <= 257
    assert (progress[0].current, progress[-1].current) == (1, N)
    currents = [p.current for p in progress]
    assert currents == sorted(currents)
    metrics = run.events_of(MetricsEvent)
    assert len(metrics) <= 257 and metrics[0].values == {"loss": 1.0}
    # the run's frame is always there
    assert type(run.events[0]) is RunStarted and type(run.events[-1]) is RunFinished
    assert len(run.events_of(ResultEvent)) == 1 and run.result == {"n": N}
    # every sink still got every event; the run says what its record left out
    assert len(sink.events) == N + N // 10 + 12_000 + 3
    assert len(run.events) + sum(run.omitted.values()) == len(sink.events)
    assert run.to_dict()["events_omitted"] == run.omitted


def test_logs_keep_the_first_and_the_last():
    record = RunRecord.sized(8, 3)
    ctx = RuntimeContext(sinks=[record])
    for i in range(10):
        ctx.log("line", {"i": i})
    kept = [e.data["i"] for e in record.events() if isinstance(e, LogEvent)]
    assert kept == [0, 1, 2, 7, 8, 9]
    assert record.omitted() == {"other": 4}


def test_a_short_run_is_kept_whole():
    sink = MemorySink()
    run = run_action(chatty, sinks=[sink])
    record = RunRecord()
    for event in sink.events[:200]:  # under 256 progress events of the step
        record.emit(event)
    assert record.events() == sink.events[:200]
    assert record.omitted() == {}
    assert run.ok


def test_a_run_of_a_plugin_says_which_plugin(tmp_path):
    from pathlib import Path

    from synapse_sdk.plugins.runner import run_plugin_record

    alpha = Path(__file__).parent / "sample_plugins" / "alpha"
    run = run_plugin_record(alpha, "greet", {"name": "bob"})
    assert run.plugin == str(alpha.resolve())
    assert run_action(chatty, {}).plugin is None


def test_ctx_job_id_is_the_backend_job_recording_the_run():
    from synapse_testing import FakeBackend

    @action(name="whoami")
    def whoami(params: dict, ctx: RuntimeContext) -> dict:
        return {"job": ctx.job_id}

    backend = FakeBackend()
    run = run_action(whoami, client=backend)
    (job,) = backend.list_jobs()
    assert run.result == {"job": job["id"]}
    assert run_action(whoami).result == {"job": None}  # no backend, no job
