"""BaseTrainAction subclasses in the reference's form: execute(self, data_path, checkpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.plugins import NoResult, run_action
from synapse_sdk.plugins.actions.train import BaseTrainAction, BaseTrainParams
from synapse_sdk.plugins.errors import ActionDefinitionError, ValidationError
from synapse_sdk.plugins.events import StepEvent
from synapse_sdk.plugins.types import ModelWeights
from synapse_testing import FakeBackend, RecordingContext


class TrainParams(BaseTrainParams):
    epochs: int = Field(default=2, ge=1)
    batch_size: int = 8


class TrainResult(BaseModel):
    weights_path: str
    final_loss: float | None = None


class TrainAction(BaseTrainAction[TrainParams]):
    action_name = "train"
    target_format: str | None = None
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self, data_path: Path, checkpoint: dict[str, Any] | None) -> TrainResult:
        files = sorted(p.name for p in Path(data_path).rglob("*") if p.is_file())
        self.log("seen", {"files": files, "checkpoint": checkpoint and checkpoint["name"]})
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs)
            self.report_metrics({"loss": 1.0 / (epoch + 1)}, epoch=epoch)
        weights = Path(data_path).parent / "best.pt"
        weights.write_bytes(b"weights")
        return TrainResult(weights_path=str(weights), final_loss=0.5)


def _seeded() -> tuple[FakeBackend, int, int]:
    backend = FakeBackend()
    dataset = backend.add_dataset("cats", files={"a.jpg": b"a", "b.jpg": b"b"})
    base = backend.add_model("yolov8n", content=b"base weights", file_name="yolov8n.pt")
    return backend, dataset["id"], base["id"]


def _log(ctx, name):
    return [e.data for e in ctx.events if getattr(e, "event", None) == name]


def test_execute_gets_the_local_dataset_and_checkpoint_and_the_weights_are_uploaded():
    backend, dataset, base = _seeded()
    ctx = RecordingContext(client=backend)
    run = run_action(TrainAction, {"dataset": dataset, "checkpoint": base}, ctx=ctx)

    assert run.ok, run.error
    assert run.result == TrainResult(weights_path=run.result.weights_path, final_loss=0.5)
    (seen,) = _log(ctx, "seen")
    assert seen == {"files": ["a.jpg", "b.jpg"], "checkpoint": "yolov8n"}
    (uploaded,) = backend.uploaded_models
    assert backend.model_bytes(uploaded) == b"weights"
    finished = [e.step for e in ctx.events if isinstance(e, StepEvent) and e.status == "finished"]
    assert finished == ["dataset", "train", "model_upload"]
    assert [dict(e.values) for e in ctx.events if getattr(e, "type", "") == "metrics"] == [
        {"epoch": 0, "loss": 1.0},
        {"epoch": 1, "loss": 0.5},
    ]


def test_a_dict_result_gets_the_uploaded_model_id():
    class DictTrain(TrainAction):
        result_model = NoResult

        def execute(self, data_path, checkpoint):
            return {"weights_path": str(super().execute(data_path, checkpoint).weights_path)}

    backend, dataset, _ = _seeded()
    run = run_action(DictTrain, {"dataset": dataset}, client=backend)
    (uploaded,) = backend.uploaded_models
    assert run.result["model_id"] == uploaded["id"]


def test_ctx_checkpoint_wins_over_params_checkpoint():
    backend, dataset, _ = _seeded()
    ctx = RecordingContext(client=backend)
    ctx.checkpoint = {"category": "base", "path": "/models/yolov8n.pt", "id": 7, "name": "given"}
    run_action(TrainAction, {"dataset": dataset}, ctx=ctx).raise_for_status()
    assert _log(ctx, "seen")[0]["checkpoint"] == "given"


def test_the_platform_hyperparameters_fill_the_declared_fields():
    params = TrainParams.model_validate(
        {
            "dataset": 3,
            "batch_size": 4,
            "hyperparameters": [{"epochs": 5, "batch_size": 16, "lr": 0.1}],
        }
    )
    assert (params.epochs, params.batch_size) == (5, 4)  # given params win
    assert params.hyperparameters == [{"epochs": 5, "batch_size": 16, "lr": 0.1}]
    assert (
        TrainParams.model_validate({"is_tune": True, "hyperparameters": [{"epochs": 9}]}).epochs
        == 2
    )


def test_unknown_params_are_still_rejected():
    with pytest.raises(ValidationError, match=r"epoch.*did you mean 'epochs'"):
        run_action(TrainAction, {"dataset": 1, "epoch": 3})


def test_is_tune_fails_the_run_saying_tuning_is_not_supported():
    backend, dataset, _ = _seeded()
    run = run_action(TrainAction, {"dataset": dataset, "is_tune": True}, client=backend)
    assert not run.ok
    cause = run.error.__cause__
    assert isinstance(cause, ValidationError)
    assert cause.fields == ["is_tune"]
    assert "tuning" in str(cause)


def test_target_format_without_a_converter_says_to_define_convert_dataset():
    class YoloTrain(TrainAction):
        target_format = "yolo"

    backend, dataset, _ = _seeded()
    run = run_action(YoloTrain, {"dataset": dataset}, client=backend)
    assert isinstance(run.error.__cause__, ActionDefinitionError)
    assert "convert_dataset" in str(run.error.__cause__)


def test_target_format_runs_convert_dataset_and_execute_gets_its_path(tmp_path):
    class YoloTrain(TrainAction):
        target_format = "yolo"

        def convert_dataset(self, path, target_format):
            out = tmp_path / target_format
            out.mkdir()
            (out / "dataset.yaml").write_text(f"from: {len(list(path.iterdir()))} units")
            return out

    backend, dataset, _ = _seeded()
    ctx = RecordingContext(client=backend)
    run_action(YoloTrain, {"dataset": dataset}, ctx=ctx).raise_for_status()
    assert _log(ctx, "seen")[0]["files"] == ["dataset.yaml"]
    steps = [e.step for e in ctx.events if isinstance(e, StepEvent) and e.status == "finished"]
    assert steps == ["dataset", "convert", "train", "model_upload"]


def test_without_dataset_or_backend_it_still_trains_and_warns_about_the_upload(tmp_path):
    class LocalTrain(TrainAction):
        def execute(self, data_path, checkpoint):
            assert data_path is None and checkpoint is None
            weights = tmp_path / "w.pt"
            weights.write_bytes(b"w")
            return TrainResult(weights_path=str(weights))

    ctx = RecordingContext()
    run = run_action(LocalTrain, {}, ctx=ctx)
    assert run.ok, run.error
    assert [w.code for w in ctx.warnings()] == ["model_upload_skipped"]
