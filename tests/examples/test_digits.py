"""The digits example plugin end to end on a LocalBackend: upload, train, infer, export."""

import json
from pathlib import Path

import pytest

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins.events import MetricsEvent, ProgressEvent
from synapse_sdk.plugins.runner import run_plugin_record

pytest.importorskip("sklearn", reason="the digits example needs the 'examples' extra")

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"


@pytest.fixture
def backend(tmp_path):
    with LocalBackend(tmp_path / "home", durable=False) as b:
        yield b


def run(backend, action, params=None):
    return run_plugin_record(str(DIGITS), action, params or {}, client=backend)


def test_upload_train_infer_export(backend, tmp_path):
    upload = run(backend, "upload", {"limit": 400, "name": "digits-400"}).raise_for_status()
    assert upload.result.dataset == 1 and upload.result.data_units == 400
    unit = backend.list_data_units(1, limit=1)[0]
    assert unit["meta"] == {"label": 0, "index": 0}
    assert backend.read_file(unit["files"]["image"]["sha256"]).startswith(b"P5\n8 8\n16\n")

    train = run(backend, "train", {"dataset": 1, "epochs": 8}).raise_for_status()
    result = train.result
    assert result.val_accuracy > 0.85 and result.stored_in == str(backend.root)
    epochs = [e.values["epoch"] for e in train.events_of(MetricsEvent)]
    assert epochs == list(range(1, 9))
    train_progress = [e.current for e in train.events_of(ProgressEvent) if e.step == "train"]
    assert train_progress == list(range(1, 9))
    model = backend.get_model(result.model_id)
    assert model["name"] == "digits" and model["dataset"] == 1
    (job,) = backend.list_jobs(status="succeeded")[:1]
    assert job["action"] == "train" and model["job"] == job["id"]
    assert job["metrics"]["train"]["epoch"] == 8

    infer = run(backend, "infer", {"samples": list(range(20))}).raise_for_status()
    assert infer.result["model"] == result.model_id
    assert infer.result["accuracy"] >= 0.8
    assert [set(p) for p in infer.result["predictions"]] == [{"label", "confidence"}] * 20

    export = run(backend, "export", {"output_dir": str(tmp_path / "out")}).raise_for_status()
    assert export.result.agreement == 1.0
    exported = json.loads(Path(export.result.path).read_text())
    assert exported["format"] == "softmax-linear/v1"
    assert len(exported["weights"]) == 64 and len(exported["weights"][0]) == 10


def test_train_imports_the_bundled_digits_once_and_resumes_from_a_checkpoint(backend):
    first = run(backend, "train", {"epochs": 1}).raise_for_status()
    second = run(backend, "train", {"epochs": 1, "checkpoint": first.result.model_id})
    second.raise_for_status()
    (dataset,) = backend.list_datasets()
    assert dataset["name"] == "sklearn-digits" and dataset["data_unit_count"] == 1797
    resumed = backend.get_model(second.result.model_id)
    assert resumed["parent"] == first.result.model_id and resumed["dataset"] == dataset["id"]
    assert second.result.val_accuracy >= first.result.val_accuracy - 0.02


def test_infer_loads_the_model_once_per_process_and_reuses_it(backend):
    run(backend, "upload", {"limit": 100}).raise_for_status()
    run(backend, "train", {"dataset": 1, "epochs": 1}).raise_for_status()
    events = []
    for _ in range(2):
        events += [e.event for e in run(backend, "infer", {"samples": [0]}).events
                   if getattr(e, "event", None) in ("model_loaded", "model_reused")]  # fmt: skip
    assert events in (["model_loaded", "model_reused"], ["model_reused", "model_reused"])


def test_infer_before_any_training_says_to_train_first(backend):
    failed = run(backend, "infer")
    assert not failed.ok
    assert "run the train action first" in str(failed.error)


def test_without_a_backend_the_helpers_say_how_to_configure_one():
    failed = run_plugin_record(str(DIGITS), "upload", {"limit": 5})
    assert "client=LocalBackend()" in str(failed.error)


def test_the_upload_runs_against_the_testing_kits_fake_backend(synapse_run, synapse_backend):
    done = synapse_run(str(DIGITS), "upload", {"limit": 20})
    assert done.result.data_units == 20
    (dataset,) = synapse_backend.list_datasets()
    assert dataset["data_unit_count"] == 20


def test_config_yaml_matches_the_code(capsys):
    from synapse_sdk.cli import main

    assert main(["sync", "--check", str(DIGITS)]) == 0
    assert "in sync" in capsys.readouterr().out
