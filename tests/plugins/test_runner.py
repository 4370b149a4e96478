"""run_action / run_plugin: validation, Run records, failures, result validation."""

import json
import sys
import types

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.plugins import (
    ActionNotFoundError,
    BaseAction,
    CancelledError,
    ExecutionError,
    JsonlSink,
    RunStatus,
    RuntimeContext,
    ValidationError,
    action,
    run_action,
    run_plugin,
)
from synapse_sdk.plugins.events import (
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
    WarningEvent,
)


class Augment(BaseModel):
    flip: bool = True
    rotate: float = Field(default=0.0, ge=0, le=360)


class Params(BaseModel):
    dataset: int
    epochs: int = Field(default=3, ge=1)
    augmentation: Augment | None = None
    stages: list[Augment] = []


class Result(BaseModel):
    total: int


@action(params=Params, result=Result)
def count(params: Params, ctx: RuntimeContext) -> Result:
    for i in range(params.epochs):
        ctx.set_progress(i + 1, params.epochs)
    return Result(total=params.dataset * params.epochs)


def test_run_action_returns_a_succeeded_run_with_result_and_events():
    run = run_action(count, {"dataset": 2})
    assert run.status is RunStatus.SUCCEEDED and run.ok
    assert run.result == Result(total=6)
    assert run.error is None
    kinds = [type(e) for e in run.events]
    assert kinds == [
        RunStarted,
        ProgressEvent,
        ProgressEvent,
        ProgressEvent,
        ResultEvent,
        RunFinished,
    ]
    assert run.events[-1].status == "succeeded"
    assert run.duration >= 0 and run.finished_at >= run.started_at
    assert all(e.run_id == run.run_id for e in run.events)


@pytest.mark.parametrize(
    "params",
    [{"dataset": 2, "epochs": 1}, '{"dataset": 2, "epochs": 1}', Params(dataset=2, epochs=1)],
)
def test_params_may_be_a_dict_a_json_string_or_a_model(params):
    assert run_action(count, params).result == Result(total=2)


def test_invalid_params_raise_a_validation_error_with_field_paths():
    with pytest.raises(ValidationError) as info:
        run_action(count, {"dataset": "x", "epochs": 0, "augmentation": {"rotate": 400}})
    err = info.value
    assert isinstance(err, ValueError)
    assert err.action == "count"
    assert err.fields == ["dataset", "epochs", "augmentation.rotate"]
    assert "augmentation.rotate: Input should be less than or equal to 360 (got 400)" in str(err)


def test_missing_required_field_is_named():
    with pytest.raises(ValidationError, match=r"dataset: Field required"):
        run_action(count, {})


def test_unknown_keys_are_rejected_with_did_you_mean_also_when_nested():
    with pytest.raises(ValidationError) as info:
        run_action(
            count,
            {
                "dataset": 1,
                "epoch": 2,
                "augmentation": {"flipp": False},
                "stages": [{}, {"rotat": 3}],
            },
        )
    message = str(info.value)
    assert "epoch: unknown field (did you mean 'epochs'?)" in message
    assert "augmentation.flipp: unknown field (did you mean 'flip'?)" in message
    assert "stages[1].rotat: unknown field (did you mean 'rotate'?)" in message
    assert info.value.fields == ["epoch", "augmentation.flipp", "stages[1].rotat"]


def test_unknown_key_rejection_can_be_turned_off():
    run = run_action(count, {"dataset": 1, "epoch": 2}, reject_unknown=False)
    assert run.result == Result(total=3)


def test_invalid_json_params_point_at_line_and_column():
    with pytest.raises(ValidationError, match="not valid JSON at line 1 column 14"):
        run_action(count, '{"dataset": 1')


def test_failure_inside_the_action_is_a_failed_run_with_the_original_as_cause():
    @action()
    def explode(params, ctx):
        raise KeyError("missing-file")

    run = run_action(explode, {})
    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, ExecutionError)
    assert isinstance(run.error.__cause__, KeyError)
    assert "Action 'explode' failed: KeyError: 'missing-file'" in str(run.error)
    assert "raise KeyError" in run.traceback
    assert run.events[-1].status == "failed"
    with pytest.raises(ExecutionError):
        run.raise_for_status()


def test_cancelled_run_has_the_cancelled_status():
    @action()
    def slow(params, ctx):
        ctx.cancel()
        for i in range(10):
            ctx.set_progress(i, 10)

    run = run_action(slow, {})
    assert run.status is RunStatus.CANCELLED
    assert isinstance(run.error, CancelledError)


def test_result_mismatch_warns_and_keeps_the_original_result(caplog):
    class Bad(BaseAction[Params]):
        result_model = Result

        def execute(self):
            return {"wrong": 1}

    run = run_action(Bad, {"dataset": 1})
    assert run.ok
    assert run.result == {"wrong": 1}
    (warning,) = run.events_of(WarningEvent)
    assert warning.code == "result_validation"
    assert "does not match Result: total: Field required" in warning.message
    assert sum("does not match Result" in r.getMessage() for r in caplog.records) == 1


def test_result_matching_as_a_dict_does_not_warn():
    class AsDict(BaseAction[Params]):
        result_model = Result

        def execute(self):
            return {"total": 5}

    run = run_action(AsDict, {"dataset": 1})
    assert run.events_of(WarningEvent) == []


def test_function_action_without_params_model_gets_a_dict():
    @action()
    def echo(params, ctx):
        return params

    assert run_action(echo, {"a": 1}).result == {"a": 1}
    assert run_action(echo).result == {}


def test_env_and_client_reach_the_context():
    @action()
    def peek(params, ctx):
        return (dict(ctx.env), ctx.client)

    client = object()
    assert run_action(peek, env={"A": "1"}, client=client).result == ({"A": "1"}, client)


def test_jsonl_sink_gets_every_event_and_is_flushed_also_on_failure(tmp_path):
    @action()
    def fails(params, ctx):
        ctx.log("before", {"x": 1})
        raise RuntimeError("boom")

    path = tmp_path / "run.jsonl"
    run = run_action(fails, {}, sinks=[JsonlSink(path)])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["run_started", "log", "run_finished"]
    assert [line["seq"] for line in lines] == [0, 1, 2]
    assert lines[-1]["status"] == "failed" and "boom" in lines[-1]["error"]
    assert lines[0]["run_id"] == run.run_id


def test_run_to_dict_is_json_serializable():
    run = run_action(count, {"dataset": 1, "epochs": 1})
    data = json.loads(json.dumps(run.to_dict()))
    assert data["status"] == "succeeded"
    assert data["result"] == {"total": 1}
    assert data["params"]["dataset"] == 1
    assert data["events"][0]["type"] == "run_started"


def test_run_plugin_by_module_name(monkeypatch):
    module = types.ModuleType("fake_plugin_mod")

    @action(name="hello")
    def hello(params, ctx):
        return {"greeting": f"hi {params.get('name', 'there')}"}

    hello.__module__ = "fake_plugin_mod"
    module.hello = hello
    monkeypatch.setitem(sys.modules, "fake_plugin_mod", module)
    assert run_plugin("fake_plugin_mod", "hello", {"name": "bob"}) == {"greeting": "hi bob"}
    with pytest.raises(ActionNotFoundError) as info:
        run_plugin("fake_plugin_mod", "helo")
    assert info.value.available == ["hello"]
    assert "did you mean 'hello'?" in str(info.value)


def test_run_plugin_raises_the_runs_error_on_failure(monkeypatch):
    module = types.ModuleType("fake_plugin_fail")

    @action(name="bad")
    def bad(params, ctx):
        raise ValueError("nope")

    bad.__module__ = "fake_plugin_fail"
    module.bad = bad
    monkeypatch.setitem(sys.modules, "fake_plugin_fail", module)
    with pytest.raises(ExecutionError) as info:
        run_plugin("fake_plugin_fail", "bad")
    assert isinstance(info.value.__cause__, ValueError)
