"""Watching callers' contexts for cancel, for every executor."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._protocol import RunHandle

__all__ = ["CancelWatcher"]


class CancelWatcher:
    """Forwards ``ctx.cancel()`` on a caller's context (a notebook Cancel button, a test) to
    the run's worker: a daemon thread polls the contexts of live runs every ``interval``."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._handles: weakref.WeakSet[RunHandle] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def watch(self, handle: RunHandle) -> None:
        with self._lock:
            self._handles.add(handle)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="synapse-cancel-watcher", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                handles = list(self._handles)
            for handle in handles:
                if handle.done():
                    with self._lock:
                        self._handles.discard(handle)
                elif handle.ctx.cancelled and not handle._cancel_requested:
                    handle.cancel()
