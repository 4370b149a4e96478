"""What every command prints and returns: exit codes, colour, errors and results."""

from __future__ import annotations

import os
import sys
import traceback
from typing import IO, Any

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "format_result",
    "print_error",
    "report_error",
    "style",
    "use_color",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def report_error(exc: BaseException, *, debug: bool = False) -> int:
    """Print ``exc`` for a user and return the exit code it maps to."""
    from ..plugins.errors import ExecutionError, PluginError

    if isinstance(exc, PluginError):
        print_error(str(exc), exc=exc if debug else None)
        return EXIT_FAILED if isinstance(exc, ExecutionError) else EXIT_USAGE
    if isinstance(exc, ImportError) and "pip install" in str(exc):
        print_error(str(exc), exc=exc if debug else None)  # a missing extra: the hint is in it
        return EXIT_USAGE
    if isinstance(exc, (OSError, ValueError)) and not debug:
        print_error(f"{type(exc).__name__}: {exc}", hint="run with --debug for the traceback")
        return EXIT_USAGE
    # a bug in synapse-sdk itself: always show where
    print_error(f"internal error: {type(exc).__name__}: {exc}", exc=exc)
    return EXIT_FAILED


def use_color(stream: IO[str]) -> bool:
    """Colour only on a terminal and never with ``NO_COLOR`` or ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:
        return False


def style(text: str, code: str, stream: IO[str]) -> str:
    """``text`` wrapped in the ANSI ``code`` when ``stream`` takes colour."""
    return f"\033[{code}m{text}\033[0m" if use_color(stream) else text


def print_error(
    message: str,
    *,
    hint: str | None = None,
    exc: BaseException | None = None,
    debug: bool = False,
) -> None:
    """``error: message`` (and ``hint:``) on stderr; the traceback of ``exc`` when given."""
    err = sys.stderr
    if exc is not None:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=err)
    text = message if not hint else f"{message}\n  hint: {hint}"
    print(f"{style('error:', '1;31', err)} {text}", file=err)


def format_result(value: Any) -> str:
    """A result as printed: a string as is, anything else as indented JSON."""
    import json

    from ..plugins.events import jsonable

    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False, default=str)
