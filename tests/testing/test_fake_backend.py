"""FakeBackend: a faithful in-memory BackendClient with seeding, a call journal and clear misses."""

import hashlib

import pytest

from synapse_sdk.clients import BackendClient
from synapse_sdk.plugins.errors import BackendError, NotFoundError, UnsafePathError
from synapse_testing import BackendCall, FakeBackend


def test_it_satisfies_the_backend_protocol():
    assert isinstance(FakeBackend(), BackendClient)


def test_add_dataset_seeds_one_unit_per_file_in_one_call(tmp_path):
    path = tmp_path / "c.bin"
    path.write_bytes(b"\x00\x01")
    backend = FakeBackend()
    ds = backend.add_dataset("digits", files={"a.txt": "hello", "b.bin": b"\xff", "c.bin": path})
    assert ds["id"] == 1 and ds["name"] == "digits" and ds["data_unit_count"] == 3
    units = backend.list_data_units(1)
    assert [u["meta"] for u in units] == [{"name": "a.txt"}, {"name": "b.bin"}, {"name": "c.bin"}]
    first = units[0]["files"]["file"]
    assert first == {
        "name": "a.txt",
        "sha256": hashlib.sha256(b"hello").hexdigest(),
        "size": 5,
    }
    assert backend.read_file(first["sha256"]) == b"hello"
    assert backend.read_file(units[2]["files"]["file"]["sha256"]) == b"\x00\x01"


def test_seeding_with_units_and_roles_matches_add_data_units():
    backend = FakeBackend()
    backend.add_dataset("pairs", units=[({"image": b"img", "mask": b"m"}, {"label": 3})])
    (unit,) = backend.list_data_units(1)
    assert sorted(unit["files"]) == ["image", "mask"]
    assert unit["files"]["image"]["name"] == "image" and unit["meta"] == {"label": 3}


def test_every_protocol_call_is_recorded_but_seeding_is_not():
    backend = FakeBackend()
    backend.add_dataset("digits", files={"a.txt": "x"})
    backend.get_dataset(1)
    backend.list_data_units(1, limit=1)
    assert backend.calls == [
        BackendCall("get_dataset", {"dataset_id": 1}),
        BackendCall("list_data_units", {"dataset_id": 1, "offset": 0, "limit": 1}),
    ]
    assert str(backend.calls[1]) == "list_data_units(dataset_id=1, offset=0, limit=1)"
    assert backend.calls_to("get_dataset") == [backend.calls[0]]


def test_a_missing_dataset_names_what_the_fake_holds_nearest_first():
    backend = FakeBackend()
    backend.add_dataset("digits")
    backend.add_dataset("mnist")
    with pytest.raises(NotFoundError) as info:
        backend.get_dataset(7)
    err = info.value
    assert (err.kind, err.id, err.backend) == ("dataset", 7, "FakeBackend")
    assert str(err) == (
        "No dataset with id 7 in backend FakeBackend\n"
        "  hint: datasets in the fake backend, nearest first: 2 'mnist', 1 'digits'"
    )


def test_a_miss_on_an_empty_fake_says_how_to_seed():
    with pytest.raises(NotFoundError) as info:
        FakeBackend().get_model(3)
    assert str(info.value) == (
        "No model with id 3 in backend FakeBackend\n"
        "  hint: the fake backend holds no models; seed one with "
        "synapse_backend.add_model(name=..., content=b'...')"
    )


def test_an_unknown_file_lists_the_stored_file_names():
    backend = FakeBackend()
    backend.add_model("m", file_name="w.pt")
    with pytest.raises(NotFoundError, match=r"files in the fake backend: w\.pt;"):
        backend.read_file("0" * 64)


def test_create_model_stores_the_file_and_reports_uploads(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"weights")
    backend = FakeBackend()
    seeded = backend.add_model("base", content=b"ckpt")
    model = backend.create_model(weights, name="trained", meta={"acc": 0.9}, parent=seeded["id"])
    assert model["id"] == 2 and model["file"]["name"] == "w.pt" and model["parent"] == 1
    assert backend.get_model(2) == model
    assert [m["name"] for m in backend.uploaded_models] == ["trained"]
    assert backend.model_bytes(model) == b"weights" and backend.model_bytes(1) == b"ckpt"
    assert [m["name"] for m in backend.list_models(name="base")] == ["base"]


def test_download_file_writes_the_bytes(tmp_path):
    backend = FakeBackend()
    model = backend.add_model(content="abc")
    dest = backend.download_file(model["file"]["sha256"], tmp_path / "sub" / "m.bin")
    assert dest == str(tmp_path / "sub" / "m.bin")
    assert (tmp_path / "sub" / "m.bin").read_bytes() == b"abc"


def test_records_are_copies_and_hold_json_only():
    backend = FakeBackend()
    ds = backend.add_dataset("d", meta={"tags": ("a",)})
    assert ds["meta"] == {"tags": ["a"]}  # JSON round trip, as a real backend stores it
    ds["name"] = "changed"
    assert backend.get_dataset(1)["name"] == "d"
    with pytest.raises(BackendError, match="FakeBackend cannot store dataset meta: "):
        backend.create_dataset("x", meta={"bad": object()})


def test_unsafe_names_are_rejected_like_a_real_backend():
    backend = FakeBackend()
    with pytest.raises(UnsafePathError) as info:
        backend.add_dataset("d", files={"../escape.txt": "x"})
    assert info.value.name == "../escape.txt"


def test_jobs_progress_metrics_and_idempotent_logs():
    backend = FakeBackend()
    job = backend.create_job("train", params={"epochs": 2}, run_id="r1")
    assert (job["id"], job["status"], job["params"]) == (1, "running", {"epochs": 2})
    backend.update_job(1, progress={"": {"current": 1, "total": 2, "percent": 50.0}})
    backend.update_job(1, metrics={"train": {"loss": 0.5}}, status="succeeded", result={"ok": 1})
    entry = {"seq": 0, "time": 1.0, "event": "x", "level": "info", "data": {}, "file": None}
    assert backend.append_job_logs(1, [entry]) == 1
    assert backend.append_job_logs(1, [entry]) == 0  # a retried batch never duplicates
    job = backend.get_job(1)
    assert job["status"] == "succeeded" and job["metrics"] == {"train": {"loss": 0.5}}
    assert job["progress"][""]["percent"] == 50.0 and job["log_count"] == 1
    assert backend.get_job_logs(1) == [entry] and backend.get_job_logs(1, after=0) == []
    assert [j["id"] for j in backend.list_jobs(status="succeeded")] == [1]
    with pytest.raises(ValueError, match="unknown job status 'done'"):
        backend.update_job(1, status="done")


def test_unused_seeds_lists_what_no_call_read():
    backend = FakeBackend()
    backend.add_dataset("digits")
    backend.add_dataset("mnist")
    backend.add_model("base")
    backend.get_dataset(2)
    assert backend.unused_seeds() == ["dataset 1 'digits'", "model 1 'base'"]
    backend.list_models()
    assert backend.unused_seeds() == ["dataset 1 'digits'"]


def test_fail_next_injects_a_backend_failure_and_records_the_call():
    backend = FakeBackend()
    backend.add_dataset("digits")
    backend.fail_next("get_dataset")
    with pytest.raises(BackendError) as info:
        backend.get_dataset(1)
    assert str(info.value) == "injected failure of get_dataset (synapse_backend.fail_next)"
    assert backend.get_dataset(1)["name"] == "digits"  # only the next call fails
    assert [str(c) for c in backend.calls] == ["get_dataset(dataset_id=1)"] * 2
    backend.fail_next("list_models", TimeoutError("slow"), times=2)
    for _ in range(2):
        with pytest.raises(TimeoutError, match="slow"):
            backend.list_models()
    assert backend.list_models() == []
    with pytest.raises(ValueError, match="not a BackendClient method") as info:
        backend.fail_next("get_dataset_x")
    assert str(info.value).startswith(
        "fail_next('get_dataset_x'): not a BackendClient method; did you mean 'get_dataset'? "
        "methods: add_data_units, append_job_logs, create_data_collection, "
    )
    with pytest.raises(ValueError, match=r"^fail_next\('add_dataset'\): not a BackendClient"):
        backend.fail_next("add_dataset")  # seeding is not a backend call: it cannot fail
