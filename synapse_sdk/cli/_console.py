"""What ``synapse run`` shows while an action runs, and what keeps its stdout clean.

* :class:`RunView`: the terminal's view of the run (the SDK's ConsoleSink) with the CLI's
  choices: live bars on a terminal whatever ``NO_COLOR`` says (it removes colour only),
  ``--no-progress`` hides progress, and the run's error is left to the one ``error:`` line.
* :func:`stdout_to_stderr`: with ``--json`` whatever the action prints (``print()``, a C
  library, a worker process) goes to stderr, so stdout is one JSON document.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import IO

from ..plugins.events import Event, ProgressEvent, RunFinished
from ._output import terminal

__all__ = ["RunView", "stdout_to_stderr"]


class RunView:
    """The run as ``synapse run`` shows it on ``stream`` (stderr).

    ``progress=False`` (``--no-progress``) drops progress events: no bars, no progress lines;
    logs, metrics, steps and the end still show. ``error_line=False`` leaves the run's error
    out of the final ``run ...: failed`` line, for a caller that prints it once itself.
    """

    # like the console sink it wraps, it shows the latest progress: a run may coalesce it
    coalesce_progress = True

    def __init__(self, stream: IO[str], *, progress: bool = True, error_line: bool = True) -> None:
        from ..plugins.sinks import ConsoleSink

        self._sink = ConsoleSink(stream, live=progress and terminal(stream))
        self._progress = progress
        self._error_line = error_line

    def emit(self, event: Event) -> None:
        if not self._progress and type(event) is ProgressEvent:
            return
        if not self._error_line and type(event) is RunFinished and event.error:
            event = event._replace(error=None)
        self._sink.emit(event)

    def close(self) -> None:
        self._sink.close()


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send this process's stdout, and that of the processes it starts, to stderr meanwhile.

    Both levels: ``sys.stdout`` (Python's ``print``) and file descriptor 1 (C code, and the
    worker processes of ``--mode task`` / ``job``, which inherit it).
    """
    out = sys.stdout
    saved: int | None = None
    fd = -1
    with contextlib.suppress(AttributeError, ValueError, OSError, io.UnsupportedOperation):
        out.flush()
        fd = out.fileno()
        err_fd = sys.stderr.fileno()
        saved = os.dup(fd)
        os.dup2(err_fd, fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
