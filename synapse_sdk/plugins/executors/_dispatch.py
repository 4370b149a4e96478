"""``run_plugin(..., mode=...)`` for the executors: one shared executor per mode and process."""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ..context import RuntimeContext
from ..events import Sink
from ..runner import Run
from ._protocol import ActionRef

__all__ = [
    "backend_config",
    "plugin_ref",
    "run_action_in_mode",
    "run_in_mode",
    "shared_executor",
]

_SHARED: dict[str, Any] = {}
_LOCK = threading.Lock()


def shared_executor(mode: str, **options: Any) -> Any:
    """The executor ``run_plugin`` uses for ``mode`` (and ``options``) in this process,
    created on first use and closed at exit, so a warm task pool serves every later call."""
    from . import get_executor

    key = f"{mode}{sorted(options.items())}" if options else mode
    with _LOCK:
        executor = _SHARED.get(key)
        if executor is None:
            executor = _SHARED[key] = get_executor(mode, **options)
            if len(_SHARED) == 1:
                atexit.register(_close_shared)
        return executor


def _close_shared() -> None:
    for executor in list(_SHARED.values()):
        executor.close()
    _SHARED.clear()


def plugin_ref(plugin: Any, action: str) -> tuple[ActionRef, Any]:
    """The :class:`ActionRef` of ``action`` in ``plugin`` (a directory, config.yaml or module)
    and its spec as the caller sees it (config.yaml applied), for early validation."""
    from ..loading import load_plugin, resolve_action

    spec = resolve_action(plugin, action)
    discovery = load_plugin(plugin)
    root = str(discovery.root.resolve()) if discovery.root is not None else None
    where = root if root is not None else str(plugin)
    entrypoint = discovery.get_action_entrypoint(action)
    config = discovery.config
    packaging = {
        "package_manager": config.package_manager,
        "package_manager_options": list(config.package_manager_options),
        "wheels_dir": config.wheels_dir,
    }
    ref = ActionRef(
        entrypoint,
        plugin_dir=root,
        name=spec.name,
        env=dict(config.env),
        plugin=where,
        packaging=packaging,
    )
    return ref, spec


def backend_config(client: Any) -> dict[str, Any] | None:
    """How a worker opens the same backend as ``client`` (None when it cannot): a LocalBackend
    by its root directory, an HTTP backend by its URL and token."""
    if client is None:
        return None
    if type(client).__name__ == "LocalBackend" and hasattr(client, "root"):
        return {"local": str(client.root)}
    url = getattr(client, "url", None)
    if type(client).__name__ == "HttpBackendClient" and url:
        return {"url": url, "token": getattr(client, "token", None)}
    return None


def _sinks_and_backend(
    client: Any, sinks: Iterable[Sink] | None
) -> tuple[list[Sink], Mapping[str, Any] | None]:
    """The caller's sinks and how the worker opens ``client``; a client the worker cannot
    open (an in-memory fake) gets a job sink here, recording the run from the relayed events."""
    all_sinks = list(sinks or ())
    backend = backend_config(client)
    if client is not None and backend is None:
        from ...clients.sink import job_sink_for

        job_sink = job_sink_for(client, all_sinks)
        if job_sink is not None:
            all_sinks.append(job_sink)
    return all_sinks, backend


def run_in_mode(
    plugin: Any,
    action: str,
    params: Any = None,
    *,
    mode: str,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
    reject_unknown: bool = True,
    executor: Any = None,
    venv: bool = False,
) -> Run:
    """Run ``action`` of ``plugin`` with the executor of ``mode`` and return the ``Run``.

    Params are validated here first (a ValidationError raises before any process starts) and
    again in the worker. With ``client``, the worker opens the same backend (a LocalBackend by
    its root, an HTTP backend by URL) and records the run there as in-process; a client it
    cannot open (an in-memory fake) records the run here, from the relayed events. ``serve``
    modes start the endpoint (kept for later calls), post the params and return the run.
    ``venv=True`` (mode ``job``) runs the job in the plugin's own virtual environment, built
    from its requirements.txt with config.yaml's ``package_manager`` and ``wheels_dir``.
    """
    ref, spec = plugin_ref(plugin, action)
    validated = spec.validate_params(params, reject_unknown=reject_unknown)
    dump = getattr(validated, "model_dump", None)
    json_params = dump(mode="json", by_alias=True) if dump else validated
    all_sinks, backend = _sinks_and_backend(client, sinks)
    if executor is not None:
        runner = executor
    elif venv:
        if mode != "job":
            raise ValueError(f"venv=True needs mode='job' (a fresh process), not {mode!r}")
        runner = shared_executor(mode, venv=True)
    else:
        runner = shared_executor(mode)
    if mode in ("serve", "ray-serve"):
        return runner.run(spec, json_params, env={**ref.env, **(env or {})})
    handle = runner.submit(
        ref,
        json_params,
        ctx=ctx,
        env=env,
        sinks=all_sinks,
        reject_unknown=reject_unknown,
        backend=backend,
    )
    run: Run = handle.wait()
    run.params = validated  # the same record as in-process: typed params and result
    if run.ok and spec.result_model is not None:
        with contextlib.suppress(Exception):  # a non-matching result was already warned about
            run.result = spec.result_model.model_validate(run.result)
    return run


def run_action_in_mode(
    action: Any,
    params: Any = None,
    *,
    mode: str,
    plugin_dir: str | None = None,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
    reject_unknown: bool = True,
    executor: Any = None,
) -> Run:
    """Like :func:`run_in_mode` for an action object (``@action`` function, ``BaseAction``
    subclass or spec defined in an importable module) or an entrypoint string; ``plugin_dir``
    is put first on the worker's ``sys.path`` to import it.

    What the notebook panel calls for a mode other than ``local``: the caller's ``ctx`` gets
    the relayed events (so its sinks update live) and ``ctx.cancel()`` reaches the worker.
    """
    all_sinks, backend = _sinks_and_backend(client, sinks)
    runner = executor if executor is not None else shared_executor(mode)
    if mode in ("serve", "ray-serve"):
        return runner.run(action, params, env=env, plugin_dir=plugin_dir)
    handle = runner.submit(
        action,
        params,
        plugin_dir=plugin_dir,
        ctx=ctx,
        env=env,
        sinks=all_sinks,
        reject_unknown=reject_unknown,
        backend=backend,
    )
    return handle.wait()
