"""``BaseExecutor``: what every executor shares, so each one writes only what differs.

A submission goes the same way everywhere: the action becomes an :class:`ActionRef`, the
params are validated in the caller when the action object is at hand, a handle is built for
the caller's context and sinks, and the JSON request a worker runs is written. Then the
executor starts the run its own way (:meth:`BaseExecutor._start`) and the handle is watched,
so ``ctx.cancel()`` in the caller (a notebook's Cancel button) reaches the worker.

Subclasses override:

* ``_start(submission)`` (required): hand the request to a worker and feed the handle;
* ``_cancel(handle)``: ask that worker to stop (default: nothing to do);
* ``handle_class``: a :class:`RunHandle` subclass with the executor's own accessors;
* ``close()`` (call ``super().close()``): stop what the executor started.

``submit``, ``run``, ``__enter__`` and ``__exit__`` are final. The serve executors start
endpoints rather than runs, so they override ``submit`` and ``run`` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..context import RuntimeContext, new_run_id
from ..events import Sink, jsonable
from ._protocol import ActionRef, RunHandle, make_request, to_ref
from ._watch import CancelWatcher

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..run import Run
    from ..spec import ActionSpec

__all__ = ["BaseExecutor", "Submission"]


@dataclass(frozen=True)
class Submission:
    """One run on its way to a worker: the ref, the caller's handle and the JSON request.

    ``env`` is the run's env (the executor's, then the plugin's, then the run's ``env=``),
    already in ``request['env']``.
    """

    ref: ActionRef
    spec: ActionSpec | None
    handle: RunHandle
    request: dict[str, Any]
    env: dict[str, str]


class BaseExecutor:
    """The shared part of the executors: the submit prologue, cancel watching, context manager.

    ``env`` (constructor) is added to every run's env, under the plugin's and the run's own.
    """

    #: the handle type ``submit`` returns
    handle_class: ClassVar[type[RunHandle]] = RunHandle

    def __init__(self, *, env: Mapping[str, str] | None = None) -> None:
        self.env: dict[str, str] = {str(k): str(v) for k, v in (env or {}).items()}
        self._watcher = CancelWatcher()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(
        self,
        action: Any,
        params: Any = None,
        *,
        plugin_dir: str | None = None,
        ctx: RuntimeContext | None = None,
        env: Mapping[str, str] | None = None,
        sinks: Iterable[Sink] | None = None,
        reject_unknown: bool = True,
        backend: Mapping[str, Any] | None = None,
    ) -> Any:
        """Start one run and return its handle at once (validation errors raise here).

        ``backend`` says how the worker opens the caller's backend (see
        ``_dispatch.backend_config``): the worker records the run there as a job, and when the
        worker is lost the caller marks that job as ended.
        """
        submission = self._prepare(
            action,
            params,
            plugin_dir=plugin_dir,
            ctx=ctx,
            env=env,
            sinks=sinks,
            reject_unknown=reject_unknown,
            backend=backend,
        )
        self._start(submission)
        self._watcher.watch(submission.handle)
        return submission.handle

    def run(
        self,
        action: Any,
        params: Any = None,
        *,
        plugin_dir: str | None = None,
        ctx: RuntimeContext | None = None,
        env: Mapping[str, str] | None = None,
        sinks: Iterable[Sink] | None = None,
        reject_unknown: bool = True,
        backend: Mapping[str, Any] | None = None,
    ) -> Run:
        """Submit and wait: the ``Run`` record, as ``run_action`` returns in-process."""
        handle = self.submit(
            action,
            params,
            plugin_dir=plugin_dir,
            ctx=ctx,
            env=env,
            sinks=sinks,
            reject_unknown=reject_unknown,
            backend=backend,
        )
        run: Run = handle.wait()
        return run

    def close(self) -> None:
        """Stop watching runs for cancellation (subclasses also stop their workers)."""
        self._watcher.stop()

    # -- for subclasses ------------------------------------------------------------------------

    def _start(self, submission: Submission) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _start()")

    def _cancel(self, handle: RunHandle) -> None:
        """Ask the worker of ``handle`` to stop its run (it rolls back, then ends cancelled)."""

    def _prepare(
        self,
        action: Any,
        params: Any,
        *,
        plugin_dir: str | None,
        ctx: RuntimeContext | None,
        env: Mapping[str, str] | None,
        sinks: Iterable[Sink] | None,
        reject_unknown: bool,
        backend: Mapping[str, Any] | None,
    ) -> Submission:
        ref, spec = to_ref(action, plugin_dir)
        if spec is not None:
            # validated in the caller when the action is at hand: bad params raise here,
            # before any process starts (the worker validates again)
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
        handle = self.handle_class(
            run_id=run_id,
            action=name,
            params=validated,
            ctx=ctx,
            sinks=sinks,
            spec=spec,
            canceller=self._cancel,
            backend=backend,
        )
        run_env = {**self.env, **ref.env, **(env or {})}
        request = make_request(
            ref, json_params, run_id, run_env, reject_unknown=reject_unknown, backend=backend
        )
        return Submission(ref, spec, handle, request, request["env"])
