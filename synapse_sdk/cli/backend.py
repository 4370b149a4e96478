"""``synapse backend ...``: look into the LocalBackend (datasets, models, jobs, logs) and
import a folder as a dataset.

The backend is the LocalBackend at ``--home`` (default ``$SYNAPSE_HOME`` or ``./.synapse``).
Listing never creates it nor writes to it (a read-only backend can be listed);
``import-dataset`` and ``serve`` create it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ._output import EXIT_OK, table, timestamp

__all__ = ["register"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backend",
        help="list datasets, models, jobs and logs of the LocalBackend; import datasets",
        description="Inspect the LocalBackend ($SYNAPSE_HOME or ./.synapse) and import data.",
    )
    commands = parser.add_subparsers(dest="backend_command", metavar="COMMAND", required=True)

    def leaf(name: str, help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--home", metavar="DIR", help="LocalBackend root (default: $SYNAPSE_HOME or ./.synapse)"
        )
        sub.add_argument("--json", action="store_true", help="print JSON records")
        return sub

    leaf("datasets", "list datasets").set_defaults(handler=_datasets)
    models = leaf("models", "list models (and checkpoints)")
    models.add_argument("--name", help="only models with this name")
    models.set_defaults(handler=_models)
    jobs = leaf(
        "jobs",
        "list jobs (runs recorded in the backend), newest first; a job shown 'stale' was "
        "left running by a process that is gone (killed)",
    )
    jobs.add_argument(
        "--status",
        choices=("running", "stale", "succeeded", "failed", "cancelled"),
        help="only jobs with this status ('stale': running, but their process is gone)",
    )
    jobs.add_argument("--limit", type=int, default=20, help="at most N jobs (default 20)")
    jobs.add_argument(
        "--end-stale",
        action="store_true",
        help="first record every stale job as failed (its process is gone)",
    )
    jobs.set_defaults(handler=_jobs)
    logs = leaf("logs", "print the log of a job, in order")
    logs.add_argument("job", type=int, metavar="JOB", help="job id (see `synapse backend jobs`)")
    logs.add_argument("--after", type=int, metavar="SEQ", help="only entries after this seq")
    logs.add_argument("--limit", type=int, help="at most N entries")
    logs.set_defaults(handler=_logs)
    imp = leaf("import-dataset", "create a dataset from the files below PATH")
    imp.add_argument("path", metavar="PATH", help="folder; PATH/<label>/<file> sets meta.label")
    imp.add_argument("--name", help="dataset name (default: the folder name)")
    imp.add_argument(
        "--ext", action="append", metavar=".EXT", help="only files with this suffix (repeatable)"
    )
    imp.set_defaults(handler=_import_dataset)
    serve = leaf(
        "serve",
        "serve the LocalBackend over HTTP so jobs in other processes reach it (extra 'serve')",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    tokens = serve.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        help="require this bearer token (default: $SYNAPSE_BACKEND_TOKEN, else the one stored "
        "in HOME/backend.token, generated on first use)",
    )
    tokens.add_argument(
        "--no-token",
        action="store_true",
        help="require no token: anyone who can reach the port can read and write",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients use to reach a non-loopback --host (repeatable)",
    )
    serve.set_defaults(handler=_serve)
    from ._backend_collections import register as register_collections  # storages, collections

    register_collections(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    """``synapse backend serve``: blocks until Ctrl-C (see synapse_sdk.clients.server)."""
    from ..clients.server import BackendServer  # ImportError naming the 'serve' extra

    backend = _backend(args, create=True)
    token = None if args.no_token else args.token or os.environ.get("SYNAPSE_BACKEND_TOKEN")
    stored = None
    if token is None and not args.no_token:
        token, stored = _stored_token(backend.root)
    server = BackendServer(
        backend,
        args.host,
        args.port,
        token=token,
        require_token=not args.no_token,
        allowed_hosts=tuple(args.allow_host),
    )
    print(f"serving the LocalBackend at {server.url}", flush=True)
    if args.no_token:
        print(
            "warning: no token: any process or user that can reach "
            f"{server.url} can read and write this backend",
            file=sys.stderr,
            flush=True,
        )
    else:
        where = f" (stored in {stored})" if stored else ""
        print(f"token{where}: export SYNAPSE_BACKEND_TOKEN={token}", flush=True)
    server.serve_forever()
    return EXIT_OK


def _stored_token(root: Any) -> tuple[str, str]:
    """The server token kept in ``root/backend.token`` (created, owner-only, on first use)."""
    import secrets

    path = os.path.join(root, "backend.token")
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
        if token:
            return token, path
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token, path


def _backend(args: argparse.Namespace, *, create: bool = False, write: bool = False) -> Any:
    from ..clients.local import LocalBackend, default_home
    from ..plugins.errors import BackendError

    home = args.home or os.fspath(default_home())
    if not create and not os.path.isfile(os.path.join(home, "synapse.db")):
        raise BackendError(
            f"No LocalBackend at {os.path.abspath(home)}",
            backend=home,
            hint="run an action with `synapse run PLUGIN ACTION --backend` first, or point "
            "--home / $SYNAPSE_HOME at an existing backend",
        )
    # Listing never writes: a read-only (archived, mounted, foreign) backend can be listed.
    return LocalBackend(home, read_only=None if create or write else True)


def _print_json(records: Any) -> int:
    print(json.dumps(records, indent=2, ensure_ascii=False))
    return EXIT_OK


def _datasets(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        records = backend.list_datasets()
    if args.json:
        return _print_json(records)
    rows = [(d["id"], d["name"], d["data_unit_count"], timestamp(d["created_at"])) for d in records]
    table(("ID", "NAME", "DATA UNITS", "CREATED"), rows)
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        records = backend.list_models(name=args.name)
    if args.json:
        return _print_json(records)
    rows = [
        (
            m["id"],
            m["name"],
            m["file"]["name"],
            _size(m["file"]["size"]),
            _dash(m["dataset"]),
            _dash(m["parent"]),
            _dash(m["job"]),
            timestamp(m["created_at"]),
        )
        for m in records
    ]
    table(("ID", "NAME", "FILE", "SIZE", "DATASET", "PARENT", "JOB", "CREATED"), rows)
    return EXIT_OK


def _jobs(args: argparse.Namespace) -> int:
    if args.end_stale:
        with _backend(args, write=True) as backend:
            ended = backend.end_stale_jobs()
        ids = ", ".join(str(i) for i in sorted(ended)) or "none"
        print(f"stale jobs recorded as failed: {ids}", file=sys.stderr)
    stale_only = args.status == "stale"
    with _backend(args) as backend:
        records = backend.list_jobs(
            status="running" if stale_only else args.status,
            limit=None if stale_only else args.limit,
        )
        stale = backend.stale_jobs(records)
    for record in records:
        record["stale"] = record["id"] in stale
    if stale_only:
        records = [r for r in records if r["id"] in stale][: args.limit]
    if args.json:
        return _print_json(records)
    rows = [
        (
            j["id"],
            j["action"],
            "stale" if j["id"] in stale else j["status"],
            _progress(j["progress"]),
            j["log_count"],
            timestamp(j["created_at"]),
            _first_line(stale.get(j["id"]) or j["error"]),
        )
        for j in records
    ]
    table(("ID", "ACTION", "STATUS", "PROGRESS", "LOGS", "CREATED", "ERROR"), rows)
    if stale:
        print(
            f"note: {len(stale)} job(s) shown 'stale' were left running by a process that is "
            "gone; `synapse backend jobs --end-stale` records them as failed",
            file=sys.stderr,
        )
    return EXIT_OK


def _first_line(text: str | None) -> str:
    return text.splitlines()[0][:60] if text else ""


def _logs(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        entries = backend.get_job_logs(args.job, after=args.after, limit=args.limit)
    if args.json:
        return _print_json(entries)
    out = sys.stdout
    try:
        for e in entries:
            data = e["data"]
            if e["event"] == "message" and set(data) <= {"message", "exception"}:
                text = str(data.get("message", ""))
            else:
                text = (
                    f"{e['event']} {json.dumps(data, ensure_ascii=False)}" if data else e["event"]
                )
            out.write(f"{e['seq']:>7} {timestamp(e['time'])} {e['level'].upper():<8} {text}\n")
        out.flush()
    except BrokenPipeError:
        # `synapse backend logs 1 | head`: the reader left; stop quietly, like other tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    return EXIT_OK


def _import_dataset(args: argparse.Namespace) -> int:
    from ..plugins.actions.upload import import_directory

    with _backend(args, create=True) as backend:
        record = import_directory(backend, args.path, name=args.name, extensions=args.ext)
    if args.json:
        return _print_json(record)
    print(
        f"dataset {record['id']} {record['name']!r}: {record['data_unit_count']} data units "
        f"in {backend.root}"
    )
    return EXIT_OK


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _progress(progress: dict[str, Any]) -> str:
    parts = []
    for step, record in progress.items():
        pct = record.get("percent")
        label = step or "run"
        parts.append(f"{label} {pct:.0f}%" if pct is not None else f"{label} {record['current']}")
    return ", ".join(parts) or "-"
