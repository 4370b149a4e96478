"""``synapse run PLUGIN ACTION``: run an action and print its result once."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ._output import EXIT_FAILED, EXIT_OK, format_result, print_error

__all__ = ["parse_params", "register"]

MODES = ("local",)  # executors add theirs to run_plugin_record; `--mode` passes through


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run an action of a plugin",
        description="Run ACTION of PLUGIN (a plugin directory, its config.yaml or a module "
        "name) and print the result. Progress goes to stderr; the result to stdout.",
    )
    parser.add_argument("plugin", metavar="PLUGIN", help="plugin directory, config.yaml or module")
    parser.add_argument("action", metavar="ACTION", help="action name")
    parser.add_argument(
        "--params",
        metavar="JSON",
        help="params as a JSON object, or @file.json to read them from a file",
    )
    parser.add_argument(
        "-p",
        dest="param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one param (repeatable); VALUE is parsed as JSON when it can be "
        "(-p epochs=3 is an int), dotted keys nest (-p optimizer.lr=0.1)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the whole run record (status, result, error, events) as JSON",
    )
    parser.add_argument(
        "--mode",
        default="local",
        help="where to run: local (default, in this process), task (warm worker pool), job "
        "(isolated process), serve (through an HTTP endpoint), ray-task / ray-job / ray-serve "
        "(extra ray), or config (the action's method in config.yaml)",
    )
    backend = parser.add_mutually_exclusive_group()
    backend.add_argument(
        "--backend",
        action="store_true",
        help="record the run in the LocalBackend ($SYNAPSE_HOME or ./.synapse); the default "
        "when that directory exists",
    )
    backend.add_argument(
        "--no-backend", action="store_true", help="run without a backend client (ctx.client=None)"
    )
    parser.set_defaults(handler=run_command)
    return parser


def parse_params(raw: str | None, pairs: list[str]) -> dict[str, Any]:
    """Merge ``--params`` (JSON or ``@file.json``) and ``-p key=value`` pairs into one dict."""
    from ..plugins.errors import ValidationError

    params: dict[str, Any] = {}
    if raw:
        source = "--params"
        text = raw
        if raw.startswith("@"):
            source = raw[1:]
            try:
                with open(raw[1:], encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                raise ValidationError(
                    f"cannot read params file {raw[1:]!r}: {exc.strerror or exc}",
                    hint="--params @path/to/params.json reads a JSON object from a file",
                ) from exc
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                hint="pass a JSON object such as '{\"epochs\": 3}'",
            ) from exc
        if not isinstance(loaded, dict):
            raise ValidationError(
                f"{source}: expected a JSON object, got {type(loaded).__name__}",
                hint="pass a JSON object such as '{\"epochs\": 3}'",
            )
        params = loaded
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(
                f"-p {pair!r}: expected KEY=VALUE",
                hint="for example: -p epochs=3 -p optimizer.lr=0.01",
            )
        _set_dotted(params, key, _parse_value(value), pair)
    return params


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a bare word is a string: -p name=bob


def _set_dotted(params: dict[str, Any], key: str, value: Any, pair: str) -> None:
    from ..plugins.errors import ValidationError

    parts = key.split(".")
    target = params
    for i, part in enumerate(parts[:-1]):
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ValidationError(
                f"-p {pair!r}: {'.'.join(parts[: i + 1])} is already set to {nxt!r}, not an object",
            )
        target = nxt
    target[parts[-1]] = value


def run_command(args: argparse.Namespace) -> int:
    from ..plugins.runner import run_plugin_record
    from ..plugins.sinks import ConsoleSink

    params = parse_params(args.params, args.param)
    # the front door resolves the action (load errors surface before any output), follows
    # config.yaml's method for --mode config, and records the run with the backend
    run = run_plugin_record(
        args.plugin,
        args.action,
        params,
        mode=args.mode,
        sinks=[ConsoleSink(sys.stderr)],
        client=_local_backend(args),
    )
    if args.json:
        print(json.dumps(run.to_dict(), indent=2, ensure_ascii=False, default=str))
        return EXIT_OK if run.ok else EXIT_FAILED
    if not run.ok:
        error = run.error
        message = str(error) if error is not None else f"run {run.status}"
        if args.debug and run.traceback:
            sys.stderr.write(run.traceback)
            print_error(message)
        else:
            print_error(message, hint="run with --debug for the traceback")
        return EXIT_FAILED
    if run.result is not None:
        print(format_result(run.result))
    return EXIT_OK


def _local_backend(args: argparse.Namespace) -> Any:
    """The LocalBackend to record the run in, or None.

    Used with ``--backend``, or when the backend's home already exists (``$SYNAPSE_HOME`` or
    ``./.synapse``): a plain ``synapse run`` in a fresh directory creates nothing and stays fast.
    """
    if args.no_backend:
        return None
    if not args.backend:
        home = os.environ.get("SYNAPSE_HOME") or ".synapse"
        if not os.path.isdir(home):
            return None
    from ..clients.local import LocalBackend

    return LocalBackend()
