"""What every command prints and returns: exit codes, colour, errors and results."""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from collections.abc import Sequence
from typing import IO, Any

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "dump_json",
    "format_result",
    "print_error",
    "report_error",
    "style",
    "terminal",
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
    return not os.environ.get("NO_COLOR") and terminal(stream)


def terminal(stream: IO[str]) -> bool:
    """True on an interactive terminal that can draw (not ``TERM=dumb``): live bars go
    there. Colour is another question (:func:`use_color`): ``NO_COLOR`` removes colour only."""
    from ..plugins.sinks import is_terminal  # the console sink's own test, loaded on use

    return is_terminal(stream)


def timestamp(ts: float) -> str:
    """A time as the backend listings show it (local time, to the second)."""
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print ``rows`` under ``headers`` as aligned columns (``(none)`` for no row)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


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
    from ..plugins.events import jsonable

    if isinstance(value, str):
        return value
    return dump_json(jsonable(value))


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def dump_json(value: Any, *, what: str = "the output") -> str:
    """``value`` (JSON-ready data) as strict, indented JSON.

    JSON has no NaN or infinite numbers: they are written as the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"`` (as pydantic's ``ser_json_inf_nan='strings'`` does),
    never as the bare words strict parsers refuse. Data nested too deeply or containing
    itself is an ExecutionError naming ``what``.
    """
    import json

    from ..plugins.errors import ExecutionError

    try:
        try:
            return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False, default=str)
        except ValueError as exc:
            if "Out of range float" not in str(exc):
                raise
            return json.dumps(
                _finite(value), indent=2, ensure_ascii=False, allow_nan=False, default=str
            )
    except (ValueError, RecursionError) as exc:
        reason = "it contains itself" if "ircular" in str(exc) else "it is nested too deeply"
        raise ExecutionError(
            f"cannot print {what} as JSON: {reason}",
            hint="return plain data (dicts, lists, numbers, strings) without cycles",
        ) from exc


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return _NON_FINITE.get(repr(value), value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
