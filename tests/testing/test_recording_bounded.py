"""A RecordingContext holds a long run in bounded memory, and everything when asked."""

from __future__ import annotations

from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_sdk.plugins.events import LogEvent, ProgressEvent
from synapse_testing import RecordingContext

N = 30_000


@action(name="long")
def long_run(params: dict, ctx: RuntimeContext) -> dict:
    for i in range(N):
        ctx.set_progress(i + 1, N, step="load")
    ctx.log("done", {"n": N})
    return {"n": N}


def test_a_long_runs_progress_is_thinned_to_samples_with_its_first_and_last():
    ctx = RecordingContext()
    run = run_action(long_run, ctx=ctx)
    assert run.ok
    progress = ctx.events_of(ProgressEvent)
    assert 5_000 <= len(progress) <= 10_001
    assert (progress[0].current, progress[-1].current) == (1, N)
    assert ctx.omitted == {"progress": N - len(progress)}
    # the rest of the timeline is whole and in order
    assert [e.seq for e in ctx.events] == sorted(e.seq for e in ctx.events)
    assert ctx.events_of(LogEvent)[0].event == "done"


def test_keep_all_records_every_event():
    ctx = RecordingContext(keep_all=True)
    run_action(long_run, ctx=ctx)
    assert len(ctx.events_of(ProgressEvent)) == N
    assert ctx.omitted == {}
    assert ctx.fresh().keep_all is True


def test_the_marker_option_keeps_every_event(pytester):
    pytester.makepyfile(
        """
        import pytest
        from synapse_sdk.plugins import action
        from synapse_sdk.plugins.events import ProgressEvent

        @action(name="many")
        def many(params, ctx):
            for i in range(20_000):
                ctx.set_progress(i + 1, 20_000)
            return 1

        @pytest.mark.synapse(keep_all_events=True)
        def test_all(synapse_run, synapse_ctx):
            synapse_run(many)
            assert len(synapse_ctx.events_of(ProgressEvent)) == 20_000

        def test_bounded(synapse_run, synapse_ctx):
            synapse_run(many)
            assert len(synapse_ctx.events_of(ProgressEvent)) <= 10_001
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
