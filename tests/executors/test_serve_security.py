"""The serve endpoint's security model, attacked over real HTTP on 127.0.0.1.

A web page can send a cross-site "simple request" (text/plain body, no preflight) to a
localhost server, and a DNS-rebinding page reaches it under another Host name; both must be
refused before the action runs, and the action must need a token by default.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from synapse_sdk.plugins.executors import ServeExecutor  # noqa: E402

from .helpers import entry  # noqa: E402


@pytest.fixture(scope="module")
def endpoint(plugin_dir):
    with ServeExecutor() as executor:
        yield executor.serve(entry("count"), plugin_dir=plugin_dir)


def test_a_cross_site_text_plain_post_is_415_and_runs_nothing(endpoint):
    body = '{"n": 1}'
    answer = httpx.post(
        endpoint.url + "/run",
        content=body,
        headers={**endpoint.headers, "Content-Type": "text/plain"},
    )

    assert answer.status_code == 415
    assert answer.json()["detail"]["type"] == "UnsupportedMediaType"
    assert "application/json" in answer.json()["detail"]["message"]
    assert "x-synapse-run-id" not in answer.headers


def test_a_token_is_required_by_default(endpoint):
    assert endpoint.token and len(endpoint.token) >= 24
    none = httpx.post(endpoint.url + "/run", json={"n": 1})
    wrong = httpx.post(
        endpoint.url + "/run", json={"n": 1}, headers={"Authorization": "Bearer nope"}
    )
    right = httpx.post(endpoint.url + "/run", json={"n": 1}, headers=endpoint.headers)

    assert none.status_code == wrong.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"
    assert "no bearer token" in none.json()["detail"]["message"]
    assert "wrong bearer token" in wrong.json()["detail"]["message"]
    assert right.status_code == 200 and right.json()["total"] == 1
    for open_path in ("/health", "/schema", "/openapi.json"):  # liveness, the API description
        assert httpx.get(endpoint.url + open_path).status_code == 200


def test_another_host_name_is_refused(endpoint):
    """DNS rebinding: the page's own name resolves to 127.0.0.1, Host still says it."""
    answer = httpx.post(
        endpoint.url + "/run",
        json={"n": 1},
        headers={**endpoint.headers, "Host": f"evil.example:{endpoint.port}"},
    )
    assert answer.status_code == 403
    assert answer.json()["detail"]["type"] == "HostError"
    local = httpx.get(endpoint.url + "/health", headers={"Host": f"localhost:{endpoint.port}"})
    assert local.status_code == 200


def test_another_sites_origin_is_refused_and_our_own_is_not(endpoint):
    evil = httpx.post(
        endpoint.url + "/run",
        json={"n": 1},
        headers={**endpoint.headers, "Origin": "http://evil.example"},
    )
    own = httpx.post(
        endpoint.url + "/run",
        json={"n": 1},
        headers={**endpoint.headers, "Origin": endpoint.url},
    )
    assert evil.status_code == 403 and evil.json()["detail"]["type"] == "OriginError"
    assert own.status_code == 200


def test_serving_without_a_token_is_an_explicit_choice(plugin_module):
    with ServeExecutor(token=False) as executor:
        handle = executor.serve(plugin_module.EchoAction)
        open_answer = httpx.post(handle.url + "/run", json={"text": "x"})
        plain = httpx.post(
            handle.url + "/run", content='{"text": "x"}', headers={"Content-Type": "text/plain"}
        )

    assert handle.token is None and handle.headers == {}
    assert open_answer.status_code == 200 and open_answer.json() == {"echo": "x"}
    assert plain.status_code == 415  # still no cross-site simple requests


def test_a_given_token_is_used(plugin_module):
    with ServeExecutor(token="s3cret-token") as executor:
        handle = executor.serve(plugin_module.EchoAction)
        answer = httpx.post(
            handle.url + "/run",
            json={"text": "y"},
            headers={"Authorization": "Bearer s3cret-token"},
        )
    assert answer.status_code == 200


def test_deeply_nested_json_is_422_not_500(endpoint):
    deep = "[" * 5000 + "]" * 5000
    answer = httpx.post(
        endpoint.url + "/run",
        content='{"n": ' + deep + "}",
        headers={**endpoint.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "json_too_deep"
