"""BaseTrainAction: the spec's helpers over a real LocalBackend."""

import zipfile

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import BaseTrainAction, PluginCategory, as_spec, run_action
from synapse_sdk.plugins.actions.train import BaseTrainParams, Checkpoint
from synapse_sdk.plugins.errors import BackendNotConfiguredError
from synapse_sdk.plugins.events import ProgressEvent


class MyTrainParams(BaseTrainParams):
    epochs: int = 2
    dataset: int


class MyTrainAction(BaseTrainAction[MyTrainParams]):
    action_name = "train"

    def execute(self) -> dict:
        dataset = self.get_dataset()
        checkpoint = self.get_checkpoint()
        labels = [unit["meta"]["label"] for unit in dataset]
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs, step=self.progress.TRAIN)
        start = checkpoint.path.read_text() if checkpoint else ""
        path = self.work_dir / "weights.txt"
        path.write_text(start + ",".join(map(str, labels)))
        model = self.create_model(path, name="my-model", meta={"labels": labels})
        return {"model_id": model["id"], "resumed": checkpoint.id if checkpoint else None}


def test_generic_argument_is_the_params_model_and_category_is_neural_net():
    spec = as_spec(MyTrainAction)
    assert spec.params_model is MyTrainParams
    assert spec.category is PluginCategory.NEURAL_NET


def test_train_reads_dataset_and_uploads_a_linked_model(backend, digits_like):
    run = run_action(MyTrainAction, {"dataset": digits_like["id"]}, client=backend)
    run.raise_for_status()
    model = backend.get_model(run.result["model_id"])
    assert model["name"] == "my-model" and model["meta"] == {"labels": [0, 1, 2]}
    assert model["dataset"] == digits_like["id"]
    (job,) = backend.list_jobs()
    assert model["job"] == job["id"]
    assert backend.read_file(model["file"]["sha256"]) == b"0,1,2"
    steps = {e.step for e in run.events_of(ProgressEvent)}
    assert steps == {"dataset", "train", "model_upload"}
    assert job["progress"]["model_upload"]["percent"] == 100.0


def test_get_checkpoint_downloads_the_model_to_resume_from(backend, digits_like):
    first = run_action(MyTrainAction, {"dataset": digits_like["id"]}, client=backend)
    params = {"dataset": digits_like["id"], "checkpoint": first.result["model_id"]}
    second = run_action(MyTrainAction, params, client=backend).raise_for_status()
    assert second.result["resumed"] == first.result["model_id"]
    model = backend.get_model(second.result["model_id"])
    assert model["parent"] == first.result["model_id"]
    assert backend.read_file(model["file"]["sha256"]) == b"0,1,20,1,2"


def test_progress_is_an_instance_attribute_with_the_three_steps():
    action = MyTrainAction(MyTrainParams(dataset=1), ctx=None)  # type: ignore[arg-type]
    assert "progress" in vars(action)
    assert (action.progress.DATASET, action.progress.TRAIN, action.progress.MODEL_UPLOAD) == (
        "dataset",
        "train",
        "model_upload",
    )
    assert list(action.progress) == ["dataset", "model_upload", "train"]


class NoDatasetParams(BaseModel):
    epochs: int = 1


class NoDatasetTrain(BaseTrainAction[NoDatasetParams]):
    def execute(self):
        return self.get_dataset()


def test_get_dataset_without_a_dataset_field_names_both_fixes(backend):
    run = run_action(NoDatasetTrain, {}, client=backend)
    err = run.error.__cause__
    assert type(err) is ValueError
    text = str(err)
    assert "NoDatasetParams" in text
    assert "add `dataset: int`" in text
    assert "override get_dataset()" in text


def test_helpers_without_a_backend_say_how_to_configure_one(digits_like):
    run = run_action(MyTrainAction, {"dataset": digits_like["id"]})
    err = run.error.__cause__
    assert isinstance(err, BackendNotConfiguredError)
    assert err.helper == "get_dataset()" and err.action == "train"
    assert "client=LocalBackend()" in str(err)


class DirModelTrain(BaseTrainAction[BaseTrainParams]):
    def execute(self):
        folder = self.work_dir / "model"
        folder.mkdir()
        (folder / "a.txt").write_text("a")
        (folder / "b.txt").write_text("b")
        return self.create_model(folder)


def test_a_model_directory_is_uploaded_as_a_zip(backend, tmp_path):
    run = run_action(DirModelTrain, {}, client=backend).raise_for_status()
    record = run.result
    assert record["name"] == "dir_model_train" and record["file"]["name"] == "model.zip"
    out = backend.download_file(record["file"]["sha256"], tmp_path / "m.zip")
    assert sorted(zipfile.ZipFile(out).namelist()) == ["a.txt", "b.txt"]


def test_checkpoint_is_a_small_value_type(tmp_path):
    cp = Checkpoint({"id": 3}, tmp_path)  # type: ignore[arg-type]
    assert cp.id == 3


def test_missing_model_path_is_a_clear_error(backend):
    class Bad(BaseTrainAction[BaseTrainParams]):
        def execute(self):
            return self.create_model("/nonexistent/weights.bin")

    run = run_action(Bad, {}, client=backend)
    assert isinstance(run.error.__cause__, FileNotFoundError)
    assert "/nonexistent/weights.bin does not exist" in str(run.error)


@pytest.mark.parametrize("missing", [None])
def test_unset_dataset_id_is_a_clear_error(backend, missing):
    class OptionalDataset(BaseTrainParams):
        dataset: int | None = missing

    class T(BaseTrainAction[OptionalDataset]):
        def execute(self):
            return self.get_dataset()

    run = run_action(T, {}, client=backend)
    assert "params.dataset is not set" in str(run.error.__cause__)
