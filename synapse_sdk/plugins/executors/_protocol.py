"""The worker protocol: what travels between a caller and a worker, and the caller-side relay.

A request is JSON: the action's entrypoint string (``module:qualname``), the plugin directory,
the JSON params, the run id and the env; never a pickled class. A worker answers with JSON
messages, one per line:

* ``{"kind": "ready", "pid": ...}`` once a pool worker has started and preloaded the SDK;
* ``{"kind": "event", "event": <Event.to_dict()>}`` for every event of the run, live;
* ``{"kind": "done", "run_id": ..., "status": ..., "result": ..., "error": {...}, ...}`` last.

:class:`RunHandle` is what every executor returns: it relays worker events to the caller's
``RuntimeContext`` (so sinks such as the terminal bar, the notebook panel or the run log see
the same stream as in-process) and builds the same :class:`~synapse_sdk.plugins.run.Run`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context import RuntimeContext
from ..errors import (
    ActionDefinitionError,
    CancelledError,
    ExecutionError,
    PluginError,
    ValidationError,
    WorkerLostError,
)
from ..events import Event, RunFinished, Sink, event_from_dict, jsonable
from ..run import Run, RunStatus

if TYPE_CHECKING:
    from ..spec import ActionSpec

__all__ = ["ActionRef", "RemoteTraceback", "RunHandle", "to_ref"]

#: Prefix of an event line on a worker's stdout (Ray jobs, where stdout is the only channel).
LINE_PREFIX = "::synapse-event:: "


class RemoteTraceback(Exception):
    """The original exception of a run that failed in another process, as text.

    It is the ``__cause__`` of the run's ExecutionError: ``type_name`` is the original
    exception's type, ``str()`` its message and ``traceback`` the worker's formatted traceback.
    """

    def __init__(self, type_name: str, message: str, traceback: str | None = None) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.traceback = traceback

    def __str__(self) -> str:
        return f"{self.type_name}: {self.args[0]}"


@dataclass(frozen=True)
class ActionRef:
    """What a worker needs to find an action: ``module:qualname`` plus the plugin directory.

    ``name`` is the action's name (from config.yaml when it differs from the code's). With
    ``plugin`` (a plugin directory or module name, as ``load_plugin`` takes it) the worker loads
    the action through the plugin's config.yaml instead (``resolve_action(plugin, name)``).
    """

    entrypoint: str
    plugin_dir: str | None = None
    name: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    plugin: str | None = None
    #: the plugin's dependency settings from config.yaml (``package_manager``,
    #: ``package_manager_options``, ``wheels_dir``), used by jobs that build its venv
    packaging: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "entrypoint": self.entrypoint,
            "plugin_dir": self.plugin_dir,
            "name": self.name,
            "plugin": self.plugin,
        }


def to_ref(action: Any, plugin_dir: str | None = None) -> tuple[ActionRef, ActionSpec | None]:
    """Turn an action (function, class, ActionSpec, entrypoint string or ActionRef) into a ref.

    Returns the ref and, when the action object is at hand, its spec (used by the caller to
    validate params early and to rebuild a typed result).
    """
    import os

    from ..spec import as_spec

    if plugin_dir is not None:  # workers may start elsewhere (a job's cwd is its plugin dir)
        plugin_dir = os.path.abspath(plugin_dir)
    if isinstance(action, ActionRef):
        return action, None
    if isinstance(action, str):
        if ":" not in action:
            raise ActionDefinitionError(
                f"Entrypoint {action!r} must look like 'package.module:ActionName'",
                hint="write the module path, a colon, then the function or class name",
            )
        return ActionRef(action, plugin_dir), None
    spec = as_spec(action)
    entry = spec.entrypoint
    if entry is None or entry.startswith("__main__:"):
        where = "inside a function" if entry is None else "in __main__ (a script or notebook)"
        raise ActionDefinitionError(
            f"Action {spec.name!r} is defined {where}, so a worker process cannot import it "
            f"({spec.source})",
            action=spec.name,
            hint="move the action into a module (a .py file in the plugin) and run it from "
            "there, or run it in-process with mode='local'",
        )
    return ActionRef(entry, plugin_dir, spec.name), spec


def make_request(
    ref: ActionRef,
    params: Any,
    run_id: str,
    env: Mapping[str, str],
    *,
    reject_unknown: bool = True,
    backend: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON request a worker executes (``env``: the run's whole env)."""
    return {
        "op": "run",
        **ref.to_json(),
        "run_id": run_id,
        "params": jsonable(params),
        "env": {str(k): str(v) for k, v in env.items()},
        "reject_unknown": reject_unknown,
        "backend": dict(backend) if backend else None,
    }


def open_backend(config: Mapping[str, Any] | None) -> Any:
    """The backend client a request's ``backend`` config names (see
    ``_dispatch.backend_config``): a LocalBackend by its root, an HTTP backend by URL."""
    if not config:
        return None
    if config.get("local"):
        from ...clients.local import LocalBackend

        return LocalBackend(str(config["local"]))
    url = config.get("url")
    if url:
        import importlib

        http = importlib.import_module("synapse_sdk.clients.http")  # needs the `http` extra
        return http.HttpBackendClient(str(url), token=config.get("token"))
    return None


def read_messages(fd: int, process: Any, interval: float = 0.5) -> Iterator[dict[str, Any]]:
    """A worker's JSON messages from the read end ``fd`` of its pipe (closed at the end).

    Ends at EOF, or once ``process`` (``poll()``) has exited and nothing is left to read: a
    child the action forked may hold the pipe open long after the worker died, and the
    caller must not wait for it.
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    buffer = b""
    try:
        while True:
            if not poller.poll(interval * 1000):
                if process.poll() is not None:
                    return
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
    finally:
        os.close(fd)


def end_lost_job(
    config: Mapping[str, Any], run_id: str, action: str, status: RunStatus, message: str
) -> None:
    """Mark the backend job of a run whose worker was lost as ended (``status``).

    The worker records its run as a job itself, so when it dies (SIGKILL, out of memory)
    nobody else would end that job: it would stay ``running`` forever. A run that never got
    as far as creating its job is recorded here.
    """
    client = open_backend(config)
    try:
        job = next((j for j in client.list_jobs(status="running") if j["run_id"] == run_id), None)
        if job is None:
            if any(j["run_id"] == run_id for j in client.list_jobs()):
                return  # the worker ended its job before it was lost
            job = client.create_job(action, run_id=run_id)
        client.update_job(job["id"], status=status.value, error=message)
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()


# -- errors over the wire -----------------------------------------------------------------------


def error_to_json(error: BaseException | None, traceback: str | None) -> dict[str, Any] | None:
    """Serialize a run's error (a PluginError, usually with a cause) for the caller."""
    if error is None:
        return None
    cause = error.__cause__
    out: dict[str, Any] = {
        "type": type(error).__name__,
        "message": getattr(error, "message", str(error)),
        "hint": getattr(error, "hint", None),
        "traceback": traceback,
        "cause": None if cause is None else {"type": type(cause).__name__, "message": str(cause)},
    }
    if isinstance(error, ValidationError):
        out["errors"] = jsonable(error.errors)
    return out


def error_from_json(data: Mapping[str, Any] | None, action: str) -> PluginError | None:
    """Rebuild the caller-side error from :func:`error_to_json` output."""
    if not data:
        return None
    kind = data.get("type")
    message = str(data.get("message") or "")
    hint = data.get("hint")
    err: PluginError
    if kind == "CancelledError":
        err = CancelledError(message or "The run was cancelled", action=action)
    elif kind == "ValidationError":
        err = ValidationError(message, errors=data.get("errors") or (), action=action, hint=hint)
    elif kind in ("ActionNotFoundError", "ActionDefinitionError", "ConfigError"):
        err = ActionDefinitionError(message, action=action, hint=hint)
    elif kind == "WorkerLostError":
        err = WorkerLostError(message, action=action)
    else:
        err = ExecutionError(message, action=action, hint=hint)
    cause = data.get("cause")
    if cause:
        err.__cause__ = RemoteTraceback(
            str(cause.get("type")), str(cause.get("message")), data.get("traceback")
        )
    return err


# -- the caller side ----------------------------------------------------------------------------


class RunHandle:
    """A run submitted to an executor: live events, status, cancel, and the final ``Run``.

    Events from the worker are delivered to the caller's context (and so to its sinks) as
    they arrive. ``wait()`` returns the ``Run`` record, the same as an in-process run;
    ``result()`` returns the action's result or raises the run's error. ``future`` is a
    ``concurrent.futures.Future[Run]`` (for ``as_completed`` / ``wait``).
    """

    def __init__(
        self,
        *,
        run_id: str,
        action: str,
        params: Any,
        ctx: RuntimeContext | None = None,
        sinks: Iterable[Sink] | None = None,
        spec: ActionSpec | None = None,
        canceller: Callable[[RunHandle], None] | None = None,
        backend: Mapping[str, Any] | None = None,
    ) -> None:
        self.run_id = run_id
        self.backend = backend
        self.action = action
        self.params = params
        self.spec = spec
        self.future: Future[Run] = Future()
        self.events: list[Event] = []
        self.started_at = time.time()
        self._t0 = time.perf_counter()
        self._canceller = canceller
        self._cancel_requested = False
        self._lock = threading.Lock()
        self.ctx = ctx if ctx is not None else RuntimeContext(run_id=run_id, action_name=action)
        self._extra = list(sinks) if sinks else []
        for sink in self._extra:
            self.ctx.subscribe(sink)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.action} run_id={self.run_id} status={self.status}>"

    # -- public ------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """'running' until the run ends, then the Run's status ('succeeded', 'failed', ...)."""
        if not self.future.done():
            return "cancelling" if self._cancel_requested else "running"
        return self.future.result().status.value

    def done(self) -> bool:
        return self.future.done()

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run ends and return its ``Run`` (TimeoutError after ``timeout``)."""
        return self.future.result(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The action's result; raises the run's error when it failed or was cancelled."""
        return self.wait(timeout).raise_for_status().result

    def cancel(self) -> None:
        """Ask the worker to stop the run; the action rolls back at its next cancellation
        point (``set_progress`` / ``check_cancelled``) and the run ends as cancelled."""
        with self._lock:
            if self.future.done() or self._cancel_requested:
                return
            self._cancel_requested = True
        if self._canceller is not None:
            self._canceller(self)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested or self.ctx.cancelled

    # -- fed by the executor -----------------------------------------------------------------

    def feed(self, message: Mapping[str, Any]) -> None:
        """Handle one worker message (``event`` or ``done``)."""
        kind = message.get("kind")
        if kind == "event":
            self.relay(event_from_dict(message["event"]))
        elif kind == "done":
            self.finish_from_json(message)

    def relay(self, event: Event) -> None:
        if self.future.done():
            return
        self.events.append(event)
        self.ctx.emit(event)

    def finish_from_json(self, message: Mapping[str, Any]) -> None:
        """Complete the run from the worker's ``done`` message."""
        status = RunStatus(message.get("status", "failed"))
        error = error_from_json(message.get("error"), self.action)
        result = message.get("result")
        if status is RunStatus.SUCCEEDED and self.spec is not None and self.spec.result_model:
            # same typed result as in-process when the caller knows the result model (a
            # non-matching result stays as is: the worker already warned about it)
            with contextlib.suppress(Exception):
                result = self.spec.result_model.model_validate(result)
        tb = (message.get("error") or {}).get("traceback")
        self._complete(
            status,
            result,
            error,
            tb,
            started_at=message.get("started_at"),
            duration=message.get("duration"),
        )

    def fail(self, error: PluginError, *, status: RunStatus = RunStatus.FAILED) -> None:
        """End the run without a ``done`` message (worker lost, stopped, timed out)."""
        if self.future.done():
            return
        last = self.events[-1] if self.events else None
        if not isinstance(last, RunFinished):
            # views that wait for RunFinished (bars, panels) must close whatever happened
            seq = last.seq + 1 if last is not None else 0
            elapsed = time.perf_counter() - self._t0
            event = RunFinished(
                self.run_id,
                seq,
                time.time(),
                elapsed,
                self.action,
                status.value,
                elapsed,
                str(error),
            )
            self.relay(event)
        if self.backend:
            try:
                end_lost_job(self.backend, self.run_id, self.action, status, str(error))
            except Exception as exc:  # the run record must not be lost with the backend
                self.ctx.logger.warning(
                    "could not end the backend job of run %s: %s", self.run_id, exc
                )
        self._complete(status, None, error, None)

    def _complete(
        self,
        status: RunStatus,
        result: Any,
        error: PluginError | None,
        tb: str | None,
        *,
        started_at: float | None = None,
        duration: float | None = None,
    ) -> None:
        if self.future.done():
            return
        run = Run(
            run_id=self.run_id,
            action=self.action,
            status=status,
            params=self.params,
            result=result,
            error=error,
            traceback=tb,
            events=self.events,
            started_at=started_at or self.started_at,
        )
        run.duration = duration if duration is not None else time.perf_counter() - self._t0
        run.finished_at = run.started_at + run.duration
        for sink in self._extra:
            with contextlib.suppress(ValueError):
                self.ctx.unsubscribe(sink)
            close = getattr(sink, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # closing a view must not lose the run record
                    self.ctx.logger.warning("closing sink %r failed: %s", sink, exc)
        self.future.set_result(run)
