"""Workers that misbehave: sys.exit, a result that contains itself, forked children, leaked
threads, SIGKILL with a backend job open; and what a worker's environment holds."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins import ExecutionError, RunStatus
from synapse_sdk.plugins.errors import WorkerLostError
from synapse_sdk.plugins.events import ProgressEvent
from synapse_sdk.plugins.executors import JobExecutor, TaskExecutor
from synapse_sdk.plugins.executors._protocol import ActionRef

from .helpers import entry, wait_until


@pytest.fixture
def jobs(tmp_path):
    with JobExecutor(jobs_dir=tmp_path / "jobs", stop_grace=5.0) as executor:
        yield executor


@pytest.fixture(params=["task", "job"])
def executor(request, task_pool, jobs):
    return task_pool if request.param == "task" else jobs


def test_sys_exit_in_an_action_is_a_failed_run(executor, plugin_dir):
    run = executor.run(entry("exits"), {}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, ExecutionError)  # not a lost worker
    assert "SystemExit: 3" in str(run.error)
    assert executor.run(entry("count"), {"n": 1}, plugin_dir=plugin_dir).ok


def test_a_result_that_contains_itself_is_a_typed_error(executor, plugin_dir, capfd):
    run = executor.run(entry("selfref"), {}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, ExecutionError)
    assert "returned a result that contains itself" in str(run.error)
    assert "without cycles" in run.error.hint
    assert "Traceback" not in capfd.readouterr().err  # nothing dumped on the terminal
    assert executor.run(entry("count"), {"n": 1}, plugin_dir=plugin_dir).ok


def test_a_forked_child_holding_the_pipe_does_not_delay_a_lost_worker(
    executor, plugin_dir, tmp_path
):
    pidfile = tmp_path / "child.pid"
    t0 = time.monotonic()
    try:
        run = executor.run(entry("fork_and_die"), {"pidfile": str(pidfile)}, plugin_dir=plugin_dir)
        elapsed = time.monotonic() - t0
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)

    assert isinstance(run.error, WorkerLostError)
    assert run.error.exit_code == 9
    assert elapsed < 5, elapsed  # the child sleeps 30 s


def test_a_leaked_non_daemon_thread_does_not_hold_a_job(jobs, plugin_dir):
    t0 = time.monotonic()
    run = jobs.run(entry("leak_thread"), {}, plugin_dir=plugin_dir)

    assert run.ok
    assert time.monotonic() - t0 < 10  # the thread sleeps 30 s


def test_a_leaked_non_daemon_thread_does_not_hold_the_pool_at_close(plugin_dir):
    pool = TaskExecutor(1, cancel_grace=1.0)
    assert pool.run(entry("leak_thread"), {}, plugin_dir=plugin_dir).ok
    t0 = time.monotonic()
    pool.close(timeout=5.0)
    assert time.monotonic() - t0 < 2.5  # a stuck worker is killed only after 5 s


def test_config_env_reaches_os_environ_in_task_mode_for_that_run_only(task_pool, plugin_dir):
    ref = ActionRef(entry("environ"), plugin_dir, env={"PLUGIN_VAR": "from-config"})
    with_env = task_pool.run(ref, {})
    without = task_pool.run(entry("environ"), {}, plugin_dir=plugin_dir)

    assert with_env.result["plugin_var"] == "from-config"  # as in job mode
    assert with_env.result["ctx_env"] == {"PLUGIN_VAR": "from-config"}
    assert without.result["plugin_var"] is None  # the worker's own environment is restored


def test_a_job_request_with_env_secrets_does_not_stay_on_disk(jobs, plugin_dir):
    ref = ActionRef(entry("count"), plugin_dir, env={"CONFIG_SECRET": "canary789"})
    handle = jobs.submit(ref, {"n": 1})
    run = handle.wait(30)

    assert run.ok
    assert not (handle.dir / "request.json").exists()
    leftovers = [p for p in Path(handle.dir).rglob("*") if "canary789" in p.read_text()]
    assert leftovers == []


def _job_of(root: Path, run_id: str) -> dict:
    with LocalBackend(root) as backend:
        jobs = [j for j in backend.list_jobs() if j["run_id"] == run_id]
    assert len(jobs) == 1, jobs
    return dict(jobs[0])


def test_a_job_worker_killed_with_sigkill_ends_its_backend_job(jobs, plugin_dir, tmp_path):
    root = tmp_path / "home"
    LocalBackend(root).close()
    handle = jobs.submit(
        entry("wait_for_gate"),
        {"gate": str(tmp_path / "never")},
        plugin_dir=plugin_dir,
        backend={"local": str(root)},
    )
    wait_until(lambda: any(isinstance(e, ProgressEvent) for e in handle.events), timeout=30)
    assert _job_of(root, handle.run_id)["status"] == "running"  # recorded by the worker
    os.kill(handle.pid, signal.SIGKILL)
    run = handle.wait(30)

    job = _job_of(root, run.run_id)
    assert isinstance(run.error, WorkerLostError)
    assert job["status"] == "failed"
    assert "SIGKILL" in job["error"]


def test_a_lost_pool_worker_ends_its_backend_job(task_pool, plugin_dir, tmp_path):
    root = tmp_path / "home"
    LocalBackend(root).close()
    run = task_pool.run(entry("die"), {}, plugin_dir=plugin_dir, backend={"local": str(root)})

    job = _job_of(root, run.run_id)
    assert job["status"] == "failed"
    assert "died (exit code 7)" in job["error"]
