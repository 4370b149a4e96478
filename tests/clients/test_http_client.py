"""HttpBackendClient against a real `synapse backend serve` server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")  # the server side: extra serve

from synapse_sdk.clients import BackendClient  # noqa: E402
from synapse_sdk.clients.http import HttpBackendClient  # noqa: E402
from synapse_sdk.clients.server import BackendServer  # noqa: E402
from synapse_sdk.plugins.errors import (  # noqa: E402
    BackendError,
    IntegrityError,
    NotFoundError,
    UnsafePathError,
)


@pytest.fixture
def server(backend):
    with BackendServer(backend, token="s3cret") as srv:
        yield srv


@pytest.fixture
def client(server):
    with HttpBackendClient(server.url, token="s3cret", timeout=5) as c:
        yield c


def test_the_client_implements_the_protocol_and_the_server_is_loopback(client, server):
    assert isinstance(client, BackendClient)
    assert server.host == "127.0.0.1"


def test_datasets_and_data_units_round_trip_with_file_names(client, tmp_path):
    image = tmp_path / "cat.pgm"
    image.write_bytes(b"P5 1 1 255 \x00")
    dataset = client.create_dataset("pets", description="d", meta={"k": 1})
    units = client.add_data_units(
        dataset["id"], [({"image": image}, {"label": "cat"}), ({"raw": b"xyz"}, {})]
    )

    assert client.get_dataset(dataset["id"])["data_unit_count"] == 2
    assert [d["id"] for d in client.list_datasets()] == [dataset["id"]]
    listed = client.list_data_units(dataset["id"], offset=1)
    assert [u["id"] for u in listed] == [units[1]["id"]]
    stored = units[0]["files"]["image"]
    assert stored["name"] == "cat.pgm"
    assert client.read_file(stored["sha256"]) == image.read_bytes()
    dest = client.download_file(stored["sha256"], tmp_path / "out" / "copy.pgm")
    assert (tmp_path / "out" / "copy.pgm").read_bytes() == image.read_bytes()
    assert dest == str(tmp_path / "out" / "copy.pgm")


def test_models_upload_with_metadata(client, tmp_path):
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"\x01" * 1000)
    model = client.create_model(weights, name="yolo", meta={"map": 0.5})

    assert client.get_model(model["id"])["meta"] == {"map": 0.5}
    assert [m["id"] for m in client.list_models(name="yolo")] == [model["id"]]
    assert client.read_file(model["file"]["sha256"]) == weights.read_bytes()


def test_jobs_progress_metrics_and_logs(client):
    job = client.create_job("train", params={"epochs": 2}, run_id="r1", plugin="p")
    client.update_job(
        job["id"],
        progress={"": {"current": 1, "total": 2}},
        metrics={"": {"loss": 0.5}},
    )
    client.update_job(job["id"], status="succeeded", result={"ok": True})
    entries = [
        {"seq": i, "time": 1.0, "event": "e", "level": "info", "data": {}, "file": None}
        for i in range(3)
    ]
    assert client.append_job_logs(job["id"], entries) == 3
    assert client.append_job_logs(job["id"], entries) == 0  # the same batch again: no duplicates

    record = client.get_job(job["id"])
    assert record["status"] == "succeeded" and record["result"] == {"ok": True}
    assert record["metrics"][""] == {"loss": 0.5}
    assert [e["seq"] for e in client.get_job_logs(job["id"], after=0)] == [1, 2]
    assert [j["id"] for j in client.list_jobs(status="succeeded")] == [job["id"]]


def test_backend_errors_keep_their_type_and_fields(client):
    with pytest.raises(NotFoundError) as info:
        client.get_model(999)
    assert (info.value.kind, info.value.id) == ("model", 999)
    assert client.url in str(info.value)

    with pytest.raises(UnsafePathError) as unsafe:
        client.add_data_units(client.create_dataset("d")["id"], [({"../x": b"1"}, {})])
    assert unsafe.value.name == "../x"


def test_a_tampered_download_is_an_integrity_error(client, server, tmp_path):
    big = b"good" * 50_000  # above the inline limit: stored as a file under blobs/
    sha = client.create_model(_file(tmp_path, big), name="m")["file"]["sha256"]
    blob = server.backend.root / "blobs" / sha[:2] / sha
    blob.write_bytes(b"evil" * 50_000)  # changed behind the backend's back

    with pytest.raises(IntegrityError) as info:
        client.download_file(sha, tmp_path / "dl" / "m.bin")
    assert info.value.expected == sha
    assert list((tmp_path / "dl").iterdir()) == []  # nothing half-written is left
    with pytest.raises(IntegrityError):
        client.read_file(sha)


def test_large_files_stream_both_ways(client, tmp_path):
    weights = tmp_path / "big.bin"
    weights.write_bytes(os.urandom(3 << 20))
    model = client.create_model(weights, name="big")
    assert model["file"]["size"] == 3 << 20
    dest = client.download_file(model["file"]["sha256"], tmp_path / "out" / "big.bin")
    assert Path(dest).read_bytes() == weights.read_bytes()


def test_a_wrong_token_is_refused_without_retrying(server):
    with HttpBackendClient(server.url, token="wrong") as bad:
        before = server.requests
        with pytest.raises(BackendError, match="refused the token"):
            bad.list_datasets()
    assert server.requests == before + 1


def test_a_dead_server_fails_after_retries_with_the_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpBackendClient(f"http://127.0.0.1:{port}", retries=2, backoff=0.01)
    with client, pytest.raises(BackendError, match="failed after 3 attempts: Connect") as info:
        client.list_jobs()
    assert info.value.backend == f"http://127.0.0.1:{port}"


def test_writes_survive_a_server_that_fails_a_share_of_requests(backend):
    """A third of the requests fail with 503, half of them after the work was done: every
    write still lands exactly once thanks to retries and idempotency keys."""
    flaky = BackendServer(backend, failure_rate=0.35, seed=7)
    with flaky, HttpBackendClient(flaky.url, token=flaky.token, retries=8, backoff=0.001) as client:
        job = client.create_job("train")
        ids = []
        for i in range(30):
            ids.append(client.create_dataset(f"d{i}")["id"])
            entry = {"seq": i, "time": 1.0, "event": "e", "level": "info", "data": {}, "file": None}
            client.append_job_logs(job["id"], [entry])
        datasets = client.list_datasets()

    assert flaky.failures > 10
    assert [d["name"] for d in datasets] == [f"d{i}" for i in range(30)]  # none duplicated
    assert len(set(ids)) == 30
    assert [e["seq"] for e in backend.get_job_logs(job["id"])] == list(range(30))


def test_parallel_clients_share_one_server(client):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                client.create_dataset(f"t{n}-{i}")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(client.list_datasets()) == 20


def test_from_env_reads_url_and_token(server, monkeypatch):
    monkeypatch.setenv("SYNAPSE_BACKEND_URL", server.url)
    monkeypatch.setenv("SYNAPSE_BACKEND_TOKEN", "s3cret")
    with HttpBackendClient.from_env() as client:
        assert client.list_datasets() == []
    monkeypatch.delenv("SYNAPSE_BACKEND_URL")
    with pytest.raises(BackendError, match="SYNAPSE_BACKEND_URL is not set"):
        HttpBackendClient.from_env()


def _file(tmp_path, data: bytes):
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    return path
