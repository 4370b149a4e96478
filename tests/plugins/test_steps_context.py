"""Context steps (the reference synapse-sdk's form) on the same orchestrator as typed steps."""

from __future__ import annotations

from typing import Any

import pytest

from synapse_sdk.plugins import RuntimeContext
from synapse_sdk.plugins.errors import ExecutionError
from synapse_sdk.plugins.events import StepEvent
from synapse_sdk.plugins.sinks import MemorySink
from synapse_sdk.plugins.steps import (
    BaseStep,
    Orchestrator,
    StepContext,
    StepFailedError,
    StepRegistry,
    StepResult,
)


class CountContext(StepContext):
    """A context of the reference's kind: shared state the steps read and write."""

    def __init__(self, runtime: RuntimeContext) -> None:
        super().__init__(runtime)
        self.items: list[str] = []
        self.journal: list[str] = []


class Collect(BaseStep[CountContext]):
    """Reference style: name and weight as properties, a StepResult with success."""

    @property
    def name(self) -> str:
        return "collect"

    @property
    def progress_weight(self) -> float:
        return 0.2

    def execute(self, context: CountContext) -> StepResult:
        context.items += ["a", "b"]
        return StepResult(success=True, data={"count": 2}, rollback_data={"added": 2})

    def rollback(self, context: CountContext, result: StepResult) -> None:
        context.journal.append(f"undo collect {result.rollback_data['added']}")
        del context.items[-result.rollback_data["added"] :]


class Check(BaseStep[CountContext]):
    name = "check"
    progress_weight = 0.8

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def execute(self, context: CountContext) -> StepResult:
        try:
            if self.fail:
                int("not a number")
        except ValueError as e:
            return StepResult(success=False, error=f"bad items: {e}")
        return StepResult(success=True)

    def rollback(self, context: CountContext, result: StepResult) -> None:
        context.journal.append(f"undo check success={result.success} data={result.data}")


class Typed(BaseStep[int]):
    """A typed step in the same registry: reads an earlier step's data by class."""

    def execute(self, ctx: StepContext) -> int:
        return ctx.result_of(Collect)["count"]


def run(*steps: BaseStep[Any]) -> tuple[CountContext, MemorySink]:
    sink = MemorySink()
    runtime = RuntimeContext(sinks=[sink])
    context = CountContext(runtime)
    Orchestrator(StepRegistry(steps), runtime, context=context).run()
    return context, sink


def test_context_and_typed_steps_share_one_context_and_run_in_order():
    context, sink = run(Collect(), Typed(), Check())
    assert context.items == ["a", "b"]
    assert context.result_of(Typed) == 2
    assert [r.success for r in context.step_results] == [True, True, True]
    assert context.step_results[-1].data == {}  # a context step's missing data is {}
    finished = [e.step for e in sink.events if isinstance(e, StepEvent) and e.status == "finished"]
    assert finished == ["collect", "typed", "check"]


def test_success_false_fails_with_its_error_rolls_back_what_ran_and_keeps_the_cause():
    sink = MemorySink()
    runtime = RuntimeContext(sinks=[sink])
    context = CountContext(runtime)
    registry = StepRegistry([Collect(), Check(fail=True)])
    with pytest.raises(StepFailedError) as info:
        Orchestrator(registry, runtime, context=context).run()
    err = info.value
    assert err.step == "check" and err.error.startswith("bad items: invalid literal")
    assert str(err).splitlines()[0].startswith("Step 'check' failed: bad items")
    assert isinstance(err, ExecutionError)
    assert isinstance(err.__cause__, ValueError)  # the exception the step was handling
    # the failing step is rolled back with its own result, then the earlier ones
    assert context.journal == ["undo check success=False data={}", "undo collect 2"]
    assert context.items == []
    statuses = [(e.step, e.status) for e in sink.events if isinstance(e, StepEvent)]
    assert ("check", "failed") in statuses and statuses[-1] == ("collect", "rolled_back")


def test_a_context_step_that_raises_gets_a_failed_result_in_its_rollback():
    class Boom(Check):
        name = "boom"

        def execute(self, context: CountContext) -> StepResult:
            raise KeyError("missing")

    context = CountContext(RuntimeContext())
    with pytest.raises(KeyError):
        Orchestrator([Collect(), Boom()], context.runtime, context=context).run()
    assert context.journal == ["undo check success=False data={}", "undo collect 2"]


def test_typed_steps_still_get_none_in_the_rollback_of_the_failing_step():
    seen: list[Any] = []

    class Fails(BaseStep[int]):
        def execute(self, ctx: StepContext) -> int:
            raise RuntimeError("no")

        def rollback(self, ctx: StepContext, result: StepResult[Any] | None = None) -> None:
            seen.append(result)

    with pytest.raises(RuntimeError):
        Orchestrator([Fails()], RuntimeContext()).run()
    assert seen == [None]


def test_registry_speaks_the_reference_names():
    registry = StepRegistry([Collect(), Check()])
    registry.insert_before("check", Typed())
    assert registry.get_step_orders() == {"collect": 0, "typed": 1, "check": 2}
    assert [s.name for s in registry.get_steps()] == ["collect", "typed", "check"]
    registry.remove("typed")
    assert registry.get_step_orders() == {"collect": 0, "check": 1}


def test_context_reporting_helpers_take_the_reference_arguments():
    sink = MemorySink()
    runtime = RuntimeContext(sinks=[sink])

    class Reports(BaseStep[CountContext]):
        name = "reports"

        def execute(self, context: CountContext) -> StepResult:
            context.log("seen", {"n": 1}, level="danger")
            context.set_metrics({"loss": 0.5})
            context.set_progress(1, 4, step="side")
            assert context.runtime_ctx is runtime
            return StepResult()

    Orchestrator([Reports()], runtime, context=CountContext(runtime)).run()
    (log,) = [e for e in sink.events if getattr(e, "event", None) == "seen"]
    assert log.level == "error"
    assert any(getattr(e, "step", None) == "side" for e in sink.events)
    assert any(getattr(e, "values", None) == {"loss": 0.5} for e in sink.events)
