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

    from .context import RuntimeContext
    from .enums import PluginCategory
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

    Override: ``execute`` (required). Final: ``__init__``, the helpers.
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "params_model" not in cls.__dict__:
            found = _params_model_from_generics(cls)
            if found is not None:
                cls.params_model = found

    @abstractmethod
    def execute(self) -> Any:
        """The action's work; return the result (a model, a dict, or None)."""

    def run(self) -> Any:
        """Run the action; what runners call. Returns ``execute()``'s result."""
        return self.execute()

    # -- helpers delegating to the context ---------------------------------------------------

    @property
    def logger(self) -> logging.Logger:
        return self.ctx.logger

    def log(
        self, event: str, data: Mapping[str, Any] | None = None, file: str | None = None
    ) -> None:
        """Log a structured event (see :meth:`RuntimeContext.log`)."""
        self.ctx.log(event, data, file)

    def set_progress(self, current: float, total: float, step: str | None = None) -> None:
        """Report progress (see :meth:`RuntimeContext.set_progress`)."""
        self.ctx.set_progress(current, total, step)

    def set_metrics(self, value: Mapping[str, Any], step: str | None = None) -> None:
        """Record metrics (see :meth:`RuntimeContext.set_metrics`)."""
        self.ctx.set_metrics(value, step)


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
