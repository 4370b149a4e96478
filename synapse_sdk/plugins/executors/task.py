"""``task``: a pool of warm worker processes (the embedded default for quick parallel runs).

Each worker is ``python -m synapse_sdk.plugins.executors.worker`` started once with the SDK,
pydantic and the preloaded plugins imported; runs go to idle workers as JSON requests and
their events stream back live over a pipe. ``submit`` returns a :class:`RunHandle` at once,
so many runs go in parallel (one per worker; the rest queue).

A worker that dies fails its run with :class:`~synapse_sdk.plugins.errors.WorkerLostError`
and is replaced. ``cancel()`` reaches the worker, where the action's next
``set_progress`` / ``check_cancelled`` raises CancelledError (steps roll back); a worker that
does not stop within ``cancel_grace`` seconds is killed and the run ends cancelled.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from ..errors import CancelledError, WorkerLostError
from ..run import Run, RunStatus
from ._base import BaseExecutor, Submission
from ._env import worker_env
from ._protocol import ActionRef, RunHandle, read_messages, to_ref

__all__ = ["TaskExecutor"]

_WORKER_MODULE = "synapse_sdk.plugins.executors.worker"


def exit_reason(code: int | None) -> str:
    """``'exit code 3'`` or ``'signal SIGKILL'`` for a finished process."""
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Worker:
    """One warm worker process and the thread that reads its events."""

    def __init__(self, pool: TaskExecutor, index: int) -> None:
        self.pool = pool
        self.index = index
        cmd_r, cmd_w = os.pipe()
        evt_r, evt_w = os.pipe()
        argv = [pool.python, "-m", _WORKER_MODULE, "--cmd-fd", str(cmd_r), "--event-fd", str(evt_w)]
        for ref in pool.preload:
            argv += ["--preload", f"{ref.plugin_dir or ''}={ref.entrypoint}"]
        try:
            self.proc = subprocess.Popen(
                argv,
                pass_fds=(cmd_r, evt_w),
                env=pool.process_env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal cancels runs, not workers
            )
        finally:
            os.close(cmd_r)
            os.close(evt_w)
        self.commands: IO[bytes] = os.fdopen(cmd_w, "wb")
        self.events_fd = evt_r
        self.lock = threading.Lock()
        self.current: RunHandle | None = None
        self.ready = threading.Event()
        self.alive = True
        self.reader = threading.Thread(
            target=self._read, name=f"synapse-task-worker-{index}", daemon=True
        )
        self.reader.start()

    def send(self, message: Mapping[str, Any]) -> bool:
        data = json.dumps(message).encode() + b"\n"
        with self.lock:
            try:
                self.commands.write(data)
                self.commands.flush()
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    def _read(self) -> None:
        for message in read_messages(self.events_fd, self.proc):
            kind = message.get("kind")
            if kind == "ready":
                self.ready.set()
                continue
            handle = self.current
            if handle is None or message.get("run_id", handle.run_id) != handle.run_id:
                continue
            if kind == "event":
                handle.feed(message)
            elif kind == "done":
                handle.feed(message)
                self.pool._finished(self)
        self.alive = False
        code = self.proc.wait()
        with self.lock, contextlib.suppress(OSError):
            self.commands.close()
        self.pool._lost(self, code)

    def stop(self, timeout: float) -> None:
        self.send({"op": "exit"})
        with self.lock, contextlib.suppress(OSError):
            self.commands.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class TaskExecutor(BaseExecutor):
    """Run actions on a pool of warm worker processes (``mode='task'``).

    ``workers`` defaults to the number of CPUs. ``preload`` lists actions (objects, entrypoint
    strings or :class:`ActionRef`; strings are found in ``plugin_dir``) imported by every
    worker at start, so the first run of each does not pay for the import. ``env`` is added to
    every worker's environment (see :mod:`._env` for what is kept from the caller's) and to
    every run's env. The pool starts at the first ``submit`` (or ``start()``); ``close()``
    stops it.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        preload: Iterable[Any] = (),
        plugin_dir: str | None = None,
        env: Mapping[str, str] | None = None,
        python: str | None = None,
        cancel_grace: float = 10.0,
    ) -> None:
        super().__init__(env=env)
        self.size = max(1, workers or os.cpu_count() or 1)
        self.preload: list[ActionRef] = [to_ref(p, plugin_dir)[0] for p in preload]
        #: the environment every worker process starts with
        self.process_env = worker_env(self.env)
        self.python = python or sys.executable
        self.cancel_grace = cancel_grace
        self._lock = threading.RLock()
        self._workers: list[_Worker] = []
        self._idle: collections.deque[_Worker] = collections.deque()
        self._pending: collections.deque[tuple[dict[str, Any], RunHandle]] = collections.deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"<TaskExecutor workers={self.size} started={bool(self._workers)}>"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, wait: bool = False, timeout: float = 30.0) -> TaskExecutor:
        """Start the workers (``wait=True``: until each has imported the SDK and preloads)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this TaskExecutor is closed")
            while len(self._workers) < self.size:
                worker = _Worker(self, len(self._workers))
                self._workers.append(worker)
                self._idle.append(worker)
            workers = list(self._workers)
        if wait:
            for worker in workers:
                worker.ready.wait(timeout)
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers; runs still queued end as cancelled, and runs still going are
        cancelled (they roll back) with ``timeout`` seconds to end before their worker is
        killed (a script interrupted by Ctrl-C closes the shared pool at exit)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = list(self._pending)
            self._pending.clear()
            workers = list(self._workers)
        for _, handle in pending:
            handle.fail(
                CancelledError("The pool was closed before the run started"),
                status=RunStatus.CANCELLED,
            )
        for worker in workers:
            running = worker.current
            if running is not None and not running.done():
                running.cancel()
        for worker in workers:
            worker.stop(timeout)
        for worker in workers:
            worker.reader.join(timeout)
        super().close()

    # -- runs --------------------------------------------------------------------------------

    def _start(self, submission: Submission) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("this TaskExecutor is closed")
            if not self._workers:
                self.start()
            self._pending.append((submission.request, submission.handle))
            self._dispatch()

    def map(self, action: Any, params_list: Sequence[Any], **options: Any) -> list[Run]:
        """Run ``action`` once per params in parallel; the runs in input order."""
        handles = [self.submit(action, p, **options) for p in params_list]
        return [h.wait() for h in handles]

    # -- internals ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        # called with the lock held
        while self._pending and self._idle:
            worker = self._idle.popleft()
            request, handle = self._pending.popleft()
            worker.current = handle
            if not worker.send(request):
                worker.current = None
                self._pending.appendleft((request, handle))
                continue  # that worker is dying; its reader replaces it

    def _finished(self, worker: _Worker) -> None:
        with self._lock:
            worker.current = None
            if not self._closed:
                self._idle.append(worker)
                self._dispatch()

    def _lost(self, worker: _Worker, code: int | None) -> None:
        handle = worker.current
        worker.current = None
        if handle is not None and not handle.done():
            if handle.cancel_requested:
                handle.fail(
                    CancelledError(
                        f"The run was cancelled; its worker was stopped ({exit_reason(code)})",
                        action=handle.action,
                    ),
                    status=RunStatus.CANCELLED,
                )
            else:
                handle.fail(
                    WorkerLostError(
                        f"The worker process (pid {worker.proc.pid}) running action "
                        f"{handle.action!r} died ({exit_reason(code)})",
                        action=handle.action,
                        exit_code=code,
                    )
                )
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
            if worker in self._workers:
                self._workers.remove(worker)
            if not self._closed:
                replacement = _Worker(self, worker.index)
                self._workers.append(replacement)
                self._idle.append(replacement)
                self._dispatch()

    def _cancel(self, handle: RunHandle) -> None:
        with self._lock:
            for i, (_, queued) in enumerate(self._pending):
                if queued is handle:
                    del self._pending[i]
                    handle.fail(
                        CancelledError(
                            "The run was cancelled before it started", action=handle.action
                        ),
                        status=RunStatus.CANCELLED,
                    )
                    return
            worker = next((w for w in self._workers if w.current is handle), None)
        if worker is None:
            return
        worker.send({"op": "cancel", "run_id": handle.run_id})
        if self.cancel_grace is not None:
            timer = threading.Timer(self.cancel_grace, self._force_stop, (worker, handle))
            timer.daemon = True
            timer.start()

    def _force_stop(self, worker: _Worker, handle: RunHandle) -> None:
        if worker.current is handle and not handle.done():
            worker.kill()  # the reader then ends the run as cancelled and replaces the worker
