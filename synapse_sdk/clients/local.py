"""``LocalBackend``: the embedded default backend (stdlib SQLite plus a content-addressed store).

Layout under the root directory (``$SYNAPSE_HOME``, default ``./.synapse``)::

    synapse.db              SQLite database (WAL): datasets, data units, models, jobs, job logs,
                            and the contents of small files (<= 64 KiB), keyed by sha256
    blobs/ab/abcdef...      contents of larger files, named by their sha256
    tmp/                    uploads in progress (renamed into blobs/ once complete)

Several processes may use the same root at once: SQLite's WAL mode and ``BEGIN IMMEDIATE``
transactions serialize writers (waiting up to ``busy_timeout`` seconds), and blobs are written
to ``tmp/``, fsynced and renamed into place, so a reader never sees half a file. Creating a
model writes its blob first and inserts its row in one transaction afterwards: an interrupted
upload leaves no record (at most an unreferenced file in ``tmp/`` or ``blobs/``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..plugins.errors import BackendError, IntegrityError, NotFoundError, UnsafePathError
from .base import (
    JOB_STATUSES,
    DatasetRecord,
    DataUnitRecord,
    FileRecord,
    FileSource,
    JobRecord,
    LogEntry,
    ModelRecord,
    ProgressRecord,
)
from .paths import is_sha256, safe_name

__all__ = ["LocalBackend", "default_home"]

_CHUNK = 1 << 20
# Files up to this size live in the database (one row, written in the record's transaction);
# larger ones are files under blobs/.
_INLINE_MAX = 64 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    meta TEXT NOT NULL DEFAULT '{}',
    data_unit_count INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS data_units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset INTEGER NOT NULL REFERENCES datasets(id),
    files TEXT NOT NULL,
    meta TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS data_units_by_dataset ON data_units(dataset, id);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    meta TEXT NOT NULL DEFAULT '{}',
    file TEXT NOT NULL,
    dataset INTEGER,
    parent INTEGER,
    job INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    plugin TEXT,
    run_id TEXT,
    status TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT 'null',
    progress TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT 'null',
    error TEXT,
    log_count INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS job_logs (
    job INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,
    event TEXT NOT NULL,
    level TEXT NOT NULL,
    data TEXT NOT NULL,
    file TEXT,
    PRIMARY KEY (job, seq)
) WITHOUT ROWID;
"""


def default_home() -> Path:
    """The LocalBackend root: ``$SYNAPSE_HOME`` when set, else ``./.synapse``."""
    return Path(os.environ.get("SYNAPSE_HOME") or ".synapse")


def _make_dumps() -> Callable[[Any], str]:
    # json.dumps / JSONEncoder.encode build a new C encoder on every call, which is most of
    # the cost of encoding the small dicts of log entries: build it once.
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python implementation)
        return encoder.encode
    c_encode = make(
        None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )

    def dumps(value: Any) -> str:
        if isinstance(value, (dict, list)):
            return "".join(c_encode(value, 0))
        return encoder.encode(value)

    return dumps


_dumps = _make_dumps()


class LocalBackend:
    """The embedded backend: every record in SQLite, every file in a sha256-addressed store.

    ``LocalBackend()`` uses ``$SYNAPSE_HOME`` (default ``./.synapse``), creating it when
    missing. Instances are thread-safe (one connection per process, guarded by a lock) and
    several processes may share a root. ``durable=False`` skips fsync (tests, scratch data).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 30.0,
        durable: bool = True,
    ) -> None:
        base = Path(root) if root is not None else default_home()
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(
                f"Cannot create the LocalBackend root {base}: {exc}",
                backend=str(base),
                hint="set SYNAPSE_HOME to a writable directory",
            ) from exc
        self.root = base.resolve()
        self._blobs = self._subdir("blobs")
        self._tmp = self._subdir("tmp")
        self._sweep_tmp()
        self._db_path = self.root / "synapse.db"
        self._busy_timeout = busy_timeout
        self._durable = durable
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def _subdir(self, name: str) -> Path:
        path = self.root / name
        if path.is_symlink():
            raise UnsafePathError(
                str(path), "the store's own directories must not be symlinks", backend=str(self)
            )
        path.mkdir(exist_ok=True)
        return path

    def _sweep_tmp(self) -> None:
        """Remove uploads left in tmp/ by processes that died mid-upload (killed, power loss):
        their file names carry the uploader's pid."""
        for entry in self._tmp.iterdir():
            parts = entry.name.split("-", 2)
            if len(parts) != 3 or parts[0] != "upload" or not parts[1].isdigit():
                continue
            if not _alive(int(parts[1])):
                entry.unlink(missing_ok=True)

    # -- connection and transactions -------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # One connection per process: a connection inherited through fork() must not be used.
        if self._db is not None and self._pid == os.getpid():
            return self._db
        try:
            db = sqlite3.connect(
                self._db_path,
                timeout=self._busy_timeout,
                isolation_level=None,  # explicit BEGIN/COMMIT below
                check_same_thread=False,  # guarded by self._lock
            )
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit is atomic and survives a crash of the process; only a
            # power loss can drop the last commits (never half of one). FULL would fsync on
            # every commit, which is what a busy disk makes slow.
            db.execute("PRAGMA synchronous = " + ("NORMAL" if self._durable else "OFF"))
            db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        except sqlite3.Error as exc:
            raise BackendError(
                f"Cannot open the LocalBackend database {self._db_path}: {exc}",
                backend=str(self.root),
            ) from exc
        self._db, self._pid = db, os.getpid()
        return db

    @contextlib.contextmanager
    def _transaction(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlocks later
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._transaction(self._connect()) as db:
                    yield db
            except sqlite3.Error as exc:
                raise BackendError(
                    f"LocalBackend write failed: {exc}", backend=str(self.root)
                ) from exc

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._connect().execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise BackendError(
                    f"LocalBackend read failed: {exc}", backend=str(self.root)
                ) from exc

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the file store --------------------------------------------------------------------

    def _blob_path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise UnsafePathError(str(sha256), "a file id must be a 64-digit lowercase sha256 hex")
        return self._blobs / sha256[:2] / sha256

    def _store(self, source: FileSource) -> tuple[str, int]:
        """Copy ``source`` into the store (tmp file, fsync, rename); return (sha256, size)."""
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=f"upload-{os.getpid()}-")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                if isinstance(source, (bytes, bytearray, memoryview)):
                    data = bytes(source)
                    digest.update(data)
                    out.write(data)
                    size = len(data)
                else:
                    with open(source, "rb") as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                out.flush()
                if self._durable:
                    os.fsync(out.fileno())
            sha = digest.hexdigest()
            dest = self._blob_path(sha)
            dest.parent.mkdir(exist_ok=True)
            # Same content, same name: replacing an existing blob is harmless (and repairs it).
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return sha, size

    def _file_record(self, role: str, source: FileSource) -> tuple[FileRecord, bytes | None]:
        """Store ``source``; small contents are returned to be inserted into the ``blobs``
        table by the caller's transaction (one file per data unit would otherwise cost a
        file creation each), larger ones go to ``blobs/`` first."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            name = safe_name(role)
            if len(data) <= _INLINE_MAX:
                return {"name": name, "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data)}, data  # fmt: skip
        else:
            path = Path(source)
            if not path.is_file():
                raise BackendError(
                    f"Cannot store {path}: not a file",
                    backend=str(self.root),
                    hint="pass a file path",
                )
            name = safe_name(path.name)
            if path.stat().st_size <= _INLINE_MAX:
                data = path.read_bytes()
                return {"name": name, "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data)}, data  # fmt: skip
        try:
            sha, size = self._store(source)
        except OSError as exc:
            raise BackendError(f"Cannot store {name}: {exc}", backend=str(self.root)) from exc
        return {"name": name, "sha256": sha, "size": size}, None

    @staticmethod
    def _insert_inline(db: sqlite3.Connection, blobs: Sequence[tuple[str, bytes]]) -> None:
        db.executemany("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", blobs)

    def _inline(self, sha256: str) -> bytes | None:
        rows = self._query("SELECT data FROM blobs WHERE sha256 = ?", (sha256,))
        return bytes(rows[0][0]) if rows else None

    def _verify(self, data: bytes, sha256: str, where: str) -> bytes:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise IntegrityError(where, expected=sha256, actual=actual, backend=str(self.root))
        return data

    def read_file(self, sha256: str) -> bytes:
        """The bytes of a stored file, verified against its sha256."""
        path = self._blob_path(sha256)
        inline = self._inline(sha256)
        if inline is not None:
            return self._verify(inline, sha256, f"{self._db_path}#blobs/{sha256}")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError("file", sha256, backend=str(self.root)) from None
        return self._verify(data, sha256, str(path))

    def download_file(self, sha256: str, dest: str | os.PathLike[str]) -> str:
        """Copy a stored file to ``dest`` (verified; replaced atomically)."""
        path = self._blob_path(sha256)
        inline = self._inline(sha256)
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                if inline is not None:
                    path = Path(f"{self._db_path}#blobs/{sha256}")
                    digest.update(inline)
                    out.write(inline)
                else:
                    try:
                        src = path.open("rb")
                    except FileNotFoundError:
                        raise NotFoundError("file", sha256, backend=str(self.root)) from None
                    with src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
            if digest.hexdigest() != sha256:
                raise IntegrityError(
                    str(path), expected=sha256, actual=digest.hexdigest(), backend=str(self.root)
                )
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return str(target)

    # -- datasets --------------------------------------------------------------------------

    def create_dataset(
        self, name: str, *, description: str = "", meta: Mapping[str, Any] | None = None
    ) -> DatasetRecord:
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO datasets (name, description, meta, created_at) VALUES (?, ?, ?, ?)",
                (name, description, _dumps(dict(meta or {})), now),
            )
            dataset_id = int(cur.lastrowid or 0)
        return self.get_dataset(dataset_id)

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        rows = self._query(_DATASET_SELECT + " WHERE id = ?", (dataset_id,))
        if not rows:
            raise NotFoundError("dataset", dataset_id, backend=str(self.root))
        return _dataset(rows[0])

    def list_datasets(self) -> list[DatasetRecord]:
        return [_dataset(r) for r in self._query(_DATASET_SELECT + " ORDER BY id")]

    def add_data_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileSource], Mapping[str, Any]]],
    ) -> list[DataUnitRecord]:
        self.get_dataset(dataset_id)  # fail before storing any file
        prepared: list[tuple[str, str]] = []
        inline: list[tuple[str, bytes]] = []
        for files, meta in units:
            records: dict[str, FileRecord] = {}
            for role, src in files.items():
                record, data = self._file_record(role, src)
                records[safe_name(role)] = record
                if data is not None:
                    inline.append((record["sha256"], data))
            prepared.append((_dumps(records), _dumps(dict(meta))))
        now = time.time()
        with self._write() as db:
            self._insert_inline(db, inline)
            first = None
            for files_json, meta_json in prepared:
                cur = db.execute(
                    "INSERT INTO data_units (dataset, files, meta, created_at) VALUES (?, ?, ?, ?)",
                    (dataset_id, files_json, meta_json, now),
                )
                if first is None:
                    first = int(cur.lastrowid or 0)
            db.execute(
                "UPDATE datasets SET data_unit_count = data_unit_count + ? WHERE id = ?",
                (len(prepared), dataset_id),
            )
            if first is None:
                return []
            rows = db.execute(
                _UNIT_SELECT + " WHERE dataset = ? AND id >= ? ORDER BY id LIMIT ?",
                (dataset_id, first, len(prepared)),
            ).fetchall()
        return [_unit(r) for r in rows]

    def list_data_units(
        self, dataset_id: int, *, offset: int = 0, limit: int | None = None
    ) -> list[DataUnitRecord]:
        self.get_dataset(dataset_id)
        rows = self._query(
            _UNIT_SELECT + " WHERE dataset = ? ORDER BY id LIMIT ? OFFSET ?",
            (dataset_id, -1 if limit is None else limit, offset),
        )
        return [_unit(r) for r in rows]

    # -- models ----------------------------------------------------------------------------

    def create_model(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        description: str = "",
        meta: Mapping[str, Any] | None = None,
        dataset: int | None = None,
        parent: int | None = None,
        job: int | None = None,
    ) -> ModelRecord:
        # The blob is complete (fsynced and renamed) before the row exists; the row is one
        # INSERT in one transaction, so there is never a record pointing at half a file.
        file, data = self._file_record("model", path)
        with self._write() as db:
            if data is not None:
                self._insert_inline(db, [(file["sha256"], data)])
            cur = db.execute(
                "INSERT INTO models (name, description, meta, file, dataset, parent, job, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    description,
                    _dumps(dict(meta or {})),
                    _dumps(file),
                    dataset,
                    parent,
                    job,
                    time.time(),
                ),
            )
            model_id = int(cur.lastrowid or 0)
        return self.get_model(model_id)

    def get_model(self, model_id: int) -> ModelRecord:
        rows = self._query(_MODEL_SELECT + " WHERE id = ?", (model_id,))
        if not rows:
            raise NotFoundError("model", model_id, backend=str(self.root))
        return _model(rows[0])

    def list_models(self, *, name: str | None = None) -> list[ModelRecord]:
        if name is None:
            rows = self._query(_MODEL_SELECT + " ORDER BY id")
        else:
            rows = self._query(_MODEL_SELECT + " WHERE name = ? ORDER BY id", (name,))
        return [_model(r) for r in rows]

    # -- jobs ------------------------------------------------------------------------------

    def create_job(
        self,
        action: str,
        *,
        params: Any = None,
        run_id: str | None = None,
        plugin: str | None = None,
    ) -> JobRecord:
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO jobs (action, plugin, run_id, status, params, created_at, updated_at)"
                " VALUES (?, ?, ?, 'running', ?, ?, ?)",
                (action, plugin, run_id, _dumps(params), now, now),
            )
            job_id = int(cur.lastrowid or 0)
        return self.get_job(job_id)

    def get_job(self, job_id: int) -> JobRecord:
        rows = self._query(_JOB_SELECT + " WHERE id = ?", (job_id,))
        if not rows:
            raise NotFoundError("job", job_id, backend=str(self.root))
        return _job(rows[0])

    def list_jobs(self, *, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        lim = -1 if limit is None else limit
        if status is None:
            rows = self._query(_JOB_SELECT + " ORDER BY id DESC LIMIT ?", (lim,))
        else:
            rows = self._query(
                _JOB_SELECT + " WHERE status = ? ORDER BY id DESC LIMIT ?", (status, lim)
            )
        return [_job(r) for r in rows]

    def update_job(
        self,
        job_id: int,
        *,
        status: str | None = None,
        progress: Mapping[str, ProgressRecord] | None = None,
        metrics: Mapping[str, Mapping[str, Any]] | None = None,
        result: Any = None,
        error: str | None = None,
    ) -> None:
        if status is not None and status not in JOB_STATUSES:
            raise ValueError(f"unknown job status {status!r}; use one of {', '.join(JOB_STATUSES)}")
        with self._write() as db:
            row = db.execute(
                "SELECT status, progress, metrics, result, error FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError("job", job_id, backend=str(self.root))
            new_status, progress_json, metrics_json, result_json, new_error = row
            if status is not None:
                new_status = status
            if progress:
                merged = json.loads(progress_json)
                merged.update({k: dict(v) for k, v in progress.items()})
                progress_json = _dumps(merged)
            if metrics:
                current = json.loads(metrics_json)
                for step, values in metrics.items():
                    current.setdefault(step, {}).update(values)
                metrics_json = _dumps(current)
            if result is not None:
                result_json = _dumps(result)
            if error is not None:
                new_error = error
            db.execute(
                "UPDATE jobs SET status = ?, progress = ?, metrics = ?, result = ?, error = ?, "
                "updated_at = ? WHERE id = ?",
                (
                    new_status,
                    progress_json,
                    metrics_json,
                    result_json,
                    new_error,
                    time.time(),
                    job_id,
                ),
            )

    def append_job_logs(self, job_id: int, entries: Sequence[LogEntry]) -> int:
        dumps = _dumps
        rows = [
            (job_id, e["seq"], e["time"], e["event"], e["level"], dumps(e["data"]), e.get("file"))
            for e in entries
        ]
        with self._write() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                raise NotFoundError("job", job_id, backend=str(self.root))
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO job_logs (job, seq, time, event, level, data, file) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = db.total_changes - before
            if added:
                db.execute(
                    "UPDATE jobs SET log_count = log_count + ?, updated_at = ? WHERE id = ?",
                    (added, time.time(), job_id),
                )
        return added

    def get_job_logs(
        self, job_id: int, *, after: int | None = None, limit: int | None = None
    ) -> list[LogEntry]:
        self.get_job(job_id)
        rows = self._query(
            "SELECT seq, time, event, level, data, file FROM job_logs "
            "WHERE job = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, -(2**62) if after is None else after, -1 if limit is None else limit),
        )
        return [
            {"seq": s, "time": t, "event": e, "level": lv, "data": json.loads(d), "file": f}
            for s, t, e, lv, d, f in rows
        ]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # e.g. no kill(0) semantics on this platform: keep the file
        return True
    return True


_DATASET_SELECT = "SELECT id, name, description, meta, data_unit_count, created_at FROM datasets"
_UNIT_SELECT = "SELECT id, dataset, files, meta, created_at FROM data_units"
_MODEL_SELECT = (
    "SELECT id, name, description, meta, file, dataset, parent, job, created_at FROM models"
)
_JOB_SELECT = (
    "SELECT id, action, plugin, run_id, status, params, progress, metrics, result, error, "
    "log_count, created_at, updated_at FROM jobs"
)


def _dataset(row: tuple[Any, ...]) -> DatasetRecord:
    id_, name, description, meta, count, created = row
    return {
        "id": id_,
        "name": name,
        "description": description,
        "meta": json.loads(meta),
        "data_unit_count": count,
        "created_at": created,
    }


def _unit(row: tuple[Any, ...]) -> DataUnitRecord:
    id_, dataset, files, meta, created = row
    return {
        "id": id_,
        "dataset": dataset,
        "files": json.loads(files),
        "meta": json.loads(meta),
        "created_at": created,
    }


def _model(row: tuple[Any, ...]) -> ModelRecord:
    id_, name, description, meta, file, dataset, parent, job, created = row
    return {
        "id": id_,
        "name": name,
        "description": description,
        "meta": json.loads(meta),
        "file": json.loads(file),
        "dataset": dataset,
        "parent": parent,
        "job": job,
        "created_at": created,
    }


def _job(row: tuple[Any, ...]) -> JobRecord:
    (id_, action, plugin, run_id, status, params, progress, metrics, result, error, count) = row[
        :11
    ]
    return {
        "id": id_,
        "action": action,
        "plugin": plugin,
        "run_id": run_id,
        "status": status,
        "params": json.loads(params),
        "progress": json.loads(progress),
        "metrics": json.loads(metrics),
        "result": json.loads(result),
        "error": error,
        "log_count": count,
        "created_at": row[11],
        "updated_at": row[12],
    }
