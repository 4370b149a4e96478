"""Shared caller-side helpers of the executors: preparing a submission and watching for cancel."""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..context import RuntimeContext, new_run_id
from ..events import Sink, jsonable
from ._protocol import ActionRef, RunHandle, to_ref

if TYPE_CHECKING:
    from ..spec import ActionSpec

__all__ = ["CancelWatcher", "prepare"]


def prepare(
    action: Any,
    params: Any,
    *,
    plugin_dir: str | None,
    ctx: RuntimeContext | None,
    sinks: Iterable[Sink] | None,
    reject_unknown: bool,
    canceller: Callable[[RunHandle], None] | None,
) -> tuple[ActionRef, ActionSpec | None, RunHandle, Any]:
    """Resolve the action, validate params in the caller when the spec is at hand (bad params
    raise ValidationError here, before any process starts) and build the handle."""
    ref, spec = to_ref(action, plugin_dir)
    if spec is not None:
        validated = spec.validate_params(params, reject_unknown=reject_unknown)
        dump = getattr(validated, "model_dump", None)
        json_params = dump(mode="json", by_alias=True) if dump else jsonable(validated)
    else:
        if isinstance(params, (str, bytes)):
            params = json.loads(params)
        validated = params
        json_params = jsonable(params)
    name = spec.name if spec is not None else ref.name or ref.entrypoint.rpartition(":")[2]
    run_id = ctx.run_id if ctx is not None else new_run_id()
    if ctx is not None and ctx.action_name is None:
        ctx.action_name = name
    handle = RunHandle(
        run_id=run_id,
        action=name,
        params=validated,
        ctx=ctx,
        sinks=sinks,
        spec=spec,
        canceller=canceller,
    )
    return ref, spec, handle, json_params


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
