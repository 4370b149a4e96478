"""Plain entrypoints: run what the reference's scaffolds point config.yaml at.

The reference product's ``synapse plugin create`` writes, for several categories, an
entrypoint that is not an action of its own API, and cannot run it ("'function' object has
no attribute 'dispatch'"). Two shapes, both run here:

* a plain function taking ``**kwargs``, ``def run(**kwargs)`` (category ``custom``): the
  params (an object) are its keyword arguments and its return value is the result;
* a plain class whose constructor takes ``**kwargs`` and which has a method named after the
  action, ``Validator(**options).validate(data)`` (``data_validation``, ``pre_annotation``,
  ``post_annotation``): the ``data`` param goes to the method, every other to the constructor.

Anything else (a helper ``def f(a, b)``, a class without that method) is not an action, and
discovery says so.

Neither gets a context: such code cannot report progress or log through the run (it can
still use the stdlib ``logging``). Write an ``@action`` or a ``BaseAction`` to get one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from .errors import ActionDefinitionError
from .spec import ActionSpec, first_line

__all__ = ["plain_spec"]


def plain_spec(obj: Any, action: str, entrypoint: str) -> ActionSpec | None:
    """The spec that runs a plain function or class ``obj`` as ``action``; None for anything
    else (the caller then reports it as not an action)."""
    if isinstance(obj, type):
        method = getattr(obj, action, None)
        init = getattr(obj, "__init__", object.__init__)  # the inherited one too
        if not callable(method) or not _takes_keywords(init):
            return None
        return ActionSpec(
            name=action,
            target=_class_runner(obj, action),
            kind="plain",
            description=first_line(obj.__doc__),
            entrypoint=entrypoint,
        )
    if inspect.isfunction(obj) and _takes_keywords(obj):
        return ActionSpec(
            name=action,
            target=_function_runner(obj),
            kind="plain",
            description=first_line(obj.__doc__),
            entrypoint=entrypoint,
        )
    return None


def _takes_keywords(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` takes ``**kwargs`` (or is ``object.__init__``: no options at all)."""
    if fn is object.__init__:
        return True
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _function_runner(fn: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    @functools.wraps(fn)
    def run(params: dict[str, Any], ctx: Any) -> Any:
        _check_keywords(fn, params, fn.__qualname__)
        return fn(**params)

    return run


def _class_runner(cls: type, method: str) -> Callable[[Any, Any], Any]:
    def run(params: dict[str, Any], ctx: Any) -> Any:
        options = dict(params)
        data = options.pop("data", None)
        _check_keywords(cls, options, f"{cls.__qualname__}()")
        return getattr(cls(**options), method)(data)

    run.__wrapped__ = cls  # type: ignore[attr-defined]  # error locations name the class
    run.__qualname__ = f"{cls.__qualname__}.{method}"
    return run


def _check_keywords(fn: Callable[..., Any], params: dict[str, Any], what: str) -> None:
    """A param the function cannot take is an ActionDefinitionError naming it, not a TypeError
    from deep inside the call."""
    try:
        inspect.signature(fn).bind(**params)
    except TypeError as exc:
        raise ActionDefinitionError(
            f"{what} cannot take the params {sorted(params)}: {exc}",
            hint="pass only the keyword arguments it accepts, or write the entrypoint as an "
            "@action with a params model",
        ) from exc
    except ValueError:  # no signature to check (a builtin): let the call decide
        return
