"""The ``@action`` decorator: marks a function as an action and keeps it callable.

The decorator only attaches metadata (``_is_action``, ``_action_name``, ...); the signature
and models are validated when the function is turned into an :class:`ActionSpec`
(:func:`synapse_sdk.plugins.spec.as_spec`), which is what runners and discovery do.

The reference synapse-sdk's plugins import ``BaseAction`` (and ``NoResult``,
``validate_result``) from this module path, so they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._compat import module_getattr
from .base import BaseAction, NoResult

if TYPE_CHECKING:
    import logging

    from pydantic import BaseModel

    from .enums import PluginCategory

__all__ = ["BaseAction", "NoResult", "action", "validate_result"]

F = TypeVar("F", bound=Callable[..., Any])


@overload
def action(name: F) -> F: ...


@overload
def action(
    name: str | None = None,
    description: str = "",
    params: type[BaseModel] | None = None,
    result: type[BaseModel] | None = None,
    category: PluginCategory | None = None,
) -> Callable[[F], F]: ...


def action(
    name: Any = None,
    description: str = "",
    params: type[BaseModel] | None = None,
    result: type[BaseModel] | None = None,
    category: PluginCategory | None = None,
) -> Any:
    """Mark ``fn(params, ctx)`` as an action.

    ``name`` defaults to the function name and ``description`` to the first line of its
    docstring. ``params`` / ``result`` are pydantic models for input and (warning-only) result
    validation; without ``params`` the type annotation of the first argument is used when it
    is a pydantic model, else params are passed as a plain dict. The function is returned
    unchanged apart from the ``_action_*`` attributes, so it stays directly callable.
    Usable bare (``@action``) or called (``@action(name='convert')``).
    """
    if callable(name) and not isinstance(name, str):
        return action()(name)

    def decorate(fn: F) -> F:
        doc = (fn.__doc__ or "").strip().splitlines()
        fn._is_action = True  # type: ignore[attr-defined]
        fn._action_name = name or fn.__name__  # type: ignore[attr-defined]
        fn._action_description = description or (doc[0] if doc else "")  # type: ignore[attr-defined]
        fn._action_params = params  # type: ignore[attr-defined]
        fn._action_result = result  # type: ignore[attr-defined]
        fn._action_category = category  # type: ignore[attr-defined]
        return fn

    return decorate


def validate_result(result: Any, result_model: Any, logger: logging.Logger | None = None) -> Any:
    """Check ``result`` against ``result_model`` and return it unchanged (warning only).

    A mismatch is logged as a warning on ``logger`` (default ``synapse_sdk.actions``); with
    ``NoResult`` (or None) nothing is checked. Runners do this for every run already; this is
    for code that calls an action by hand.
    """
    if result_model is None or result_model is NoResult or isinstance(result, result_model):
        return result
    data = result.model_dump() if hasattr(result, "model_dump") else result
    try:
        result_model.model_validate(data)
    except Exception as exc:  # pydantic's ValidationError, or a model's own validator error
        import logging

        (logger or logging.getLogger("synapse_sdk.actions")).warning(
            "Result does not match %s: %s; it is returned unchanged",
            result_model.__name__,
            exc,
        )
    return result


__getattr__ = module_getattr(__name__, lambda: __all__)
