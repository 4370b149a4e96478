"""The ``synapse`` command line: run, list, sync, describe and scaffold plugins.

``main(argv=None) -> int`` is the console script. Each subcommand lives in its own module
listed in :data:`COMMANDS`; a module exposes ``register(subparsers)`` which adds its parser
(``subparsers.add_parser(...)``) and sets ``handler=<function(args) -> int>`` with
``parser.set_defaults``. To add a command (e.g. ``synapse backend``), write
``synapse_sdk/cli/<name>.py`` with ``register`` and add its module name to :data:`COMMANDS`.
Keep imports in command modules lazy (inside the handler): every ``synapse`` invocation
imports every command module to build the parser, and start-up time is a feature.

Exit codes: 0 success, 1 the action failed, 2 usage / params / config errors. User errors
(any :class:`~synapse_sdk.plugins.errors.PluginError`) print a short message and hint without a
traceback; ``--debug`` shows it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import shlex
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    format_result,
    print_error,
    report_error,
    style,
    use_color,
)

__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_common_options",
    "format_result",
    "main",
    "print_error",
    "report_error",
    "style",
    "use_color",
]

# Modules (relative to this package) whose `register(subparsers)` adds a subcommand, in help order.
COMMANDS: list[str] = [".run", ".actions", ".schema", ".sync", ".new", ".backend"]


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand accepts (``--debug``); added to each one by :func:`build_parser`."""
    if not any("--debug" in action.option_strings for action in parser._actions):
        parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of every (sub)subcommand below ``parser``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _leaf_parsers(sub) or [sub]
    return found


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error format, and "did you mean" for a misspelled command or
    choice (``synapse runn`` -> ``run``). Subcommand parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        from ..plugins.errors import did_you_mean

        hint = None
        found = re.search(r"invalid choice: '?([^'\s]+)'?", message)
        if found:
            word = found.group(1)
            choices = [
                str(choice)
                for action in self._actions
                if action.choices is not None and word not in action.choices
                for choice in action.choices
            ]
            guess = did_you_mean(word, choices)
            hint = f"did you mean {guess!r}?" if guess else None
        self.print_usage(sys.stderr)
        hint = hint or f"`{self.prog} --help` lists the options"
        print_error(f"{self.prog}: {message}", hint=hint)
        self.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The ``synapse`` argument parser with every registered subcommand."""
    parser = _Parser(
        prog="synapse",
        description="Run, inspect and scaffold synapse-sdk plugins.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name, __name__)
        except ModuleNotFoundError as exc:
            # a command module that is not there (yet) must not break the others
            if exc.name == __name__ + name:
                continue
            raise
        module.register(subparsers)
    for leaf in _leaf_parsers(parser):
        add_common_options(leaf)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``synapse`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 for --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.version:
        from importlib.metadata import version

        print(f"synapse-sdk {version('synapse-sdk')}")
        return EXIT_OK
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    debug = bool(getattr(args, "debug", False))
    try:
        try:
            return int(handler(args))
        finally:
            sys.stdout.flush()  # a reader that left shows here, not at exit
    except BrokenPipeError:
        # `synapse ... | head`: the reader has what it wanted; stop quietly, like other tools
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print_error("interrupted", debug=debug)
        return 130
    except Exception as exc:
        _point_at_a_command(exc, args)
        return report_error(exc, debug=debug)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit does not complain of
    the closed pipe a second time."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _point_at_a_command(exc: BaseException, args: argparse.Namespace) -> None:
    """Give an error about the plugin's actions or params a hint naming the command to run."""
    from ..plugins.errors import ActionNotFoundError, ValidationError

    plugin = getattr(args, "plugin", None)
    action = getattr(args, "action", None)
    if not isinstance(plugin, str):
        return
    if isinstance(exc, ActionNotFoundError) and not (exc.hint or "").startswith("did you mean"):
        # the message already lists the names; the command describes each one
        exc.hint = f"`synapse actions {shlex.quote(plugin)}` describes each action"
    elif (
        isinstance(exc, ValidationError)
        and exc.errors
        and isinstance(action, str)
        and exc.action == action
    ):
        command = f"synapse run {shlex.quote(plugin)} {shlex.quote(action)} --help"
        if all(err.get("type") == "extra_forbidden" for err in exc.errors):
            # the API's hint names reject_unknown=False; here the flag is --ignore-unknown
            exc.hint = f"fix the name (`{command}` lists the params), or pass --ignore-unknown"
        elif exc.hint is None:
            exc.hint = f"`{command}` lists the params with their types and defaults"
