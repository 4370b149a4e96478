"""``synapse actions PLUGIN``: a table of the plugin's actions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._output import EXIT_FAILED, EXIT_OK, style

__all__ = ["register"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "actions",
        help="list the actions of a plugin",
        description="List the actions of PLUGIN: name, kind (function/class), method, "
        "input -> output type and description. Imports each action's code; an action that "
        "cannot be loaded is listed with its error (exit 1).",
    )
    parser.add_argument("plugin", metavar="PLUGIN", help="plugin directory, config.yaml or module")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(handler=actions_command)
    return parser


def action_rows(plugin: str) -> list[dict[str, str]]:
    """One row per action in ``plugin``'s config.yaml, in config order (imports each action's
    code). An action whose code cannot be loaded gets ``status: 'error'`` and the error's
    text, and never hides the others."""
    from ..plugins.errors import PluginError
    from ..plugins.loading import load_plugin

    discovery = load_plugin(plugin)
    rows = []
    for name in discovery.list_actions():
        try:
            spec = discovery.get_action_spec(name)
        except PluginError as exc:
            rows.append(
                {
                    "name": name,
                    "status": "error",
                    "kind": "",
                    "method": discovery.get_action_method(name).value,
                    "input_type": "",
                    "output_type": "",
                    "description": "",
                    "entrypoint": discovery.get_action_entrypoint(name),
                    "error": str(exc),
                }
            )
            continue
        rows.append(
            {
                "name": name,
                "status": "ok",
                "kind": spec.kind,
                "method": spec.method or "task",
                "input_type": spec.input_type.name if spec.input_type else "",
                "output_type": spec.output_type.name if spec.output_type else "",
                "description": spec.description,
                "entrypoint": spec.entrypoint or "",
                "error": "",
            }
        )
    return rows


def render_table(rows: list[dict[str, str]], *, stream: Any = None) -> str:
    """The rows as an aligned text table (bold header on a colour terminal); an action that
    failed to load shows ``error`` as its kind and its error below the table."""
    stream = sys.stdout if stream is None else stream
    header = ["NAME", "KIND", "METHOD", "INPUT -> OUTPUT", "DESCRIPTION"]
    body = [
        [
            r["name"],
            r["kind"] if r["status"] == "ok" else "error",
            r["method"],
            f"{r['input_type'] or '-'} -> {r['output_type'] or '-'}",
            r["description"] if r["status"] == "ok" else "cannot be loaded (see below)",
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header) - 1)]
    lines = []
    for i, line in enumerate([header, *body]):
        text = (
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False))
            + "  "
            + line[-1]
        )
        lines.append(style(text.rstrip(), "1", stream) if i == 0 else text.rstrip())
    for row in rows:
        if row["status"] != "ok":
            lines += ["", f"{style('error:', '1;31', stream)} {row['name']}: {row['error']}"]
    return "\n".join(lines)


def actions_command(args: argparse.Namespace) -> int:
    rows = action_rows(args.plugin)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print("no actions", file=sys.stderr)
    else:
        print(render_table(rows))
    # every action is listed; the exit code says whether all of them load
    return EXIT_OK if all(row["status"] == "ok" for row in rows) else EXIT_FAILED
