"""Which process runs a LocalBackend job, to tell a live ``running`` job from a stale one.

A run recorded by a :class:`~synapse_sdk.clients.sink.BackendSink` into a LocalBackend of the
same process claims its job (:meth:`JobOwnersMixin.claim_job`): the host, the pid and, where
the system says it (Linux), the process's start time, so a pid reused by another program does
not pass for the run. A job still ``running`` whose process is gone from this host was killed
(SIGKILL, out of memory, a power loss): :meth:`JobOwnersMixin.stale_jobs` finds those, and
:meth:`JobOwnersMixin.end_stale_jobs` records them as failed. Jobs without an owner (made
through the HTTP server, or before owners were recorded) and jobs of other hosts are never
called stale: nothing here can tell.

The table is made by the first claim, so opening or listing a root never writes.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import JobRecord

__all__ = ["JobOwnersMixin", "process_token"]

_TABLE = """
CREATE TABLE IF NOT EXISTS job_owners (
    job INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL DEFAULT '',
    claimed_at REAL NOT NULL
)
"""


def process_token(pid: int) -> str:
    """What tells process ``pid`` from a later one with the same pid: the boot id and the
    process's start time on Linux; ``''`` where the system does not say (then the pid alone
    is checked)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rpartition(")")[2].split()
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()
        return f"{boot}:{fields[19]}"  # field 22 of stat: start time in clock ticks
    except (OSError, IndexError):
        return ""


def _gone(pid: int, token: str) -> bool:
    """True when process ``pid`` (started as ``token`` says) no longer runs on this host."""
    if pid == os.getpid():
        return bool(token) and token != process_token(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process, or no kill(0) here: it exists
        pass
    return bool(token) and process_token(pid) not in ("", token)


class JobOwnersMixin:
    """The LocalBackend's side of job owners (see the module docstring)."""

    if TYPE_CHECKING:
        read_only: bool

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
        def list_jobs(
            self, *, status: str | None = None, limit: int | None = None
        ) -> list[JobRecord]: ...
        def update_job(
            self, job_id: int, *, status: str | None = None, error: str | None = None
        ) -> None: ...

    def claim_job(self, job_id: int) -> None:
        """Record this process as the one running job ``job_id``."""
        pid = os.getpid()
        with self._write() as db:
            db.execute(_TABLE)
            db.execute(
                "INSERT OR REPLACE INTO job_owners (job, host, pid, token, claimed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (job_id, socket.gethostname(), pid, process_token(pid), time.time()),
            )

    def job_owners(self, job_ids: Sequence[int]) -> dict[int, tuple[str, int, str]]:
        """``{job: (host, pid, token)}`` for those of ``job_ids`` that were claimed."""
        if not job_ids:
            return {}
        tables = self._query("SELECT 1 FROM sqlite_master WHERE name = 'job_owners'")
        if not tables:
            return {}
        marks = ",".join("?" * len(job_ids))
        rows = self._query(
            f"SELECT job, host, pid, token FROM job_owners WHERE job IN ({marks})",
            list(job_ids),
        )
        return {job: (host, pid, token) for job, host, pid, token in rows}

    def stale_jobs(self, jobs: Sequence[JobRecord] | None = None) -> dict[int, str]:
        """The ``running`` jobs (of ``jobs``, default all) whose process is gone, each with
        a sentence saying which process that was."""
        if jobs is None:
            jobs = self.list_jobs(status="running")
        running = [job["id"] for job in jobs if job["status"] == "running"]
        host = socket.gethostname()
        stale = {}
        for job_id, (owner_host, pid, token) in self.job_owners(running).items():
            if owner_host == host and _gone(pid, token):
                stale[job_id] = (
                    f"interrupted: its process (pid {pid} on {host}) is gone; it was killed "
                    "before the run ended"
                )
        return stale

    def end_stale_jobs(self) -> dict[int, str]:
        """Record every stale job (see :meth:`stale_jobs`) as failed; returns them."""
        stale = self.stale_jobs()
        for job_id, reason in stale.items():
            self.update_job(job_id, status="failed", error=reason)
        return stale
