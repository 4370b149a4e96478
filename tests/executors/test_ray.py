"""The Ray executors (marker `ray`): one local Ray instance for the module, loopback only."""

from __future__ import annotations

import os
import socket

import pytest

from synapse_sdk.plugins import CancelledError, ExecutionError, MemorySink, RunStatus
from synapse_sdk.plugins.errors import WorkerLostError
from synapse_sdk.plugins.events import ProgressEvent, ResultEvent, RunFinished, RunStarted
from synapse_sdk.plugins.executors import RemoteTraceback, get_executor

from .helpers import entry, wait_until

pytestmark = pytest.mark.ray


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray instance (2 CPUs, dashboard for the Jobs API) on 127.0.0.1; stopped after."""
    with pytest.MonkeyPatch.context() as mp:
        # set before ray is imported (Ray reads it then): pins the node IP to 127.0.0.1
        mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("RAY_AUTH_MODE", "disabled")  # same on the cluster and the Jobs client
        # a loaded 2-core box can take more than the default 15 s to start Ray's agents
        mp.setenv("RAY_agent_register_timeout_ms", "120000")
        # a secret in the shell that starts Ray: its workers inherit it, actions must not
        mp.setenv("CALLER_SECRET_TOKEN", "canary123")
        ray = pytest.importorskip("ray")
        from synapse_sdk.plugins.executors.ray import loopback_env

        loopback_env()  # in case another test imported ray before these were set
        try:
            context = ray.init(
                num_cpus=2,
                include_dashboard=True,
                dashboard_host="127.0.0.1",
                dashboard_port=_free_port(),
                log_to_driver=False,
                object_store_memory=150 * 2**20,
            )
        except Exception:
            ray.shutdown()  # a failed start must not leave Ray processes behind
            raise
        try:
            assert context.address_info["node_ip_address"] == "127.0.0.1"
            yield f"http://{context.dashboard_url}"
        finally:
            try:
                from ray import serve

                serve.shutdown()
            except ImportError:
                pass
            ray.shutdown()


@pytest.fixture(scope="module")
def ray_tasks(ray_cluster):
    with get_executor("ray-task") as executor:
        yield executor


def test_a_ray_task_streams_events_and_returns_the_run(ray_tasks, plugin_dir):
    sink = MemorySink()
    run = ray_tasks.run(entry("count"), {"n": 2}, plugin_dir=plugin_dir, sinks=[sink])

    assert run.status is RunStatus.SUCCEEDED
    assert run.result["total"] == 2 and run.result["pid"] != os.getpid()
    assert isinstance(run.events[0], RunStarted) and isinstance(run.events[-1], RunFinished)
    assert len(run.events_of(ProgressEvent)) == 2
    assert len(run.events_of(ResultEvent)) == 1
    assert sink.events == run.events


def test_a_failing_ray_task_carries_the_remote_traceback(ray_tasks, plugin_dir):
    run = ray_tasks.run(entry("boom"), {}, plugin_dir=plugin_dir)

    assert isinstance(run.error, ExecutionError)
    assert isinstance(run.error.__cause__, RemoteTraceback)
    assert run.error.__cause__.type_name == "RuntimeError"
    assert "bad thing happened" in run.traceback


def test_cancelling_a_ray_task_rolls_the_action_back(ray_tasks, plugin_dir, tmp_path):
    marker = tmp_path / "rolled_back"
    handle = ray_tasks.submit(
        entry("wait_for_gate"),
        {"gate": str(tmp_path / "never"), "rollback_marker": str(marker)},
        plugin_dir=plugin_dir,
    )
    wait_until(lambda: any(isinstance(e, ProgressEvent) for e in handle.events), timeout=60)
    handle.cancel()
    run = handle.wait(60)

    assert run.status is RunStatus.CANCELLED
    assert isinstance(run.error, CancelledError)
    wait_until(marker.exists, timeout=30)  # the worker rolled back
    assert run.events[-1].status == "cancelled"


def test_a_crashed_ray_worker_is_a_failed_run(ray_tasks, plugin_dir):
    run = ray_tasks.run(entry("die"), {}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, WorkerLostError)
    assert "died" in str(run.error)


def test_a_ray_task_sees_a_minimal_environment_with_its_env(ray_tasks, plugin_dir):
    from synapse_sdk.plugins.executors import ActionRef

    ref = ActionRef(entry("environ"), plugin_dir, env={"PLUGIN_VAR": "from-config"})
    run = ray_tasks.run(ref, {}, env={"RUN_VAR": "1"})

    result = run.raise_for_status().result
    assert "CALLER_SECRET_TOKEN" not in result["os_env"]
    assert result["plugin_var"] == "from-config"
    assert result["ctx_env"] == {"PLUGIN_VAR": "from-config", "RUN_VAR": "1"}


def test_a_ray_jobs_command_line_carries_no_request(ray_cluster, plugin_dir):
    from synapse_sdk.plugins.executors import ActionRef

    jobs = get_executor("ray-job", address=ray_cluster)
    ref = ActionRef(entry("environ"), plugin_dir, env={"CONFIG_SECRET": "canary789"})
    handle = jobs.submit(ref, {})
    run = handle.wait(120)

    entrypoint = jobs.client.get_job_info(handle.job_id).entrypoint
    assert run.result["ctx_env"] == {"CONFIG_SECRET": "canary789"}
    assert "SYNAPSE_RUN_REQUEST" not in run.result["os_env"]  # taken out before the action
    assert "--request-env" in entrypoint
    assert "canary789" not in entrypoint
    assert len(entrypoint) < 200  # the request (env, backend token) is not on it, encoded or not


def test_a_ray_job_ships_the_plugin_and_streams_events(ray_cluster, plugin_dir):
    jobs = get_executor("ray-job", address=ray_cluster)
    handle = jobs.submit(entry("count"), {"n": 2}, plugin_dir=plugin_dir)
    run = handle.wait(120)

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.result["total"] == 2
    assert len(run.events_of(ProgressEvent)) == 2
    assert handle.job_id == f"synapse-{run.run_id}"
    assert handle.ray_status() == "SUCCEEDED"
    assert "::synapse-event::" not in handle.logs()


def test_stopping_a_ray_job_cancels_it(ray_cluster, plugin_dir, tmp_path):
    jobs = get_executor("ray-job", address=ray_cluster)
    marker = tmp_path / "rolled_back"
    handle = jobs.submit(
        entry("wait_for_gate"),
        {"gate": str(tmp_path / "never"), "rollback_marker": str(marker)},
        plugin_dir=plugin_dir,
    )
    wait_until(lambda: any(isinstance(e, ProgressEvent) for e in handle.events), timeout=120)
    handle.stop()
    run = handle.wait(60)

    assert run.status is RunStatus.CANCELLED
    wait_until(marker.exists, timeout=30)


def test_ray_serve_exposes_the_same_endpoint(ray_cluster, plugin_dir):
    pytest.importorskip("ray.serve")
    httpx = pytest.importorskip("httpx")
    with get_executor("ray-serve", port=_free_port()) as executor:
        url = executor.serve(entry("count"), plugin_dir=plugin_dir)
        ok = httpx.post(url + "/run", json={"n": 2}, timeout=60)
        bad = httpx.post(url + "/run", json={"n": 0}, timeout=60)
        run = executor.run(entry("count"), {"n": 3}, plugin_dir=plugin_dir)

    assert url.startswith("http://127.0.0.1:")
    assert ok.status_code == 200 and ok.json()["total"] == 2
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "n"
    assert run.ok and run.result.total == 3  # typed with the result model, as in-process
