"""LocalBackend: records, the checksummed file store, atomic models and safe names."""

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from synapse_sdk.clients import BackendClient, LocalBackend
from synapse_sdk.plugins.errors import (
    BackendError,
    IntegrityError,
    NotFoundError,
    UnsafePathError,
)


def test_it_implements_the_protocol(backend):
    assert isinstance(backend, BackendClient)


def test_root_defaults_to_synapse_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNAPSE_HOME", str(tmp_path / "h"))
    with LocalBackend() as b:
        assert b.root == (tmp_path / "h").resolve()
        assert (b.root / "synapse.db").is_file()
    monkeypatch.delenv("SYNAPSE_HOME")
    monkeypatch.chdir(tmp_path)
    with LocalBackend() as b:
        assert b.root == (tmp_path / ".synapse").resolve()


def test_dataset_and_data_units_round_trip(backend, tmp_path):
    image = tmp_path / "0001.pgm"
    image.write_bytes(b"P5 1 1 255 \x07")
    ds = backend.create_dataset("digits", description="d", meta={"source": "sklearn"})
    units = backend.add_data_units(
        ds["id"], [({"image": image}, {"label": 3}), ({"label.txt": b"4"}, {"label": 4})]
    )
    assert [u["meta"] for u in units] == [{"label": 3}, {"label": 4}]
    assert units[0]["files"]["image"] == {
        "name": "0001.pgm",
        "sha256": hashlib.sha256(image.read_bytes()).hexdigest(),
        "size": image.stat().st_size,
    }
    assert backend.get_dataset(ds["id"])["data_unit_count"] == 2
    assert backend.list_data_units(ds["id"], offset=1) == units[1:]
    assert backend.read_file(units[1]["files"]["label.txt"]["sha256"]) == b"4"
    assert [d["name"] for d in backend.list_datasets()] == ["digits"]


def test_missing_records_raise_not_found_with_kind_and_id(backend):
    for call, kind in [
        (lambda: backend.get_dataset(7), "dataset"),
        (lambda: backend.get_model(7), "model"),
        (lambda: backend.get_job(7), "job"),
        (lambda: backend.list_data_units(7), "dataset"),
        (lambda: backend.read_file("0" * 64), "file"),
    ]:
        with pytest.raises(NotFoundError) as info:
            call()
        assert info.value.kind == kind
        assert str(backend.root) in str(info.value)


def test_model_round_trip_and_download_is_verified(backend, tmp_path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(os.urandom(3000))
    model = backend.create_model(weights, name="m", meta={"acc": 0.9}, dataset=1)
    assert model["id"] == 1 and model["file"]["name"] == "model.bin"
    assert backend.get_model(1) == model
    assert backend.list_models(name="m") == [model] and backend.list_models(name="x") == []
    out = backend.download_file(model["file"]["sha256"], tmp_path / "out" / "w.bin")
    assert Path(out).read_bytes() == weights.read_bytes()


def _corrupt_on_disk(backend, sha):
    (backend.root / "blobs" / sha[:2] / sha).write_bytes(b"evil" * 30_000)


def _corrupt_inline(backend, sha):
    db = sqlite3.connect(backend.root / "synapse.db")
    with db:
        db.execute("UPDATE blobs SET data = ? WHERE sha256 = ?", (b"evil" * 30_000, sha))
    db.close()


@pytest.mark.parametrize(
    ("size", "corrupt"), [(200_000, _corrupt_on_disk), (100, _corrupt_inline)], ids=["disk", "db"]
)
def test_a_corrupted_file_fails_on_read_and_leaves_no_download(backend, tmp_path, size, corrupt):
    src = tmp_path / "model.bin"
    src.write_bytes(b"g" * size)
    model = backend.create_model(src, name="m")
    sha = model["file"]["sha256"]
    assert backend.read_file(sha) == src.read_bytes()
    corrupt(backend, sha)
    with pytest.raises(IntegrityError) as info:
        backend.read_file(sha)
    assert info.value.expected == sha
    assert info.value.actual == hashlib.sha256(b"evil" * 30_000).hexdigest()
    dest = tmp_path / "dl" / "w.bin"
    with pytest.raises(IntegrityError):
        backend.download_file(sha, dest)
    assert list(dest.parent.iterdir()) == []


def test_an_interrupted_model_upload_leaves_no_record_and_no_temp_file(backend, tmp_path):
    class Interrupted(Exception):
        pass

    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * (3 << 20))
    real_open = open
    reads = 0

    class FailingReader:
        def __init__(self, f):
            self.f = f

        def read(self, n):
            nonlocal reads
            reads += 1
            if reads == 2:
                raise Interrupted("connection lost")
            return self.f.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    import builtins

    def fake_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return FailingReader(f) if os.fspath(path) == str(src) else f

    builtins.open = fake_open
    try:
        with pytest.raises(Interrupted):
            backend.create_model(src, name="half")
    finally:
        builtins.open = real_open
    assert backend.list_models() == []
    assert list((backend.root / "tmp").iterdir()) == []
    assert list((backend.root / "blobs").rglob("*.*")) == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../escape", "'..'"),
        ("a/../../b", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "drive"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("", "non-empty"),
    ],
)
def test_unsafe_names_are_rejected(backend, name, reason):
    with pytest.raises(UnsafePathError) as info:
        backend.add_data_units(backend.create_dataset("d")["id"], [({name: b"x"}, {})])
    assert reason in str(info.value)


def test_a_file_id_that_is_not_a_sha256_cannot_reach_outside_the_store(backend):
    with pytest.raises(UnsafePathError, match="sha256"):
        backend.read_file("../../synapse.db")


def test_a_symlinked_store_directory_is_refused(tmp_path):
    root = tmp_path / "home"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (root / "blobs").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError) as info:
        LocalBackend(root)
    assert "symlink" in str(info.value)


def test_storing_a_directory_is_a_clear_error(backend, tmp_path):
    with pytest.raises(BackendError, match="not a file"):
        backend.create_model(tmp_path, name="m")


def test_job_updates_merge_and_logs_are_idempotent_per_seq(backend):
    job = backend.create_job("train", params={"epochs": 2}, run_id="r1", plugin="digits")
    assert job["status"] == "running" and job["params"] == {"epochs": 2}
    jid = job["id"]
    backend.update_job(jid, progress={"train": {"current": 1, "total": 2, "percent": 50.0}})
    backend.update_job(jid, progress={"": {"current": 1, "total": 0, "percent": None}})
    backend.update_job(jid, metrics={"train": {"loss": 1.0}})
    backend.update_job(jid, metrics={"train": {"acc": 0.5}})
    backend.update_job(jid, status="succeeded", result={"model_id": 1})
    got = backend.get_job(jid)
    assert got["progress"] == {
        "train": {"current": 1, "total": 2, "percent": 50.0},
        "": {"current": 1, "total": 0, "percent": None},
    }
    assert got["metrics"] == {"train": {"loss": 1.0, "acc": 0.5}}
    assert (got["status"], got["result"]) == ("succeeded", {"model_id": 1})

    def entries(seqs):
        return [
            {"seq": s, "time": 0.0, "event": "e", "level": "info", "data": {"i": s}, "file": None}
            for s in seqs
        ]

    assert backend.append_job_logs(jid, entries(range(5))) == 5
    assert backend.append_job_logs(jid, entries(range(3, 8))) == 3
    assert backend.get_job(jid)["log_count"] == 8
    assert [e["seq"] for e in backend.get_job_logs(jid, after=5)] == [6, 7]
    assert [e["data"]["i"] for e in backend.get_job_logs(jid, limit=2)] == [0, 1]
    with pytest.raises(ValueError, match="unknown job status"):
        backend.update_job(jid, status="done")
    assert [j["id"] for j in backend.list_jobs(status="succeeded")] == [jid]


def test_one_instance_is_safe_from_several_threads(backend):
    import threading

    job = backend.create_job("threads")["id"]

    def work(k):
        for i in range(50):
            seq = k * 1000 + i
            entry = {"seq": seq, "time": 0.0, "event": "e", "level": "info", "data": {},
                     "file": None}  # fmt: skip
            backend.append_job_logs(job, [entry])
            backend.update_job(job, metrics={f"t{k}": {"i": i}})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = backend.get_job(job)
    assert record["log_count"] == 200
    assert record["metrics"] == {f"t{k}": {"i": 49} for k in range(4)}


def test_ids_sqlite_cannot_hold_are_not_found_not_overflow(backend):
    for bad in (10**40, 0, -1, "1"):
        with pytest.raises(NotFoundError):
            backend.get_job(bad)
        with pytest.raises(NotFoundError):
            backend.append_job_logs(bad, [])
    with pytest.raises(ValueError, match="dataset=1000000"):
        backend.create_model(_weights(backend), name="m", dataset=10**40)


def test_an_explicitly_read_only_backend_reads_and_refuses_writes(tmp_path):
    with LocalBackend(tmp_path / "h", durable=False) as writer:
        writer.create_job("kept")
    with LocalBackend(tmp_path / "h", read_only=True) as reader:
        assert [j["action"] for j in reader.list_jobs()] == ["kept"]
        for write in (
            lambda: reader.create_job("x"),
            lambda: reader.add_data_units(1, [({"a": b"1"}, {})]),
            lambda: reader.update_job(1, status="failed"),
        ):
            with pytest.raises(BackendError, match="read-only"):
                write()
    with pytest.raises(BackendError, match="No LocalBackend at"):
        LocalBackend(tmp_path / "missing", read_only=True)


def test_stored_names_of_long_roles_fit_a_file_system_and_stay_distinct():
    from synapse_sdk.clients.local import stored_file_name

    assert stored_file_name("images/0001.pgm") == "images/0001.pgm"
    a, b = stored_file_name("é" * 200 + "a.png"), stored_file_name("é" * 200 + "b.png")
    assert a != b and a.endswith(".png") and len(a.encode()) <= 255
    with pytest.raises(UnsafePathError):
        stored_file_name("../" + "x" * 300)


def _weights(backend) -> Path:
    path = backend.root.parent / "w.bin"
    path.write_bytes(b"w")
    return path


def test_a_blob_shard_replaced_by_a_symlink_is_refused(backend, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"b" * 100_000)
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (backend.root / "blobs" / sha[:2]).symlink_to(elsewhere)
    with pytest.raises(UnsafePathError, match="must not be symlinks"):
        backend.create_model(big, name="m")
    assert list(elsewhere.iterdir()) == [] and backend.list_models() == []
