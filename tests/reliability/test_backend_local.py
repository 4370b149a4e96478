"""Promises of the LocalBackend under hostile conditions a user can run to see them held:
several processes creating a new SYNAPSE_HOME at once, a read-only SYNAPSE_HOME, a FIFO in the
store, long file roles, and a disk that fills up while a run logs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from synapse_sdk.cli import main
from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.clients.sink import BackendSink
from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_sdk.plugins.actions.dataset import DatasetView
from synapse_sdk.plugins.errors import BackendError

OPENER = textwrap.dedent(
    """
    import os, sys
    from synapse_sdk.clients.local import LocalBackend

    root, go = sys.argv[1], sys.argv[2]
    while not os.path.exists(go):  # spin: every process opens the root at the same moment
        pass
    backend = LocalBackend(root, durable=False)
    backend.create_job("opened")
    backend.close()
    """
)


def test_processes_creating_a_new_home_together_never_see_database_is_locked(tmp_path):
    failures = []
    for round_ in range(4):
        root, go = tmp_path / f"home{round_}", tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(root), str(go)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        time.sleep(0.3)  # all started and spinning
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode:
                failures.append(err.strip().splitlines()[-1])
        with LocalBackend(root) as backend:
            assert len(backend.list_jobs()) == 8 - len(failures)
    assert failures == []


@contextlib.contextmanager
def _mount(path: Path, size: str):
    """A tmpfs of ``size`` at ``path`` (root only; the test skips otherwise)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _remount_read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


@action(name="greet")
def greet(params: dict, ctx: RuntimeContext) -> dict:
    ctx.log("hello")
    return {"ok": True}


def test_a_read_only_home_can_still_be_listed_and_read(tmp_path, monkeypatch, capsys):
    with _mount(tmp_path / "mnt", "8m") as mnt:
        home = mnt / "home"
        with LocalBackend(home) as backend:
            run_action(greet, client=backend).raise_for_status()
            dataset = backend.create_dataset("kept")
            (unit,) = backend.add_data_units(dataset["id"], [({"x.txt": b"payload"}, {})])
        _remount_read_only(mnt)
        monkeypatch.setenv("SYNAPSE_HOME", str(home))

        assert main(["backend", "jobs"]) == 0
        assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["1", "greet", "succeeded"]
        assert main(["backend", "logs", "1"]) == 0
        assert "hello" in capsys.readouterr().out
        with LocalBackend(home) as backend:  # opens read-only by itself
            assert backend.read_only
            assert backend.read_file(unit["files"]["x.txt"]["sha256"]) == b"payload"
            with pytest.raises(BackendError, match="is read-only") as info:
                backend.create_dataset("new")
            assert "writable" in (info.value.hint or "")


def test_a_fifo_in_the_store_is_refused_instead_of_blocking(backend_root):
    with LocalBackend(backend_root, durable=False) as backend:
        sha = backend.create_model(_file(backend_root.parent, b"w" * 100_000), name="m")
        sha = sha["file"]["sha256"]
        blob = backend_root / "blobs" / sha[:2] / sha
        blob.unlink()
        os.mkfifo(blob)
        outcome: list[BaseException] = []
        reader = threading.Thread(target=_catch, args=(backend.read_file, sha, outcome))
        reader.start()
        reader.join(5)
        assert not reader.is_alive(), "read_file blocked on a FIFO"
        assert isinstance(outcome[0], BackendError)
        assert "not a regular file" in str(outcome[0])
        with pytest.raises(BackendError, match="not a regular file"):
            backend.download_file(sha, backend_root.parent / "out.bin")
        assert not (backend_root.parent / "out.bin").exists()


def test_a_long_file_role_is_stored_and_downloadable(backend_root, tmp_path):
    role = "r" * 300 + ".txt"  # longer than any file name a file system accepts
    with LocalBackend(backend_root, durable=False) as backend:
        dataset = backend.create_dataset("long")
        (unit,) = backend.add_data_units(dataset["id"], [({role: b"content"}, {})])
        record = unit["files"][role]  # the role is kept whole
        assert len(record["name"].encode()) <= 255 and record["name"].endswith(".txt")
        folder = DatasetView(backend, backend.get_dataset(dataset["id"])).download(tmp_path / "dl")
        assert (folder / str(unit["id"]) / record["name"]).read_bytes() == b"content"


@action(name="chatty")
def chatty(params: dict, ctx: RuntimeContext) -> None:
    for i in range(params["n"]):
        ctx.log("tick", {"i": i, "pad": "x" * 40}, level="debug")


def test_a_disk_that_fills_up_ends_the_run_promptly_with_the_entries_lost_counted(tmp_path):
    with _mount(tmp_path / "mnt", "2m") as mnt:
        backend = LocalBackend(mnt / "home")
        sink = BackendSink(backend)
        t0 = time.monotonic()
        run = run_action(chatty, {"n": 120_000}, sinks=[sink])
        elapsed = time.monotonic() - t0
        (warning,) = [e for e in run.events if getattr(e, "code", None) == "sink_failed"]
        (job,) = backend.list_jobs()
        backend.close()

    assert run.ok and elapsed < 60
    assert 0 < sink.lost < 120_000
    assert job["log_count"] + sink.lost == sink.entries == 120_000
    assert f"{sink.lost} of 120000 log entries" in warning.message
    assert "disk is full" in warning.message
    # the end of the run is recorded when the disk leaves room for it, and says so otherwise
    if job["status"] == "running":
        assert "stays 'running'" in warning.message
    else:
        assert job["status"] == "succeeded" and job["error"].startswith("degraded: ")


@pytest.fixture
def backend_root(tmp_path):
    return tmp_path / "home"


def _file(folder: Path, data: bytes) -> Path:
    path = folder / "weights.bin"
    path.write_bytes(data)
    return path


def _catch(fn, arg, out: list) -> None:
    try:
        fn(arg)
    except BaseException as exc:  # handed to the test thread
        out.append(exc)
