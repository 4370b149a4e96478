"""``synapse sync PLUGIN [--check]``: write what the code says into config.yaml."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._output import EXIT_FAILED, EXIT_OK, style

__all__ = ["register"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sync",
        help="sync config.yaml with the actions found in the code",
        description="Write each action's entrypoint, description, input_type and output_type "
        "found in the source (read with ast, never imported) into config.yaml, keeping its "
        "comments and formatting. With --check nothing is written and drift exits 1.",
    )
    parser.add_argument("plugin", metavar="PLUGIN", help="plugin directory or its config.yaml")
    parser.add_argument(
        "--check", action="store_true", help="only report drift; exit 1 when there is some"
    )
    parser.set_defaults(handler=sync_command)
    return parser


def sync_command(args: argparse.Namespace) -> int:
    from ..plugins.sync import sync_config

    report = sync_config(args.plugin, check=args.check)
    out = sys.stdout
    for name in report.unmatched:
        print(
            f"{style('note:', '33', sys.stderr)} action {name!r}: its entrypoint was not found "
            "in the source; left as is",
            file=sys.stderr,
        )
    if not report.changes:
        print(f"{report.path}: in sync")
        return EXIT_OK
    if args.check:
        print(f"{report.path}: out of sync with the code ({len(report.changes)} change(s)):")
        for change in report.changes:
            print(f"  {change}", file=out)
        print("run `synapse sync` (without --check) to update it", file=sys.stderr)
        return EXIT_FAILED
    print(f"{report.path}: updated ({len(report.changes)} change(s)):")
    for change in report.changes:
        print(f"  {change}", file=out)
    return EXIT_OK
