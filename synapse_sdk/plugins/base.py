"""``BaseAction[P]``: class-based actions with typed params and context helpers."""

from __future__ import annotations

import sys
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    import logging

    from pydantic import BaseModel

    from .autolog import AutologSession
    from .context import RuntimeContext
    from .enums import PluginCategory
    from .steps import StepContext, StepRegistry
    from .types import DataType

__all__ = ["BaseAction", "NoResult"]

P = TypeVar("P")


class NoResult:
    """Sentinel ``result_model``: the action's result is not validated."""

    def __init__(self) -> None:
        raise TypeError("NoResult is a marker class; it is never instantiated")


class BaseAction(ABC, Generic[P]):
    """Base of class-based actions.

    Subclass with your params model as the generic argument (``BaseAction[TrainParams]``) and
    override :meth:`execute`; use ``self.params``, ``self.ctx`` and the helpers
    :meth:`log`, :meth:`set_progress`, :meth:`set_metrics`. The class attributes below are
    optional metadata (config.yaml may provide the name). ``params_model`` is taken from the
    generic argument, also through intermediate generic bases such as
    ``BaseTrainAction[MyParams]``.

    Instead of ``execute``, an action may register steps in :meth:`setup_steps`; running it
    then runs them in order (see :mod:`synapse_sdk.plugins.steps`). Whichever of ``execute`` /
    ``setup_steps`` is defined lower in the class hierarchy wins, so a subclass's ``execute``
    replaces the default steps of a category base.

    Override: ``execute`` or ``setup_steps`` (one is required); ``result_from_steps``
    (optional). Final: ``__init__``, ``run``, ``run_steps``, the helpers.
    """

    action_name: ClassVar[str | None] = None
    description: ClassVar[str | None] = None
    category: ClassVar[PluginCategory | None] = None
    input_type: ClassVar[type[DataType] | None] = None
    output_type: ClassVar[type[DataType] | None] = None
    params_model: ClassVar[type[BaseModel] | None] = None
    result_model: ClassVar[type[BaseModel] | type[NoResult]] = NoResult

    def __init__(self, params: P, ctx: RuntimeContext) -> None:
        self.params = params
        self.ctx = ctx

    _uses_steps: ClassVar[bool] = False
    _step_context: StepContext | None = None  # set while run_steps() runs
    _autolog_sessions: dict[str, AutologSession] | None = None  # set by autolog()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "params_model" not in cls.__dict__:
            found = _params_model_from_generics(cls)
            if found is not None:
                cls.params_model = found
        cls._uses_steps = _steps_win(cls)
        if cls._uses_steps and getattr(cls.execute, "__isabstractmethod__", False):
            # A class made of steps needs no execute(): give it one that runs the steps, so
            # it is concrete (ABCMeta computes abstractness after __init_subclass__).
            cls.execute = _execute_steps  # type: ignore[method-assign]

    @abstractmethod
    def execute(self) -> Any:
        """The action's work; return the result (a model, a dict, or None)."""

    def run(self) -> Any:
        """Run the action; what runners call.

        Returns ``execute()``'s result, or runs the steps of :meth:`setup_steps` when the
        class is made of steps. Integrations started with :meth:`autolog` stop when it returns.
        """
        try:
            if self._uses_steps:
                return self.run_steps()
            return self.execute()
        finally:
            sessions = self._autolog_sessions
            if sessions:
                self._autolog_sessions = None
                for session in reversed(list(sessions.values())):
                    session.stop()

    # -- steps -------------------------------------------------------------------------------

    def setup_steps(self, registry: StepRegistry) -> None:
        """Register this action's steps (``registry.register(MyStep())``); none by default.

        Category bases register default steps here; extend them with
        ``super().setup_steps(registry)`` then ``registry.insert_after(...)``,
        ``registry.insert_before(...)`` or ``registry.remove(...)``.
        """

    def run_steps(self) -> Any:
        """Run the steps registered by :meth:`setup_steps` and return
        :meth:`result_from_steps`. On failure the steps that ran are rolled back and the
        original exception is re-raised."""
        from .errors import ActionDefinitionError
        from .steps import Orchestrator, StepRegistry

        registry = StepRegistry()
        self.setup_steps(registry)
        if not registry:
            raise ActionDefinitionError(
                f"{type(self).__qualname__}.setup_steps() registered no steps",
                action=self.ctx.action_name or type(self).action_name,
                hint="register at least one step (registry.register(MyStep())) or define "
                "`def execute(self): ...`",
            )
        given = self.create_step_context()
        orchestrator = Orchestrator(registry, self.ctx, action=self, context=given)
        self._step_context = orchestrator.context
        try:
            context = orchestrator.run()
            return self.result_from_steps(context)
        finally:
            self._step_context = None
            close = getattr(given, "close", None)
            if close is not None:  # e.g. an upload context's scratch folder
                close()

    def create_step_context(self) -> StepContext | None:
        """The context the steps share, or None for a plain :class:`StepContext` (the
        default). Override it for a context of your own (a ``StepContext`` subclass, as the
        upload workflow's ``UploadContext``); a ``close()`` it has runs when the steps end."""
        return None

    def result_from_steps(self, context: StepContext) -> Any:
        """The action's result once every step ran: by default the data of the last step
        that was not skipped (None when every step was skipped)."""
        for result in reversed(list(context.results.values())):
            if not result.skipped:
                return result.data
        return None

    def autolog(self, framework: str, *, step: str | None = None) -> AutologSession:
        """Turn ``framework``'s own training callbacks into progress and metrics events.

        ``framework`` is one of the integrations in :mod:`synapse_sdk.plugins.autolog`
        (e.g. ``'lightgbm'``, ``'xgboost'``). Progress goes to ``step``, or to the running
        step of a step-based action, or to the overall progress. It stops when the run ends.
        """
        from .autolog import autolog

        sessions = self._autolog_sessions
        if sessions is None:
            sessions = self._autolog_sessions = {}
        session = sessions.get(framework)
        if session is None or not session.active:
            session = autolog(
                framework,
                progress=lambda current, total: self.set_progress(current, total, step),
                metrics=lambda values: self.set_metrics(values, step),
            )
            sessions[framework] = session
        return session

    # -- helpers delegating to the context ---------------------------------------------------

    @property
    def logger(self) -> logging.Logger:
        return self.ctx.logger

    def log(
        self, event: str, data: Mapping[str, Any] | None = None, file: str | None = None
    ) -> None:
        """Log a structured event (see :meth:`RuntimeContext.log`)."""
        self.ctx.log(event, data, file)

    def set_progress(
        self,
        current: float,
        total: float,
        step: str | None = None,
        *,
        category: str | None = None,
    ) -> None:
        """Report progress (see :meth:`RuntimeContext.set_progress`).

        While a step runs, progress with ``step=None`` or the step's own name is that step's
        progress and also moves the overall progress. ``category`` is the deprecated name of
        ``step`` (the reference synapse-sdk's; ``step`` wins when both are given).
        """
        if step is None:
            step = category
        steps: StepContext | None = self.__dict__.get("_step_context")
        running = None if steps is None else steps.current_step
        if steps is not None and running is not None and step in (None, running.name):
            steps.set_progress(current, total)
            return
        self.ctx.set_progress(current, total, step)

    def log_message(
        self, message: Any, level: Any = "info", *, context: Any = None, **kwargs: Any
    ) -> None:
        """Log a user-facing message: text, ``{language: template}`` or a message code
        (see :meth:`RuntimeContext.log_message`)."""
        if context is not None:
            from .log_messages import level_from_context

            level = level_from_context(context, stacklevel=2)
        self.ctx.log_message(message, level, **kwargs)

    def log_metric(self, category: str, key: str, value: Any, **metrics: Any) -> None:
        """Record a metric and its companions under ``category`` (see
        :meth:`RuntimeContext.log_metric`)."""
        self.ctx.log_metric(category, key, value, **metrics)

    def log_visualization(
        self, category: str, group: str, index: int, image: Any, **meta: Any
    ) -> None:
        """Record an image file (see :meth:`RuntimeContext.log_visualization`)."""
        self.ctx.log_visualization(category, group, index, image, **meta)

    @classmethod
    def get_log_message_code_class(cls) -> type[Any]:
        """The :class:`~synapse_sdk.plugins.log_messages.LogMessageCode` subclass this action
        uses (the reference's hook; override it when a tool asks). Raises
        NotImplementedError by default."""
        raise NotImplementedError(
            f"{cls.__name__} does not name its message codes: define "
            "`@classmethod def get_log_message_code_class(cls): return MyLogMessageCode`"
        )

    def set_metrics(self, value: Mapping[str, Any], step: str | None = None) -> None:
        """Record metrics (see :meth:`RuntimeContext.set_metrics`); while a step runs,
        ``step=None`` means that step."""
        if step is None:
            steps = self.__dict__.get("_step_context")
            if steps is not None and steps.current_step is not None:
                step = steps.current_step.name
        self.ctx.set_metrics(value, step)


def _steps_win(cls: type) -> bool:
    """True when ``setup_steps`` is defined lower in the MRO than a user's ``execute``."""
    for klass in cls.__mro__:
        if klass is BaseAction:
            return False
        execute = klass.__dict__.get("execute")
        if execute is not None and execute is not _execute_steps:
            return False
        setup = klass.__dict__.get("setup_steps")
        # a category base's @default_steps only offers steps; a subclass opts in
        if setup is not None and not getattr(setup, "_synapse_default_steps", False):
            return True
    return False


def _execute_steps(self: BaseAction[Any]) -> Any:
    """Run the action's steps (the ``execute`` of a class made of steps)."""
    return self.run_steps()


def _is_model_class(obj: Any) -> bool:
    # A pydantic model can only exist once pydantic is imported: checking sys.modules keeps
    # `import synapse_sdk.plugins` from importing pydantic just to define base classes.
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(obj, type) and issubclass(obj, pydantic.BaseModel)


def _params_model_from_generics(cls: type) -> type[BaseModel] | None:
    """Find the concrete params model given as a generic argument anywhere in the MRO."""
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if not (isinstance(origin, type) and issubclass(origin, BaseAction)):
                continue
            for arg in typing.get_args(base):
                if _is_model_class(arg):
                    return typing.cast("type[BaseModel]", arg)
    return None
