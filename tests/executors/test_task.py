"""TaskExecutor: warm worker pool, live events, parallel runs, failures, cancellation."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from synapse_sdk.plugins import (
    ActionDefinitionError,
    CancelledError,
    ExecutionError,
    MemorySink,
    RunStatus,
    RuntimeContext,
    ValidationError,
    action,
)
from synapse_sdk.plugins.errors import WorkerLostError
from synapse_sdk.plugins.events import (
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
)
from synapse_sdk.plugins.executors import RemoteTraceback, TaskExecutor

from .helpers import entry, wait_until


def test_run_returns_the_same_run_record_as_in_process(task_pool, plugin_dir):
    sink = MemorySink()
    run = task_pool.run(entry("count"), {"n": 2}, plugin_dir=plugin_dir, sinks=[sink])

    assert run.status is RunStatus.SUCCEEDED
    assert run.action == "count"
    assert run.result["total"] == 2
    assert run.result["pid"] != os.getpid()
    kinds = [type(e) for e in run.events]
    assert kinds == [
        RunStarted,
        ProgressEvent,
        ProgressEvent,
        MetricsEvent,
        LogEvent,
        ResultEvent,
        RunFinished,
    ]
    assert [e.seq for e in run.events] == list(range(len(run.events)))
    assert {e.run_id for e in run.events} == {run.run_id}
    assert sink.events == run.events
    assert run.duration > 0


def test_events_reach_the_callers_sinks_while_the_action_runs(task_pool, plugin_dir, tmp_path):
    gate = tmp_path / "gate"
    seen_progress = threading.Event()

    class Watcher:
        def emit(self, event):
            if isinstance(event, ProgressEvent):
                seen_progress.set()

    handle = task_pool.submit(
        entry("wait_for_gate"), {"gate": str(gate)}, plugin_dir=plugin_dir, sinks=[Watcher()]
    )
    # the action is blocked on the gate: the progress event can only have arrived live
    assert seen_progress.wait(10)
    assert not handle.done()
    gate.write_text("open")
    assert handle.result(10) == {"gate": "open"}


def test_parallel_submissions_run_on_different_workers_at_the_same_time(task_pool, plugin_dir):
    handles = [
        task_pool.submit(entry("count"), {"n": 1, "sleep": 0.4}, plugin_dir=plugin_dir)
        for _ in range(2)
    ]
    first, second = (h.result(10) for h in handles)

    assert first["pid"] != second["pid"]
    assert first["started"] < second["finished"] and second["started"] < first["finished"]


def test_map_returns_runs_in_input_order(task_pool, plugin_dir):
    runs = task_pool.map(entry("count"), [{"n": k} for k in (3, 1, 2)], plugin_dir=plugin_dir)
    assert [r.result["total"] for r in runs] == [3, 1, 2]


def test_failure_carries_the_remote_exception_and_traceback(task_pool, plugin_dir):
    run = task_pool.run(entry("boom"), {}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, ExecutionError)
    assert "RuntimeError: bad thing happened" in str(run.error)
    cause = run.error.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert cause.type_name == "RuntimeError"
    assert "bad thing happened" in str(cause)
    assert 'raise RuntimeError("bad thing happened")' in run.traceback
    with pytest.raises(ExecutionError, match="bad thing happened"):
        run.raise_for_status()


def test_a_dead_worker_is_a_failed_run_and_the_pool_recovers(plugin_dir):
    with TaskExecutor(1) as pool:
        run = pool.run(entry("die"), {}, plugin_dir=plugin_dir)

        assert run.status is RunStatus.FAILED
        assert isinstance(run.error, WorkerLostError)
        assert run.error.exit_code == 7
        assert "died (exit code 7)" in str(run.error)
        assert isinstance(run.events[-1], RunFinished)
        assert run.events[-1].status == "failed"
        # the lost worker was replaced
        assert pool.run(entry("count"), {"n": 1}, plugin_dir=plugin_dir).ok


def test_cancel_reaches_the_worker_and_the_action_rolls_back(task_pool, plugin_dir, tmp_path):
    marker = tmp_path / "rolled_back"
    handle = task_pool.submit(
        entry("wait_for_gate"),
        {"gate": str(tmp_path / "never"), "rollback_marker": str(marker)},
        plugin_dir=plugin_dir,
    )
    wait_until(lambda: any(isinstance(e, ProgressEvent) for e in handle.events))
    handle.cancel()
    run = handle.wait(10)

    assert run.status is RunStatus.CANCELLED
    assert isinstance(run.error, CancelledError)
    assert marker.read_text() == "rolled back"
    assert run.events[-1].status == "cancelled"


def test_cancelling_the_callers_context_cancels_the_remote_run(task_pool, plugin_dir, tmp_path):
    marker = tmp_path / "rolled_back"
    ctx = RuntimeContext()
    handle = task_pool.submit(
        entry("wait_for_gate"),
        {"gate": str(tmp_path / "never"), "rollback_marker": str(marker)},
        plugin_dir=plugin_dir,
        ctx=ctx,
    )
    assert handle.run_id == ctx.run_id
    wait_until(lambda: bool(handle.events))
    ctx.cancel()  # what the notebook panel's Cancel button does

    assert handle.wait(10).status is RunStatus.CANCELLED
    assert marker.exists()


def test_a_worker_ignoring_cancel_is_killed_after_the_grace_period(plugin_dir):
    with TaskExecutor(1, cancel_grace=0.3) as pool:
        handle = pool.submit(entry("stubborn"), {}, plugin_dir=plugin_dir)
        wait_until(lambda: any(isinstance(e, LogEvent) for e in handle.events))
        handle.cancel()
        run = handle.wait(10)

    assert run.status is RunStatus.CANCELLED
    assert "worker was stopped (signal SIGKILL)" in str(run.error)


def test_params_are_validated_again_on_the_worker(task_pool, plugin_dir):
    run = task_pool.run(entry("count"), {"n": 0, "nn": 1}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, ValidationError)
    assert run.error.fields == ["nn"]
    assert "did you mean 'n'" in str(run.error)


def test_params_are_validated_in_the_caller_when_it_has_the_action(task_pool, plugin_dir):
    import importlib
    import sys

    sys.path.insert(0, plugin_dir)
    try:
        module = importlib.import_module("h8plugin.actions")
    finally:
        sys.path.remove(plugin_dir)
    with pytest.raises(ValidationError) as info:
        task_pool.submit(module.count, {"n": 0}, plugin_dir=plugin_dir)
    assert info.value.fields == ["n"]

    run = task_pool.run(module.EchoAction, {"text": "ab", "times": 2}, plugin_dir=plugin_dir)
    # the caller knows the result model, so the result is typed as in-process
    assert run.result == module.EchoResult(echo="abab")


def test_an_unknown_entrypoint_fails_with_the_module_name(task_pool, plugin_dir):
    run = task_pool.run("h8plugin.nope:thing", {}, plugin_dir=plugin_dir)

    assert isinstance(run.error, ActionDefinitionError)
    assert "Cannot import 'h8plugin.nope'" in str(run.error)


def test_actions_defined_in_a_function_cannot_be_sent_to_a_worker(task_pool):
    @action(name="local_only")
    def local_only(params: dict, ctx: RuntimeContext) -> None:
        return None

    with pytest.raises(ActionDefinitionError, match="defined inside a function") as info:
        task_pool.submit(local_only, {})
    assert info.value.action == "local_only"
    assert "mode='local'" in str(info.value)


def test_runs_queued_on_a_closed_pool_end_cancelled(plugin_dir):
    pool = TaskExecutor(1)
    busy = pool.submit(entry("count"), {"n": 1, "sleep": 0.3}, plugin_dir=plugin_dir)
    queued = pool.submit(entry("count"), {"n": 1}, plugin_dir=plugin_dir)
    pool.close()

    assert busy.wait(10).status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED)
    assert queued.wait(10).status is RunStatus.CANCELLED
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(entry("count"), {}, plugin_dir=plugin_dir)


def test_task_runs_see_only_the_env_they_are_given(task_pool, plugin_dir):
    run = task_pool.run(entry("environ"), {}, plugin_dir=plugin_dir, env={"A": "1"})
    assert run.result["ctx_env"] == {"A": "1"}
    assert not any("TOKEN" in name for name in run.result["os_env"])
    assert Path(run.result["prefix"]).exists()
