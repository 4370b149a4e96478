"""The Orchestrator: step events, weighted progress ending at 100, rollback and cancellation."""

import sys
import threading
import traceback

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import (
    BaseAction,
    BaseStep,
    CancelledError,
    ExecutionError,
    MemorySink,
    Orchestrator,
    RunStatus,
    RuntimeContext,
    StepRegistry,
    StepResult,
    run_action,
)
from synapse_sdk.plugins.events import LogEvent, MetricsEvent, ProgressEvent, StepEvent
from synapse_sdk.plugins.steps import StepContext


class Params(BaseModel):
    fail_at: str | None = None
    skip: list[str] = []
    broken_rollbacks: list[str] = []


class Recorded(BaseStep[str]):
    """A step that reports progress in ``ticks`` calls and records what happens to it."""

    def __init__(self, name: str, weight: float, trail: list[str], ticks: int = 2) -> None:
        super().__init__(name=name, progress_weight=weight)
        self.trail = trail
        self.ticks = ticks

    def can_skip(self, ctx: StepContext) -> bool:
        return self.name in ctx.params.skip

    def execute(self, ctx: StepContext) -> StepResult[str]:
        self.trail.append(f"exec {self.name}")
        for i in range(1, self.ticks + 1):
            ctx.set_progress(i, self.ticks)
        if ctx.params.fail_at == self.name:
            raise KeyError(f"boom in {self.name}")
        return StepResult(f"{self.name} done", rollback_data=f"undo {self.name}")

    def rollback(self, ctx: StepContext, result: StepResult[str] | None = None) -> None:
        self.trail.append(
            f"rollback {self.name} {None if result is None else result.rollback_data}"
        )
        if self.name in ctx.params.broken_rollbacks:
            raise RuntimeError(f"cannot undo {self.name}")


def make_action(trail: list[str], weights=(1, 2, 1)) -> type[BaseAction[Params]]:
    class Pipeline(BaseAction[Params]):
        action_name = "pipeline"

        def setup_steps(self, registry: StepRegistry) -> None:
            for name, weight in zip(("a", "b", "c"), weights, strict=True):
                registry.register(Recorded(name, weight, trail))

    return Pipeline


def overall(run) -> list[float]:
    return [e.current for e in run.events_of(ProgressEvent) if e.step is None]


def step_statuses(run) -> list[tuple[str, str]]:
    return [(e.step, e.status) for e in run.events_of(StepEvent)]


# -- progress ------------------------------------------------------------------------------------


def test_overall_progress_is_the_weighted_sum_and_ends_at_exactly_100():
    run = run_action(make_action([]), {})
    assert run.ok, run.traceback
    # a: 25% of the total (2 ticks), b: 50% (2 ticks), c: 25% (2 ticks)
    assert overall(run) == [12.5, 25.0, 50.0, 75.0, 87.5, 100.0]
    last = [e for e in run.events_of(ProgressEvent) if e.step is None][-1]
    assert (last.current, last.total, last.percent) == (100.0, 100.0, 100.0)


def test_each_step_reports_its_own_progress_with_its_name():
    run = run_action(make_action([]), {})
    per_step = [(e.step, e.current, e.total) for e in run.events_of(ProgressEvent) if e.step]
    assert per_step == [
        ("a", 1, 2),
        ("a", 2, 2),
        ("b", 1, 2),
        ("b", 2, 2),
        ("c", 1, 2),
        ("c", 2, 2),
    ]


def test_overall_ends_at_100_with_weights_that_do_not_sum_exactly():
    run = run_action(make_action([], weights=(0.1, 0.2, 0.3)), {})
    assert overall(run)[-1] == 100.0
    assert overall(run) == sorted(overall(run))


def test_a_step_that_reports_nothing_still_ends_full_and_moves_overall():
    class Silent(BaseStep[int]):
        def execute(self, ctx: StepContext) -> int:
            return 1

    sink = MemorySink()
    Orchestrator([Silent(name="one"), Silent(name="two")], RuntimeContext(sinks=[sink])).run()
    progress = [(e.step, e.current, e.total) for e in sink.events if isinstance(e, ProgressEvent)]
    assert progress == [("one", 1, 1), (None, 50.0, 100.0), ("two", 1, 1), (None, 100.0, 100.0)]


def test_skipped_steps_count_as_done_for_overall_progress():
    run = run_action(make_action([]), {"skip": ["c"]})
    assert run.ok
    assert overall(run) == [12.5, 25.0, 50.0, 75.0, 100.0]
    assert ("c", "skipped") in step_statuses(run)


def test_the_action_set_progress_helper_inside_a_step_drives_overall():
    class Train(BaseStep[None]):
        def execute(self, ctx: StepContext) -> None:
            ctx.action.set_progress(1, 4, step="train")  # the step's own name
            ctx.action.set_progress(2, 4)  # no step: the running step
            ctx.action.set_progress(1, 1, step="other")  # another bar: not this step's
            ctx.action.set_metrics({"loss": 0.5})

    class Act(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            registry.register(Train(name="train"))

    run = run_action(Act, {})
    progress = [(e.step, e.current, e.total) for e in run.events_of(ProgressEvent)]
    assert progress == [
        ("train", 1, 4),
        (None, 25.0, 100.0),
        ("train", 2, 4),
        (None, 50.0, 100.0),
        ("other", 1, 1),
        ("train", 1, 1),
        (None, 100.0, 100.0),
    ]
    assert run.events_of(MetricsEvent)[0].step == "train"


# -- step events ---------------------------------------------------------------------------------


def test_every_start_finish_and_skip_is_a_step_event_with_position_and_weight():
    run = run_action(make_action([]), {"skip": ["b"]})
    events = run.events_of(StepEvent)
    assert [(e.step, e.status, e.position, e.weight) for e in events] == [
        ("a", "pending", 0, 0.25),
        ("b", "pending", 1, 0.5),
        ("c", "pending", 2, 0.25),
        ("a", "started", 0, 0.25),
        ("a", "finished", 0, 0.25),
        ("b", "skipped", 1, 0.5),
        ("c", "started", 2, 0.25),
        ("c", "finished", 2, 0.25),
    ]
    assert all(e.run_id == run.run_id for e in events)
    seqs = [e.seq for e in run.events]
    assert seqs == sorted(seqs)


# -- failure and rollback ------------------------------------------------------------------------


def test_failure_rolls_back_the_ran_steps_including_the_failing_one_in_reverse():
    trail: list[str] = []
    run = run_action(make_action(trail), {"fail_at": "b"})
    assert run.status is RunStatus.FAILED
    assert trail == ["exec a", "exec b", "rollback b None", "rollback a undo a"]
    assert step_statuses(run)[3:] == [
        ("a", "started"),
        ("a", "finished"),
        ("b", "started"),
        ("b", "failed"),
        ("b", "rolled_back"),
        ("a", "rolled_back"),
    ]
    failed = next(e for e in run.events_of(StepEvent) if e.status == "failed")
    assert failed.detail == "KeyError: 'boom in b'"


def test_the_original_exception_is_the_cause_of_the_run_error():
    run = run_action(make_action([]), {"fail_at": "c"})
    assert isinstance(run.error, ExecutionError)
    cause = run.error.__cause__
    assert type(cause) is KeyError
    assert cause.args == ("boom in c",)
    assert getattr(cause, "__notes__", []) == []
    assert "KeyError" in run.traceback and "boom in c" in run.traceback


def test_rollback_failures_are_attached_to_the_original_never_replacing_it():
    trail: list[str] = []
    run = run_action(make_action(trail), {"fail_at": "c", "broken_rollbacks": ["c", "a"]})
    cause = run.error.__cause__
    assert type(cause) is KeyError
    assert cause.__notes__ == [
        "rollback of step 'c' failed: RuntimeError: cannot undo c",
        "rollback of step 'a' failed: RuntimeError: cannot undo a",
    ]
    # b is still rolled back after c's rollback failed
    assert trail[-3:] == ["rollback c None", "rollback b undo b", "rollback a undo a"]
    statuses = step_statuses(run)
    assert statuses[-3:] == [
        ("c", "rollback_failed"),
        ("b", "rolled_back"),
        ("a", "rollback_failed"),
    ]
    failures = [e for e in run.events_of(StepEvent) if e.status == "rollback_failed"]
    assert failures[0].detail == "RuntimeError: cannot undo c"
    logged = [e for e in run.events_of(LogEvent) if e.level == "error"]
    assert "rollback of step 'c' failed" in logged[0].message


def test_orchestrator_reraises_the_same_exception_object_and_lists_rollback_errors():
    err = ValueError("original")

    class Bad(BaseStep[None]):
        def execute(self, ctx: StepContext) -> None:
            raise err

        def rollback(self, ctx: StepContext, result=None) -> None:
            raise OSError("disk")

    orchestrator = Orchestrator([Bad(name="bad")], RuntimeContext())
    with pytest.raises(ValueError, match="original") as info:
        orchestrator.run()
    assert info.value is err
    assert [(name, type(e)) for name, e in orchestrator.rollback_errors] == [("bad", OSError)]
    if sys.version_info >= (3, 11):
        text = "".join(traceback.format_exception(info.value))
        assert "rollback of step 'bad' failed: OSError: disk" in text


def test_skipped_steps_are_not_rolled_back():
    trail: list[str] = []
    run = run_action(make_action(trail), {"skip": ["a"], "fail_at": "c"})
    assert trail == ["exec b", "exec c", "rollback c None", "rollback b undo b"]
    assert not run.ok


# -- cancellation --------------------------------------------------------------------------------


def test_cancellation_inside_a_step_rolls_back_and_the_run_is_cancelled():
    trail: list[str] = []

    class Cancelling(BaseStep[None]):
        def execute(self, ctx: StepContext) -> None:
            trail.append("exec cancel")
            ctx.runtime.cancel()
            ctx.set_progress(1, 2)  # a cancellation point
            trail.append("never")

        def rollback(self, ctx: StepContext, result=None) -> None:
            trail.append("rollback cancel")

    class Act(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            registry.register(Recorded("a", 1, trail))
            registry.register(Cancelling(name="cancel"))
            registry.register(Recorded("c", 1, trail))

    run = run_action(Act, {})
    assert run.status is RunStatus.CANCELLED
    assert isinstance(run.error, CancelledError)
    assert trail == ["exec a", "exec cancel", "rollback cancel", "rollback a undo a"]
    assert ("cancel", "failed") in step_statuses(run)


def test_cancel_from_another_thread_between_steps_rolls_back_what_ran():
    trail: list[str] = []
    started = threading.Event()
    proceed = threading.Event()

    class Wait(BaseStep[None]):
        def execute(self, ctx: StepContext) -> None:
            trail.append("exec wait")
            started.set()
            proceed.wait(5)

    class Act(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            registry.register(Wait(name="wait"))
            registry.register(Recorded("after", 1, trail))

    ctx = RuntimeContext()

    def cancel() -> None:
        started.wait(5)
        ctx.cancel()
        proceed.set()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    run = run_action(Act, {}, ctx=ctx)
    canceller.join()
    assert run.status is RunStatus.CANCELLED
    assert trail == ["exec wait"]  # "after" never started; wait has no rollback override
    assert ("wait", "rolled_back") in step_statuses(run)
    assert ("after", "started") not in step_statuses(run)


def test_rollbacks_report_progress_and_finish_even_when_a_cancel_arrives_meanwhile():
    trail: list[str] = []
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])

    class Undoing(BaseStep[None]):
        def execute(self, step_ctx: StepContext) -> None:
            trail.append(f"exec {self.name}")
            if self.name == "b":
                ctx.cancel()
                step_ctx.check_cancelled()

        def rollback(self, step_ctx: StepContext, result=None) -> None:
            ctx.cancel()  # a second Cancel while undoing
            step_ctx.set_progress(1, 2)
            step_ctx.runtime.set_progress(2, 2, "cleanup")
            step_ctx.check_cancelled()
            trail.append(f"undo {self.name}")

    orchestrator = Orchestrator([Undoing(name="a"), Undoing(name="b")], ctx)
    with pytest.raises(CancelledError):
        orchestrator.run()
    assert trail == ["exec a", "exec b", "undo b", "undo a"]
    assert orchestrator.rollback_errors == []
    assert ctx.cancelled  # the cancel holds after the rollback
    rollback_progress = [
        (e.step, e.current) for e in sink.events if isinstance(e, ProgressEvent) and e.step
    ]
    assert rollback_progress[-4:] == [("b", 1), ("cleanup", 2), ("a", 1), ("cleanup", 2)]


def test_keyboard_interrupt_rolls_back_and_propagates():
    trail: list[str] = []

    class Interrupt(BaseStep[None]):
        def execute(self, ctx: StepContext) -> None:
            raise KeyboardInterrupt

        def rollback(self, ctx: StepContext, result=None) -> None:
            trail.append("rollback interrupt")

    with pytest.raises(KeyboardInterrupt):
        Orchestrator([Interrupt(name="i")], RuntimeContext()).run()
    assert trail == ["rollback interrupt"]


def test_an_orchestrator_can_run_twice_from_a_fresh_start():
    sink = MemorySink()
    orchestrator = Orchestrator([Recorded("a", 1, [])], RuntimeContext(sinks=[sink]))
    orchestrator.context.params = Params()
    orchestrator.run()
    first = [e.current for e in sink.events if isinstance(e, ProgressEvent) and e.step is None]
    sink.events.clear()
    orchestrator.run()
    second = [e.current for e in sink.events if isinstance(e, ProgressEvent) and e.step is None]
    assert first == second == [50.0, 100.0]
