"""``synapse run PLUGIN ACTION``: run an action and print its result once."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from ._output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, dump_json, format_result, print_error

__all__ = ["parse_params", "register"]

MODES = ("local",)  # executors add theirs to run_plugin_record; `--mode` passes through


class _ActionHelp(argparse.Action):
    """``-h/--help``: the command's help and, once PLUGIN and ACTION are given, the action's
    params (``synapse run PLUGIN ACTION --help``)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest=argparse.SUPPRESS, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None
    ) -> None:
        parser.print_help()
        plugin, action = getattr(namespace, "plugin", None), getattr(namespace, "action", None)
        if not (isinstance(plugin, str) and isinstance(action, str)):
            print("\nsynapse run PLUGIN ACTION --help lists the params of ACTION.")
            parser.exit()
        from ..plugins.errors import PluginError
        from ..plugins.loading import resolve_action
        from ._action_help import params_help

        try:
            text = params_help(resolve_action(plugin, action))
        except PluginError as exc:
            print_error(str(exc))
            parser.exit(EXIT_USAGE)
        print("\n" + text)
        parser.exit()


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run an action of a plugin",
        description="Run ACTION of PLUGIN (a plugin directory, its config.yaml or a module "
        "name) and print the result. Progress goes to stderr; the result to stdout. Ctrl-C, "
        "SIGTERM and SIGHUP cancel the run (its steps roll back); a second one stops it at "
        "once.",
        add_help=False,
    )
    parser.add_argument(
        "-h", "--help", action=_ActionHelp, help="show this help (and, after PLUGIN ACTION, "
        "the action's params) and exit",
    )  # fmt: skip
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
        "--ignore-unknown",
        action="store_true",
        help="ignore params the action does not declare (default: refuse them)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the whole run record (status, result, error, events) as JSON; whatever "
        "the action prints goes to stderr",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="show no progress bars or progress lines"
    )
    parser.add_argument(
        "--save-test",
        nargs="?",
        const="",
        default=None,
        metavar="NAME",
        help="keep this run as a pytest test (and its snapshot) in the plugin's tests/ folder, "
        "replaying it on the testing kit's fake backend seeded with what the run read "
        "(extra testing; local mode)",
    )
    parser.add_argument(
        "--overwrite-test", action="store_true", help="with --save-test: replace a saved test"
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
        "when that directory exists or the action is a category action (train, upload, ...) "
        "that reads or stores data through it",
    )
    backend.add_argument(
        "--no-backend", action="store_true", help="run without a backend client (ctx.client=None)"
    )
    parser.set_defaults(handler=run_command)
    return parser


def parse_params(raw: str | None, pairs: list[str]) -> dict[str, Any]:
    """Merge ``--params`` (JSON or ``@file.json``) and ``-p key=value`` pairs into one dict.

    Strict JSON: ``NaN`` and ``Infinity`` are refused, and so are params nested deeper than
    :data:`~synapse_sdk.plugins.spec.MAX_PARAMS_DEPTH` levels (dotted keys included).
    """
    from ..plugins.errors import ValidationError
    from ..plugins.spec import check_params_depth, parse_params_json

    params: dict[str, Any] = {}
    if raw:
        source = "--params"
        text: str | bytes = raw
        if raw.startswith("@"):
            source = f"params file {raw[1:]}"
            try:
                text = Path(raw[1:]).read_bytes()
            except OSError as exc:
                raise ValidationError(
                    f"cannot read params file {raw[1:]!r}: {exc.strerror or exc}",
                    hint="--params @path/to/params.json reads a JSON object from a file",
                ) from exc
        loaded = parse_params_json(text, where=source, strict=True)
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
        _set_dotted(params, key, _parse_value(value, key), pair)
    check_params_depth(params, where="params (--params and -p together)")
    return params


def _parse_value(text: str, key: str) -> Any:
    """A ``-p`` value: JSON when it parses as strict JSON, else the text itself (a bare word
    is a string: ``-p name=bob``, ``-p lr=NaN``)."""
    from ..plugins.errors import ValidationError
    from ..plugins.spec import parse_params_json

    try:
        return parse_params_json(text, where=f"-p {key}", strict=True)
    except ValidationError as exc:
        if exc.errors and exc.errors[0].get("type") == "json_too_deep":
            raise
        return text


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
    from ..plugins.context import RuntimeContext
    from ..plugins.loading import resolve
    from ..plugins.runner import run_plugin_record
    from ._console import RunView, stdout_to_stderr
    from ._signals import CancelOnSignal

    params = parse_params(args.params, args.param)
    resolved = resolve(args.plugin, args.action)  # load errors surface before any output
    # The CLI makes the run's context itself, so that a signal can cancel it; it carries
    # config.yaml's env, as a context the front door makes does (a worker reads that env
    # from the plugin itself).
    client = _local_backend(args, resolved.spec)
    if args.save_test is not None:
        if args.mode != "local":
            print_error(
                f"--save-test records what the run reads from the backend: it needs --mode "
                f"local, not {args.mode}"
            )
            return EXIT_USAGE
        if client is not None:
            from ..clients._reads import ReadRecorder

            client = ReadRecorder(client)
    ctx = RuntimeContext(env=resolved.env, client=client)
    view = RunView(sys.stderr, progress=not args.no_progress, error_line=args.json)
    with CancelOnSignal(ctx) as signals:
        try:
            with stdout_to_stderr() if args.json else contextlib.nullcontext():
                run = run_plugin_record(
                    args.plugin,
                    args.action,
                    params,
                    mode=args.mode,
                    ctx=ctx,
                    sinks=[view],
                    reject_unknown=not args.ignore_unknown,
                )
        except KeyboardInterrupt:
            if signals.signum is None:
                raise
            print_error(f"interrupted ({signals.name}): stopped at once")
            return signals.exit_code
    if args.json:
        print(dump_json(run.to_dict(), what="the run record"))
    elif run.ok and run.result is not None:
        print(format_result(run.result))
    if run.ok and args.save_test is not None:
        return _save_test(run, args, client)
    if run.ok:
        return EXIT_OK
    if signals.signum is not None and run.status.value == "cancelled":
        if not args.json:
            print_error(f"{run.error or 'the run was cancelled'} ({signals.name})")
        return signals.exit_code
    if not args.json:
        _print_failure(run, args)
    return EXIT_FAILED


def _save_test(run: Any, args: argparse.Namespace, reads: Any) -> int:
    """Keep the run as a test (``--save-test``); say what was written on stderr."""
    try:
        from synapse_testing import save_as_test
    except ImportError as exc:
        raise ImportError(
            "--save-test needs the testing kit: pip install 'synapse-sdk[testing]'"
        ) from exc
    from synapse_testing._save import SavedTestExistsError

    try:
        name, overwrite = args.save_test or None, args.overwrite_test
        saved = save_as_test(run, args.plugin, reads=reads, name=name, overwrite=overwrite)
    except SavedTestExistsError as exc:
        exc.hint = "add --overwrite-test to replace it, or --save-test NAME to keep another one"
        raise
    print(saved, file=sys.stderr)
    return EXIT_OK


def _print_failure(run: Any, args: argparse.Namespace) -> None:
    from ..plugins.errors import BackendNotConfiguredError

    error = run.error
    message = str(error) if error is not None else f"run {run.status}"
    if args.debug and run.traceback:
        sys.stderr.write(run.traceback)
        print_error(message)
        return
    # the cause's own hint (carried in the message) says more than where the traceback is
    hint = None if "\n  hint: " in message else "run with --debug for the traceback"
    cause = getattr(error, "__cause__", None)
    if isinstance(cause, BackendNotConfiguredError):
        # its own hint speaks to Python callers first; here the fix is a flag
        message = f"Action {run.action!r} failed: {type(cause).__name__}: {cause.message}"
        hint = "run it again with --backend: the run then uses the LocalBackend at $SYNAPSE_HOME "
        hint += "(default ./.synapse), created on first use"
    print_error(message, hint=hint)


def _local_backend(args: argparse.Namespace, spec: Any) -> Any:
    """The LocalBackend to record the run in, or None.

    Used with ``--backend``, when the backend's home already exists (``$SYNAPSE_HOME`` or
    ``./.synapse``), or for a category action (it reads and stores data through a backend):
    a plain function action in a fresh directory creates nothing and stays fast. A new
    backend is announced with where it is.
    """
    if args.no_backend:
        return None
    home = os.environ.get("SYNAPSE_HOME") or ".synapse"
    if not (args.backend or os.path.isdir(home) or _uses_backend(spec)):
        return None
    from ..clients.local import LocalBackend

    fresh = not os.path.isfile(os.path.join(home, "synapse.db"))
    backend = LocalBackend()
    if fresh:
        print(
            f"note: storing runs and data in a new LocalBackend at {backend.root} "
            "(set SYNAPSE_HOME to put it elsewhere; --no-backend runs without one)",
            file=sys.stderr,
        )
    return backend


def _uses_backend(spec: Any) -> bool:
    """True for a category action (BaseTrainAction, BaseUploadAction, ...): its helpers
    (datasets, models, uploads) go through the run's backend."""
    common = sys.modules.get("synapse_sdk.plugins.actions._common")
    target = spec.target
    return (
        common is not None
        and isinstance(target, type)
        and issubclass(target, common.CategoryAction)
    )
