"""``synapse schema PLUGIN ACTION``: the JSON Schema of an action's params and result."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._output import EXIT_OK

__all__ = ["register"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of an action's params and result",
        description='Print {"action", "params", "result"} where params and result are '
        "JSON Schemas (result is null when the result is not validated).",
    )
    parser.add_argument("plugin", metavar="PLUGIN", help="plugin directory, config.yaml or module")
    parser.add_argument("action", metavar="ACTION", help="action name")
    parser.set_defaults(handler=schema_command)
    return parser


def schema_command(args: argparse.Namespace) -> int:
    from ..plugins.loading import resolve_action

    spec = resolve_action(args.plugin, args.action)
    document = {
        "action": spec.name,
        "params": spec.params_schema(),
        "result": spec.result_schema(),
    }
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return EXIT_OK
