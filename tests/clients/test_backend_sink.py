"""A run with a client is recorded as a backend job: status, progress, metrics, every log."""

import errno
import threading
import time

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.clients.sink import BackendSink, current_job_id, job_sink_for, storage_failure
from synapse_sdk.plugins import BaseAction, RuntimeContext, action, run_action
from synapse_sdk.plugins.errors import BackendError


@action(name="chatty")
def chatty(params: dict, ctx: RuntimeContext) -> dict:
    n = params.get("n", 10)
    level = params.get("level", "info")
    for i in range(n):
        ctx.log("tick", {"i": i}, level=level)
        ctx.set_progress(i + 1, n, step="work")
    ctx.set_metrics({"loss": 0.5, "epoch": 1}, step="train")
    ctx.set_metrics({"loss": 0.25, "epoch": 2}, step="train")
    ctx.warn("careful", code="heads_up")
    return {"done": n, "job": current_job_id(ctx)}


@action(name="boom")
def boom(params: dict, ctx: RuntimeContext) -> None:
    ctx.log("before")
    raise KeyError("x")


def test_a_run_with_a_client_records_a_job(backend):
    run = run_action(chatty, {"n": 5}, client=backend)
    assert run.ok
    (job,) = backend.list_jobs()
    assert run.result == {"done": 5, "job": job["id"]}
    assert job["action"] == "chatty" and job["run_id"] == run.run_id
    assert job["params"] == {"n": 5}
    assert job["status"] == "succeeded" and job["result"] == run.result
    assert job["progress"] == {"work": {"current": 5, "total": 5, "percent": 100.0}}
    assert job["metrics"] == {"train": {"loss": 0.25, "epoch": 2}}
    logs = backend.get_job_logs(job["id"])
    assert [e["event"] for e in logs] == ["tick"] * 5 + ["metrics", "metrics", "warning"]
    assert [e["data"].get("i") for e in logs[:5]] == [0, 1, 2, 3, 4]
    assert logs[5]["data"] == {"values": {"loss": 0.5, "epoch": 1}, "step": "train"}
    assert logs[7]["level"] == "warning" and logs[7]["data"]["code"] == "heads_up"
    seqs = [e["seq"] for e in logs]
    assert seqs == sorted(seqs)


def test_a_failed_run_records_the_error(backend):
    run = run_action(boom, client=backend)
    assert not run.ok
    (job,) = backend.list_jobs()
    assert job["status"] == "failed"
    assert "KeyError" in job["error"] and job["result"] is None
    assert [e["event"] for e in backend.get_job_logs(job["id"])] == ["before"]


def test_100000_log_events_all_arrive_in_order(backend):
    # debug level: the events still reach every sink; stdlib logging (not under test) skips them
    run = run_action(chatty, {"n": 100_000, "level": "debug"}, client=backend)
    assert run.ok
    (job,) = backend.list_jobs()
    logs = backend.get_job_logs(job["id"])
    ticks = [e["data"]["i"] for e in logs if e["event"] == "tick"]
    assert ticks == list(range(100_000))
    assert job["log_count"] == 100_003
    assert job["progress"]["work"]["current"] == 100_000


def test_progress_is_coalesced_so_the_backend_sees_far_fewer_writes(backend):
    calls = []

    class Counting:
        def __getattr__(self, name):
            attr = getattr(backend, name)
            if name == "update_job":

                def counted(*a, **kw):
                    calls.append(kw)
                    return attr(*a, **kw)

                return counted
            return attr

    run_action(chatty, {"n": 5_000, "level": "debug"}, client=Counting())
    progress_updates = [c for c in calls if c.get("progress")]
    assert 1 <= len(progress_updates) < 50
    (job,) = backend.list_jobs()
    assert job["progress"]["work"]["percent"] == 100.0


def test_a_slow_backend_applies_backpressure_instead_of_dropping(backend):
    gate = threading.Event()

    class Slow:
        def __getattr__(self, name):
            attr = getattr(backend, name)
            if name == "append_job_logs":

                def slow(*a, **kw):
                    gate.wait(0.05)
                    return attr(*a, **kw)

                return slow
            return attr

    sink = BackendSink(Slow(), batch_size=100, max_pending=300)
    run = run_action(chatty, {"n": 3000, "level": "debug"}, sinks=[sink])
    assert run.ok and sink.job_id is not None
    logs = backend.get_job_logs(sink.job_id)
    assert [e["data"]["i"] for e in logs if e["event"] == "tick"] == list(range(3000))


def test_entries_that_cannot_be_delivered_are_counted_and_reported_once(backend):
    class Broken:
        def __getattr__(self, name):
            if name == "append_job_logs":

                def fail(*a, **kw):
                    raise ConnectionError("backend down")

                return fail
            return getattr(backend, name)

    sink = BackendSink(Broken(), background=False, final_attempts=1)
    run = run_action(chatty, {"n": 3}, sinks=[sink])
    assert run.ok  # the action is never killed by its views
    warnings = [e for e in run.events if getattr(e, "code", None) == "sink_failed"]
    assert len(warnings) == 1
    assert (
        "Could not record 6 of 6 log entries of job 1 (marked degraded): ConnectionError: backend"
        in (warnings[0].message)
    )
    assert sink.lost == 6
    sink.close()  # already reported: closing does not raise it again
    (job,) = backend.list_jobs()
    assert job["status"] == "succeeded"  # the run's status, marked degraded with the count
    assert job["error"].startswith("degraded: 6 of 6 log entries could not be recorded")


class FullDisk(LocalBackend):
    """A real LocalBackend whose disk fills up after ``room`` log entries: every later write
    of log entries raises what SQLite raises on a full disk."""

    def __init__(self, root, room: int) -> None:
        super().__init__(root, durable=False)
        self.room = room
        self.refused = 0

    def append_job_logs(self, job_id, entries):
        if self.room < len(entries):
            self.refused += 1
            raise BackendError("LocalBackend write failed: disk full") from OSError(
                errno.ENOSPC, "No space left on device"
            )
        self.room -= len(entries)
        return super().append_job_logs(job_id, entries)


def test_a_full_disk_neither_stalls_the_run_nor_loses_entries_silently(tmp_path):
    backend = FullDisk(tmp_path / "full", room=10_000)
    sink = BackendSink(backend, batch_size=1000, max_pending=5000)
    t0 = time.monotonic()
    run = run_action(chatty, {"n": 120_000, "level": "debug"}, sinks=[sink])
    elapsed = time.monotonic() - t0

    assert run.ok and elapsed < 30  # no backpressure on a disk that cannot take writes
    (job,) = backend.list_jobs()
    recorded = job["log_count"]
    assert recorded == 10_000
    assert sink.entries == 120_003 and sink.lost == 120_003 - recorded  # every entry counted
    assert job["status"] == "succeeded"
    assert job["error"].startswith(f"degraded: {sink.lost} of 120003 log entries could not")
    assert "disk full" in job["error"]
    (warning,) = [e for e in run.events if getattr(e, "code", None) == "sink_failed"]
    assert f"Could not record {sink.lost} of 120003 log entries" in warning.message
    assert backend.refused < 200  # retried with pauses, not once per event


def test_a_backend_that_recovers_within_the_stall_budget_loses_nothing(backend):
    down_until = time.monotonic() + 0.5

    class Flaky:
        def __getattr__(self, name):
            attr = getattr(backend, name)
            if name != "append_job_logs":
                return attr

            def maybe(*a, **kw):
                if time.monotonic() < down_until:
                    raise ConnectionError("restarting")
                return attr(*a, **kw)

            return maybe

    sink = BackendSink(Flaky(), batch_size=100, max_pending=300, flush_interval=0.05)
    run = run_action(chatty, {"n": 3000, "level": "debug"}, sinks=[sink])
    assert run.ok and sink.lost == 0
    logs = backend.get_job_logs(sink.job_id)
    assert [e["data"]["i"] for e in logs if e["event"] == "tick"] == list(range(3000))
    assert backend.get_job(sink.job_id)["error"] is None


def test_job_sink_for_skips_clients_that_cannot_record_jobs_and_duplicates(backend):
    assert job_sink_for(None) is None
    assert job_sink_for(object()) is None
    existing = BackendSink(backend)
    assert job_sink_for(backend, [existing]) is None
    assert isinstance(job_sink_for(backend), BackendSink)


def test_an_explicit_sink_is_not_doubled_by_the_runner(backend):
    class Train(BaseAction[None]):  # type: ignore[type-var]
        action_name = "t"

        def execute(self):
            self.log("x")

    sink = BackendSink(backend)
    run_action(Train, client=backend, sinks=[sink])
    assert len(backend.list_jobs()) == 1


def test_progress_reaches_the_backend_while_the_action_computes_quietly(backend):
    import time

    @action(name="quiet")
    def quiet(params: dict, ctx: RuntimeContext) -> dict:
        ctx.set_progress(1, 4, step="work")
        job_id = current_job_id(ctx)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # "computing": no events for a while
            progress = ctx.client.get_job(job_id)["progress"]
            if progress:
                return progress
            time.sleep(0.01)
        return {}

    sink = BackendSink(backend, flush_interval=0.02)
    run = run_action(quiet, client=backend, sinks=[sink]).raise_for_status()
    assert run.result == {"work": {"current": 1, "total": 4, "percent": 25.0}}


def test_storage_failure_tells_a_full_or_read_only_store_from_a_transient_fault():
    import sqlite3

    def chained(exc):
        try:
            raise BackendError("write failed") from exc
        except BackendError as outer:
            return outer

    assert storage_failure(chained(OSError(errno.ENOSPC, "No space left on device")))
    assert storage_failure(chained(OSError(errno.EROFS, "Read-only file system")))
    assert storage_failure(chained(sqlite3.OperationalError("database or disk is full")))
    assert not storage_failure(chained(ConnectionError("refused")))
    assert not storage_failure(chained(sqlite3.OperationalError("database is locked")))
