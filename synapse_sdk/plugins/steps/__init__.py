"""Steps: ordered, weighted units of an action with typed results, skip and rollback.

An action made of steps registers them in ``setup_steps(self, registry)`` instead of writing
``execute()``; running the action runs them in order through an :class:`Orchestrator`::

    class LoadStep(BaseStep[list[int]]):
        name = "load"
        progress_weight = 1

        def execute(self, ctx: StepContext) -> list[int]:
            return [1, 2, 3]

    class SumStep(BaseStep[int]):
        name = "sum"
        progress_weight = 3

        def execute(self, ctx: StepContext) -> int:
            return sum(ctx.result_of(LoadStep))  # typed: list[int]

    class SumAction(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            registry.register(LoadStep())
            registry.register(SumStep())

Context steps (the reference synapse-sdk's form) run through the same orchestrator: a step
typed by the context it works on, ``BaseStep[UploadContext]``, reads and writes that shared
context and returns ``StepResult(success=..., error=..., data=..., rollback_data=...)``::

    class ExtractFramesStep(BaseStep[UploadContext]):
        name = "extract_frames"
        progress_weight = 0.2

        def execute(self, context: UploadContext) -> StepResult:
            ...
            return StepResult(success=True, data={"frames": n})

A step returning ``success=False`` fails the run with a :class:`StepFailedError` carrying its
``error`` (and, when it built the result while handling an exception, that exception as the
cause); the steps that ran, that one included, are rolled back. A context step's rollback
always gets a StepResult (``success=False`` for the step that failed), and its ``data`` /
``rollback_data`` default to ``{}``.

What the orchestrator guarantees:

- Events: one ``pending`` StepEvent per step when the run of steps starts (``position`` and
  ``weight`` = the step's share of the total weight), then ``started`` / ``finished`` /
  ``skipped`` / ``failed`` / ``rolled_back`` / ``rollback_failed`` as things happen.
- Progress: a step reports its own progress with ``ctx.set_progress(current, total)``
  (a ProgressEvent with ``step=<step name>``); after each such call and after each step, the
  overall progress (the weighted sum) is emitted as a ProgressEvent with ``step=None`` and
  ``total=100``. The last overall event is exactly ``100.0``.
- Failure or cancellation: the steps that ran, the failing one included, are rolled back in
  reverse order; the ORIGINAL exception is re-raised (so it becomes the ``__cause__`` of the
  run's error). A rollback that fails is logged, reported as a ``rollback_failed`` StepEvent and
  attached to the original exception as a note (``exc.__notes__``); it never replaces it.
- A rollback is never interrupted by the cancellation it answers: while steps roll back,
  ``set_progress`` and ``check_cancelled`` (the step context's and the run's) do not raise
  CancelledError, so a rollback may report progress and log, and runs to its end.
"""

from __future__ import annotations

import math
import re
import sys
import time
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from .._compat import module_getattr
from ..errors import ExecutionError, StepError, did_you_mean
from ..events import ProgressEvent

if TYPE_CHECKING:
    import logging

    from ..context import RuntimeContext

__all__ = [
    "BaseStep",
    "Orchestrator",
    "StepContext",
    "StepFailedError",
    "StepRegistry",
    "StepResult",
    "default_steps",
]

T = TypeVar("T")
# covariant: a BaseStep[list[int]] is usable where a BaseStep[Sequence[int]] is expected, which
# lets type checkers infer ``ctx.result_of(LoadStep)`` inside any expression
T_co = TypeVar("T_co", covariant=True)

#: The ``step`` value of the overall (weighted) progress events.
OVERALL_STEP: str | None = None


@dataclass(frozen=True)
class StepResult(Generic[T_co]):
    """What a step produced: ``data`` for later steps, ``rollback_data`` for its own rollback.

    A step's ``execute`` may return a ``StepResult`` or the bare data (which is wrapped). The
    orchestrator fills in ``step`` (the step name) and ``duration`` (seconds); a skipped step
    gets ``StepResult(skipped=True)``.

    ``success=False`` (with an ``error`` message) fails the run: the context-step form of
    raising. Built inside an ``except`` block, the result keeps the exception being handled
    as ``exception`` (it becomes the cause of the run's error) unless one is given.
    """

    data: T_co = None  # type: ignore[assignment]
    rollback_data: Any = None
    skipped: bool = False
    step: str | None = None
    duration: float | None = None
    success: bool = True
    error: str | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.success and self.exception is None:
            handling = sys.exc_info()[1]
            if handling is not None:
                object.__setattr__(self, "exception", handling)


class StepFailedError(ExecutionError):
    """A step returned ``StepResult(success=False, error=...)``.

    ``.step`` is the step's name, ``.error`` its message and ``.result`` the StepResult; the
    exception the step was handling when it failed, if any, is the ``__cause__``.
    """

    def __init__(self, step: str, result: StepResult[Any], *, action: str | None = None):
        error = result.error or "no error message"
        super().__init__(
            f"Step {step!r} failed: {error}",
            action=action,
            hint="the steps that ran were rolled back; fix what the message says and run again",
        )
        self.step = step
        self.error = result.error
        self.result = result


class BaseStep(ABC, Generic[T_co]):
    """One unit of an action's work. ``T`` is the type of the data it produces.

    Override: :meth:`execute` (required), :meth:`can_skip` and :meth:`rollback` (optional).
    Set ``name`` and ``progress_weight`` as class attributes, or per instance with
    ``MyStep(name=..., progress_weight=...)``. Without a ``name``, the class name in
    snake case without a ``Step`` suffix is used (``UploadModelStep -> 'upload_model'``).
    ``progress_weight`` (a number >= 0, default 1) is the step's share of overall progress.

    ``T`` is either the type of the data the step produces (a typed step: ``BaseStep[int]``,
    read later with ``ctx.result_of``) or, for a context step, the StepContext subclass it
    works on (``BaseStep[UploadContext]``); ``name`` / ``progress_weight`` may then also be
    properties, as in the reference synapse-sdk.
    """

    name: str = ""
    progress_weight: float = 1.0

    def __init__(self, *, name: str | None = None, progress_weight: float | None = None) -> None:
        if name is not None:
            self.name = name
        if progress_weight is not None:
            self.progress_weight = progress_weight

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = _default_step_name(cls.__name__)

    # ``ctx`` is the run's StepContext, or the action's own subclass of it (UploadContext):
    # typed Any so that a context step may declare the context class it works on.

    @abstractmethod
    def execute(self, ctx: Any) -> StepResult[T_co] | T_co:
        """Do the step's work; return its data (or a StepResult carrying it)."""

    def can_skip(self, ctx: Any) -> bool:
        """Return True to skip this step (it is then neither executed nor rolled back)."""
        return False

    def rollback(self, ctx: Any, result: StepResult[Any] | None = None) -> None:
        """Undo the step's effects. ``result`` is None for a typed step that raised; a
        context step always gets a StepResult (``success=False`` for the failing step)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} weight={self.progress_weight}>"


def _default_step_name(class_name: str) -> str:
    base = class_name[:-4] if class_name.endswith("Step") and class_name != "Step" else class_name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", base).lower()


StepKey = str | BaseStep[Any] | type[BaseStep[Any]]


def _key_repr(key: StepKey) -> str:
    return (
        key.__name__ if isinstance(key, type) else repr(key if isinstance(key, str) else key.name)
    )


class StepRegistry:
    """The ordered steps of an action.

    ``register`` appends; ``insert_before`` / ``insert_after`` place a step relative to
    another (named by its name, its class or the instance); ``remove`` takes one out. Names are
    unique: registering a second step with a name already present raises :class:`StepError`.
    A step class may be passed instead of an instance; it is instantiated with no arguments.
    """

    def __init__(self, steps: Iterable[BaseStep[Any] | type[BaseStep[Any]]] = ()) -> None:
        self._steps: list[BaseStep[Any]] = []
        for step in steps:
            self.register(step)

    # -- changing the order ------------------------------------------------------------------

    def register(self, step: BaseStep[T] | type[BaseStep[T]]) -> BaseStep[T]:
        """Append ``step``; returns the registered instance."""
        instance = self._check_new(step)
        self._steps.append(instance)
        return instance

    def insert_before(self, anchor: StepKey, step: BaseStep[T] | type[BaseStep[T]]) -> BaseStep[T]:
        """Insert ``step`` just before the step ``anchor``; returns the registered instance."""
        index = self.index(anchor)
        instance = self._check_new(step)
        self._steps.insert(index, instance)
        return instance

    def insert_after(self, anchor: StepKey, step: BaseStep[T] | type[BaseStep[T]]) -> BaseStep[T]:
        """Insert ``step`` just after the step ``anchor``; returns the registered instance."""
        index = self.index(anchor)
        instance = self._check_new(step)
        self._steps.insert(index + 1, instance)
        return instance

    def replace(self, anchor: StepKey, step: BaseStep[T] | type[BaseStep[T]]) -> BaseStep[T]:
        """Put ``step`` in the place of ``anchor``; returns the registered instance."""
        index = self.index(anchor)
        old = self._steps.pop(index)
        try:
            instance = self._check_new(step)
        except BaseException:
            self._steps.insert(index, old)
            raise
        self._steps.insert(index, instance)
        return instance

    def remove(self, key: StepKey) -> BaseStep[Any]:
        """Remove the step named by ``key`` (name, class or instance) and return it."""
        return self._steps.pop(self.index(key))

    unregister = remove

    def clear(self) -> None:
        self._steps.clear()

    # -- reading -----------------------------------------------------------------------------

    def index(self, key: StepKey) -> int:
        """Position of the step named by ``key`` (StepError listing the registered ones if
        absent)."""
        for i, step in enumerate(self._steps):
            if _matches(step, key):
                return i
        names = self.names
        listing = ", ".join(repr(n) for n in names) or "(none)"
        raise _unknown_step(
            f"No step {_key_repr(key)} is registered; registered steps: {listing}",
            key,
            names,
            "register the step first, or check its name",
        )

    def get(self, key: StepKey) -> BaseStep[Any]:
        return self._steps[self.index(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, (str, BaseStep, type)) and any(
            _matches(step, key) for step in self._steps
        )

    def __iter__(self) -> Iterator[BaseStep[Any]]:
        return iter(tuple(self._steps))

    def __len__(self) -> int:
        return len(self._steps)

    def __bool__(self) -> bool:
        return bool(self._steps)

    def __repr__(self) -> str:
        return f"StepRegistry({self.names!r})"

    @property
    def steps(self) -> tuple[BaseStep[Any], ...]:
        return tuple(self._steps)

    def get_steps(self) -> list[BaseStep[Any]]:
        """The steps in order (a copy; the reference synapse-sdk's name)."""
        return list(self._steps)

    def get_step_orders(self) -> dict[str, int]:
        """Each step's position: ``{'initialize': 0, 'upload_files': 1, ...}``."""
        return {step.name: i for i, step in enumerate(self._steps)}

    @property
    def names(self) -> list[str]:
        return [step.name for step in self._steps]

    @property
    def total_weight(self) -> float:
        return float(sum(step.progress_weight for step in self._steps))

    def proportions(self) -> dict[str, float]:
        """Each step's share of overall progress (0..1; equal shares when all weights are 0)."""
        return dict(zip(self.names, _shares(self._steps), strict=True))

    # -- checks ------------------------------------------------------------------------------

    def _check_new(self, step: BaseStep[T] | type[BaseStep[T]]) -> BaseStep[T]:
        if isinstance(step, type) and issubclass(step, BaseStep):
            step = step()
        if not isinstance(step, BaseStep):
            raise StepError(
                f"Only BaseStep instances can be registered, got {type(step).__name__}: {step!r}",
                hint="subclass BaseStep and register an instance: registry.register(MyStep())",
            )
        name = step.name
        if not isinstance(name, str) or not name:
            raise StepError(
                f"Step {type(step).__name__} has no name (got {name!r})",
                hint="set `name = 'my_step'` on the class or pass MyStep(name='my_step')",
            )
        weight = step.progress_weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise StepError(
                f"Step {name!r} has an invalid progress_weight {weight!r}; it must be a "
                f"finite number >= 0",
                step=name,
                hint="progress_weight is the step's share of overall progress, e.g. 1 or 0.5",
            )
        for i, other in enumerate(self._steps):
            if other.name == name:
                raise StepError(
                    f"A step named {name!r} is already registered (at position {i}, "
                    f"{type(other).__name__}); step names must be unique",
                    step=name,
                    available=self.names,
                    hint=(
                        f"remove or replace the existing one (registry.replace({name!r}, step)), "
                        f"or give the new one another name: "
                        f"{type(step).__name__}(name='{name}_2')"
                    ),
                )
        return step


def _unknown_step(message: str, key: StepKey, available: list[str], fallback: str) -> StepError:
    guess = did_you_mean(key, available) if isinstance(key, str) else None
    return StepError(
        message,
        step=key if isinstance(key, str) else None,
        available=available,
        hint=f"did you mean {guess!r}?" if guess else fallback,
    )


def _matches(step: BaseStep[Any], key: object) -> bool:
    if isinstance(key, str):
        return step.name == key
    if isinstance(key, type):
        return isinstance(step, key)
    return step is key


def _shares(steps: Iterable[BaseStep[Any]]) -> list[float]:
    weights = [float(step.progress_weight) for step in steps]
    total = sum(weights)
    if total <= 0:  # all weights 0: every step counts the same
        return [1.0 / len(weights)] * len(weights) if weights else []
    return [w / total for w in weights]


class StepContext:
    """What a step sees: the run's context, the action, earlier steps' results.

    ``results`` maps step name -> :class:`StepResult` for every step that finished or was
    skipped, in order. :meth:`result_of` returns the data of an earlier step, typed by the
    step class: ``ctx.result_of(LoadStep)`` is a ``list[int]`` when ``LoadStep`` is a
    ``BaseStep[list[int]]``. ``state`` is a free dict shared by all steps of the run.
    """

    def __init__(
        self,
        runtime: RuntimeContext,
        *,
        action: Any = None,
        params: Any = None,
    ) -> None:
        self.runtime = runtime
        self.action = action
        self.params = params if params is not None else getattr(action, "params", None)
        self.state: dict[str, Any] = {}
        #: Messages of rollbacks that failed (the reference's ``context.errors``).
        self.errors: list[str] = []
        self.current_step: BaseStep[Any] | None = None
        self._results: dict[str, StepResult[Any]] = {}
        self._steps: dict[str, BaseStep[Any]] = {}
        self._orchestrator: Orchestrator | None = None
        self._rolling_back = False

    def __repr__(self) -> str:
        current = None if self.current_step is None else self.current_step.name
        return f"StepContext(current={current!r}, results={list(self._results)!r})"

    # -- results -----------------------------------------------------------------------------

    @property
    def results(self) -> Mapping[str, StepResult[Any]]:
        return MappingProxyType(self._results)

    @overload
    def result_of(self, step: type[BaseStep[T]]) -> T: ...
    @overload
    def result_of(self, step: BaseStep[T]) -> T: ...
    @overload
    def result_of(self, step: str) -> Any: ...

    def result_of(self, step: StepKey) -> Any:
        """The data of an earlier step, named by class, instance or name.

        Raises StepError when that step has not run yet, was skipped, or (for a class) when
        several steps of that class ran.
        """
        return self.step_result(step).data

    def step_result(self, step: StepKey) -> StepResult[Any]:
        """The full :class:`StepResult` of an earlier step (see :meth:`result_of`)."""
        name = self._resolve(step)
        result = self._results[name]
        if result.skipped:
            raise StepError(
                f"Step {name!r} was skipped, so it has no result",
                step=name,
                available=list(self._results),
                hint=f"check `ctx.ran({name!r})` before reading its result",
            )
        return result

    def ran(self, step: StepKey) -> bool:
        """True when ``step`` finished (was not skipped) earlier in this run."""
        try:
            name = self._resolve(step)
        except StepError:
            return False
        return not self._results[name].skipped

    def _resolve(self, key: StepKey) -> str:
        if isinstance(key, str):
            if key in self._results:
                return key
            names: list[str] = []
        else:
            names = [n for n, s in self._steps.items() if n in self._results and _matches(s, key)]
            if isinstance(key, type) and len(names) > 1:
                exact = [n for n in names if type(self._steps[n]) is key]
                if len(exact) != 1:
                    raise StepError(
                        f"Several steps of class {key.__name__} ran ({', '.join(names)}); "
                        f"ask for one by name",
                        available=names,
                        hint=f"ctx.result_of({names[0]!r})",
                    )
                names = exact
            if names:
                return names[0]
        available = list(self._results)
        when = "yet " if self.current_step is not None else ""
        raise _unknown_step(
            f"Step {_key_repr(key)} has no result {when}(steps with results: "
            f"{', '.join(repr(n) for n in available) or 'none'})",
            key,
            available,
            "a step can only read the results of steps registered before it",
        )

    @property
    def step_results(self) -> list[StepResult[Any]]:
        """The results so far, in step order (the reference's list form of :attr:`results`)."""
        return list(self._results.values())

    @property
    def runtime_ctx(self) -> RuntimeContext:
        """The run's RuntimeContext (the reference synapse-sdk's name of :attr:`runtime`)."""
        return self.runtime

    # -- reporting ---------------------------------------------------------------------------

    def set_progress(self, current: float, total: float, step: str | None = None) -> None:
        """Report the current step's progress; also updates the overall (weighted) progress.

        ``step`` names another progress bar (one the step keeps apart from its own). During a
        rollback it reports the rollback's progress and is never a cancellation point."""
        running = self.current_step
        if self._rolling_back:
            _report(self.runtime, current, total, step if step is not None else self._step_name)
            return
        if step is not None and (running is None or step != running.name):
            self.runtime.set_progress(current, total, step)
        elif self._orchestrator is not None and running is not None:
            self._orchestrator._step_progress(running, current, total)
        else:
            self.runtime.set_progress(current, total, self._step_name)

    def set_metrics(self, values: Mapping[str, Any], step: str | None = None) -> None:
        """Record metric values for the current step (or for ``step``)."""
        self.runtime.set_metrics(values, step if step is not None else self._step_name)

    def log(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        file: str | None = None,
        *,
        level: Any = "info",
    ) -> None:
        """Log a structured event (see :meth:`RuntimeContext.log`); ``level`` also takes
        the platform's ``success`` / ``danger`` and ``LogLevel`` members."""
        name = str(getattr(level, "value", level)).lower()
        self.runtime.log(event, data, file, level=_EVENT_LEVELS.get(name, name))

    def log_message(self, message: Any, level: Any = "info", **kwargs: Any) -> None:
        """Log a user-facing message for the current step (see
        :meth:`RuntimeContext.log_message`)."""
        kwargs.setdefault("step", self._step_name)
        self.runtime.log_message(message, level, **kwargs)

    @property
    def logger(self) -> logging.Logger:
        return self.runtime.logger

    @property
    def env(self) -> Mapping[str, str]:
        return self.runtime.env

    @property
    def client(self) -> Any:
        return self.runtime.client

    @property
    def cancelled(self) -> bool:
        return self.runtime.cancelled

    def check_cancelled(self) -> None:
        """Raise CancelledError if the run was cancelled (call it in long loops); never
        during a rollback, which runs to its end."""
        if not self._rolling_back:
            self.runtime.check_cancelled()

    @property
    def _step_name(self) -> str | None:
        return None if self.current_step is None else self.current_step.name


# The platform's message levels, for structured events (which take the stdlib's).
_EVENT_LEVELS = {"success": "info", "danger": "error"}


class Orchestrator:
    """Runs the steps of a registry in order, with weighted progress and rollback.

    ``Orchestrator(registry, runtime_ctx, action=None).run()`` returns the
    :class:`StepContext` holding every step's result. See the module docstring for the events,
    progress and rollback guarantees. ``rollback_errors`` lists ``(step name, exception)`` for
    rollbacks that failed in the last run. ``context`` is the StepContext every step gets
    (an action's own subclass, e.g. UploadContext); by default a new plain one.
    """

    def __init__(
        self,
        registry: StepRegistry | Iterable[BaseStep[Any]],
        ctx: RuntimeContext,
        *,
        action: Any = None,
        params: Any = None,
        context: StepContext | None = None,
    ) -> None:
        self.steps: tuple[BaseStep[Any], ...] = (
            registry.steps if isinstance(registry, StepRegistry) else StepRegistry(registry).steps
        )
        self.runtime = ctx
        self.context = (
            context if context is not None else StepContext(ctx, action=action, params=params)
        )
        self.context._orchestrator = self
        self.context._steps = {step.name: step for step in self.steps}
        self.rollback_errors: list[tuple[str, Exception]] = []
        shares = _shares(self.steps)
        self._share = {step.name: share for step, share in zip(self.steps, shares, strict=True)}
        self._done = 0.0  # overall fraction completed by finished or skipped steps
        self._last_overall: float | None = None
        self._step_fraction = 0.0

    def run(self) -> StepContext:
        """Run every step; on failure roll back and re-raise the original exception."""
        runtime = self.runtime
        context = self.context
        context._results.clear()  # a second run starts afresh
        self._done = 0.0
        self._last_overall = None
        for position, step in enumerate(self.steps):
            runtime.step_event(
                step.name, "pending", position=position, weight=self._share[step.name]
            )
        ran: list[tuple[BaseStep[Any], StepResult[Any] | None]] = []
        try:
            for position, step in enumerate(self.steps):
                runtime.check_cancelled()
                context.current_step = step
                weight = self._share[step.name]
                self._step_fraction = 0.0
                if step.can_skip(context):
                    context._results[step.name] = StepResult(skipped=True, step=step.name)
                    runtime.step_event(step.name, "skipped", position=position, weight=weight)
                    self._finish_share(step)
                    continue
                runtime.step_event(step.name, "started", position=position, weight=weight)
                ran.append((step, None))
                t0 = time.perf_counter()
                out = step.execute(context)
                duration = time.perf_counter() - t0
                result = _stamped(step, out, duration)
                ran[-1] = (step, result)
                if not result.success:
                    raise StepFailedError(
                        step.name, result, action=runtime.action_name
                    ) from result.exception
                context._results[step.name] = result
                if self._step_fraction < 1.0:
                    self._emit(1, 1, step.name)  # the step's own bar ends full
                runtime.step_event(step.name, "finished", position=position, weight=weight)
                self._finish_share(step)
        except BaseException as exc:
            failing = context.current_step
            if failing is not None and failing.name not in context._results:
                runtime.step_event(
                    failing.name,
                    "failed",
                    position=self.steps.index(failing),
                    weight=self._share[failing.name],
                    detail=f"{type(exc).__name__}: {exc}",
                )
                if ran and ran[-1] == (failing, None) and _is_context_step(type(failing)):
                    # a context step's rollback always gets a result, as in the reference
                    failed: StepResult[Any] = StepResult(
                        {}, {}, step=failing.name, success=False, error=str(exc), exception=exc
                    )
                    ran[-1] = (failing, failed)
            self._rollback(ran, exc)
            raise
        finally:
            context.current_step = None
        if self._last_overall != 100.0:
            self._overall(100.0)
        return context

    # -- progress ----------------------------------------------------------------------------

    def _step_progress(self, step: BaseStep[Any], current: float, total: float) -> None:
        self.runtime.set_progress(current, total, step.name)  # clamps; cancellation point
        if total > 0:
            fraction = min(max(current / total, 0.0), 1.0)
            self._step_fraction = fraction
            self._overall(min(100.0 * (self._done + self._share[step.name] * fraction), 100.0))

    def _finish_share(self, step: BaseStep[Any]) -> None:
        self._done += self._share[step.name]
        self._step_fraction = 0.0
        last = step is self.steps[-1]
        # The final value is exactly 100, whatever the float sum of the shares gives.
        self._overall(100.0 if last else min(100.0 * self._done, 100.0))

    def _overall(self, percent: float) -> None:
        if percent == self._last_overall:
            return
        self._last_overall = percent
        self._emit(percent, 100.0, OVERALL_STEP)

    def _emit(self, current: float, total: float, step: str | None) -> None:
        # Built directly (not ctx.set_progress) so that reporting what already happened is
        # never itself interrupted by a cancellation.
        _report(self.runtime, current, total, step)

    # -- rollback ----------------------------------------------------------------------------

    def _rollback(
        self, ran: list[tuple[BaseStep[Any], StepResult[Any] | None]], exc: BaseException
    ) -> None:
        runtime = self.runtime
        context = self.context
        self.rollback_errors = []
        context._orchestrator = None  # progress during rollback is the step's own only
        context._rolling_back = True
        try:
            # a cancel must not abort the undoing of what ran: the run is cancelled after it
            with runtime.hold_cancel():
                for step, result in reversed(ran):
                    context.current_step = step
                    position = self.steps.index(step)
                    try:
                        step.rollback(context, result)
                    except Exception as err:
                        self.rollback_errors.append((step.name, err))
                        detail = f"{type(err).__name__}: {err}"
                        context.errors.append(f"rollback of step {step.name!r} failed: {detail}")
                        runtime.step_event(
                            step.name, "rollback_failed", position=position, detail=detail
                        )
                        runtime.logger.error(
                            "rollback of step %r failed: %s", step.name, detail, exc_info=err
                        )
                        _add_note(exc, f"rollback of step {step.name!r} failed: {detail}")
                    else:
                        runtime.step_event(step.name, "rolled_back", position=position)
        finally:
            context._rolling_back = False
            context._orchestrator = self


def _report(runtime: RuntimeContext, current: float, total: float, step: str | None) -> None:
    """A progress event built directly: reporting a rollback is no cancellation point."""
    if runtime.sinks:
        if total > 0:
            current = min(max(current, 0), total)
        runtime.emit(runtime.make_event(ProgressEvent, current, total, step))


def _stamped(step: BaseStep[Any], out: Any, duration: float) -> StepResult[Any]:
    """The step's result with its name and duration (bare data wrapped; a context step's
    missing ``data`` / ``rollback_data`` are ``{}``, as the reference's results have)."""
    if isinstance(out, StepResult):
        data, rollback_data = out.data, out.rollback_data
        if (data is None or rollback_data is None) and _is_context_step(type(step)):
            data = {} if data is None else data
            rollback_data = {} if rollback_data is None else rollback_data
        return StepResult(
            data,
            rollback_data,
            out.skipped,
            step.name,
            duration,
            out.success,
            out.error,
            out.exception,
        )
    return StepResult(out, step=step.name, duration=duration)


_CONTEXT_STEP: dict[type, bool] = {}


def _is_context_step(cls: type) -> bool:
    """True for a step class declared on a context (``BaseStep[UploadContext]``): the
    generic argument of its BaseStep base is a StepContext subclass."""
    known = _CONTEXT_STEP.get(cls)
    if known is None:
        known = False
        for klass in cls.__mro__:
            for base in klass.__dict__.get("__orig_bases__", ()):
                origin = typing.get_origin(base)
                if isinstance(origin, type) and issubclass(origin, BaseStep):
                    args = typing.get_args(base)
                    known = (
                        bool(args)
                        and isinstance(args[0], type)
                        and (issubclass(args[0], StepContext))
                    )
                    break
            else:
                continue
            break
        _CONTEXT_STEP[cls] = known
    return known


F = TypeVar("F", bound=Callable[..., Any])


def default_steps(setup_steps: F) -> F:
    """Mark a category base's ``setup_steps`` as offered defaults.

    The base stays an ``execute()`` base: its subclasses use the steps only when they define
    ``setup_steps`` themselves (usually ``super().setup_steps(registry)`` followed by
    ``insert_before`` / ``insert_after`` / ``remove``); a subclass defining ``execute`` ignores
    them, and one defining neither is rejected as having nothing to run.
    """
    setup_steps._synapse_default_steps = True  # type: ignore[attr-defined]
    return setup_steps


def _add_note(exc: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # the attribute add_note() maintains on 3.11+
        notes = getattr(exc, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
            try:
                exc.__notes__ = notes  # type: ignore[attr-defined]
            except AttributeError:
                return
        notes.append(note)


# The reference synapse-sdk's names we do not have (BaseStepContext, LoggingStep, ...) explain
# themselves; its submodule paths (steps.base, .registry, ...) are thin modules beside this one.
__getattr__ = module_getattr(__name__, lambda: __all__)
