"""Cancellation: a rollback runs to its end in every mode (also when it reports progress and
logs), and a signal to ``synapse run`` cancels the run instead of killing it: the job is
recorded as cancelled, never left ``running``."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

import pytest

from synapse_sdk.cli import main
from synapse_sdk.cli._signals import CancelOnSignal
from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins import RunStatus, RuntimeContext
from synapse_sdk.plugins.events import Event, StepEvent
from synapse_sdk.plugins.executors.task import TaskExecutor
from synapse_sdk.plugins.runner import run_plugin_record


class CancelWhenConverting:
    """Cancels the run once the ``convert`` step has started (as a user's Cancel would)."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.statuses: list[tuple[str, str]] = []

    def emit(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self.statuses.append((event.step, event.status))
            if (event.step, event.status) == ("convert", "started"):
                self.ctx.cancel()


@pytest.mark.parametrize("mode", ["local", "task", "job"])
def test_a_rollback_that_reports_progress_runs_to_its_end_when_the_run_is_cancelled(
    steps_plugin, tmp_path, mode
):
    trail = tmp_path / "trail.txt"
    ctx = RuntimeContext()
    watcher = CancelWhenConverting(ctx)
    run = run_plugin_record(
        steps_plugin, "pipeline", {"trail": str(trail)}, mode=mode, ctx=ctx, sinks=[watcher]
    )
    assert run.status is RunStatus.CANCELLED, run.error
    assert trail.read_text().splitlines() == [
        "download",
        "convert",
        "undo convert",
        "undo download: done",
    ]
    assert ("download", "rolled_back") in watcher.statuses
    assert not [s for s in watcher.statuses if s[1] == "rollback_failed"]


# -- signals to `synapse run` ------------------------------------------------------------------


def start_cli(plugin: Path, action: str, trail: Path, *extra: str) -> subprocess.Popen[str]:
    """``synapse run PLUGIN ACTION --backend`` in a fresh process, its backend in tmp."""
    env = {**os.environ, "SYNAPSE_HOME": str(trail.parent / "home")}
    argv = [sys.executable, "-m", "synapse_sdk.cli", "run", str(plugin), action]
    argv += ["-p", f"trail={trail}", "--backend", *extra]
    return subprocess.Popen(argv, stdout=PIPE, stderr=PIPE, text=True, env=env)


def wait_for_line(path: Path, line: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and line in path.read_text().splitlines():
            return
        time.sleep(0.02)
    raise AssertionError(f"{line!r} never written to {path}")


def jobs(trail: Path) -> list[dict]:
    with LocalBackend(trail.parent / "home") as backend:
        return list(backend.list_jobs())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_to_synapse_run_cancels_the_run_and_records_its_job_cancelled(
    steps_plugin, tmp_path, signum
):
    trail = tmp_path / "trail.txt"
    proc = start_cli(steps_plugin, "pipeline", trail)
    wait_for_line(trail, "convert")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    assert trail.read_text().splitlines()[-2:] == ["undo convert", "undo download: done"]
    assert signal.Signals(signum).name in err and "cancelling the run" in err
    assert "Traceback" not in err
    [job] = jobs(trail)
    assert job["status"] == "cancelled"


@pytest.mark.parametrize("mode", ["task", "job"])
def test_ctrl_c_in_a_worker_mode_cancels_the_run_in_its_worker_which_rolls_back(
    steps_plugin, tmp_path, mode
):
    trail = tmp_path / "trail.txt"
    proc = start_cli(steps_plugin, "pipeline", trail, "--mode", mode)
    wait_for_line(trail, "convert")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 4.0  # not the 5 s pool shutdown followed by a kill
    assert trail.read_text().splitlines()[-2:] == ["undo convert", "undo download: done"]
    assert "SIGKILL" not in err
    [job] = jobs(trail)
    assert job["status"] == "cancelled"


def test_closing_a_task_pool_cancels_its_runs_which_roll_back_before_their_workers_stop(
    steps_plugin, tmp_path
):
    # what a script using mode='task' meets when Ctrl-C ends it: the shared pool closes at exit
    trail = tmp_path / "trail.txt"
    pool = TaskExecutor(workers=1)
    handle = pool.submit(
        "plugin.pipeline:Pipeline", {"trail": str(trail)}, plugin_dir=str(steps_plugin)
    )
    wait_for_line(trail, "convert")
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 4.0  # no 5 s wait followed by a kill
    run = handle.wait(timeout=5)
    assert run.status is RunStatus.CANCELLED
    assert trail.read_text().splitlines()[-2:] == ["undo convert", "undo download: done"]


def test_a_second_signal_stops_a_run_that_never_reaches_a_cancellation_point(
    steps_plugin, tmp_path
):
    trail = tmp_path / "trail.txt"
    proc = start_cli(steps_plugin, "stubborn", trail)
    wait_for_line(trail, "stubborn")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped at once" in err and "Traceback" not in err
    [job] = jobs(trail)
    assert job["status"] == "cancelled"


def test_sigterm_stops_at_once_after_the_grace_when_nobody_presses_ctrl_c_again():
    ctx = RuntimeContext()
    started = time.monotonic()

    def never_stops() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        while time.monotonic() - started < 10:  # an action that never checks
            time.sleep(0.01)

    with CancelOnSignal(ctx, grace=0.2, stream=io.StringIO()), pytest.raises(KeyboardInterrupt):
        never_stops()
    assert ctx.cancelled
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


# -- runs killed outright ----------------------------------------------------------------------


def test_a_job_whose_process_was_killed_is_shown_stale_and_can_be_recorded_failed(
    steps_plugin, tmp_path, capsys
):
    trail = tmp_path / "trail.txt"
    home = str(tmp_path / "home")
    proc = start_cli(steps_plugin, "stubborn", trail)
    wait_for_line(trail, "stubborn")
    proc.kill()
    proc.communicate(timeout=30)
    [job] = jobs(trail)
    assert job["status"] == "running"  # nothing could record the end of a SIGKILLed process

    assert main(["backend", "jobs", "--home", home]) == 0
    out, err = capsys.readouterr()
    assert f"{job['id']}   stubborn  stale" in out
    assert f"pid {proc.pid}" in out
    assert "--end-stale" in err
    assert main(["backend", "jobs", "--home", home, "--json", "--status", "stale"]) == 0
    assert [j["id"] for j in json.loads(capsys.readouterr().out) if j["stale"]] == [job["id"]]

    assert main(["backend", "jobs", "--home", home, "--end-stale"]) == 0
    [ended] = jobs(trail)
    assert ended["status"] == "failed"
    assert ended["error"].startswith(f"interrupted: its process (pid {proc.pid} on ")


def test_a_running_job_of_a_live_process_or_of_another_host_is_never_called_stale(tmp_path):
    with LocalBackend(tmp_path / "home", durable=False) as backend:
        mine = backend.create_job("live")["id"]
        backend.claim_job(mine)
        unclaimed = backend.create_job("made over HTTP")["id"]
        elsewhere = backend.create_job("other host")["id"]
        backend.claim_job(elsewhere)
        with backend._write() as db:
            db.execute(
                "UPDATE job_owners SET host = 'elsewhere', pid = 1 WHERE job = ?", (elsewhere,)
            )
        assert backend.stale_jobs() == {}
        assert {j["id"] for j in backend.list_jobs(status="running")} == {
            mine,
            unclaimed,
            elsewhere,
        }
