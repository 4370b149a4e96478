"""`synapse backend serve` attacked over real sockets on 127.0.0.1: traversal names in every
route, cross-site request shapes, a wrong Host, missing tokens, huge bodies, slow clients,
and retries after a restart. Each test states the promise it holds."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from synapse_sdk.clients.http import HttpBackendClient  # noqa: E402
from synapse_sdk.clients.local import LocalBackend  # noqa: E402
from synapse_sdk.clients.server import BackendServer, Limits  # noqa: E402
from synapse_sdk.plugins.errors import BackendError, NotFoundError, UnsafePathError  # noqa: E402

TRAVERSALS = [
    "../../escaped",
    "/tmp/escaped-abs",
    "a/../../escaped",
    "..",
    "C:escaped",
    "back\\slash",
    "nul\x00byte",
    "",
]
HUGE = 10**40


@pytest.fixture
def home(tmp_path):
    return tmp_path / "sandbox" / "home"


@pytest.fixture
def server(home):
    with LocalBackend(home, durable=False) as backend, BackendServer(backend) as srv:
        yield srv


@pytest.fixture
def http(server):
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        yield client


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def _stored_file(http, data: bytes = b"payload") -> str:
    answer = http.post("/files", content=data, headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    return answer.json()["sha256"]


def test_no_traversal_name_writes_anything_in_any_route(server, http, home, tmp_path):
    sha = _stored_file(http)
    dataset = http.post("/datasets", json={"name": "d"}).json()["id"]
    sandbox = tmp_path / "sandbox"
    before = _tree(sandbox)
    for name in TRAVERSALS:
        for files in (
            {name: {"sha256": sha, "name": "ok.txt"}},  # the role
            {"ok": {"sha256": sha, "name": name}},  # the file name
        ):
            answer = http.post(
                f"/datasets/{dataset}/units", json={"units": [{"files": files, "meta": {}}]}
            )
            assert answer.status_code in (400, 422), (name, answer.status_code, answer.text)
        answer = http.post("/models", json={"file": {"sha256": sha, "name": name}, "name": "m"})
        assert answer.status_code in (400, 422), (name, answer.status_code, answer.text)
    for url in ("/files/../../etc/passwd", "/files/%2e%2e%2fetc%2fpasswd", "/files/" + "0" * 64):
        assert http.get(url).status_code == 404, url

    assert _tree(sandbox) - before <= {"home/synapse.db-journal"}  # no new file, no new dir
    assert not Path("/tmp/escaped-abs").exists()
    assert not (tmp_path / "escaped").exists() and not (sandbox / "escaped").exists()
    assert http.get(f"/datasets/{dataset}").json()["data_unit_count"] == 0
    assert http.get("/models").json() == []


def test_unsafe_names_are_typed_errors_for_the_client_never_retried(server):
    with HttpBackendClient(server.url, token=server.token, retries=3) as client:
        dataset = client.create_dataset("d")["id"]
        for name in TRAVERSALS[:-1]:
            before = server.requests
            with pytest.raises(UnsafePathError):
                client.add_data_units(dataset, [({name: b"x"}, {})])
            assert server.requests == before  # refused before any byte was sent


def test_huge_zero_and_negative_ids_are_404_in_every_route(server, http):
    for bad in (HUGE, 0, -1):
        for method, url, body in (
            ("GET", f"/datasets/{bad}", None),
            ("GET", f"/datasets/{bad}/units", None),
            ("POST", f"/datasets/{bad}/units", {"units": []}),
            ("GET", f"/models/{bad}", None),
            ("GET", f"/jobs/{bad}", None),
            ("PATCH", f"/jobs/{bad}", {"status": "failed"}),
            ("POST", f"/jobs/{bad}/logs", {"entries": []}),
            ("GET", f"/jobs/{bad}/logs", None),
        ):
            answer = http.request(method, url, json=body)
            assert answer.status_code == 404, (method, url, answer.status_code, answer.text)
            assert answer.json()["error"]["type"] == "NotFoundError"
    answer = http.post("/models", json={"file": {"sha256": "0" * 64, "name": "m"}, "name": "m"})
    assert answer.status_code == 404  # a file never posted
    with HttpBackendClient(server.url, token=server.token, retries=3) as client:
        before = server.requests
        with pytest.raises(NotFoundError):
            client.get_job(HUGE)
        assert server.requests == before + 1  # a 404 is not retried


def test_bodies_that_are_not_json_are_refused_415_and_change_nothing(server, http):
    body = json.dumps({"name": "csrf"})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        answer = http.post("/datasets", content=body, headers={"Content-Type": ctype})
        assert answer.status_code == 415, (ctype, answer.text)
    answer = http.post("/files", content=b"x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert http.get("/datasets").json() == []


def test_requests_from_a_web_page_or_another_host_name_are_refused(server, http):
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Host": "evil.example"},  # DNS rebinding: a name the attacker points at 127.0.0.1
        {"Host": f"evil.example:{server.port}"},
    ):
        answer = http.post("/datasets", json={"name": "x"}, headers=headers)
        assert answer.status_code == 403, (headers, answer.text)
    same_origin = {"Origin": server.url}
    assert http.post("/datasets", json={"name": "ok"}, headers=same_origin).status_code == 200
    assert [d["name"] for d in http.get("/datasets").json()] == ["ok"]


def test_a_token_is_required_by_default_and_open_use_is_explicit(home):
    with LocalBackend(home, durable=False) as backend:
        with BackendServer(backend) as srv:
            assert srv.token and len(srv.token) >= 32
            assert httpx.get(f"{srv.url}/datasets").status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert httpx.get(f"{srv.url}/datasets", headers=wrong).status_code == 401
            docs = httpx.get(f"{srv.url}/openapi.json")  # the API description is public
            assert docs.status_code == 200
            assert "/datasets/{dataset_id}/units" in docs.json()["paths"]
        with BackendServer(backend, require_token=False) as srv:
            assert srv.token is None
            assert httpx.get(f"{srv.url}/datasets").status_code == 200


def test_bodies_over_the_limit_are_413_without_being_stored(home):
    limits = Limits(json_body=10_000, file_body=100_000)
    with LocalBackend(home, durable=False) as backend, BackendServer(backend, limits=limits) as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        with httpx.Client(base_url=srv.url, headers=auth) as http:
            big = {"name": "x" * 20_000}
            assert http.post("/datasets", json=big).status_code == 413
            octets = {**auth, "Content-Type": "application/octet-stream"}
            assert http.post("/files", content=b"x" * 200_000, headers=octets).status_code == 413

            def chunks():  # no Content-Length: counted as it streams
                for _ in range(50):
                    yield b"y" * 10_000

            assert http.post("/files", content=chunks(), headers=octets).status_code == 413
        assert list((home / "tmp").iterdir()) == []
        assert backend._stored_size(hashlib.sha256(b"x" * 200_000).hexdigest()) is None


def _raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except TimeoutError:
        return False, got
    except ConnectionResetError:
        pass
    return True, got


def test_slow_clients_are_cut_off(home):
    limits = Limits(headers=0.5, body=0.5)
    with LocalBackend(home, durable=False) as backend, BackendServer(backend, limits=limits) as srv:
        half_headers = _raw(srv.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        closed, _ = _closed_within(half_headers, 5)
        assert closed and time.monotonic() - t0 < 3
        half_headers.close()

        head = (
            f"POST /datasets HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            f"Authorization: Bearer {srv.token}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n"
        )
        half_body = _raw(srv.port, head.encode() + b'{"name": ')
        closed, answer = _closed_within(half_body, 5)
        half_body.close()
        assert closed and answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert backend.list_datasets() == []
        # the server still answers everyone else
        auth = {"Authorization": f"Bearer {srv.token}"}
        assert httpx.get(f"{srv.url}/health", headers=auth).status_code == 200


def test_malformed_content_length_and_deep_json_are_4xx(server, http):
    sock = _raw(
        server.port,
        f"POST /datasets HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {server.token}\r\nContent-Type: application/json\r\n"
        "Content-Length: -5\r\n\r\n".encode(),
    )
    _, answer = _closed_within(sock, 5)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
    deep = "[" * 100_000 + "]" * 100_000
    answer = http.post(
        "/jobs", content=f'{{"action": "a", "params": {deep}}}',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.status_code
    assert http.get("/jobs").json() == []


def test_an_idempotency_key_applies_once_even_after_a_restart(home):
    key = {"Idempotency-Key": "retry-1"}
    with LocalBackend(home, durable=False) as backend, BackendServer(backend) as srv:
        auth = {"Authorization": f"Bearer {srv.token}", **key}
        first = httpx.post(f"{srv.url}/jobs", json={"action": "train"}, headers=auth)
        token = srv.token
    assert first.status_code == 200
    with LocalBackend(home, durable=False) as backend, BackendServer(backend, token=token) as srv:
        auth = {"Authorization": f"Bearer {token}", **key}
        retry = httpx.post(f"{srv.url}/jobs", json={"action": "train"}, headers=auth)
        other = httpx.post(f"{srv.url}/jobs", json={"action": "other"}, headers=auth)
        assert retry.status_code == 200 and retry.json() == first.json()
        assert other.status_code == 409
        assert other.json()["error"]["type"] == "IdempotencyKeyReused"
        assert [j["action"] for j in backend.list_jobs()] == ["train"]


def test_a_reused_key_with_another_body_is_409_on_every_creating_route(server, http):
    """One idempotency rule for the whole server, the collections' routes included."""
    key = {"Idempotency-Key": "make-it-once"}
    first = http.post("/projects", json={"name": "p"}, headers=key)
    again = http.post("/projects", json={"name": "p"}, headers=key)
    other = http.post("/projects", json={"name": "q"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.json()["error"]["type"] == "IdempotencyKeyReused"
    assert [p["name"] for p in http.get("/projects").json()] == ["p"]


def test_the_client_does_not_retry_client_errors(server):
    with HttpBackendClient(server.url, token=server.token, retries=4, backoff=0.01) as client:
        job = client.create_job("train")["id"]
        before = server.requests
        with pytest.raises(BackendError, match="HTTP 422"):
            client.update_job(job, status="bogus")
        assert server.requests == before + 1


def test_a_file_posted_with_a_wrong_sha256_is_refused_and_not_stored(server, http):
    claimed = hashlib.sha256(b"what I said").hexdigest()
    answer = http.post(
        "/files", content=b"what I sent", params={"sha256": claimed},
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 409 and answer.json()["error"]["type"] == "IntegrityError"
    assert server.backend._stored_size(hashlib.sha256(b"what I sent").hexdigest()) is None
    assert os.listdir(server.backend.root / "tmp") == []
