"""BaseTrainAction's default steps: dataset -> train -> model_upload over a real LocalBackend."""

import pytest

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins import (
    ActionDefinitionError,
    BaseStep,
    BaseTrainAction,
    as_spec,
    run_action,
)
from synapse_sdk.plugins.actions.train import BaseTrainParams, ModelUploadStep
from synapse_sdk.plugins.errors import BackendNotConfiguredError
from synapse_sdk.plugins.events import ProgressEvent, StepEvent
from synapse_sdk.plugins.steps import StepContext, StepRegistry


class Params(BaseTrainParams):
    dataset: int | None = None
    epochs: int = 2


class StepTrain(BaseTrainAction[Params]):
    action_name = "train"

    def setup_steps(self, registry: StepRegistry) -> None:
        super().setup_steps(registry)

    def train_model(self, dataset, checkpoint):
        labels = [unit["meta"]["label"] for unit in dataset] if dataset is not None else []
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs, step=self.progress.TRAIN)
        path = self.work_dir / "weights.txt"
        path.write_text(",".join(map(str, labels)))
        return path


@pytest.fixture
def backend(tmp_path):
    with LocalBackend(tmp_path / "home", durable=False) as b:
        yield b


@pytest.fixture
def dataset(backend):
    ds = backend.create_dataset("tiny")
    backend.add_data_units(ds["id"], [({"x": f"{i}".encode()}, {"label": i}) for i in range(3)])
    return ds["id"]


def test_default_steps_match_the_progress_categories_and_upload_the_model(backend, dataset):
    run = run_action(StepTrain, {"dataset": dataset}, client=backend)
    run.raise_for_status()
    model = backend.get_model(run.result["id"])
    assert backend.read_file(model["file"]["sha256"]) == b"0,1,2"
    assert model["dataset"] == dataset
    started = [e.step for e in run.events_of(StepEvent) if e.status == "started"]
    assert started == ["dataset", "train", "model_upload"]
    weights = {e.step: e.weight for e in run.events_of(StepEvent) if e.status == "pending"}
    assert weights == {"dataset": 0.1, "train": 0.8, "model_upload": 0.1}
    overall = [e.current for e in run.events_of(ProgressEvent) if e.step is None]
    assert overall[-1] == 100.0 and overall == sorted(overall)
    assert 50.0 in overall  # half of the train step's 80%, after epoch 1 of 2


def test_without_a_dataset_the_dataset_step_is_skipped(backend):
    run = run_action(StepTrain, {}, client=backend)
    run.raise_for_status()
    assert ("dataset", "skipped") in [(e.step, e.status) for e in run.events_of(StepEvent)]
    assert backend.read_file(backend.get_model(run.result["id"])["file"]["sha256"]) == b""


def test_users_extend_the_defaults_with_insert_and_remove():
    class Evaluate(BaseStep[float]):
        name = "evaluate"

        def execute(self, ctx: StepContext) -> float:
            return float(len(ctx.result_of("train").read_text()))

    class Local(StepTrain):
        def setup_steps(self, registry: StepRegistry) -> None:
            super().setup_steps(registry)
            registry.insert_after("train", Evaluate())
            registry.remove(ModelUploadStep)

    run = run_action(Local, {})  # no backend needed: nothing is uploaded
    run.raise_for_status()
    assert run.result == 0.0
    started = [e.step for e in run.events_of(StepEvent) if e.status == "started"]
    assert started == ["train", "evaluate"]


def test_the_default_steps_fail_clearly_without_train_model():
    class NoTrain(BaseTrainAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            super().setup_steps(registry)

    run = run_action(NoTrain, {})
    cause = run.error.__cause__
    assert type(cause) is NotImplementedError
    assert "NoTrain runs the default training steps but does not define train_model" in str(cause)


def test_a_train_class_with_neither_execute_nor_setup_steps_is_rejected():
    class Neither(BaseTrainAction[Params]):
        def train_model(self, dataset, checkpoint):
            return None

    with pytest.raises(ActionDefinitionError, match="defines neither execute"):
        as_spec(Neither)


def test_a_backend_error_in_a_step_is_the_cause_and_rolls_back(dataset):
    run = run_action(StepTrain, {"dataset": dataset})  # no client
    assert isinstance(run.error.__cause__, BackendNotConfiguredError)
    statuses = [(e.step, e.status) for e in run.events_of(StepEvent) if e.status != "pending"]
    assert statuses == [("dataset", "started"), ("dataset", "failed"), ("dataset", "rolled_back")]
