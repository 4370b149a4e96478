"""``ActionRunner``: what the ``synapse_run`` fixture returns."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, overload

from synapse_sdk.plugins.run import Run
from synapse_sdk.plugins.runner import run_action
from synapse_sdk.plugins.spec import ActionSpec, as_spec

from ._context import RecordingContext

__all__ = ["ActionRunner", "resolve_target"]


def resolve_target(target: Any, action_name: str | None = None) -> ActionSpec:
    """An ActionSpec from an action (function, class, spec) or ``(plugin, action_name)``.

    ``plugin`` is a plugin directory, a ``config.yaml`` path or an importable module name; it
    goes through :func:`synapse_sdk.plugins.loading.resolve_action` so the config's name,
    method and entrypoint apply exactly as in ``synapse run``.
    """
    return _resolve(target, action_name)[0]


def _resolve(target: Any, action_name: str | None) -> tuple[ActionSpec, Mapping[str, str]]:
    """The spec and the env a run starts from (config.yaml's ``env`` for a plugin action)."""
    if action_name is None:
        return as_spec(target), {}
    if not isinstance(target, (str, os.PathLike)):
        raise TypeError(
            f"synapse_run({target!r}, {action_name!r}): a plugin reference must be a path or a "
            f"module name; to run an action object pass it alone: synapse_run(action, params)"
        )
    from synapse_sdk.plugins.loading import resolve_action_env  # imports yaml: only when needed

    return resolve_action_env(target, action_name)


class ActionRunner:
    """Runs actions with the test's recording context and fake backend; returns the ``Run``.

    Call it as ``synapse_run(action, params)`` (an ``@action`` function, a ``BaseAction``
    subclass or an ActionSpec) or ``synapse_run(plugin, 'train', params)`` (a plugin dir,
    ``config.yaml`` or module name). The first run uses the ``synapse_ctx`` context; each later
    run gets a fresh :class:`RecordingContext` with the same env and backend. With
    ``check=True`` (the default) a run that did not succeed fails the test with the action's
    traceback; pass ``check=False`` to get the failed ``Run``.
    """

    def __init__(self, ctx: RecordingContext) -> None:
        self.ctx = ctx
        self._env = ctx.env  # the marker's env, before any config.yaml env is laid under it
        self.runs: list[Run] = []
        self.contexts: list[RecordingContext] = []

    def __repr__(self) -> str:
        return f"ActionRunner(runs={len(self.runs)})"

    @overload
    def __call__(
        self,
        action: Any,
        params: Any = None,
        /,
        *,
        check: bool = True,
        reject_unknown: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Run: ...
    @overload
    def __call__(
        self,
        plugin: str | os.PathLike[str],
        action_name: str,
        params: Any = None,
        /,
        *,
        check: bool = True,
        reject_unknown: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Run: ...
    def __call__(
        self,
        target: Any,
        *args: Any,
        check: bool = True,
        reject_unknown: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Run:
        __tracebackhide__ = True
        if len(args) > 2:
            raise TypeError(
                f"synapse_run takes (action, params) or (plugin, action_name, params); got "
                f"{1 + len(args)} positional arguments"
            )
        if isinstance(target, (str, os.PathLike)):
            if not args or not isinstance(args[0], str):
                raise TypeError(
                    f"synapse_run({os.fspath(target)!r}, ...): name the action to run, e.g. "
                    f"synapse_run({os.fspath(target)!r}, 'train', params)"
                )
            spec, config_env = _resolve(target, args[0])
            params = args[1] if len(args) > 1 else None
        else:
            if len(args) > 1:
                raise TypeError(
                    "synapse_run(action, params): an action object takes no action name"
                )
            spec, config_env = _resolve(target, None)
            params = args[0] if args else None
        ctx = self._next_context(env, config_env)
        run = run_action(spec, params, ctx=ctx, reject_unknown=reject_unknown)
        self.runs.append(run)
        if check and not run.ok:
            _fail_run(run)
        return run

    def _next_context(
        self, env: Mapping[str, str] | None, config_env: Mapping[str, str]
    ) -> RecordingContext:
        """The test's context for the first run, then fresh ones; a plugin's config.yaml
        ``env`` lies under the marker's (or ``env=``), as ``synapse run`` lays it."""
        base = self.ctx
        if not self.contexts and not base.events and env is None:
            ctx = base
            if config_env:
                ctx.env = MappingProxyType({**config_env, **self._env})
        else:
            own = self._env if env is None else env
            merged = {**config_env, **own} if config_env else own
            ctx = RecordingContext(env=merged, client=base.client, keep_all=base.keep_all)
        self.contexts.append(ctx)
        return ctx


_HIDDEN = (
    os.path.join("synapse_sdk", "plugins", "runner.py"),
    os.path.join("synapse_sdk", "plugins", "run.py"),
    os.path.join("synapse_sdk", "plugins", "spec.py"),
    os.path.join("synapse_sdk", "plugins", "base.py"),
)
_KIT = os.path.dirname(os.path.abspath(__file__))


def _action_traceback(exc: BaseException) -> str:
    """The exception's traceback without the runner's own frames."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.endswith(_HIDDEN) and not f.filename.startswith(_KIT)
    ]
    text = "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return text.rstrip()


def _fail_run(run: Run) -> None:
    __tracebackhide__ = True
    import pytest

    status = run.status.value
    lines = [f"synapse_run: action {run.action!r} {status}: {run.error}"]
    cause = run.error.__cause__ if run.error is not None else None
    if status == "failed" and cause is not None:
        lines += ["", "Traceback of the action (runner frames hidden):", _action_traceback(cause)]
    lines += ["", "(pass check=False to get the Run without failing the test)"]
    pytest.fail("\n".join(lines))
