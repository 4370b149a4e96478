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

Opening a root that several processes create at the same moment waits for the one that sets
it up (no "database is locked"). A root that cannot be written (a read-only mount, an archive,
another user's directory) opens read-only: everything can be listed and read, and writes raise
BackendError saying so. Stored files are only ever read from regular files (a FIFO or a
device put in the store is refused, never waited on).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..plugins.errors import BackendError, IntegrityError, NotFoundError, UnsafePathError
from ._collections import CollectionsMixin
from ._owners import JobOwnersMixin
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

__all__ = [
    "LocalBackend",
    "default_home",
    "stored_file_name",
    "write_verified",
]

_CHUNK = 1 << 20
# Files up to this size live in the database (one row, written in the record's transaction);
# larger ones are files under blobs/.
_INLINE_MAX = 64 * 1024
# Bumped whenever _SCHEMA gains a table: a database at this version is not set up again, so
# opening an existing root takes no write lock.
_SCHEMA_VERSION = 2
# A file name (one path part) longer than this cannot be created on common file systems.
_NAME_MAX = 255
# Errors that mean "this root cannot be written" rather than a bug or a transient failure.
_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_FULL_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG") if hasattr(errno, name)
)

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
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    answer BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys(created_at);
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


class LocalBackend(CollectionsMixin, JobOwnersMixin):
    """The embedded backend: every record in SQLite, every file in a sha256-addressed store.

    ``LocalBackend()`` uses ``$SYNAPSE_HOME`` (default ``./.synapse``), creating it when
    missing. Instances are thread-safe (one connection per process, guarded by a lock) and
    several processes may share a root. ``durable=False`` skips fsync (tests, scratch data).
    ``read_only=True`` never writes (listing an archived or foreign root); the default opens
    read-only only when the root cannot be written.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 30.0,
        durable: bool = True,
        read_only: bool | None = None,
    ) -> None:
        base = Path(root) if root is not None else default_home()
        self._busy_timeout = busy_timeout
        self._durable = durable
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._pid = -1
        self._joined = False  # inside _idempotent(): writes join its transaction
        if read_only is None:
            read_only = _read_only_root(base)
        self.read_only = read_only
        if read_only:
            if not (base / "synapse.db").is_file():
                raise BackendError(
                    f"No LocalBackend at {base.absolute()} (and it cannot be created: the "
                    "directory is read-only)",
                    backend=str(base),
                    hint="set SYNAPSE_HOME to a writable directory",
                )
            self.root = base.resolve()
        else:
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
        if not read_only:
            self._sweep_tmp()
        self._db_path = self.root / "synapse.db"
        self._connect()
        self._open_collections()  # storages, data collections: clients/_collections.py

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def _subdir(self, name: str) -> Path:
        path = self.root / name
        if path.is_symlink():
            raise UnsafePathError(
                str(path), "the store's own directories must not be symlinks", backend=str(self)
            )
        if not self.read_only:
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
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.005
        while True:
            try:
                db = self._open_read_only() if self.read_only else self._open()
                break
            except sqlite3.Error as exc:
                # Processes opening a new root together: setting WAL and creating the schema
                # can answer "locked" without waiting for the busy handler. Wait and retry.
                if _busy(exc) and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
                    continue
                raise BackendError(
                    f"Cannot open the LocalBackend database {self._db_path}: {exc}",
                    backend=str(self.root),
                ) from exc
        self._db, self._pid = db, os.getpid()
        return db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self._db_path,
            timeout=self._busy_timeout,
            isolation_level=None,  # explicit BEGIN/COMMIT below
            check_same_thread=False,  # guarded by self._lock
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            # Changing the journal mode takes an exclusive lock: only the first opener does.
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit is atomic and survives a crash of the process; only a
            # power loss can drop the last commits (never half of one). FULL would fsync on
            # every commit, which is what a busy disk makes slow.
            db.execute("PRAGMA synchronous = " + ("NORMAL" if self._durable else "OFF"))
            if db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                db.executescript(
                    "BEGIN IMMEDIATE;"
                    + _SCHEMA
                    + f"PRAGMA user_version = {_SCHEMA_VERSION};COMMIT;"
                )
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        uri = self._db_path.as_uri()
        try:
            db = sqlite3.connect(
                f"{uri}?mode=ro", uri=True, timeout=self._busy_timeout, check_same_thread=False
            )
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL database on a read-only file system: its -shm index cannot be created, so
            # it can only be read as an immutable file (nobody can be writing it there).
            db = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
        return db

    def _refuse_writes(self) -> None:
        if self.read_only:
            raise BackendError(
                f"The LocalBackend at {self.root} is read-only: records can be listed and "
                "files read, nothing can be stored",
                backend=str(self.root),
                hint="set SYNAPSE_HOME to a writable copy to store records",
            ) from OSError(errno.EROFS, "read-only LocalBackend", str(self.root))

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
        self._refuse_writes()
        with self._lock:
            if self._joined:  # part of the enclosing _idempotent() transaction
                yield self._connect()
                return
            try:
                with self._transaction(self._connect()) as db:
                    yield db
            except sqlite3.Error as exc:
                raise _write_error(exc, self.root) from exc

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._connect().execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise BackendError(
                    f"LocalBackend read failed: {exc}", backend=str(self.root)
                ) from exc

    @contextlib.contextmanager
    def _idempotent(self, key: str, fingerprint: str) -> Iterator[_Once]:
        """One transaction around a request that carries an idempotency key (the server's).

        The slot says whether ``key`` was seen (``answer`` set) and whether with the same
        ``fingerprint``; otherwise the caller does the work (every write of this backend in
        this thread joins the transaction) and sets ``slot.answer``: the answer is stored in
        the same commit as the work, so a retry, even after a crash or restart, gets the
        stored answer and never applies the work twice.
        """
        self._refuse_writes()
        with self._lock:
            db = self._connect()
            try:
                with self._transaction(db):
                    row = db.execute(
                        "SELECT fingerprint, answer FROM idempotency_keys WHERE key = ?", (key,)
                    ).fetchone()
                    slot = _Once(
                        None if row is None else bytes(row[1]),
                        row is not None and row[0] != fingerprint,
                    )
                    if row is not None:
                        yield slot
                        return
                    self._joined = True
                    try:
                        yield slot
                    finally:
                        self._joined = False
                    if slot.answer is not None:
                        now = time.time()
                        db.execute(
                            "INSERT INTO idempotency_keys (key, fingerprint, answer, created_at)"
                            " VALUES (?, ?, ?, ?)",
                            (key, fingerprint, slot.answer, now),
                        )
                        db.execute(
                            "DELETE FROM idempotency_keys WHERE created_at < ?",
                            (now - _KEYS_KEPT_FOR,),
                        )
            except sqlite3.Error as exc:
                raise _write_error(exc, self.root) from exc

    def _one(self, kind: str, select: str, record_id: object) -> tuple[Any, ...]:
        """The row of record ``record_id`` that ``select`` (ending in ``= ?``) finds;
        NotFoundError naming ``kind`` and the id when there is none (or the id is no id)."""
        self._check_id(kind, record_id)
        rows = self._query(select, (record_id,))
        if not rows:
            raise NotFoundError(kind, record_id, backend=str(self.root))
        return rows[0]

    def _check_id(self, kind: str, value: object) -> None:
        # An id SQLite cannot hold (or not an int) names no record: NotFoundError, never an
        # OverflowError from deep inside sqlite3.
        if not _valid_id(value):
            raise NotFoundError(kind, value, backend=str(self.root))

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

    def _new_upload(self) -> tuple[int, Path]:
        """A new temporary file in tmp/ (swept at the next open if this process dies)."""
        self._refuse_writes()
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix=f"upload-{os.getpid()}-")
        return fd, Path(name)

    def _adopt(self, tmp: Path, sha256: str, size: int) -> None:
        """Move a complete upload (``tmp`` from :meth:`_new_upload`, whose bytes hash to
        ``sha256``) into the store: small files into the database, others under blobs/."""
        try:
            if size <= _INLINE_MAX:
                data = tmp.read_bytes()
                with self._write() as db:
                    self._insert_inline(db, [(sha256, data)])
                return
            if self._durable:
                with open(tmp, "rb") as f:
                    os.fsync(f.fileno())
            dest = self._blob_path(sha256)
            self._shard(dest.parent)
            # Same content, same name: replacing an existing blob is harmless (and repairs it).
            os.replace(tmp, dest)
        except OSError as exc:
            raise _write_error(exc, self.root) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _shard(self, folder: Path) -> None:
        if folder.is_symlink():
            raise UnsafePathError(
                str(folder), "the store's own directories must not be symlinks", backend=str(self)
            )
        folder.mkdir(exist_ok=True)

    def _store(self, source: FileSource) -> tuple[str, int]:
        """Copy ``source`` into the store (tmp file, fsync, rename); return (sha256, size)."""
        fd, tmp = self._new_upload()
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
            self._shard(dest.parent)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return sha, size

    def _file_record(self, role: str, source: FileSource) -> tuple[FileRecord, bytes | None]:
        """Store ``source``; small contents are returned to be inserted into the ``blobs``
        table by the caller's transaction (one file per data unit would otherwise cost a
        file creation each), larger ones go to ``blobs/`` first."""
        self._refuse_writes()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            name = stored_file_name(role)
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
            raise _write_error(exc, self.root, f"Cannot store {name}") from exc
        return {"name": name, "sha256": sha, "size": size}, None

    @staticmethod
    def _insert_inline(db: sqlite3.Connection, blobs: Sequence[tuple[str, bytes]]) -> None:
        db.executemany("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", blobs)

    def _inline(self, sha256: str) -> bytes | None:
        rows = self._query("SELECT data FROM blobs WHERE sha256 = ?", (sha256,))
        return bytes(rows[0][0]) if rows else None

    def _stored_size(self, sha256: str) -> int | None:
        """The size of a stored file, None when the store does not hold it."""
        rows = self._query("SELECT length(data) FROM blobs WHERE sha256 = ?", (sha256,))
        if rows:
            return int(rows[0][0])
        try:
            info = self._blob_path(sha256).stat()
        except FileNotFoundError:
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def _open_blob(self, sha256: str) -> bytes | IO[bytes]:
        """The stored contents: bytes for a small file, else the opened (unverified) file.

        Never blocks: the blob is opened without waiting (a FIFO put in its place would
        otherwise wait for a writer) and refused unless it is a regular file.
        """
        path = self._blob_path(sha256)
        inline = self._inline(sha256)
        if inline is not None:
            return inline
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            raise NotFoundError("file", sha256, backend=str(self.root)) from None
        except OSError as exc:
            raise BackendError(
                f"Cannot read stored file {path}: {exc}", backend=str(self.root)
            ) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise BackendError(
                f"Stored file {path} is not a regular file (a FIFO, device or directory was "
                "put in the store)",
                backend=str(self.root),
                hint="remove it; the file must be uploaded again",
            )
        return os.fdopen(fd, "rb")

    def _verify(self, data: bytes, sha256: str, where: str) -> bytes:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise IntegrityError(where, expected=sha256, actual=actual, backend=str(self.root))
        return data

    def read_file(self, sha256: str) -> bytes:
        """The bytes of a stored file, verified against its sha256."""
        blob = self._open_blob(sha256)
        if isinstance(blob, bytes):
            return self._verify(blob, sha256, f"{self._db_path}#blobs/{sha256}")
        with blob:
            data = blob.read()
        return self._verify(data, sha256, str(self._blob_path(sha256)))

    def download_file(self, sha256: str, dest: str | os.PathLike[str]) -> str:
        """Copy a stored file to ``dest`` (verified; replaced atomically)."""
        blob = self._open_blob(sha256)
        where = (
            f"{self._db_path}#blobs/{sha256}"
            if isinstance(blob, bytes)
            else str(self._blob_path(sha256))
        )
        chunks: Iterator[bytes] = iter((blob,)) if isinstance(blob, bytes) else _chunks(blob)
        try:
            return write_verified(chunks, sha256, dest, where=where, backend=str(self.root))
        finally:
            if not isinstance(blob, bytes):
                blob.close()

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
        return _dataset(self._one("dataset", _DATASET_SELECT + " WHERE id = ?", dataset_id))

    def list_datasets(self) -> list[DatasetRecord]:
        return [_dataset(r) for r in self._query(_DATASET_SELECT + " ORDER BY id")]

    def add_data_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileSource], Mapping[str, Any]]],
    ) -> list[DataUnitRecord]:
        self._refuse_writes()
        self.get_dataset(dataset_id)  # fail before storing any file
        for files, _ in units:  # every name is checked before any byte is stored
            for role in files:
                safe_name(role)
        prepared: list[tuple[dict[str, FileRecord], Mapping[str, Any]]] = []
        inline: list[tuple[str, bytes]] = []
        for files, meta in units:
            records: dict[str, FileRecord] = {}
            for role, src in files.items():
                record, data = self._file_record(role, src)
                records[safe_name(role)] = record
                if data is not None:
                    inline.append((record["sha256"], data))
            prepared.append((records, meta))
        return self._insert_units(dataset_id, prepared, inline)

    def _insert_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileRecord], Mapping[str, Any]]],
        inline: Sequence[tuple[str, bytes]] = (),
    ) -> list[DataUnitRecord]:
        """Insert data units whose files are already stored (or in ``inline``)."""
        self._check_id("dataset", dataset_id)
        rows = [(_dumps(dict(files)), _dumps(dict(meta))) for files, meta in units]
        now = time.time()
        with self._write() as db:
            if db.execute("SELECT 1 FROM datasets WHERE id = ?", (dataset_id,)).fetchone() is None:
                raise NotFoundError("dataset", dataset_id, backend=str(self.root))
            self._insert_inline(db, inline)
            first = None
            for files_json, meta_json in rows:
                cur = db.execute(
                    "INSERT INTO data_units (dataset, files, meta, created_at) VALUES (?, ?, ?, ?)",
                    (dataset_id, files_json, meta_json, now),
                )
                if first is None:
                    first = int(cur.lastrowid or 0)
            db.execute(
                "UPDATE datasets SET data_unit_count = data_unit_count + ? WHERE id = ?",
                (len(rows), dataset_id),
            )
            if first is None:
                return []
            found = db.execute(
                _UNIT_SELECT + " WHERE dataset = ? AND id >= ? ORDER BY id LIMIT ?",
                (dataset_id, first, len(rows)),
            ).fetchall()
        return [_unit(r) for r in found]

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
        return self._insert_model(file, data, (name, description, meta, dataset, parent, job))

    def _insert_model(
        self, file: FileRecord, data: bytes | None, fields: _ModelFields
    ) -> ModelRecord:
        """Insert a model whose file is already stored (or is ``data``, stored inline);
        ``fields`` are create_model's (name, description, meta, dataset, parent, job)."""
        name, description, meta, dataset, parent, job = fields
        for field, value in (("dataset", dataset), ("parent", parent), ("job", job)):
            if value is not None and not _valid_id(value):
                raise ValueError(f"{field}={value!r} is not a record id (a positive integer)")
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
        return _model(self._one("model", _MODEL_SELECT + " WHERE id = ?", model_id))

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
        return _job(self._one("job", _JOB_SELECT + " WHERE id = ?", job_id))

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
        self._check_id("job", job_id)
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
        self._check_id("job", job_id)
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


# How long the server's idempotency keys are kept (a client retries within seconds).
_KEYS_KEPT_FOR = 7 * 24 * 3600.0


class _Once:
    """What :meth:`LocalBackend._idempotent` knows of a key: its stored ``answer`` (None when
    new) and whether it came with another request (``conflict``)."""

    __slots__ = ("answer", "conflict")

    def __init__(self, answer: bytes | None, conflict: bool) -> None:
        self.answer = answer
        self.conflict = conflict


def stored_file_name(role: str) -> str:
    """The stored file name for bytes uploaded under ``role``: ``role`` itself, checked with
    :func:`safe_name`, with any part too long for a file system (over 255 UTF-8 bytes)
    shortened to its start, a hash of the whole part and its suffix, so it can always be
    downloaded under its name."""
    parts = safe_name(role).split("/")
    return "/".join(_fit(part) for part in parts)


def _fit(part: str) -> str:
    raw = part.encode()
    if len(raw) <= _NAME_MAX:
        return part
    tag = "~" + hashlib.sha256(raw).hexdigest()[:12]
    suffix = os.path.splitext(part)[1]
    if len(suffix.encode()) > 32:
        suffix = ""
    room = _NAME_MAX - len(tag.encode()) - len(suffix.encode())
    head = raw[:room].decode(errors="ignore")  # never split a multi-byte character
    return head + tag + suffix


def write_verified(
    chunks: Iterator[bytes], sha256: str, dest: str | os.PathLike[str], *, where: str,
    backend: str,
) -> str:  # fmt: skip
    """Write ``chunks`` to ``dest`` through a temporary file beside it, renamed into place
    only when the bytes hash to ``sha256`` (IntegrityError otherwise; nothing is left)."""
    target = Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise IntegrityError(where, expected=sha256, actual=digest.hexdigest(), backend=backend)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return str(target)


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _valid_id(value: object) -> bool:
    return type(value) is int and 0 < value < 2**63


def _busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _read_only_root(base: Path) -> bool:
    """True when ``base`` holds a database but cannot be written (mount, permissions)."""
    if not (base / "synapse.db").is_file():
        return False
    if not os.access(base, os.W_OK) or not os.access(base / "synapse.db", os.W_OK):
        return True
    try:  # root ignores permission bits; only a real write tells a read-only mount
        fd, probe = tempfile.mkstemp(dir=base, prefix=".write-probe-")
    except OSError as exc:
        return exc.errno in _READ_ONLY_ERRNOS
    os.close(fd)
    os.unlink(probe)
    return False


def _write_error(
    exc: BaseException, root: Path, what: str = "LocalBackend write failed"
) -> BackendError:
    """A BackendError for a failed write; a full disk or a read-only file system says so."""
    text = str(exc)
    full = isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS
    full = full or "disk is full" in text or "database or disk is full" in text
    hint = None
    if full:
        hint = f"free disk space where {root} lives, or set SYNAPSE_HOME elsewhere"
    elif "readonly" in text or (isinstance(exc, OSError) and exc.errno in _READ_ONLY_ERRNOS):
        hint = f"{root} cannot be written; set SYNAPSE_HOME to a writable directory"
    return BackendError(f"{what}: {text}", backend=str(root), hint=hint)


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


_ModelFields = tuple[str, str, "Mapping[str, Any] | None", "int | None", "int | None", "int | None"]

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
