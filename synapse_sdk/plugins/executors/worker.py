"""The worker entrypoint: ``python -m synapse_sdk.plugins.executors.worker``.

A worker imports the action from its entrypoint string (with the plugin directory on
``sys.path``), validates the JSON params again, runs it with a fresh ``RuntimeContext`` and
streams every event back as one JSON line (see :mod:`._protocol`). Two modes:

* pool (``--cmd-fd R --event-fd W``): a warm worker of the task pool; it reads requests and
  ``cancel`` messages as JSON lines from fd R, runs one request at a time, and exits at EOF.
* once (``--once --request FILE`` or ``--request-env NAME``): one run, then exit (jobs). The
  request file is removed once read, and the variable taken out of ``os.environ``, so the
  action never sees the request (its env from config.yaml, a backend token). Events go to
  ``--event-fd`` or, with ``--event-stdout``, to stdout as prefixed lines (Ray jobs, where the
  log is the only channel). SIGTERM cancels the run cooperatively, so the action rolls back
  before the process exits.

The run's env (the plugin's ``env`` and the caller's ``env=``) is in ``ctx.env`` and, while
the run lasts, in ``os.environ`` in every mode (a job's process starts with it; a pool worker
sets it for the run and restores its own after). A worker exits as soon as its work is done:
threads an action leaves behind do not hold the process (or the result) open.

The exit code of a once-run is 0 when it succeeded, 1 when it failed and 2 when cancelled.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

from ..context import RuntimeContext
from ..errors import ActionDefinitionError, ExecutionError, PluginError
from ..events import Event, jsonable
from ..run import RunStatus, execute_spec
from ..spec import ActionSpec, as_spec
from ._protocol import LINE_PREFIX, error_to_json, open_backend

__all__ = ["execute_request", "load_action", "main"]

_SPECS: dict[tuple[str, str | None, str | None], ActionSpec] = {}


def load_action(
    entrypoint: str, plugin_dir: str | None = None, name: str | None = None
) -> ActionSpec:
    """Import ``module:qualname`` (``plugin_dir`` first on ``sys.path``) and return its spec.

    ``name`` (the action name from config.yaml) replaces the code's name when given. Specs are
    cached per worker, so a warm worker imports a plugin once.
    """
    key = (entrypoint, plugin_dir, name)
    spec = _SPECS.get(key)
    if spec is not None:
        return spec
    if plugin_dir:
        path = os.path.abspath(plugin_dir)
        if path not in sys.path:
            sys.path.insert(0, path)
    module_name, _, qualname = entrypoint.partition(":")
    if not module_name or not qualname:
        raise ActionDefinitionError(
            f"Entrypoint {entrypoint!r} must look like 'package.module:ActionName'",
            hint="write the module path, a colon, then the function or class name",
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        where = f" (plugin dir {plugin_dir})" if plugin_dir else ""
        raise ActionDefinitionError(
            f"Cannot import {module_name!r} for entrypoint {entrypoint!r}{where}: {exc}",
            hint="check the entrypoint in config.yaml and that the plugin's requirements are "
            "installed where the worker runs",
        ) from exc
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ActionDefinitionError(
                f"Entrypoint {entrypoint!r}: module {module_name!r} has no attribute {part!r}",
                hint="check the function or class name after the colon",
            ) from exc
    spec = as_spec(obj)
    if name and name != spec.name:
        spec = spec.replace(name=name)
    _SPECS[key] = spec
    return spec


class _WireSink:
    """Sends every event of the run to the caller as a JSON message."""

    def __init__(self, write: Callable[[dict[str, Any]], None]) -> None:
        self._write = write

    def emit(self, event: Event) -> None:
        try:
            data = event.to_dict()
        except RecursionError:
            return  # data that refers to itself: the done message reports a result like that
        self._write({"kind": "event", "event": data})


def execute_request(
    request: Mapping[str, Any],
    write: Callable[[dict[str, Any]], None],
    *,
    on_context: Callable[[RuntimeContext], None] | None = None,
) -> dict[str, Any]:
    """Run one request, streaming its events through ``write``; return the ``done`` message.

    ``on_context`` receives the run's context before the action starts (the pool uses it to
    deliver a ``cancel`` message to the right run).
    """
    run_id = str(request["run_id"])
    name = request.get("name")
    started = time.time()
    t0 = time.perf_counter()

    def done(status: RunStatus, result: Any, error: BaseException | None, tb: str | None) -> dict:
        try:
            data = jsonable(result)
        except RecursionError as exc:
            data, status, tb = None, RunStatus.FAILED, None
            error = ExecutionError(
                f"Action {name or request.get('entrypoint')!r} returned a result that contains "
                "itself, which cannot be sent back as JSON",
                action=name,
                hint="return plain data (dicts, lists, numbers, strings) or a pydantic model "
                "without cycles",
            )
            error.__cause__ = exc
        return {
            "kind": "done",
            "run_id": run_id,
            "status": status.value,
            "result": data,
            "error": error_to_json(error, tb),
            "started_at": started,
            "duration": time.perf_counter() - t0,
        }

    try:
        if request.get("plugin"):
            from ..loading import resolve_action  # config.yaml applied, as in the caller

            spec = resolve_action(str(request["plugin"]), str(name))
        else:
            spec = load_action(str(request["entrypoint"]), request.get("plugin_dir"), name)
        # validated again here: the worker never trusts what the caller checked
        params = spec.validate_params(
            request.get("params"), reject_unknown=bool(request.get("reject_unknown", True))
        )
        client = open_backend(request.get("backend"))
    except PluginError as exc:
        return done(RunStatus.FAILED, None, exc, traceback.format_exc())
    ctx = RuntimeContext(
        env=request.get("env") or {}, client=client, run_id=run_id, action_name=spec.name
    )
    if on_context is not None:
        on_context(ctx)
    run = execute_spec(spec, params, ctx=ctx, sinks=[_WireSink(write)])
    return done(run.status, run.result, run.error, run.traceback)


@contextlib.contextmanager
def run_environ(
    env: Mapping[str, str], *, keep: Callable[[str], bool] | None = None
) -> Iterator[None]:
    """``os.environ`` for one run in a long-lived worker: ``env`` laid over it and, with
    ``keep``, every variable ``keep`` refuses removed; all restored afterwards."""
    environ = os.environ
    removed = {} if keep is None else {k: v for k, v in environ.items() if not keep(k)}
    before = {k: environ.get(k) for k in env}
    for key in removed:
        del environ[key]
    environ.update(env)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        environ.update(removed)


# -- pool mode -----------------------------------------------------------------------------------


class _Writer:
    """Thread-safe JSON-lines writer on a binary stream; a vanished reader is ignored."""

    def __init__(self, stream: IO[bytes], prefix: str = "") -> None:
        self._stream = stream
        self._prefix = prefix.encode()
        self._lock = threading.Lock()
        self._broken = False

    def __call__(self, message: dict[str, Any]) -> None:
        data = self._prefix + json.dumps(message, ensure_ascii=False).encode() + b"\n"
        with self._lock:
            if self._broken:
                return
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, OSError):
                self._broken = True  # the caller went away; the run still finishes and logs


def _serve_pool(cmd_fd: int, event_fd: int) -> int:
    write = _Writer(os.fdopen(event_fd, "wb", buffering=1 << 16))
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    active: dict[str, RuntimeContext] = {}
    cancelled: set[str] = set()
    lock = threading.Lock()

    def listen() -> None:
        with os.fdopen(cmd_fd, "rb") as commands:
            for line in commands:
                message = json.loads(line)
                op = message.get("op")
                if op == "run":
                    requests.put(message)
                elif op == "cancel":
                    run_id = str(message.get("run_id"))
                    with lock:
                        ctx = active.get(run_id)
                        if ctx is None:
                            cancelled.add(run_id)
                    if ctx is not None:
                        ctx.cancel()
                elif op == "exit":
                    break
        requests.put(None)  # EOF: the caller closed the pool or died

    def register(ctx: RuntimeContext) -> None:
        with lock:
            active[ctx.run_id] = ctx
            if ctx.run_id in cancelled:
                cancelled.discard(ctx.run_id)
                ctx.cancel()

    threading.Thread(target=listen, name="synapse-worker-commands", daemon=True).start()
    write({"kind": "ready", "pid": os.getpid()})
    while True:
        request = requests.get()
        if request is None:
            return 0
        with run_environ(request.get("env") or {}):
            message = execute_request(request, write, on_context=register)
        with lock:
            active.pop(str(request["run_id"]), None)
        write(message)


# -- once mode -----------------------------------------------------------------------------------


class _StopOnTerm:
    """The SIGTERM handler of a once-run: the run is cancelled cooperatively (it rolls back),
    also when the signal comes during start-up, before the run has a context."""

    def __init__(self) -> None:
        self.contexts: list[RuntimeContext] = []
        self.requested = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = True
        for ctx in self.contexts:
            ctx.cancel()

    def register(self, ctx: RuntimeContext) -> None:
        self.contexts.append(ctx)
        if self.requested:
            ctx.cancel()


def _run_once(
    request: Mapping[str, Any], write: Callable[[dict[str, Any]], None], stop: _StopOnTerm
) -> int:
    message = execute_request(request, write, on_context=stop.register)
    write(message)
    return {"succeeded": 0, "cancelled": 2}.get(message["status"], 1)


def _read_request(args: argparse.Namespace) -> dict[str, Any]:
    """The once-run's request; its file is removed and its variable unset once read."""
    if args.request_env:
        return dict(json.loads(os.environ.pop(args.request_env)))
    try:
        with open(args.request, encoding="utf-8") as fh:
            return dict(json.load(fh))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(args.request)


def main(argv: Sequence[str] | None = None) -> int:
    """Worker entrypoint; see the module docstring for the modes."""
    parser = argparse.ArgumentParser(prog="python -m synapse_sdk.plugins.executors.worker")
    parser.add_argument("--cmd-fd", type=int)
    parser.add_argument("--event-fd", type=int)
    parser.add_argument("--event-stdout", action="store_true")
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--request")
    parser.add_argument("--request-env")
    parser.add_argument("--preload", action="append", default=[])
    args = parser.parse_args(argv)
    stop = _StopOnTerm()
    if args.once:  # a stop during start-up must also end as a cooperative cancel
        signal.signal(signal.SIGTERM, stop)
    import pydantic  # noqa: F401  -- warm: every action needs it, import it before the first run

    for entry in args.preload:  # plugin_dir=entrypoint pairs, best effort (errors surface per run)
        plugin_dir, _, entrypoint = entry.rpartition("=")
        with contextlib.suppress(PluginError):
            load_action(entrypoint, plugin_dir or None)
    if args.once:
        request = _read_request(args)
        if args.event_stdout:
            write = _Writer(sys.stdout.buffer, LINE_PREFIX)
        else:
            write = _Writer(os.fdopen(args.event_fd, "wb"))
        return _run_once(request, write, stop)
    if args.cmd_fd is None or args.event_fd is None:
        parser.error("pool mode needs --cmd-fd and --event-fd (or use --once)")
    return _serve_pool(args.cmd_fd, args.event_fd)


def _exit(code: int) -> None:
    """Exit now: the run's sinks are closed and its result sent, so threads the action left
    behind (non-daemon ones included) must not keep the process, and the caller, waiting."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
