"""The front door: ``run_action``, ``run_plugin`` and ``run_plugin_record``.

Every way of running an action comes in here: the CLI, the notebook panel, the testing kit
and user code. The front door validates params once, resolves a plugin's action once, and
then runs it in this process (:func:`synapse_sdk.plugins.run.execute_spec`) or hands it to the
executor of ``mode``. Either way the result is the same :class:`Run` record, and a run with a
backend client is recorded there as a job by one rule (:func:`synapse_sdk.plugins.run.job_sinks`).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from .context import RuntimeContext
from .enums import RunStatus
from .errors import ValidationError
from .events import Sink
from .run import Run, execute_spec, job_sinks, run_alone
from .spec import as_spec, module_actions

__all__ = ["Run", "RunStatus", "module_actions", "run_action", "run_plugin", "run_plugin_record"]

LOCAL = "local"
_SERVE_MODES = ("serve", "ray-serve")


def run_action(
    action: Any,
    params: Any = None,
    *,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
    reject_unknown: bool = True,
    mode: str = LOCAL,
    plugin_dir: str | None = None,
    executor: Any = None,
) -> Run:
    """Validate ``params`` and run ``action``; return the ``Run``.

    ``action`` is an ``@action`` function, a ``BaseAction`` subclass or an ActionSpec (or, with
    another ``mode``, an entrypoint string ``'package.module:Name'``). ``params`` is a dict, a
    JSON string, a params model instance or None. Invalid params raise ValidationError (unknown
    keys too, unless ``reject_unknown=False``); a failure inside the action is a failed Run,
    not a raise. ``sinks`` receive every event and are closed when the run ends. ``env`` /
    ``client`` build the context when ``ctx`` is not given.

    ``mode`` other than ``'local'`` runs it with that executor (see
    :mod:`synapse_sdk.plugins.executors`); ``plugin_dir`` is where the worker imports it from.
    """
    if mode == LOCAL:
        spec = as_spec(action)
        validated = spec.validate_params(params, reject_unknown=reject_unknown)
        if ctx is None and client is None and not sinks:
            return run_alone(spec, validated, env)
        return execute_spec(spec, validated, ctx=ctx, env=env, client=client, sinks=sinks)
    _check_mode(mode)
    runner = executor if executor is not None else _shared_executor(mode)
    return _run_elsewhere(
        runner,
        mode,
        action,
        params,
        plugin_dir=plugin_dir,
        ctx=ctx,
        env=env,
        client=client,
        sinks=sinks,
        reject_unknown=reject_unknown,
    )


def run_plugin(
    plugin: Any,
    action: str,
    params: Any = None,
    *,
    mode: str = LOCAL,
    **options: Any,
) -> Any:
    """Run ``action`` of ``plugin`` and return its result (raising the run's error on failure).

    ``plugin`` is a plugin directory, its config.yaml path or an importable module name; the
    plugin is loaded once and cached (re-checked with a stat or two per call, see
    :mod:`synapse_sdk.plugins.loading`). ``options`` are those of :func:`run_plugin_record`.
    """
    return run_plugin_record(plugin, action, params, mode=mode, **options).raise_for_status().result


def run_plugin_record(
    plugin: Any,
    action: str,
    params: Any = None,
    *,
    mode: str = LOCAL,
    ctx: RuntimeContext | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Iterable[Sink] | None = None,
    reject_unknown: bool = True,
    executor: Any = None,
    venv: bool = False,
) -> Run:
    """Like :func:`run_plugin` but return the ``Run`` record (what ``synapse run`` prints).

    The run's env starts from config.yaml's ``env`` with ``env`` laid over it (a given ``ctx``
    keeps its own). ``mode`` is ``'local'`` (this process), an executor's mode (``'task'``,
    ``'job'``, ``'serve'``, ``'ray-*'``) or ``'config'``: the ``method`` config.yaml gives the
    action. Params are validated here first (a ValidationError raises before any process
    starts) and again in a worker. ``venv=True`` (mode ``job``) runs the job in the plugin's
    own virtual environment, built from its requirements.txt with config.yaml's packaging.
    """
    resolved = _loading().resolve(plugin, action)
    spec = resolved.spec
    if mode == "config":
        mode = _config_mode(resolved.plugin.get_action_method(action).value)
    validated = spec.validate_params(params, reject_unknown=reject_unknown)
    if mode == LOCAL:
        if ctx is None and resolved.env:
            env = {**resolved.env, **env} if env else resolved.env
        if ctx is None and client is None and not sinks:
            run = run_alone(spec, validated, env)
        else:
            run = execute_spec(spec, validated, ctx=ctx, env=env, client=client, sinks=sinks)
        run.plugin = _plugin_name(resolved.plugin, plugin)
        return run
    _check_mode(mode)
    if venv and mode != "job":
        raise ValueError(f"venv=True needs mode='job' (a fresh process), not {mode!r}")
    runner = executor if executor is not None else _shared_executor(mode, venv=venv)
    dump = getattr(validated, "model_dump", None)
    json_params = dump(mode="json", by_alias=True) if dump else validated
    if mode in _SERVE_MODES:  # the endpoint is served from the spec, with config.yaml's env
        target: Any = spec
        env = {**resolved.env, **(env or {})}
    else:  # a worker loads the action by reference
        from .executors._dispatch import plugin_action_ref

        target = plugin_action_ref(resolved, plugin, action)
    run = _run_elsewhere(
        runner,
        mode,
        target,
        json_params,
        ctx=ctx,
        env=env,
        client=client,
        sinks=sinks,
        reject_unknown=reject_unknown,
    )
    run.params = validated  # the same record as in-process: typed params and result
    run.plugin = _plugin_name(resolved.plugin, plugin)
    if run.ok and spec.result_model is not None:
        with contextlib.suppress(Exception):  # a non-matching result was already warned about
            run.result = spec.result_model.model_validate(run.result)
    return run


def _run_elsewhere(
    runner: Any,
    mode: str,
    target: Any,
    params: Any,
    *,
    ctx: RuntimeContext | None,
    env: Mapping[str, str] | None,
    client: Any,
    sinks: Iterable[Sink] | None,
    reject_unknown: bool,
    plugin_dir: str | None = None,
) -> Run:
    """Hand ``target`` to ``runner``, the executor of ``mode``: a serve mode answers the run at
    once, the others submit it and wait; the caller's sinks get the relayed events."""
    all_sinks, backend = _remote_recording(client, ctx, sinks)
    options: dict[str, Any] = {
        "ctx": ctx,
        "env": env,
        "sinks": all_sinks,
        "backend": backend,
        "reject_unknown": reject_unknown,
    }
    if plugin_dir is not None:
        options["plugin_dir"] = plugin_dir
    if mode in _SERVE_MODES:
        run: Run = runner.run(target, params, **options)
        return run
    run = runner.submit(target, params, **options).wait()
    return run


def _loading() -> ModuleType:
    """:mod:`synapse_sdk.plugins.loading`, imported on first use: it reads YAML, which
    ``import synapse_sdk.plugins`` must not load. A dict lookup per call afterwards (an import
    statement here would cost a repeated ``run_plugin`` a twentieth of its time)."""
    module = sys.modules.get(_LOADING)
    return module if module is not None else importlib.import_module(_LOADING)


_LOADING = __name__.rpartition(".")[0] + ".loading"


def _plugin_name(discovery: Any, plugin: Any) -> str:
    """The plugin's directory, or the module name it was given as."""
    root = discovery.root
    return str(root) if root is not None else str(plugin)


def _config_mode(method: str) -> str:
    """The executor mode of config.yaml's ``method``."""
    return "serve" if method == "restapi" else method


def _check_mode(mode: str) -> None:
    from .executors import MODES

    if mode not in MODES:
        known = ", ".join([LOCAL, *MODES, "config"])
        raise ValidationError(
            f"unknown mode {mode!r}; supported modes: {known}",
            errors=[{"loc": ("mode",), "msg": "unsupported mode", "type": "enum", "input": mode}],
            hint="run with mode='local' (the default), 'task', 'job' or 'serve'",
        )


def _shared_executor(mode: str, *, venv: bool = False) -> Any:
    from .executors._dispatch import shared_executor

    return shared_executor(mode, venv=True) if venv else shared_executor(mode)


def _remote_recording(
    client: Any, ctx: RuntimeContext | None, sinks: Iterable[Sink] | None
) -> tuple[list[Sink], dict[str, Any] | None]:
    """The caller's sinks and how a worker opens ``client`` (by default ``ctx``'s).

    A worker that can open the backend (a LocalBackend by its root, an HTTP backend by URL)
    records the run there itself; for a client it cannot open (an in-memory fake) the job
    rule applies here, to the relayed events.
    """
    from .executors._dispatch import backend_config

    if client is None and ctx is not None:
        client = ctx.client
    all_sinks = list(sinks or ())
    backend = backend_config(client)
    if client is not None and backend is None:
        all_sinks += job_sinks(client, all_sinks)
    return all_sinks, backend
