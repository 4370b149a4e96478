"""BaseInferenceAction: a stored model is loaded once per process and run over inputs."""

import pytest

from synapse_sdk.plugins import BaseInferenceAction, PluginCategory, as_spec, run_action
from synapse_sdk.plugins.actions.inference import BaseInferenceParams, clear_model_cache
from synapse_sdk.plugins.events import ProgressEvent

loaded: list[int] = []


class AddParams(BaseInferenceParams):
    inputs: list[int]


class AddAction(BaseInferenceAction[AddParams]):
    """The 'model' is a number added to every input."""

    def load_model(self, path, record):
        loaded.append(record["id"])
        return int(path.read_text())

    def infer(self, model, inputs):
        return [x + model for x in inputs]


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_model_cache()
    loaded.clear()
    yield
    clear_model_cache()


@pytest.fixture
def model_id(backend, tmp_path):
    path = tmp_path / "offset.txt"
    path.write_text("10")
    return backend.create_model(path, name="offset")["id"]


def test_spec_and_category():
    spec = as_spec(AddAction)
    assert spec.params_model is AddParams and spec.category is PluginCategory.NEURAL_NET


def test_predictions_in_batches_with_progress(backend, model_id):
    run = run_action(AddAction, {"model": model_id, "inputs": [1, 2, 3], "batch_size": 2},
                     client=backend)  # fmt: skip
    assert run.raise_for_status().result == {"model": model_id, "predictions": [11, 12, 13]}
    inference = [(e.current, e.total) for e in run.events_of(ProgressEvent)
                 if e.step == "inference"]  # fmt: skip
    assert inference == [(0, 3), (2, 3), (3, 3)]


def test_the_model_is_loaded_once_per_process(backend, model_id):
    for _ in range(3):
        run_action(AddAction, {"model": model_id, "inputs": [1]}, client=backend).raise_for_status()
    assert loaded == [model_id]


def test_a_new_model_file_is_loaded_again(backend, model_id, tmp_path):
    run_action(AddAction, {"model": model_id, "inputs": [1]}, client=backend)
    other = tmp_path / "other.txt"
    other.write_text("100")
    second = backend.create_model(other, name="offset")["id"]
    run = run_action(AddAction, {"model": second, "inputs": [1]}, client=backend)
    assert run.result["predictions"] == [101]
    assert loaded == [model_id, second]


def test_infer_returning_the_wrong_count_fails_clearly(backend, model_id):
    class Bad(AddAction):
        def infer(self, model, inputs):
            return [0]

    run = run_action(Bad, {"model": model_id, "inputs": [1, 2]}, client=backend)
    assert "returned 1 predictions for 2 inputs" in str(run.error)


def test_an_unknown_model_id_is_a_not_found_error(backend):
    run = run_action(AddAction, {"model": 99, "inputs": [1]}, client=backend)
    err = run.error.__cause__
    assert (err.kind, err.id) == ("model", 99)


def test_not_overriding_load_model_says_what_to_do(backend, model_id):
    class Lazy(BaseInferenceAction[AddParams]):
        pass

    run = run_action(Lazy, {"model": model_id, "inputs": [1]}, client=backend)
    assert "must override load_model(path, record)" in str(run.error)
