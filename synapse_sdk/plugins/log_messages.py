"""User-facing messages: levels, message codes and their templates (the reference's form).

``ctx.log_message(text, level)`` takes a plain string. Plugins written for the reference
synapse-sdk also pass a *message code*, a member of a :class:`LogMessageCode` subclass that
carries its level, whose text is a template registered with :func:`register_log_messages`
(one string, or one per language)::

    class MyCode(LogMessageCode):
        TRAIN_STARTING = ("TRAIN_STARTING", LogLevel.INFO)
        TRAIN_DONE = ("TRAIN_DONE", LogLevel.SUCCESS)

    register_log_messages({
        MyCode.TRAIN_STARTING: {"en": "Training for {epochs} epochs", "ko": "{epochs} 에포크 학습"},
        MyCode.TRAIN_DONE: "Training is complete.",
    })

    ctx.log_message(MyCode.TRAIN_STARTING, epochs=3)

The run then gets a ``log`` event ``message`` whose data is ``{'message': <text>, 'key':
'TRAIN_STARTING'}`` at the code's level. The language is the call's ``language=``, else
``ctx.language``, else ``SYNAPSE_LANGUAGE`` in ``ctx.env``, else English.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from ._compat import module_getattr

__all__ = [
    "CommonLogMessageCode",
    "LogLevel",
    "LogMessageCode",
    "register_log_messages",
    "resolve_log_message",
]


class LogLevel(str, Enum):
    """Levels of user-facing messages; ``SUCCESS`` and ``DANGER`` are shown as such by the
    platform and map to INFO and ERROR for the standard ``logging`` module."""

    DEBUG = "debug"
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    DANGER = "danger"
    ERROR = "error"
    CRITICAL = "critical"

    def __str__(self) -> str:
        return self.value


class LogMessageCode(str, Enum):
    """Base of message-code enums: each member is ``NAME = ('VALUE', LogLevel.X)``.

    The member is the string ``'VALUE'`` (the message's ``key``); ``.level`` is its level.
    Subclass it (it has no members of its own).
    """

    _level: LogLevel

    def __new__(cls, value: str, level: LogLevel | str = LogLevel.INFO) -> LogMessageCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member._level = LogLevel(level)
        return member

    @property
    def level(self) -> LogLevel:
        return self._level

    def __str__(self) -> str:
        return str(self.value)


class CommonLogMessageCode(LogMessageCode):
    """Codes every plugin may use."""

    PLUGIN_RUN_COMPLETE = ("PLUGIN_RUN_COMPLETE", LogLevel.INFO)


# code value -> {language: template}. Filled by register_log_messages(), which plugins call
# when their log_messages module is imported (the reference's contract).
_TEMPLATES: dict[str, dict[str, str]] = {
    CommonLogMessageCode.PLUGIN_RUN_COMPLETE.value: {"en": "Plugin run is complete."},
}


def register_log_messages(templates: Mapping[LogMessageCode, str | Mapping[str, str]]) -> None:
    """Register the text of message codes: a template (English) or ``{language: template}``.

    Templates use ``str.format`` fields filled from ``log_message``'s keyword arguments. A
    later registration of the same code and language replaces the earlier one. A value of
    another type raises TypeError naming the code.
    """
    for code, template in templates.items():
        if isinstance(template, str):
            per_language: Mapping[str, str] = {"en": template}
        elif isinstance(template, Mapping) and all(isinstance(t, str) for t in template.values()):
            per_language = template
        else:
            raise TypeError(
                f"register_log_messages: the template of {code!s} must be a string or a "
                f"{{language: string}} dict, got {type(template).__name__}: {template!r}"
            )
        _TEMPLATES.setdefault(str(code.value), {}).update(per_language)


def resolve_log_message(
    code: LogMessageCode, language: str | None = None, **kwargs: Any
) -> tuple[str, LogLevel]:
    """The text of ``code`` in ``language`` (English, then any registered language, as
    fallbacks) formatted with ``kwargs``, and the code's level. An unregistered code reads as
    its own value."""
    by_language = _TEMPLATES.get(str(code.value), {})
    template = (
        by_language.get(language or "en")
        or by_language.get("en")
        or next(iter(by_language.values()), str(code.value))
    )
    return format_message(template, kwargs), code.level


def format_message(template: str, kwargs: Mapping[str, Any]) -> str:
    """``template.format(**kwargs)``; a template naming a field that was not passed keeps its
    braces instead of failing the action (a message must never kill a run)."""
    if not kwargs:
        return template
    try:
        return template.format(**kwargs)
    except (KeyError, IndexError, ValueError, AttributeError):
        try:
            return template.format_map(_Keep(kwargs))
        except (KeyError, IndexError, ValueError, AttributeError):
            return template


def level_from_context(context: Any, stacklevel: int) -> Any:
    """The level given as the deprecated ``context=`` of ``log_message``, with its warning."""
    import warnings

    warnings.warn(
        "log_message(context=...) is deprecated: pass the level, log_message(message, level)",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )
    return context


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


__getattr__ = module_getattr(__name__, lambda: __all__)
