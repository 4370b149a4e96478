"""JobExecutor: a fresh isolated process per run, clean env, logs, stop, death, venv."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from synapse_sdk.plugins import ConfigError, MemorySink, RunStatus
from synapse_sdk.plugins.errors import WorkerLostError
from synapse_sdk.plugins.events import ProgressEvent, RunFinished, RunStarted
from synapse_sdk.plugins.executors import JobExecutor, JobHandle
from synapse_sdk.plugins.executors._protocol import ActionRef
from synapse_sdk.plugins.executors.job import ensure_venv

from .helpers import entry, wait_until, write_wheel


@pytest.fixture
def jobs(tmp_path):
    with JobExecutor(jobs_dir=tmp_path / "jobs", stop_grace=5.0) as executor:
        yield executor


def test_a_job_runs_in_its_own_process_and_keeps_a_record(jobs, plugin_dir):
    sink = MemorySink()
    handle = jobs.submit(entry("count"), {"n": 2}, plugin_dir=plugin_dir, sinks=[sink])
    run = handle.wait(30)

    assert isinstance(handle, JobHandle)
    assert handle.job_id == run.run_id
    assert jobs.get(handle.job_id) is handle
    assert run.status is RunStatus.SUCCEEDED and handle.status == "succeeded"
    assert run.result["pid"] == handle.pid != os.getpid()
    assert handle.exit_code == 0
    assert isinstance(sink.events[0], RunStarted) and isinstance(sink.events[-1], RunFinished)
    assert len(run.events_of(ProgressEvent)) == 2
    wait_until(lambda: (handle.dir / "run.json").exists())
    record = json.loads((handle.dir / "run.json").read_text())
    assert record["status"] == "succeeded" and record["result"]["total"] == 2


def test_a_job_gets_only_the_plugin_env_and_what_the_caller_passes(
    tmp_path, plugin_dir, monkeypatch
):
    monkeypatch.setenv("CALLER_SECRET_TOKEN", "do-not-leak")
    ref = ActionRef(entry("environ"), plugin_dir, env={"PLUGIN_VAR": "from-config"})
    with JobExecutor(jobs_dir=tmp_path) as jobs:
        handle = jobs.submit(ref, {}, env={"RUN_VAR": "from-caller"})
        run = handle.wait(30)

    result = run.raise_for_status().result
    assert result["ctx_env"] == {"PLUGIN_VAR": "from-config", "RUN_VAR": "from-caller"}
    assert result["plugin_var"] == "from-config"
    assert "CALLER_SECRET_TOKEN" not in result["os_env"]
    allowed = {
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "USER",
        "LOGNAME",
        "LANGUAGE",
        "TMPDIR",
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "PLUGIN_VAR",
        "RUN_VAR",
    }
    assert {n for n in result["os_env"] if not n.startswith("LC_")} <= allowed
    assert "hello from the job" in handle.logs()


def test_stopping_a_job_cancels_it_and_rolls_back(jobs, plugin_dir, tmp_path):
    marker = tmp_path / "rolled_back"
    handle = jobs.submit(
        entry("wait_for_gate"),
        {"gate": str(tmp_path / "never"), "rollback_marker": str(marker)},
        plugin_dir=plugin_dir,
    )
    wait_until(lambda: any(isinstance(e, ProgressEvent) for e in handle.events), timeout=30)
    assert handle.status == "running"
    jobs.stop(handle.job_id)
    run = handle.wait(30)

    assert run.status is RunStatus.CANCELLED
    assert handle.status == "cancelled"
    assert marker.read_text() == "rolled back"
    assert handle.exit_code == 2


def test_a_job_that_dies_fails_with_its_exit_code_and_log_tail(jobs, plugin_dir):
    run = jobs.run(entry("die"), {}, plugin_dir=plugin_dir)

    assert run.status is RunStatus.FAILED
    assert isinstance(run.error, WorkerLostError)
    assert run.error.exit_code == 7
    assert "died (exit code 7)" in str(run.error)
    assert "dying now" in str(run.error)  # the last log lines are in the message


def test_unknown_job_id_names_the_known_ones(jobs):
    with pytest.raises(KeyError, match="no job 'nope'"):
        jobs.get("nope")


def test_a_job_can_run_in_the_plugins_own_virtualenv(tmp_path, plugin_dir):
    with JobExecutor(jobs_dir=tmp_path / "jobs", venv=True, venvs_dir=tmp_path / "venvs") as jobs:
        run = jobs.run(entry("environ"), {}, plugin_dir=plugin_dir)

    prefix = Path(run.raise_for_status().result["prefix"])
    assert prefix.parent == tmp_path / "venvs"
    assert prefix != Path(sys.prefix)


def test_venv_requirements_install_from_the_wheels_dir(tmp_path):
    plugin = tmp_path / "plugin"
    wheels = plugin / "wheels"
    wheels.mkdir(parents=True)
    write_wheel(wheels, "h8tinydep", "1.0", "VALUE = 42\n")
    (plugin / "requirements.txt").write_text("h8tinydep==1.0\n")

    python = ensure_venv(
        str(plugin),
        tmp_path / "venvs",
        wheels_dir="wheels",
        options=["--no-index"],
    )
    import subprocess

    out = subprocess.run(
        [str(python), "-c", "import h8tinydep; print(h8tinydep.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert out.stdout.strip() == "42"
    # built once, then reused
    assert (
        ensure_venv(str(plugin), tmp_path / "venvs", wheels_dir="wheels", options=["--no-index"])
        == python
    )


def test_a_bad_package_manager_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="package_manager must be 'pip' or 'uv', got 'conda'"):
        ensure_venv(str(tmp_path), tmp_path / "venvs", package_manager="conda")


def test_stopping_a_job_rolls_back_the_steps_that_ran(jobs, plugin_dir, tmp_path):
    from synapse_sdk.plugins.events import StepEvent

    marker = tmp_path / "marker"
    env = {"GATE": str(tmp_path / "never"), "MARKER": str(marker)}
    handle = jobs.submit(entry("TwoSteps"), {}, plugin_dir=plugin_dir, env=env)
    wait_until(
        lambda: any(isinstance(e, StepEvent) and e.step == "wait" for e in handle.events),
        timeout=30,
    )
    handle.stop()
    run = handle.wait(30)

    assert run.status is RunStatus.CANCELLED
    assert marker.read_text() == "prepare rolled back"
    steps = [(e.step, e.status) for e in run.events_of(StepEvent) if e.status != "pending"]
    assert ("prepare", "rolled_back") in steps


def test_the_executors_own_jobs_folder_goes_when_it_closes_a_given_one_stays(plugin_dir, tmp_path):
    from synapse_sdk.plugins.executors import JobExecutor

    with JobExecutor() as jobs:
        own = jobs.jobs_dir
        assert jobs.run("h8plugin.actions:count", {"n": 1}, plugin_dir=plugin_dir).ok
        assert any(own.iterdir())
    assert not own.exists()

    kept = tmp_path / "jobs"
    with JobExecutor(jobs_dir=kept) as jobs:
        assert jobs.run("h8plugin.actions:count", {"n": 1}, plugin_dir=plugin_dir).ok
    assert any(kept.iterdir())
