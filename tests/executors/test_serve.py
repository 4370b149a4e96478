"""serve: an HTTP endpoint generated from the action's models (FastAPI + uvicorn)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from synapse_sdk.plugins import ExecutionError, MemorySink, RunStatus  # noqa: E402
from synapse_sdk.plugins.executors import ServeExecutor  # noqa: E402
from synapse_sdk.plugins.executors.serve import build_app  # noqa: E402

from .helpers import entry  # noqa: E402


@pytest.fixture(scope="module")
def endpoint(plugin_module):
    with ServeExecutor() as executor:
        yield executor.serve(plugin_module.EchoAction)


@pytest.fixture
def client(endpoint):
    with httpx.Client(base_url=endpoint.url, headers=endpoint.headers) as client:
        yield client


def test_the_endpoint_binds_loopback_and_answers_health(endpoint):
    assert endpoint.host == "127.0.0.1"
    answer = httpx.get(endpoint.url + "/health")  # the one route open without the token
    assert answer.json() == {"status": "ok", "action": "echo"}


def test_post_run_returns_the_result_and_the_run_id(client):
    answer = client.post("/run", json={"text": "ab", "times": 3})

    assert answer.status_code == 200
    assert answer.json() == {"echo": "ababab"}
    assert len(answer.headers["x-synapse-run-id"]) == 16


def test_invalid_params_are_422_with_field_paths(client):
    answer = client.post("/run", json={"text": "a", "times": 99, "tmies": 1})

    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [d["field"] for d in detail] == ["tmies"]
    assert detail[0]["loc"] == ["body", "tmies"]

    answer = client.post("/run", json={"times": 99})
    assert answer.status_code == 422
    fields = {d["field"]: d["type"] for d in answer.json()["detail"]}
    assert fields == {"text": "missing", "times": "less_than_equal"}


def test_malformed_json_is_422(client):
    answer = client.post("/run", content=b"{nope", headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "json_invalid"


def test_openapi_schema_comes_from_the_models(client):
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/run"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "times"}
    assert body["required"] == ["text"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["properties"]["echo"]["type"] == "string"
    assert "/health" in doc["paths"]


def test_a_failing_action_is_500_with_the_error(plugin_dir):
    events = MemorySink()
    app = build_app(entry("boom"), plugin_dir=plugin_dir, sinks=lambda: [events])
    status, body = _post_sync(app, {})

    assert status == 500
    assert body["detail"]["type"] == "ExecutionError"
    assert "bad thing happened" in body["detail"]["message"]
    assert body["detail"]["cause"] == {"type": "RuntimeError", "message": "bad thing happened"}
    assert events.events[-1].status == "failed"


def _post_sync(app, body):
    """POST /run through the ASGI app without a server."""
    import asyncio

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.post("/run", json=body)
            return answer.status_code, answer.json()

    return asyncio.run(go())


def test_executor_run_returns_a_run_record(plugin_dir):
    with ServeExecutor() as executor:
        run = executor.run(entry("count"), {"n": 2}, plugin_dir=plugin_dir)
        failed = executor.run(entry("boom"), {}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.SUCCEEDED and run.result.total == 2
    assert failed.status is RunStatus.FAILED
    assert isinstance(failed.error, ExecutionError)
    assert "bad thing happened" in str(failed.error)


def test_answers_do_not_wait_for_a_delayed_ack_without_httptools(plugin_module):
    """h11 writes headers and body apart; without TCP_NODELAY each answer took ~40 ms."""
    import statistics
    import time

    options = {"http": "h11", "loop": "asyncio"}  # what a plain `serve` extra install runs
    with ServeExecutor(server_options=options) as executor:
        handle = executor.serve(plugin_module.EchoAction)
        with httpx.Client(base_url=handle.url, headers=handle.headers) as client:
            times = []
            for _ in range(15):
                t0 = time.perf_counter()
                assert client.post("/run", json={"text": "a"}).status_code == 200
                times.append(time.perf_counter() - t0)

    assert statistics.median(times) < 0.02, times
