"""The autolog machinery: integrations, their registry, sessions and patch helpers."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ..errors import ValidationError, did_you_mean
from ..events import RunFinished

if TYPE_CHECKING:
    from ..context import RuntimeContext
    from ..steps import StepContext

__all__ = [
    "AutologSession",
    "Integration",
    "autolog",
    "get_integration",
    "patch_attributes",
    "register_integration",
    "supported_frameworks",
    "wrap_training_function",
]

ProgressFn = Callable[[float, float], None]
MetricsFn = Callable[[Mapping[str, Any]], None]


class Integration(ABC):
    """How one framework's training reports into a run.

    Override :meth:`patch` (install the hooks, return a function undoing them) and
    :meth:`callback` (a framework-native callback reporting to a session).
    """

    #: the name users pass to ``autolog()``
    name: str = ""
    #: the importable module the integration needs
    module: str = ""
    #: the synapse-sdk extra that installs it
    extra: str = ""
    #: other accepted spellings (``'lgb'``)
    aliases: tuple[str, ...] = ()

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    @abstractmethod
    def patch(self, current: Callable[[], AutologSession | None]) -> Callable[[], None]:
        """Install the hooks; ``current()`` gives the session to report to (or None).
        Return a function that undoes exactly what was installed."""

    @abstractmethod
    def callback(self, session: AutologSession, total: int | None = None) -> Any:
        """A framework-native callback reporting to ``session`` (``total`` rounds if known)."""


_REGISTRY: dict[str, Integration] = {}
_ALIASES: dict[str, str] = {}


def register_integration(integration: Integration, *, replace: bool = False) -> None:
    """Make ``integration`` available to ``autolog(integration.name)``."""
    if not integration.name:
        raise ValueError(f"integration {integration!r} has no name")
    if integration.name in _REGISTRY and not replace:
        raise ValueError(
            f"an autolog integration named {integration.name!r} is already registered; "
            f"pass replace=True to replace it"
        )
    _REGISTRY[integration.name] = integration
    for alias in integration.aliases:
        _ALIASES[alias] = integration.name


def supported_frameworks() -> list[str]:
    """Names of every registered integration, sorted."""
    return sorted(_REGISTRY)


def get_integration(framework: str) -> Integration:
    """The integration for ``framework`` (a name or alias, case-insensitive).

    Raises ValidationError for an unknown framework and ImportError naming the extra to
    install when the framework's package is missing.
    """
    if not isinstance(framework, str):  # e.g. the module itself: autolog(lightgbm)
        name = getattr(framework, "__name__", None)
        got = f"{type(framework).__name__} {framework!r}"
        raise ValidationError(
            f"autolog() takes the framework's name, got {got}",
            hint=f"autolog({name!r})" if isinstance(name, str) else "autolog('lightgbm')",
        )
    key = framework.lower()
    key = _ALIASES.get(key, key)
    integration = _REGISTRY.get(key)
    supported = supported_frameworks()
    listing = ", ".join(repr(n) for n in supported)
    if integration is None:
        guess = did_you_mean(str(framework), [*supported, *_ALIASES])
        raise ValidationError(
            f"autolog does not support framework {framework!r}; supported frameworks: {listing}",
            errors=[
                {
                    "loc": ("framework",),
                    "msg": f"unknown framework; supported: {listing}",
                    "type": "unknown_framework",
                    "input": framework,
                }
            ],
            hint=f"did you mean {_ALIASES.get(guess, guess)!r}?"
            if guess
            else "add your own with synapse_sdk.plugins.autolog.register_integration()",
        )
    if not integration.installed():
        raise ImportError(
            f"autolog({integration.name!r}) needs the {integration.module!r} package, which is "
            f"not installed: pip install 'synapse-sdk[{integration.extra}]' "
            f"(supported frameworks: {listing})",
            name=integration.module,
        )
    return integration


class _Patches:
    """Reference-counted patches per integration and the stack of active sessions."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sessions: dict[str, list[AutologSession]] = {}
        self.undo: dict[str, Callable[[], None]] = {}

    def start(self, session: AutologSession) -> None:
        name = session.integration.name
        with self.lock:
            active = self.sessions.setdefault(name, [])
            if not active:
                self.undo[name] = session.integration.patch(functools.partial(self.current, name))
            active.append(session)

    def stop(self, session: AutologSession) -> None:
        name = session.integration.name
        with self.lock:
            active = self.sessions.get(name, [])
            if session in active:
                active.remove(session)
                if not active:
                    self.undo.pop(name)()

    def current(self, name: str) -> AutologSession | None:
        """The latest session started in this thread, else the latest one."""
        active = self.sessions.get(name) or []
        me = threading.get_ident()
        for session in reversed(active):
            if session.thread == me:
                return session
        return active[-1] if active else None


_PATCHES = _Patches()


class AutologSession:
    """One ``autolog()`` activation: where the framework's callbacks report to.

    Usable as a context manager; :meth:`stop` is idempotent. :meth:`callback` gives a
    framework-native callback for code that calls the framework in a way the patches do not
    see.
    """

    def __init__(self, integration: Integration, progress: ProgressFn, metrics: MetricsFn) -> None:
        self.integration = integration
        self.framework = integration.name
        self._progress = progress
        self._metrics = metrics
        self.thread = threading.get_ident()
        self.active = False
        self.iterations = 0  # rounds reported by the current training call

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        return f"<AutologSession {self.framework} {state}>"

    def start(self) -> AutologSession:
        if not self.active:
            _PATCHES.start(self)
            self.active = True
        return self

    def stop(self) -> None:
        """Undo the patches (once no other session needs them); safe to call twice."""
        if self.active:
            self.active = False
            _PATCHES.stop(self)

    def __enter__(self) -> AutologSession:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def callback(self, total: int | None = None) -> Any:
        """A native callback of the framework reporting to this session."""
        return self.integration.callback(self, total)

    # -- used by the integrations ------------------------------------------------------------

    def begin(self) -> None:
        """A training call starts."""
        self.iterations = 0

    def report(self, total: int | None, values: Mapping[str, float]) -> None:
        """One round finished with evaluation ``values``: emit metrics, then progress (a
        cancellation point: it raises CancelledError inside the framework's loop)."""
        self.iterations += 1
        if values:
            self._metrics({**values, "iteration": self.iterations})
        self._progress(self.iterations, total if total and total > 0 else 0)

    def end(self, total: int | None) -> None:
        """A training call returned: its progress ends full (early stopping included)."""
        if total and total > 0 and self.iterations < total:
            self._progress(total, total)


def autolog(
    framework: str,
    ctx: RuntimeContext | StepContext | None = None,
    *,
    step: str | None = None,
    progress: ProgressFn | None = None,
    metrics: MetricsFn | None = None,
) -> AutologSession:
    """Start reporting ``framework``'s training into a run; returns the active session.

    Report to ``ctx`` (progress and metrics for ``step``; inside a step, pass its
    :class:`~synapse_sdk.plugins.steps.StepContext` to report as that step), or to explicit
    ``progress`` / ``metrics`` functions. In a ``BaseAction`` use ``self.autolog(framework)``.
    With a ``ctx`` the session stops by itself when the run on that context finishes (so a function
    action's ``autolog('lightgbm', ctx)`` never outlives its run); without one, stop it with
    ``session.stop()`` or a ``with`` block.
    """
    integration = get_integration(framework)
    # a StepContext reports through its run's context
    runtime = cast("RuntimeContext | None", getattr(ctx, "runtime", None) or ctx)
    if progress is None or metrics is None:
        if ctx is None or runtime is None:
            raise TypeError(
                "autolog() needs a RuntimeContext (autolog('lightgbm', ctx)) or both "
                "progress= and metrics= functions"
            )
        if runtime is not ctx and step is None:
            # in a step: the step's own progress, which also moves the overall progress
            progress = progress or ctx.set_progress
            metrics = metrics or ctx.set_metrics
        if progress is None:
            progress = functools.partial(_ctx_progress, runtime, step)
        if metrics is None:
            metrics = functools.partial(_ctx_metrics, runtime, step)
    session = AutologSession(integration, progress, metrics).start()
    if runtime is not None and hasattr(runtime, "subscribe"):
        runtime.subscribe(_StopAtRunEnd(session))
    return session


class _StopAtRunEnd:
    """A sink that stops a session when the run on its context finishes.

    It stays subscribed afterwards as a no-op: unsubscribing from inside ``ctx.emit`` would
    change the sink list while the context iterates over it.
    """

    __slots__ = ("session",)

    def __init__(self, session: AutologSession) -> None:
        self.session = session

    def emit(self, event: Any) -> None:
        if isinstance(event, RunFinished):
            self.session.stop()


def _ctx_progress(ctx: RuntimeContext, step: str | None, current: float, total: float) -> None:
    ctx.set_progress(current, total, step)


def _ctx_metrics(ctx: RuntimeContext, step: str | None, values: Mapping[str, Any]) -> None:
    ctx.set_metrics(values, step)


# -- helpers for integrations ------------------------------------------------------------------


def wrap_training_function(
    original: Callable[..., Any],
    current: Callable[[], AutologSession | None],
    make_callback: Callable[[AutologSession, int | None], Any],
    *,
    rounds_arg: str,
) -> Callable[..., Any]:
    """Wrap a ``train(..., callbacks=None)`` style function so that, while a session is
    active, each call gets one more callback from ``make_callback(session, total_rounds)``."""
    sig = inspect.signature(original)
    default = sig.parameters[rounds_arg].default if rounds_arg in sig.parameters else None

    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        session = current()
        if session is None:
            return original(*args, **kwargs)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:  # let the framework report its own usage error
            return original(*args, **kwargs)
        total = bound.arguments.get(rounds_arg, default)
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        callbacks = bound.arguments.get("callbacks") or ()
        bound.arguments["callbacks"] = [*callbacks, make_callback(session, total)]
        session.begin()
        out = original(*bound.args, **bound.kwargs)
        session.end(total)
        return out

    train.__synapse_autolog_original__ = original  # type: ignore[attr-defined]
    return train


def patch_attributes(
    targets: list[tuple[Any, str]], original: Any, replacement: Any
) -> Callable[[], None]:
    """Set ``obj.attr = replacement`` wherever it is ``original``; return the undo function
    (which restores only the attributes that still hold ``replacement``)."""
    patched = [(obj, attr) for obj, attr in targets if getattr(obj, attr, None) is original]
    for obj, attr in patched:
        setattr(obj, attr, replacement)

    def undo() -> None:
        for obj, attr in patched:
            if getattr(obj, attr, None) is replacement:
                setattr(obj, attr, original)

    return undo
