"""Storages, data collections, projects and data files: what upload plugins need of a backend.

The records here join the :class:`~synapse_sdk.clients.base.BackendClient` protocol:

- a **storage** is a folder that uploads read from: a registered local folder
  (``provider='local'``) or a folder inside the backend's own root (``provider='backend'``);
- a **data collection** is a dataset with **file specifications** (which files make one data
  unit: ``image`` required, ``label`` optional, ...). Its id is the id of the dataset that holds
  its data units, so everything that reads datasets reads collections too;
- a **project** groups work on one data collection;
- **data files** are uploaded before the data units that bind them. A file stored by an upload
  stays *pending* (held by the upload's session) until the upload releases it
  (:meth:`release_data_files`, when it is done or rolled back): released files that no data
  unit or model uses are deleted. Files held by a process that died are released the next
  time the backend is opened.

:class:`CollectionsMixin` is the LocalBackend side (SQLite tables beside LocalBackend's own,
the same transactions and content-addressed store).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ..plugins.errors import BackendError, IntegrityError, NotFoundError
from .paths import safe_name

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from .base import FileRecord, FileSource

__all__ = [
    "CollectionsMixin",
    "CreatedDataUnit",
    "DataCollectionRecord",
    "FileSpecification",
    "ProjectRecord",
    "StorageRecord",
    "data_unit_key",
    "normalize_specifications",
]

#: Files left pending longer than this (an uploader on another machine that vanished) are
#: collected even when their owner cannot be checked.
PENDING_TTL = 24 * 3600.0
# LocalBackend keeps contents up to this size in its database, larger ones as files.
_INLINE_MAX = 64 * 1024


class StorageRecord(TypedDict):
    """A folder uploads read from. ``path`` is absolute on the machine that runs the plugin."""

    id: int
    name: str
    description: str
    provider: str  # 'local' (a registered folder) or 'backend' (inside the backend's root)
    path: str
    created_at: float


class FileSpecification(TypedDict):
    """One kind of file of a data unit: ``name`` (also the sub-folder files are read from in
    single-path uploads), ``file_type`` (``image``, ``video``, ``text``, ...), whether a data
    unit needs it (``is_required``) or is named after it (``is_primary``), and the file
    ``extensions`` it accepts (``['.jpg', '.png']``; empty: any)."""

    name: str
    file_type: str
    is_required: bool
    is_primary: bool
    extensions: list[str]
    description: str


class DataCollectionRecord(TypedDict):
    """A dataset with file specifications; ``id`` is also the dataset's id."""

    id: int
    name: str
    description: str
    file_specifications: list[FileSpecification]
    data_unit_count: int
    created_at: float


class ProjectRecord(TypedDict):
    """A project working on one data collection (or none yet)."""

    id: int
    name: str
    description: str
    data_collection: int | None
    created_at: float


class CreatedDataUnit(TypedDict):
    """What ``create_data_units`` answers per unit, in order: its ``id``, its ``key`` and
    whether this call ``created`` it (False: a unit with that key was already there)."""

    id: int
    key: str
    created: bool


_SPEC_KEYS = frozenset(FileSpecification.__annotations__)
_SPEC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def normalize_specifications(specs: Iterable[Mapping[str, Any]]) -> list[FileSpecification]:
    """Check file specifications and fill their defaults (ValueError naming the bad one).

    Names are unique and usable as folder names; ``extensions`` become lowercase with a dot.
    At least one specification is needed; without ``is_primary`` the first one is primary.
    """
    out: list[FileSpecification] = []
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        where = f"file_specifications[{index}]"
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where} must be a mapping like {{'name': 'image'}}, got {spec!r}")
        unknown = sorted(set(spec) - _SPEC_KEYS)
        if unknown:
            raise ValueError(
                f"{where} has unknown keys {unknown}; known: {', '.join(sorted(_SPEC_KEYS))}"
            )
        name = spec.get("name")
        if not isinstance(name, str) or not _SPEC_NAME.match(name) or name in (".", ".."):
            raise ValueError(
                f"{where}.name must be a folder-safe name (letters, digits, _ . -), got {name!r}"
            )
        if name in seen:
            raise ValueError(f"{where}.name {name!r} is used twice; names must be unique")
        seen.add(name)
        extensions = spec.get("extensions") or []
        if isinstance(extensions, str) or not all(isinstance(e, str) for e in extensions):
            raise ValueError(f"{where}.extensions must be a list of strings like ['.jpg']")
        out.append(
            {
                "name": name,
                "file_type": str(spec.get("file_type") or "file"),
                "is_required": bool(spec.get("is_required", False)),
                "is_primary": bool(spec.get("is_primary", False)),
                "extensions": ["." + e.lower().lstrip(".") for e in extensions],
                "description": str(spec.get("description") or ""),
            }
        )
    if not out:
        raise ValueError(
            "a data collection needs at least one file specification, e.g. "
            "[{'name': 'image', 'file_type': 'image', 'is_required': True}]"
        )
    if not any(s["is_primary"] for s in out):
        out[0]["is_primary"] = True
    return out


def data_unit_key(files: Mapping[str, Mapping[str, Any]]) -> str:
    """The content key of a data unit: a hash of its (specification, file sha256) pairs.

    The same files under the same specifications give the same key, so uploading them again
    finds the unit already made instead of making a second one.
    """
    digest = hashlib.sha256()
    for spec in sorted(files):
        digest.update(f"{spec}\0{files[spec]['sha256']}\n".encode())
    return digest.hexdigest()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS storages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS data_collections (
    dataset INTEGER PRIMARY KEY,
    file_specifications TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    data_collection INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS data_unit_keys (
    dataset INTEGER NOT NULL,
    key TEXT NOT NULL,
    unit INTEGER NOT NULL,
    PRIMARY KEY (dataset, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS data_unit_keys_by_unit ON data_unit_keys(unit);
CREATE TABLE IF NOT EXISTS pending_files (
    sha256 TEXT NOT NULL,
    owner TEXT NOT NULL,
    session TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    PRIMARY KEY (sha256, owner, session)
) WITHOUT ROWID;
"""


class CollectionsMixin:
    """LocalBackend's storages, data collections, projects and data files.

    Uses the host class's ``root``, ``read_only``, ``_write()`` (one write transaction),
    ``_query()``, ``_check_id()``, ``_file_record()`` / ``_store()`` / ``_blob_path()``,
    ``get_dataset()`` and ``list_data_units()``. :meth:`_open_collections` runs once per open.
    """

    if TYPE_CHECKING:
        root: Path
        read_only: bool

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
        def _check_id(self, kind: str, value: object) -> None: ...

        def _one(self, kind: str, select: str, record_id: object) -> tuple[Any, ...]: ...
        def _file_record(
            self, role: str, source: FileSource
        ) -> tuple[FileRecord, bytes | None]: ...
        def _stored_size(self, sha256: str) -> int | None: ...
        def _store(self, source: FileSource) -> tuple[str, int]: ...
        def _refuse_writes(self) -> None: ...
        def _blob_path(self, sha256: str) -> Path: ...
        def get_dataset(self, dataset_id: int) -> Any: ...

    # -- opening -----------------------------------------------------------------------------

    def _open_collections(self) -> None:
        """Create this mixin's tables when missing and collect files left pending by
        uploaders that died (killed mid-upload). Reads only, when there is nothing to do."""
        have = {r[0] for r in self._query("SELECT name FROM sqlite_master WHERE type='table'")}
        if self.read_only:
            return
        if "pending_files" not in have:
            with self._write() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
            return
        self.collect_orphan_files()

    def collect_orphan_files(self) -> int:
        """Release the files held by uploads whose process died (or that have held them for
        a day); those no data unit or model uses are deleted. Returns how many were."""
        rows = self._query("SELECT sha256, owner, session, created_at FROM pending_files")
        if not rows:
            return 0
        host = socket.gethostname()
        now = time.time()
        dead: list[tuple[str, str, str]] = []
        for sha, owner, session, created in rows:
            owner_host, _, pid = owner.rpartition(":")
            gone = owner_host == host and pid.isdigit() and not _alive(int(pid))
            if gone or now - created > PENDING_TTL:
                dead.append((sha, owner, session))
        if not dead:
            return 0
        return self._release(dead)

    # -- storages ----------------------------------------------------------------------------

    def create_storage(
        self,
        name: str,
        *,
        path: str | os.PathLike[str] | None = None,
        description: str = "",
    ) -> StorageRecord:
        """Register a storage: the existing folder ``path``, or (without ``path``) a new folder
        inside the backend's root. Names are unique."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a storage needs a name, got {name!r}")
        if path is None:
            provider = "backend"
            folder = self.root / "storages" / _folder_name(name)
            folder.mkdir(parents=True, exist_ok=True)
        else:
            provider = "local"
            folder = Path(path).expanduser().resolve()
            if not folder.is_dir():
                raise BackendError(
                    f"Cannot register storage {name!r}: {folder} is not a directory",
                    backend=str(self.root),
                    hint="create the folder first, or leave out the path to get a folder "
                    "inside the backend",
                )
        with self._write() as db:
            taken = db.execute("SELECT id FROM storages WHERE name = ?", (name,)).fetchone()
            if taken is not None:
                raise BackendError(
                    f"A storage named {name!r} already exists (id {taken[0]})",
                    backend=str(self.root),
                    hint="pick another name, or use the existing storage's id",
                )
            cur = db.execute(
                "INSERT INTO storages (name, description, provider, path, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, description, provider, str(folder), time.time()),
            )
            storage_id = int(cur.lastrowid or 0)
        return self.get_storage(storage_id)

    def get_storage(self, storage_id: int) -> StorageRecord:
        return _storage(self._one("storage", _STORAGE_SELECT + " WHERE id = ?", storage_id))

    def list_storages(self) -> list[StorageRecord]:
        return [_storage(r) for r in self._query(_STORAGE_SELECT + " ORDER BY id")]

    # -- data collections --------------------------------------------------------------------

    def create_data_collection(
        self,
        name: str,
        *,
        file_specifications: Sequence[Mapping[str, Any]],
        description: str = "",
    ) -> DataCollectionRecord:
        """Create a data collection: a new dataset plus its file specifications."""
        specs = normalize_specifications(file_specifications)
        meta = {"data_collection": True}
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO datasets (name, description, meta, created_at) VALUES (?, ?, ?, ?)",
                (name, description, json.dumps(meta), time.time()),
            )
            dataset_id = int(cur.lastrowid or 0)
            db.execute(
                "INSERT INTO data_collections (dataset, file_specifications) VALUES (?, ?)",
                (dataset_id, json.dumps(specs)),
            )
        return self.get_data_collection(dataset_id)

    def get_data_collection(self, collection_id: int) -> DataCollectionRecord:
        select = _COLLECTION_SELECT + " WHERE c.dataset = ?"
        return _collection(self._one("data_collection", select, collection_id))

    def list_data_collections(self) -> list[DataCollectionRecord]:
        return [_collection(r) for r in self._query(_COLLECTION_SELECT + " ORDER BY c.dataset")]

    # -- projects ----------------------------------------------------------------------------

    def create_project(
        self, name: str, *, data_collection: int | None = None, description: str = ""
    ) -> ProjectRecord:
        if data_collection is not None:
            self.get_data_collection(data_collection)
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO projects (name, description, data_collection, created_at) "
                "VALUES (?, ?, ?, ?)",
                (name, description, data_collection, time.time()),
            )
            project_id = int(cur.lastrowid or 0)
        return self.get_project(project_id)

    def get_project(self, project_id: int) -> ProjectRecord:
        return _project(self._one("project", _PROJECT_SELECT + " WHERE id = ?", project_id))

    def list_projects(self) -> list[ProjectRecord]:
        return [_project(r) for r in self._query(_PROJECT_SELECT + " ORDER BY id")]

    # -- data files --------------------------------------------------------------------------

    def upload_data_file(
        self, source: FileSource, *, name: str | None = None, session: str = ""
    ) -> FileRecord:
        """Store one file (held by ``session`` until released); returns its FileRecord."""
        return self.upload_data_files([source], names=None if name is None else [name],
                                      session=session)[0]  # fmt: skip

    def upload_data_files(
        self,
        sources: Sequence[FileSource],
        *,
        names: Sequence[str] | None = None,
        session: str = "",
    ) -> list[FileRecord]:
        """Store several files in one transaction; returns their FileRecords in order.

        A file whose content the backend did not hold yet is *pending* for ``session`` until
        :meth:`release_data_files` (then it is deleted unless a data unit uses it). Content the
        backend already held is not stored again.
        """
        if names is not None and len(names) != len(sources):
            raise ValueError(f"{len(names)} names for {len(sources)} files")
        self._refuse_writes()
        records: list[FileRecord] = []
        inline: list[tuple[str, bytes]] = []
        large: dict[str, FileSource] = {}  # sha256 -> a source to store it from
        for i, source in enumerate(sources):
            role = safe_name(names[i]) if names is not None else "file"
            record, data = self._hashed(role, source)
            if names is not None:
                record["name"] = role
            records.append(record)
            if data is not None:
                inline.append((record["sha256"], data))
            else:
                large.setdefault(record["sha256"], source)
        shas = sorted({r["sha256"] for r in records})
        owner, now = _owner(), time.time()
        # The claims are committed before any large content is written, so whatever a kill
        # leaves behind (a claim, a file) is found and removed by collect_orphan_files().
        with self._write() as db:
            held = {r[0] for r in _select_in(db, "SELECT sha256 FROM blobs", shas)}
            held.update(sha for sha in large if self._blob_path(sha).is_file())
            db.executemany("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", inline)
            # new content, or content another upload holds pending: ours too until bound
            pending = {r[0] for r in _select_in(db, "SELECT sha256 FROM pending_files", shas)}
            db.executemany(
                "INSERT OR IGNORE INTO pending_files (sha256, owner, session, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(s, owner, session, now) for s in shas if s not in held or s in pending],
            )
        for sha, source in large.items():
            if sha in held:
                continue
            try:
                stored, _ = self._store(source)
            except OSError as exc:
                raise BackendError(
                    f"Cannot store {source!s}: {exc}", backend=str(self.root)
                ) from exc
            if stored != sha:
                raise IntegrityError(
                    str(source), expected=sha, actual=stored, backend=str(self.root)
                )
        return records

    def _hashed(self, role: str, source: FileSource) -> tuple[FileRecord, bytes | None]:
        """The record of ``source`` and, when small enough for the database, its bytes;
        a large file is hashed without being stored."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if len(data) <= _INLINE_MAX:
                return self._file_record(role, data)
            sha = hashlib.sha256(data).hexdigest()
            return {"name": safe_name(role), "sha256": sha, "size": len(data)}, None
        if _small(source):
            return self._file_record(role, source)
        path = Path(source)
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return {"name": safe_name(path.name), "sha256": digest.hexdigest(), "size": size}, None

    def claim_data_files(self, checksums: Sequence[str], *, session: str = "") -> list[str]:
        """Hold contents for ``session`` before their bytes arrive (the HTTP server's first
        half of ``upload_data_files``); returns those the backend holds already (nothing to
        send). A claim whose bytes never come is released like any other."""
        shas = sorted(set(checksums))
        owner, now = _owner(), time.time()
        with self._write() as db:
            held = {r[0] for r in _select_in(db, "SELECT sha256 FROM blobs", shas)}
            held.update(sha for sha in shas if self._blob_path(sha).is_file())
            pending = {r[0] for r in _select_in(db, "SELECT sha256 FROM pending_files", shas)}
            db.executemany(
                "INSERT OR IGNORE INTO pending_files (sha256, owner, session, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(s, owner, session, now) for s in shas if s not in held or s in pending],
            )
        return sorted(held)

    def verify_data_files_checksums(self, checksums: Sequence[str]) -> list[str]:
        """The checksums (sha256) among ``checksums`` whose content the backend holds."""
        found: list[str] = []
        for sha in dict.fromkeys(checksums):
            if self._stored_size(sha) is not None:
                found.append(sha)
        return found

    def release_data_files(self, checksums: Sequence[str], *, session: str = "") -> int:
        """End ``session``'s hold on these files: those that no data unit or model uses and
        no other upload holds are deleted; return how many. An upload calls it when it is
        done (its files are used by then) and when it is rolled back (after removing its
        data units, so its files go)."""
        owner = _owner()
        return self._release([(sha, owner, session) for sha in dict.fromkeys(checksums)])

    def _release(self, claims: Sequence[tuple[str, str, str]]) -> int:
        """Drop pending claims; delete the content of those left with no claim and no use."""
        if not claims:
            return 0
        shas = sorted({c[0] for c in claims})
        with self._write() as db:
            since = min(
                (r[0] for r in _select_in(db, "SELECT min(created_at) FROM pending_files", shas)
                 if r[0] is not None),
                default=None,
            )  # fmt: skip
            db.executemany(
                "DELETE FROM pending_files WHERE sha256 = ? AND owner = ? AND session = ?", claims
            )
            if since is None:  # none of these was pending: nothing of ours to delete
                return 0
            claimed = {r[0] for r in _select_in(db, "SELECT sha256 FROM pending_files", shas)}
            candidates = {s for s in shas if s not in claimed}
            gone = sorted(candidates - _referenced(db, candidates, since - 1.0))
            db.executemany("DELETE FROM blobs WHERE sha256 = ?", [(s,) for s in gone])
        for sha in gone:
            self._blob_path(sha).unlink(missing_ok=True)
        return len(gone)

    # -- data units --------------------------------------------------------------------------

    def create_data_units(
        self, collection_id: int, units: Sequence[Mapping[str, Any]]
    ) -> list[CreatedDataUnit]:
        """Bind uploaded files into data units of a collection, all in one transaction.

        Each unit is ``{'files': {spec name: FileRecord}, 'meta': {...}, 'key': str}``
        (``key`` defaults to :func:`data_unit_key` of the files). A unit whose key the
        collection already has is not made again: its existing id is answered with
        ``created=False``. Files must be stored already (NotFoundError otherwise) and
        specification names must be the collection's (ValueError otherwise).
        """
        collection = self.get_data_collection(collection_id)
        spec_names = {s["name"] for s in collection["file_specifications"]}
        rows: list[tuple[str, str, str]] = []
        shas: set[str] = set()
        for index, unit in enumerate(units):
            files = unit.get("files")
            if not isinstance(files, Mapping) or not files:
                raise ValueError(f"units[{index}]['files'] must map specification names to files")
            unknown = sorted(set(files) - spec_names)
            if unknown:
                raise ValueError(
                    f"units[{index}] has files for {unknown}, which are not file specifications "
                    f"of data collection {collection_id} ({', '.join(sorted(spec_names))})"
                )
            clean = {
                spec: {"name": f["name"], "sha256": f["sha256"], "size": int(f["size"])}
                for spec, f in files.items()
            }
            shas.update(f["sha256"] for f in clean.values())
            key = unit.get("key") or data_unit_key(clean)
            rows.append((key, json.dumps(clean), json.dumps(dict(unit.get("meta") or {}))))
        missing = [s for s in sorted(shas) if self._stored_size(s) is None]
        if missing:
            raise NotFoundError(
                "file",
                missing[0],
                backend=str(self.root),
                hint=f"{len(missing)} file(s) of these data units are not stored; upload "
                "them first with upload_data_files()",
            )
        now = time.time()
        out: list[CreatedDataUnit] = []
        with self._write() as db:
            made = 0
            for key, files_json, meta_json in rows:
                hit = db.execute(
                    "SELECT unit FROM data_unit_keys WHERE dataset = ? AND key = ?",
                    (collection_id, key),
                ).fetchone()
                if hit is not None:
                    out.append({"id": int(hit[0]), "key": key, "created": False})
                    continue
                cur = db.execute(
                    "INSERT INTO data_units (dataset, files, meta, created_at) VALUES (?, ?, ?, ?)",
                    (collection_id, files_json, meta_json, now),
                )
                unit_id = int(cur.lastrowid or 0)
                db.execute(
                    "INSERT INTO data_unit_keys (dataset, key, unit) VALUES (?, ?, ?)",
                    (collection_id, key, unit_id),
                )
                out.append({"id": unit_id, "key": key, "created": True})
                made += 1
            db.execute(
                "UPDATE datasets SET data_unit_count = data_unit_count + ? WHERE id = ?",
                (made, collection_id),
            )
        return out

    def delete_data_units(self, collection_id: int, unit_ids: Sequence[int]) -> int:
        """Remove data units of a collection (an upload's rollback); return how many. Their
        files stay stored (other units or models may use them)."""
        self.get_data_collection(collection_id)
        ids = [(collection_id, int(i)) for i in dict.fromkeys(unit_ids)]
        with self._write() as db:
            before = db.total_changes
            db.executemany("DELETE FROM data_units WHERE dataset = ? AND id = ?", ids)
            removed = db.total_changes - before
            db.executemany("DELETE FROM data_unit_keys WHERE dataset = ? AND unit = ?", ids)
            db.execute(
                "UPDATE datasets SET data_unit_count = data_unit_count - ? WHERE id = ?",
                (removed, collection_id),
            )
        return removed


# -- helpers ---------------------------------------------------------------------------------

_STORAGE_SELECT = "SELECT id, name, description, provider, path, created_at FROM storages"
_COLLECTION_SELECT = (
    "SELECT d.id, d.name, d.description, c.file_specifications, d.data_unit_count, d.created_at "
    "FROM data_collections c JOIN datasets d ON d.id = c.dataset"
)
_PROJECT_SELECT = "SELECT id, name, description, data_collection, created_at FROM projects"
_CHUNK = 500  # bound parameters per IN (...) query


def _select_in(db: sqlite3.Connection, select: str, shas: Sequence[str]) -> Iterator[tuple[Any]]:
    for start in range(0, len(shas), _CHUNK):
        part = shas[start : start + _CHUNK]
        marks = ",".join("?" * len(part))
        yield from db.execute(f"{select} WHERE sha256 IN ({marks})", part)


_SHA_IN_JSON = re.compile(r'"sha256":\s*"([0-9a-f]{64})"')


def _referenced(db: sqlite3.Connection, shas: set[str], since: float) -> set[str]:
    """The contents among ``shas`` that a data unit or a model made at or after ``since``
    refers to (content first stored at ``since`` cannot be used by anything older)."""
    if not shas:
        return set()
    used: set[str] = set()
    for select in (
        "SELECT files FROM data_units WHERE created_at >= ?",
        "SELECT file FROM models WHERE created_at >= ?",
    ):
        for (text,) in db.execute(select, (since,)):
            used.update(sha for sha in _SHA_IN_JSON.findall(text) if sha in shas)
    return used


def _small(source: str | os.PathLike[str]) -> bool:
    try:
        return os.stat(source).st_size <= _INLINE_MAX
    except OSError:
        return True  # _file_record says what is wrong with it


def _folder_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name).strip(".-") or "storage"
    return cleaned[:100]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours, or no kill(0) here: keep its files
        return True
    return True


def _storage(row: tuple[Any, ...]) -> StorageRecord:
    id_, name, description, provider, path, created = row
    return {
        "id": id_,
        "name": name,
        "description": description,
        "provider": provider,
        "path": path,
        "created_at": created,
    }


def _collection(row: tuple[Any, ...]) -> DataCollectionRecord:
    id_, name, description, specs, count, created = row
    return {
        "id": id_,
        "name": name,
        "description": description,
        "file_specifications": json.loads(specs),
        "data_unit_count": count,
        "created_at": created,
    }


def _project(row: tuple[Any, ...]) -> ProjectRecord:
    id_, name, description, collection, created = row
    return {
        "id": id_,
        "name": name,
        "description": description,
        "data_collection": collection,
        "created_at": created,
    }
