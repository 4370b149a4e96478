"""Signals while ``synapse run`` runs an action: Ctrl-C, ``kill``, ``docker stop``, a closed
terminal.

SIGINT, SIGTERM and SIGHUP all cancel the run the same way a notebook's Cancel button does:
the action stops at its next cancellation point (``set_progress`` / ``check_cancelled``), its
steps roll back, and the run (and its backend job) is recorded as ``cancelled``. In ``--mode
task`` / ``job`` the cancel reaches the worker, which rolls back too. A second signal stops at
once (KeyboardInterrupt); so does a SIGTERM or SIGHUP run that has not stopped after
``grace`` seconds, since nobody is at the keyboard to press Ctrl-C again. Either way the run
is recorded as cancelled, never left ``running``.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["CancelOnSignal"]

_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class CancelOnSignal:
    """Turn SIGINT, SIGTERM and SIGHUP into a cancel of ``ctx`` while the block runs.

    ``signum`` is the first signal received (None when none came); :attr:`exit_code` is the
    shell's code for it (128 + the signal number). Outside the main thread nothing is
    installed (signals are only delivered there).
    """

    def __init__(self, ctx: Any, *, grace: float = 5.0, stream: Any = None) -> None:
        self.ctx = ctx
        self.grace = grace
        self.stream = stream
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._active = False

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum or signal.SIGINT).name

    def __enter__(self) -> CancelOnSignal:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in _SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._previous[signum] = signal.signal(signum, self._handle)
        self._active = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._active = False
            if self._timer is not None:
                self._timer.cancel()
        for signum, previous in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt  # the second one: stop now
        self.signum = signum
        self.ctx.cancel()
        stop_now = "press Ctrl-C again to stop at once"
        if signum != signal.SIGINT:
            stop_now = f"stopping at once in {self.grace:g}s if it has not stopped by then"
            with self._lock:
                if self._active:
                    self._timer = threading.Timer(self.grace, self._stop_now)
                    self._timer.daemon = True
                    self._timer.start()
        self._say(
            f"{self.name}: cancelling the run (it stops at its next progress report and rolls "
            f"back); {stop_now}"
        )

    def _stop_now(self) -> None:
        with self._lock:
            if self._active:
                _thread.interrupt_main()  # runs _handle again in the main thread: stop now

    def _say(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        # after SIGHUP the terminal may be gone: the cancel matters, the message does not
        with contextlib.suppress(OSError, ValueError):
            stream.write(text + "\n")
            stream.flush()
