"""autolog sessions and the integration registry, with a tiny in-test framework.

These need no training framework installed, so they also run in the core environment; the
real LightGBM / XGBoost integrations are tested in test_autolog.py.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from synapse_sdk.plugins import (
    BaseAction,
    MemorySink,
    RunStatus,
    RuntimeContext,
    ValidationError,
    action,
    run_action,
)
from synapse_sdk.plugins.autolog import (
    AutologSession,
    Integration,
    autolog,
    get_integration,
    patch_attributes,
    supported_frameworks,
    wrap_training_function,
)
from synapse_sdk.plugins.autolog import _core as autolog_module
from synapse_sdk.plugins.events import MetricsEvent, ProgressEvent


def _train(rounds: int = 3, callbacks: list[Any] | None = None) -> int:
    """The toy framework's training loop: one callback call per round."""
    for i in range(1, rounds + 1):
        for callback in callbacks or ():
            callback(rounds, {"loss": 1.0 / i})
    return rounds


toyfw = types.SimpleNamespace(train=_train)


class ToyIntegration(Integration):
    name = "toyfw"
    module = "toyfw"
    extra = "autolog-toyfw"
    aliases = ("toy",)

    def installed(self) -> bool:
        return True

    def patch(self, current: Callable[[], AutologSession | None]) -> Callable[[], None]:
        wrapper = wrap_training_function(_train, current, self.callback, rounds_arg="rounds")
        return patch_attributes([(toyfw, "train")], _train, wrapper)

    def callback(self, session: AutologSession, total: int | None = None) -> Any:
        return lambda rounds, values: session.report(rounds, values)


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    integration = ToyIntegration()
    monkeypatch.setitem(autolog_module._REGISTRY, "toyfw", integration)
    monkeypatch.setitem(autolog_module._ALIASES, "toy", "toyfw")
    yield
    assert toyfw.train is _train, "a test left the toy framework patched"


def progress(events: list[Any], step: str | None = "fit") -> list[tuple[float, float]]:
    return [(e.current, e.total) for e in events if isinstance(e, ProgressEvent) and e.step == step]


# -- sessions ------------------------------------------------------------------------------------


def test_a_function_action_session_stops_by_itself_when_the_run_ends():
    seen: dict[str, Any] = {}

    @action
    def fit(params: dict[str, Any], ctx: RuntimeContext) -> int:
        seen["session"] = autolog("toy", ctx, step="fit")
        return toyfw.train(rounds=2)

    run = run_action(fit, {})
    assert run.ok, run.traceback
    assert progress(run.events) == [(1, 2), (2, 2)]
    assert [dict(e.values) for e in run.events_of(MetricsEvent)] == [
        {"loss": 1.0, "iteration": 1},
        {"loss": 0.5, "iteration": 2},
    ]
    assert not seen["session"].active
    assert toyfw.train is _train  # unpatched without a stop() or a with block


def test_a_function_action_session_stops_when_the_run_fails_too():
    seen: dict[str, Any] = {}

    @action
    def fit(params: dict[str, Any], ctx: RuntimeContext) -> None:
        seen["session"] = autolog("toyfw", ctx)
        raise RuntimeError("after autolog")

    run = run_action(fit, {})
    assert run.status is RunStatus.FAILED
    assert type(run.error.__cause__) is RuntimeError
    assert not seen["session"].active and toyfw.train is _train


def test_a_with_block_stops_the_session_before_the_run_ends():
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])
    with autolog("toyfw", ctx, step="fit") as session:
        assert session.active and toyfw.train is not _train
        toyfw.train(rounds=1)
    assert not session.active and toyfw.train is _train
    toyfw.train(rounds=1)  # not reported any more
    assert progress(sink.events) == [(1, 1)]


def test_a_class_action_helper_stops_when_run_returns():
    class Fit(BaseAction[dict]):
        def execute(self) -> bool:
            self.autolog("toyfw", step="fit")
            toyfw.train(rounds=3)
            return toyfw.train is not _train

    run = run_action(Fit, {})
    assert run.ok, run.traceback
    assert run.result is True  # patched while the action ran
    assert progress(run.events) == [(1, 3), (2, 3), (3, 3)]
    assert toyfw.train is _train


def test_patches_are_reference_counted_across_sessions():
    first = autolog("toyfw", progress=lambda c, t: None, metrics=lambda v: None)
    second = autolog("toyfw", progress=lambda c, t: None, metrics=lambda v: None)
    first.stop()
    assert toyfw.train is not _train
    second.stop()
    second.stop()  # idempotent
    assert toyfw.train is _train


# -- errors ----------------------------------------------------------------------------------------


def test_unknown_framework_names_the_supported_ones_and_a_guess():
    with pytest.raises(ValidationError) as info:
        autolog("lightgbn", RuntimeContext())
    err = info.value
    assert err.message.startswith(
        "autolog does not support framework 'lightgbn'; supported frameworks: 'lightgbm', "
        "'toyfw', 'xgboost'"
    )
    assert err.hint == "did you mean 'lightgbm'?"
    assert err.fields == ["framework"]
    assert supported_frameworks() == ["lightgbm", "toyfw", "xgboost"]


def test_unknown_framework_without_a_close_name_says_how_to_add_one():
    with pytest.raises(ValidationError) as info:
        autolog("keras", RuntimeContext())
    assert info.value.hint == (
        "add your own with synapse_sdk.plugins.autolog.register_integration()"
    )


def test_uninstalled_framework_names_the_extra_to_install(monkeypatch):
    class Missing(ToyIntegration):
        name = "missingfw"
        module = "synapse_sdk_no_such_framework"
        extra = "autolog-missingfw"

        def installed(self) -> bool:
            return Integration.installed(self)

    monkeypatch.setitem(autolog_module._REGISTRY, "missingfw", Missing())
    with pytest.raises(ImportError) as info:
        get_integration("missingfw")
    assert str(info.value).startswith(
        "autolog('missingfw') needs the 'synapse_sdk_no_such_framework' package, which is not "
        "installed: pip install 'synapse-sdk[autolog-missingfw]'"
    )
    assert info.value.name == "synapse_sdk_no_such_framework"


def test_autolog_without_a_context_or_reporters_is_a_type_error_and_patches_nothing():
    with pytest.raises(TypeError, match=r"autolog\(\) needs a RuntimeContext"):
        autolog("toyfw")
    assert toyfw.train is _train


def test_registering_a_second_integration_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="'toyfw' is already registered; pass replace=True"):
        autolog_module.register_integration(ToyIntegration())


def test_a_step_context_reports_as_its_step_and_moves_the_overall_progress():
    from synapse_sdk.plugins import BaseStep, StepRegistry
    from synapse_sdk.plugins.steps import StepContext

    class Prepare(BaseStep[None]):
        name = "prepare"

        def execute(self, ctx: StepContext) -> None:
            return None

    class Fit(BaseStep[int]):
        name = "fit"
        progress_weight = 3

        def execute(self, ctx: StepContext) -> int:
            autolog("toyfw", ctx)
            return toyfw.train(rounds=2)

    class Pipeline(BaseAction[dict]):
        def setup_steps(self, registry: StepRegistry) -> None:
            registry.register(Prepare())
            registry.register(Fit())

    run = run_action(Pipeline, {})
    assert run.ok, run.traceback
    assert run.result == 2
    assert progress(run.events) == [(1, 2), (2, 2)]
    assert progress(run.events, step=None) == [(25.0, 100.0), (62.5, 100.0), (100.0, 100.0)]
    assert [e.step for e in run.events_of(MetricsEvent)] == ["fit", "fit"]
    assert toyfw.train is _train


def test_passing_the_framework_module_instead_of_its_name_says_so():
    with pytest.raises(ValidationError) as info:
        # the mistake under test: the module instead of its name
        autolog(types.ModuleType("toyfw"), RuntimeContext())  # type: ignore[arg-type]
    assert info.value.message.startswith("autolog() takes the framework's name, got module ")
    assert info.value.hint == "autolog('toyfw')"
