"""Steps and the StepRegistry: names, weights, ordering, insert/remove, typed results."""

import json
import subprocess
import sys

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import (
    ActionDefinitionError,
    BaseAction,
    BaseStep,
    Orchestrator,
    RuntimeContext,
    StepRegistry,
    StepResult,
    as_spec,
    run_action,
)
from synapse_sdk.plugins.errors import StepError
from synapse_sdk.plugins.steps import StepContext


class Params(BaseModel):
    numbers: list[int] = [1, 2, 3]


class LoadStep(BaseStep[list[int]]):
    name = "load"

    def execute(self, ctx: StepContext) -> list[int]:
        return list(ctx.params.numbers)


class SumStep(BaseStep[int]):
    name = "sum"
    progress_weight = 3

    def execute(self, ctx: StepContext) -> StepResult[int]:
        numbers = ctx.result_of(LoadStep)  # typed: list[int]
        return StepResult(sum(numbers), rollback_data={"undo": "nothing"})


class Noop(BaseStep[None]):
    def execute(self, ctx: StepContext) -> None:
        return None


class UploadModelStep(Noop):
    pass


# -- BaseStep ------------------------------------------------------------------------------------


def test_step_name_defaults_to_snake_case_class_name_without_step():
    assert UploadModelStep().name == "upload_model"
    assert Noop().name == "noop"
    assert LoadStep().name == "load"


def test_name_and_weight_can_be_set_per_instance():
    step = Noop(name="first", progress_weight=2.5)
    assert (step.name, step.progress_weight) == ("first", 2.5)
    assert Noop().progress_weight == 1.0


def test_a_step_without_execute_cannot_be_instantiated():
    class Broken(BaseStep[int]):
        name = "broken"

    with pytest.raises(TypeError, match="execute"):
        Broken()  # type: ignore[abstract]


# -- StepRegistry --------------------------------------------------------------------------------


def test_register_keeps_order_and_accepts_classes():
    registry = StepRegistry()
    load = registry.register(LoadStep)
    registry.register(SumStep())
    assert isinstance(load, LoadStep)
    assert registry.names == ["load", "sum"]
    assert len(registry) == 2
    assert "load" in registry and SumStep in registry and load in registry
    assert "missing" not in registry


def test_insert_before_and_after_by_name_class_or_instance():
    registry = StepRegistry([LoadStep, SumStep])
    registry.insert_before("load", Noop(name="download"))
    registry.insert_after(LoadStep, Noop(name="clean"))
    last = registry.get("sum")
    registry.insert_after(last, Noop(name="report"))
    assert registry.names == ["download", "load", "clean", "sum", "report"]


def test_remove_and_replace():
    registry = StepRegistry([LoadStep, Noop(name="clean"), SumStep])
    removed = registry.remove("clean")
    assert removed.name == "clean"
    assert registry.names == ["load", "sum"]
    registry.replace("sum", Noop(name="total"))
    assert registry.names == ["load", "total"]


def test_duplicate_name_is_a_clear_error():
    registry = StepRegistry([LoadStep])
    with pytest.raises(StepError) as info:
        registry.register(Noop(name="load"))
    err = info.value
    assert isinstance(err, ActionDefinitionError)
    assert err.step == "load"
    assert err.available == ["load"]
    assert "A step named 'load' is already registered (at position 0, LoadStep)" in str(err)
    assert "Noop(name='load_2')" in err.hint
    assert registry.names == ["load"]


def test_unknown_anchor_names_the_registered_steps_with_a_suggestion():
    registry = StepRegistry([LoadStep, SumStep])
    with pytest.raises(StepError) as info:
        registry.insert_after("laod", Noop())
    message = str(info.value)
    assert message.startswith("No step 'laod' is registered; registered steps: 'load', 'sum'")
    assert info.value.hint == "did you mean 'load'?"
    assert info.value.available == ["load", "sum"]
    with pytest.raises(StepError, match="No step UploadModelStep is registered"):
        registry.remove(UploadModelStep)


def test_failed_replace_keeps_the_old_step():
    registry = StepRegistry([LoadStep, SumStep])
    with pytest.raises(StepError, match="already registered"):
        registry.replace("sum", Noop(name="load"))
    assert registry.names == ["load", "sum"]


@pytest.mark.parametrize("weight", [-1, float("nan"), float("inf"), "2", True])
def test_invalid_weights_are_rejected(weight):
    with pytest.raises(StepError, match="invalid progress_weight") as info:
        StepRegistry().register(Noop(progress_weight=weight))
    assert info.value.step == "noop"


def test_only_steps_can_be_registered():
    with pytest.raises(StepError, match="Only BaseStep instances can be registered, got str"):
        StepRegistry().register("load")  # type: ignore[arg-type]


def test_proportions_are_weight_shares():
    registry = StepRegistry([LoadStep, SumStep])
    assert registry.total_weight == 4.0
    assert registry.proportions() == {"load": 0.25, "sum": 0.75}
    zeros = StepRegistry([Noop(name="a", progress_weight=0), Noop(name="b", progress_weight=0)])
    assert zeros.proportions() == {"a": 0.5, "b": 0.5}


# -- typed results between steps ----------------------------------------------------------------


def test_results_pass_to_later_steps_and_come_back_typed():
    registry = StepRegistry([LoadStep, SumStep])
    context = Orchestrator(registry, RuntimeContext(), params=Params()).run()
    assert context.result_of(LoadStep) == [1, 2, 3]
    assert context.result_of("sum") == 6
    result = context.step_result(SumStep)
    assert result.step == "sum"
    assert result.rollback_data == {"undo": "nothing"}
    assert result.duration is not None and result.duration >= 0
    assert list(context.results) == ["load", "sum"]


def test_reading_a_later_step_result_is_a_clear_error():
    class Early(BaseStep[int]):
        name = "early"

        def execute(self, ctx: StepContext) -> int:
            return ctx.result_of("sum")

    registry = StepRegistry([Early, LoadStep, SumStep])
    with pytest.raises(StepError) as info:
        Orchestrator(registry, RuntimeContext(), params=Params()).run()
    assert "Step 'sum' has no result yet (steps with results: none)" in str(info.value)
    assert info.value.step == "sum"


def test_result_of_a_skipped_step_is_an_error_and_ran_is_false():
    class Skipped(Noop):
        name = "skipped"

        def can_skip(self, ctx: StepContext) -> bool:
            return True

    seen = {}

    class Reader(Noop):
        name = "reader"

        def execute(self, ctx: StepContext) -> None:
            seen["ran"] = ctx.ran("skipped")
            with pytest.raises(StepError, match="Step 'skipped' was skipped"):
                ctx.result_of("skipped")

    context = Orchestrator([Skipped(), Reader()], RuntimeContext()).run()
    assert seen == {"ran": False}
    assert context.results["skipped"].skipped is True


def test_result_of_a_class_with_two_instances_asks_for_a_name():
    context = Orchestrator([Noop(name="a"), Noop(name="b")], RuntimeContext()).run()
    with pytest.raises(StepError, match=r"Several steps of class Noop ran \(a, b\)"):
        context.result_of(Noop)
    assert context.result_of("a") is None


def test_state_is_shared_between_steps():
    class Put(Noop):
        name = "put"

        def execute(self, ctx: StepContext) -> None:
            ctx.state["token"] = "abc"

    class Get(BaseStep[str]):
        name = "get"

        def execute(self, ctx: StepContext) -> str:
            return ctx.state["token"]

    assert Orchestrator([Put(), Get()], RuntimeContext()).run().result_of("get") == "abc"


# -- actions made of steps -----------------------------------------------------------------------


class SumAction(BaseAction[Params]):
    action_name = "sum"

    def setup_steps(self, registry: StepRegistry) -> None:
        registry.register(LoadStep())
        registry.register(SumStep())


def test_an_action_made_of_steps_needs_no_execute_and_returns_the_last_result():
    run = run_action(SumAction, {"numbers": [4, 5]})
    assert run.ok, run.traceback
    assert run.result == 9
    assert as_spec(SumAction).name == "sum"


def test_a_subclass_extends_default_steps_with_insert_and_remove():
    class Double(BaseStep[list[int]]):
        name = "double"

        def execute(self, ctx: StepContext) -> list[int]:
            return [2 * n for n in ctx.result_of(LoadStep)]

    class DoubledSum(SumAction):
        def setup_steps(self, registry: StepRegistry) -> None:
            super().setup_steps(registry)
            registry.insert_after("load", Double())
            registry.replace("sum", _SumOf("double"))

    assert run_action(DoubledSum, {"numbers": [1, 2]}).result == 6


class _SumOf(BaseStep[int]):
    name = "sum"

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def execute(self, ctx: StepContext) -> int:
        return sum(ctx.result_of(self.source))


def test_a_subclass_execute_replaces_the_inherited_steps():
    class Custom(SumAction):
        def execute(self) -> str:
            return "custom"

    assert run_action(Custom, {}).result == "custom"


def test_result_from_steps_can_build_the_result():
    class Both(SumAction):
        def result_from_steps(self, context: StepContext) -> dict:
            return {"n": len(context.result_of(LoadStep)), "sum": context.result_of(SumStep)}

    assert run_action(Both, {}).result == {"n": 3, "sum": 6}


def test_execute_of_a_step_class_runs_the_steps():
    assert SumAction(Params(numbers=[7]), RuntimeContext()).execute() == 7


def test_a_class_with_neither_execute_nor_steps_is_rejected_clearly():
    class Nothing(BaseAction[Params]):
        pass

    with pytest.raises(ActionDefinitionError) as info:
        as_spec(Nothing)
    message = str(info.value)
    assert "Nothing" in message
    assert "defines neither execute() nor setup_steps()" in message
    assert "setup_steps(self, registry)" in info.value.hint


def test_setup_steps_registering_nothing_fails_the_run_clearly():
    class Empty(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            pass

    run = run_action(Empty, {})
    assert not run.ok
    cause = run.error.__cause__
    assert isinstance(cause, ActionDefinitionError)
    assert "Empty.setup_steps() registered no steps" in str(cause)


def test_importing_steps_and_autolog_loads_no_framework_or_pydantic():
    probe = (
        "import sys, json, synapse_sdk.plugins.steps, synapse_sdk.plugins.autolog; "
        "print(json.dumps(sorted(m for m in ('pydantic', 'numpy', 'lightgbm', 'xgboost') "
        "if m in sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout) == []
    assert proc.stderr == ""
