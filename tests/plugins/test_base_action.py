"""BaseAction[P]: class attributes, params_model from generics, helpers delegate to ctx."""

from typing import Generic, TypeVar

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.plugins import (
    ActionDefinitionError,
    BaseAction,
    MemorySink,
    NoResult,
    RuntimeContext,
    as_spec,
)
from synapse_sdk.plugins.enums import PluginCategory
from synapse_sdk.plugins.events import LogEvent, MetricsEvent, ProgressEvent
from synapse_sdk.plugins.types import DMv2Dataset, ModelWeights


class TrainParams(BaseModel):
    epochs: int = Field(default=10, ge=1, le=1000)
    learning_rate: float = Field(default=0.001, gt=0, lt=1)


class TrainResult(BaseModel):
    weights_path: str
    final_loss: float


class TrainAction(BaseAction[TrainParams]):
    """Train a model on the dataset."""

    action_name = "train"
    category = PluginCategory.NEURAL_NET
    input_type = DMv2Dataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self) -> TrainResult:
        self.log("train_start", {"epochs": self.params.epochs})
        loss = 1.0
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs, step="train")
            loss /= 2
            self.set_metrics({"loss": loss, "epoch": epoch}, step="train")
        return TrainResult(weights_path="/model/weights.pt", final_loss=loss)


def test_params_model_comes_from_the_generic_argument():
    assert TrainAction.params_model is TrainParams


def test_result_model_defaults_to_noresult():
    class Plain(BaseAction[TrainParams]):
        def execute(self):
            return None

    assert Plain.result_model is NoResult
    assert as_spec(Plain).result_model is None


def test_params_model_through_an_intermediate_generic_base():
    P = TypeVar("P", bound=BaseModel)

    class BaseCategoryAction(BaseAction[P], Generic[P]):
        def helper(self):
            return "helped"

    class Mine(BaseCategoryAction[TrainParams]):
        def execute(self):
            return self.helper()

    assert BaseCategoryAction.params_model is None
    assert Mine.params_model is TrainParams


def test_explicit_params_model_wins():
    class Other(BaseModel):
        x: int = 1

    class Explicit(BaseAction[TrainParams]):
        params_model = Other

        def execute(self):
            return None

    assert Explicit.params_model is Other


def test_helpers_delegate_to_the_context_events():
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])
    result = TrainAction(TrainParams(epochs=2), ctx).execute()
    assert result.final_loss == 0.25
    kinds = [type(e) for e in sink.events]
    assert kinds == [LogEvent, ProgressEvent, MetricsEvent, ProgressEvent, MetricsEvent]
    assert [e.current for e in sink.events if isinstance(e, ProgressEvent)] == [1, 2]
    assert sink.events[-1].values == {"loss": 0.25, "epoch": 1}
    assert sink.events[-1].step == "train"


def test_spec_of_a_class_action_carries_its_metadata():
    spec = as_spec(TrainAction)
    assert spec.name == "train"
    assert spec.kind == "class"
    assert spec.description == "Train a model on the dataset."
    assert spec.category is PluginCategory.NEURAL_NET
    assert spec.input_type is DMv2Dataset
    assert spec.output_type is ModelWeights
    assert spec.result_model is TrainResult


def test_class_name_gives_the_default_action_name():
    class ExportToONNXAction(BaseAction[TrainParams]):
        def execute(self):
            return None

    assert as_spec(ExportToONNXAction).name == "export_to_onnx"


def test_abstract_action_is_rejected_naming_execute():
    class Forgot(BaseAction[TrainParams]):
        pass

    with pytest.raises(ActionDefinitionError) as info:
        as_spec(Forgot)
    assert "Forgot" in str(info.value)
    assert "execute" in str(info.value)


def test_discovery_helpers_do_not_mutate_the_class():
    before = dict(vars(TrainAction))
    as_spec(TrainAction)
    assert dict(vars(TrainAction)) == before
