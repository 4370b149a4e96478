"""``synapse backend storages|collections``: list, and set up, what upload plugins read from
(a storage: a folder) and fill (a data collection: a dataset with file specifications).

``storages add NAME [PATH]`` registers PATH (or makes a folder inside the backend);
``collections add NAME --spec image:required:.jpg,.png --spec label:.json`` creates a data
collection. Both print the new record's id, to pass as ``storage`` / ``data_collection``.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ._output import EXIT_OK, table, timestamp

__all__ = ["parse_spec", "register"]


def register(commands: Any) -> None:
    """Add ``storages`` and ``collections`` to ``synapse backend``'s sub-commands."""
    storages = _leaf(commands, "storages", "list storages (folders uploads read from)")
    storages.set_defaults(handler=_storages)
    add = storages.add_subparsers(dest="storages_command", metavar="COMMAND")
    new = _leaf(add, "add", "register a folder as a storage (without PATH: a new folder "
                "inside the backend)")  # fmt: skip
    new.add_argument("name", metavar="NAME")
    new.add_argument("path", metavar="PATH", nargs="?", help="an existing folder")
    new.add_argument("--description", default="")
    new.set_defaults(handler=_add_storage)

    collections = _leaf(commands, "collections", "list data collections and their files")
    collections.set_defaults(handler=_collections)
    add = collections.add_subparsers(dest="collections_command", metavar="COMMAND")
    new = _leaf(add, "add", "create a data collection (a dataset with file specifications)")
    new.add_argument("name", metavar="NAME")
    new.add_argument(
        "--spec",
        action="append",
        required=True,
        metavar="NAME[:TYPE][:required][:primary][:.EXT,.EXT]",
        help="a file specification, e.g. image:required:.jpg,.png or label:text:.json "
        "(repeat for each; the first is primary unless one says so)",
    )
    new.add_argument("--description", default="")
    new.set_defaults(handler=_add_collection)


def _leaf(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help)
    sub.add_argument(
        "--home", metavar="DIR", help="LocalBackend root (default: $SYNAPSE_HOME or ./.synapse)"
    )
    sub.add_argument("--json", action="store_true", help="print JSON records")
    return sub


def parse_spec(text: str) -> dict[str, Any]:
    """``image:required:.jpg,.png`` -> a file specification mapping (ValueError if empty)."""
    name, *parts = text.split(":")
    if not name:
        raise ValueError(f"--spec {text!r}: start with the specification's name")
    spec: dict[str, Any] = {"name": name, "file_type": name}
    for part in parts:
        if not part:
            continue
        if part in ("required", "primary"):
            spec[f"is_{part}"] = True
        elif part == "optional":
            spec["is_required"] = False
        elif part.startswith(".") or "," in part:
            spec["extensions"] = [e for e in part.split(",") if e]
        else:
            spec["file_type"] = part
    return spec


def _backend(args: argparse.Namespace) -> Any:
    from ..clients.local import LocalBackend, default_home

    return LocalBackend(args.home or os.fspath(default_home()))


def _show(args: argparse.Namespace, records: Any) -> bool:
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
    return bool(args.json)


def _storages(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        records = backend.list_storages()
    if not _show(args, records):
        rows = [(s["id"], s["name"], s["provider"], s["path"]) for s in records]
        table(("ID", "NAME", "KIND", "PATH"), rows)
    return EXIT_OK


def _add_storage(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        record = backend.create_storage(args.name, path=args.path, description=args.description)
    if not _show(args, record):
        print(f"storage {record['id']} {record['name']!r}: {record['path']}")
    return EXIT_OK


def _specs(specs: list[dict[str, Any]]) -> str:
    return ", ".join(
        s["name"] + ("*" if s["is_required"] else "")
        + (f" ({' '.join(s['extensions'])})" if s["extensions"] else "")
        for s in specs
    )  # fmt: skip


def _collections(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        records = backend.list_data_collections()
    if not _show(args, records):
        rows = [(c["id"], c["name"], c["data_unit_count"], _specs(c["file_specifications"]),
                 timestamp(c["created_at"])) for c in records]  # fmt: skip
        table(("ID", "NAME", "DATA UNITS", "FILES (* required)", "CREATED"), rows)
    return EXIT_OK


def _add_collection(args: argparse.Namespace) -> int:
    specs = [parse_spec(text) for text in args.spec]
    with _backend(args) as backend:
        record = backend.create_data_collection(
            args.name, file_specifications=specs, description=args.description
        )
    if not _show(args, record):
        print(f"data collection {record['id']} {record['name']!r}: "
              f"{_specs(record['file_specifications'])}")  # fmt: skip
    return EXIT_OK
