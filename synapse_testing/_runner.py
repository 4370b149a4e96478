"""``ActionRunner``: what the ``synapse_run`` fixture returns."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn, overload

from synapse_sdk.plugins.errors import ActionNotFoundError, PluginError, ValidationError
from synapse_sdk.plugins.run import Run
from synapse_sdk.plugins.runner import run_action
from synapse_sdk.plugins.spec import ActionSpec, as_spec

from ._context import RecordingContext
from ._masking import public_text

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
    run gets a fresh :class:`RecordingContext` with the same env and backend (its own run id
    and cancellation), whose events ``synapse_ctx`` records as well. Invalid params and
    unknown action names raise their error from the test's line, without SDK frames. With
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
        try:
            if isinstance(target, (str, os.PathLike)):
                if not args or not isinstance(args[0], str):
                    raise TypeError(
                        f"synapse_run({os.fspath(target)!r}, ...): name the action to run, "
                        f"e.g. synapse_run({os.fspath(target)!r}, 'train', params)"
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
        except (ValidationError, ActionNotFoundError) as exc:
            error: PluginError = exc
        else:
            self.runs.append(run)
            if check and not run.ok:
                _fail_run(run, no_backend=ctx.client is None)
            return run
        _raise_plainly(error)

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
            # the run gets its own context (run id, cancellation); synapse_ctx records it too
            ctx = RecordingContext(
                env=merged,
                client=base.client,
                keep_all=base.keep_all,
                sinks=(base.also_record(),),
            )
        self.contexts.append(ctx)
        return ctx


_SDK = os.path.dirname(os.path.dirname(os.path.abspath(run_action.__code__.co_filename)))
_KIT = os.path.dirname(os.path.abspath(__file__))
_HIDDEN = (_SDK + os.sep, _KIT + os.sep)


def _raise_plainly(error: PluginError) -> NoReturn:
    """Raise a params or action-name error from the test's line, without the SDK frames that
    found it and, for params, without pydantic's chained error (``.errors`` holds every
    detail; ``__context__`` still holds pydantic's exception)."""
    __tracebackhide__ = True
    if isinstance(error, ValidationError):
        error.__cause__ = None
        error.__suppress_context__ = True
    raise error.with_traceback(None)


def _action_traceback(exc: BaseException) -> str:
    """The exception's traceback from the action's first frame on, without the frames of
    synapse_sdk and synapse_testing (the last frame stays when every frame is theirs)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [not os.path.abspath(f.filename).startswith(_HIDDEN) for f in frames]
    start = ours.index(True) if True in ours else max(len(frames) - 1, 0)
    kept = [f for f, mine in zip(frames[start:], ours[start:], strict=True) if mine]
    if not kept:
        kept = frames[-1:]
    hidden = len(frames) - start - len(kept)
    text = "".join(traceback.format_list(kept))
    if hidden:
        text += f"  ({hidden} SDK frame{'s' if hidden > 1 else ''} hidden)\n"
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return public_text(text.rstrip())


def _fail_run(run: Run, *, no_backend: bool = False) -> None:
    __tracebackhide__ = True
    import pytest

    from ._report import BACKEND_HINT, NO_BACKEND_MARKER_HINT, retarget_backend_hints

    status = run.status.value
    error = run.error
    if error is not None:
        retarget_backend_hints(error, NO_BACKEND_MARKER_HINT if no_backend else BACKEND_HINT)
    cause = error.__cause__ if error is not None else None
    if status == "failed" and cause is not None:
        summary = public_text(str(cause).partition("\n")[0])
        lines = [
            f"synapse_run: action {run.action!r} failed: {type(cause).__name__}: {summary}",
            "",
            "Traceback of the action:",
            _action_traceback(cause),
        ]
    else:
        lines = [f"synapse_run: action {run.action!r} {status}: {public_text(str(error))}"]
    lines += ["", "(pass check=False to get the Run without failing the test)"]
    pytest.fail("\n".join(lines))
