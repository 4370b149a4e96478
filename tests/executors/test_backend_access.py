"""Workers reach the caller's backend: a LocalBackend by its root, a remote one over HTTP."""

from __future__ import annotations

import pytest

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins.runner import run_plugin_record


def _job_of(backend, run):
    jobs = [j for j in backend.list_jobs() if j["run_id"] == run.run_id]
    assert len(jobs) == 1, jobs  # recorded once, by the worker
    return jobs[0]


def test_a_task_run_is_recorded_in_the_callers_local_backend(modes_plugin, tmp_path):
    with LocalBackend(tmp_path / "home", durable=False) as backend:
        run = run_plugin_record(modes_plugin, "shout", {"word": "x"}, mode="task", client=backend)
        job = _job_of(backend, run)

    assert run.ok
    assert job["status"] == "succeeded"
    assert job["result"]["text"] == "hello X"


def test_a_job_reaches_a_remote_backend_over_http(modes_plugin, tmp_path):
    pytest.importorskip("httpx")
    from synapse_sdk.clients.http import HttpBackendClient
    from synapse_sdk.clients.server import BackendServer

    with LocalBackend(tmp_path / "remote", durable=False) as backend:
        server = BackendServer(backend, token="t0k")
        client = HttpBackendClient(server.url, token="t0k")
        with server, client:
            run = run_plugin_record(
                modes_plugin, "shout", {"word": "far"}, mode="job", client=client
            )
        job = _job_of(backend, run)

    assert run.ok and job["status"] == "succeeded"
    assert job["result"]["text"] == "hello FAR"
