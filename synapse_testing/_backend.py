"""``FakeBackend``: an in-memory ``BackendClient`` that records every call.

It follows the protocol's rules (JSON records, content-addressed files, safe names,
NotFoundError for a missing id) so an action behaves as it does against ``LocalBackend``,
and adds what a test needs: one-call seeding, a call journal and misses that name what the
fake holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from synapse_sdk.plugins.errors import BackendError, NotFoundError

if TYPE_CHECKING:
    from synapse_sdk.clients._collections import (
        CreatedDataUnit,
        DataCollectionRecord,
        ProjectRecord,
        StorageRecord,
    )
    from synapse_sdk.clients.base import (
        DatasetRecord,
        DataUnitRecord,
        FileRecord,
        FileSource,
        JobRecord,
        LogEntry,
        ModelRecord,
        ProgressRecord,
    )

__all__ = ["BackendCall", "FakeBackend"]


def _protocol_methods() -> list[str]:
    """The BackendClient protocol's methods: the calls the fake records and can fail."""
    from synapse_sdk.clients.base import BackendClient

    return sorted(n for n, v in vars(BackendClient).items() if callable(v) and n[0] != "_")


_JOB_STATUSES = ("running", "succeeded", "failed", "cancelled")
#: Records are stamped by a fake clock so they are identical on every run.
_EPOCH = 1_700_000_000.0

SeedFile = bytes | str | os.PathLike[str]


class BackendCall(NamedTuple):
    """One call the fake received: ``method`` and its arguments by name."""

    method: str
    args: dict[str, Any]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.args.items())
        return f"{self.method}({args})"


def _short(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_SCALARS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """A deep copy of JSON data (records hold nothing else), much cheaper than deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is dict and all(type(k) is str for k in value):
        return {k: _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if kind in _SCALARS and not (kind is float and value != value):  # NaN is not JSON
        return value
    raise TypeError


def _json(value: Any, what: str) -> Any:
    """A deep JSON copy, as a real backend stores it (non-JSON values fail like over HTTP)."""
    try:
        return _plain(value)
    except TypeError:  # not plain JSON data: let the json module convert it or say why not
        pass
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise BackendError(
            f"FakeBackend cannot store {what}: {exc}",
            backend="FakeBackend",
            hint="backend records hold JSON values only (dict, list, str, number, bool, None)",
        ) from exc


def _safe_name(name: str) -> str:
    from synapse_sdk.clients.paths import safe_name

    return safe_name(name)


class FakeBackend:
    """An in-memory :class:`~synapse_sdk.clients.BackendClient` for tests.

    Seed it in one call (:meth:`add_dataset`, :meth:`add_model`; seeding is not recorded as a
    call), run the action with it as ``ctx.client``, then read :attr:`calls`,
    :meth:`calls_to`, :attr:`uploaded_models` or use ``assert_model_uploaded``. A lookup of
    something the fake does not hold raises the protocol's ``NotFoundError`` whose hint lists
    what it does hold, nearest first. Thread-safe.
    """

    # The job recorder of a run flushes in the action's thread: calls come in a fixed order.
    sink_in_background = False

    def __init__(self) -> None:
        self.calls: list[BackendCall] = []
        self._lock = threading.RLock()
        self._ids: dict[str, int] = {}
        self._clock = _EPOCH
        self._datasets: dict[int, DatasetRecord] = {}
        self._units: dict[int, list[DataUnitRecord]] = {}
        self._files: dict[str, bytes] = {}
        self._models: dict[int, ModelRecord] = {}
        self._jobs: dict[int, JobRecord] = {}
        self._logs: dict[int, dict[int, LogEntry]] = {}
        self._storages: dict[int, StorageRecord] = {}
        self._specs: dict[int, list[Any]] = {}  # data collection (= dataset) id -> specs
        self._projects: dict[int, ProjectRecord] = {}
        self._held: dict[str, set[str]] = {}  # sha256 -> sessions holding it (uploads)
        self._unit_keys: dict[tuple[int, str], int] = {}
        self._seeded: dict[tuple[str, int], str] = {}
        self._used: set[tuple[str, int]] = set()
        self._failures: dict[str, list[Exception]] = {}

    def __repr__(self) -> str:
        return (
            f"FakeBackend(datasets={len(self._datasets)}, models={len(self._models)}, "
            f"jobs={len(self._jobs)}, calls={len(self.calls)})"
        )

    # -- internals ---------------------------------------------------------------------------

    def _next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _now(self) -> float:
        self._clock += 1.0
        return self._clock

    def _record(self, method: str, **args: Any) -> None:
        self.calls.append(BackendCall(method, args))
        planned = self._failures.get(method)
        if planned:
            error = planned.pop(0)
            if not planned:
                del self._failures[method]
            raise error

    def _store(self, role: str, source: FileSource) -> FileRecord:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            name = _safe_name(role)
        else:
            path = Path(source)
            if not path.is_file():
                raise BackendError(
                    f"Cannot store {path}: not a file",
                    backend="FakeBackend",
                    hint="pass a file path",
                )
            data = path.read_bytes()
            name = _safe_name(path.name)
        sha = hashlib.sha256(data).hexdigest()
        self._files[sha] = data
        return {"name": name, "sha256": sha, "size": len(data)}

    def _missing(self, kind: str, wanted: Any) -> NotFoundError:
        tables: dict[str, Mapping[int, Mapping[str, Any]]] = {
            "dataset": self._datasets,
            "model": self._models,
            "job": self._jobs,
            "storage": self._storages,
            "data_collection": {i: self._datasets[i] for i in self._specs},
            "project": self._projects,
        }
        table = tables.get(kind, {})
        plural = f"{kind}s"
        if not table:
            seed = {
                "dataset": "synapse_backend.add_dataset(name=..., files={...})",
                "model": "synapse_backend.add_model(name=..., content=b'...')",
                "storage": "synapse_backend.add_storage(files={'image/a.jpg': b'...'})",
                "data_collection": "synapse_backend.add_data_collection(specs=['image'])",
                "project": "synapse_backend.add_project(name=...)",
            }.get(kind)
            hint = f"the fake backend holds no {plural}" + (
                f"; seed one with {seed}" if seed else ""
            )
        else:
            try:
                target = int(wanted)
                order = sorted(table, key=lambda i: (abs(i - target), i))
            except (TypeError, ValueError):
                order = sorted(table)
            shown = ", ".join(
                f"{i} {table[i].get('name', table[i].get('action'))!r}" for i in order[:5]
            )
            more = f" (and {len(table) - 5} more)" if len(table) > 5 else ""
            hint = f"{plural} in the fake backend, nearest first: {shown}{more}"
        return NotFoundError(kind, wanted, backend="FakeBackend", hint=hint)

    def _dataset(self, dataset_id: int) -> DatasetRecord:
        record = self._datasets.get(dataset_id)
        if record is None:
            raise self._missing("dataset", dataset_id)
        self._used.add(("dataset", dataset_id))
        return record

    def _job(self, job_id: int) -> JobRecord:
        record = self._jobs.get(job_id)
        if record is None:
            raise self._missing("job", job_id)
        return record

    def _file(self, sha256: str) -> bytes:
        data = self._files.get(sha256)
        if data is None:
            names = sorted({f["name"] for f in self._file_records()})
            shown = ", ".join(names[:8]) if names else "none"
            raise NotFoundError(
                "file",
                sha256,
                backend="FakeBackend",
                hint=f"files in the fake backend: {shown}; use the sha256 of a FileRecord",
            )
        self._used.update(self._readers(sha256))
        return data

    def _file_records(self) -> Iterator[FileRecord]:
        for units in self._units.values():
            for unit in units:
                yield from unit["files"].values()
        for model in self._models.values():
            yield model["file"]

    def _readers(self, sha256: str) -> list[tuple[str, int]]:
        """The seeds a read of this content counts as used: its one owner; when several seeds
        hold the same bytes, none if one of them was already looked up (that explains the
        read), else all of them (nothing tells which one the action meant)."""
        owners = list(self._owners(sha256))
        if len(owners) > 1 and any(owner in self._used for owner in owners):
            return []
        return owners

    def _owners(self, sha256: str) -> Iterator[tuple[str, int]]:
        for dataset_id, units in self._units.items():
            if any(f["sha256"] == sha256 for u in units for f in u["files"].values()):
                yield "dataset", dataset_id
        for model_id, model in self._models.items():
            if model["file"]["sha256"] == sha256:
                yield "model", model_id

    # -- seeding (not recorded) --------------------------------------------------------------

    def add_dataset(
        self,
        name: str = "dataset",
        *,
        files: Mapping[str, SeedFile] | None = None,
        units: Sequence[tuple[Mapping[str, SeedFile], Mapping[str, Any]]] = (),
        role: str = "file",
        description: str = "",
        meta: Mapping[str, Any] | None = None,
    ) -> DatasetRecord:
        """Seed a dataset in one call and return its record.

        ``files`` maps a file name to its content (bytes, text, or a ``Path`` to read); each
        becomes one data unit holding that file under ``role`` with ``{'name': <file name>}``
        as meta. ``units`` adds data units exactly as ``add_data_units`` takes them.
        """
        with self._lock:
            record = self._new_dataset(name, description, meta)
            dataset_id = record["id"]
            all_units: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
            for file_name, content in (files or {}).items():
                all_units.append(({role: (file_name, content)}, {"name": file_name}))
            all_units.extend(units)
            self._add_units(dataset_id, all_units)
            self._seeded[("dataset", dataset_id)] = name
            return _copy(record)

    def add_model(
        self,
        name: str = "model",
        *,
        content: bytes | str = b"model",
        file_name: str = "model.bin",
        description: str = "",
        meta: Mapping[str, Any] | None = None,
        dataset: int | None = None,
        parent: int | None = None,
        job: int | None = None,
    ) -> ModelRecord:
        """Seed a stored model (a checkpoint) holding ``content`` and return its record."""
        with self._lock:
            record = self._new_model(
                self._store(_safe_name(file_name), _bytes(content)),
                name=name,
                description=description,
                meta=meta,
                dataset=dataset,
                parent=parent,
                job=job,
            )
            self._seeded[("model", record["id"])] = name
            return _copy(record)

    def _new_dataset(
        self, name: str, description: str, meta: Mapping[str, Any] | None
    ) -> DatasetRecord:
        dataset_id = self._next_id("dataset")
        record: DatasetRecord = {
            "id": dataset_id,
            "name": name,
            "description": description,
            "meta": _json(dict(meta or {}), "dataset meta"),
            "data_unit_count": 0,
            "created_at": self._now(),
        }
        self._datasets[dataset_id] = record
        self._units[dataset_id] = []
        return record

    def _add_units(
        self, dataset_id: int, units: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[DataUnitRecord]:
        stored: list[DataUnitRecord] = []
        for files, meta in units:
            records: dict[str, FileRecord] = {}
            for role, source in files.items():
                if isinstance(source, tuple):  # (file name, seed content) from add_dataset
                    file_name, content = source
                    record = self._store(_safe_name(file_name), _seed_bytes(content))
                else:
                    record = self._store(role, source)
                records[_safe_name(role)] = record
            stored.append(
                {
                    "id": self._next_id("data_unit"),
                    "dataset": dataset_id,
                    "files": records,
                    "meta": _json(dict(meta), "data unit meta"),
                    "created_at": self._now(),
                }
            )
        self._units[dataset_id].extend(stored)
        self._datasets[dataset_id]["data_unit_count"] += len(stored)
        return stored

    def _new_model(
        self,
        file: FileRecord,
        *,
        name: str,
        description: str,
        meta: Mapping[str, Any] | None,
        dataset: int | None,
        parent: int | None,
        job: int | None,
    ) -> ModelRecord:
        model_id = self._next_id("model")
        record: ModelRecord = {
            "id": model_id,
            "name": name,
            "description": description,
            "meta": _json(dict(meta or {}), "model meta"),
            "file": file,
            "dataset": dataset,
            "parent": parent,
            "job": job,
            "created_at": self._now(),
        }
        self._models[model_id] = record
        return record

    def add_storage(
        self,
        name: str = "storage",
        *,
        path: str | os.PathLike[str] | None = None,
        files: Mapping[str, SeedFile] | None = None,
        description: str = "",
    ) -> StorageRecord:
        """Seed a storage in one call and return its record: the folder ``path``, or a new
        temporary folder (removed with the fake). ``files`` maps a relative path
        (``'image/0001.jpg'``) to its content (bytes, text, or a ``Path`` to copy), written
        into the folder."""
        with self._lock:
            record = self._new_storage(name, path, files, description)
            self._seeded[("storage", record["id"])] = name
            return _copy(record)

    def _new_storage(
        self,
        name: str,
        path: str | os.PathLike[str] | None,
        files: Mapping[str, SeedFile] | None,
        description: str,
    ) -> StorageRecord:
        if path is None:
            folder = Path(tempfile.mkdtemp(prefix="synapse-fake-storage-"))
            weakref.finalize(self, shutil.rmtree, folder, True)
        else:
            folder = Path(path).resolve()
            folder.mkdir(parents=True, exist_ok=True)
        for relative, content in (files or {}).items():
            target = folder / _safe_name(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_seed_bytes(content))
        storage_id = self._next_id("storage")
        record: StorageRecord = {
            "id": storage_id,
            "name": name,
            "description": description,
            "provider": "local",
            "path": str(folder),
            "created_at": self._now(),
        }
        self._storages[storage_id] = record
        return record

    def add_data_collection(
        self,
        name: str = "collection",
        *,
        specs: Sequence[str | Mapping[str, Any]] = ("image",),
        description: str = "",
    ) -> DataCollectionRecord:
        """Seed a data collection (a dataset with file specifications) and return its
        record. ``specs`` are specification names (required), or full specifications
        (``{'name': 'label', 'is_required': False, 'extensions': ['.json']}``)."""
        from synapse_sdk.clients._collections import normalize_specifications

        full = [{"name": s, "is_required": True} if isinstance(s, str) else s for s in specs]
        with self._lock:
            checked = normalize_specifications(full)
            record = self._new_dataset(name, description, {"data_collection": True})
            self._specs[record["id"]] = checked
            self._seeded[("data_collection", record["id"])] = name
            return self._collection(record["id"])

    def add_project(
        self, name: str = "project", *, data_collection: int | None = None, description: str = ""
    ) -> ProjectRecord:
        """Seed a project and return its record."""
        with self._lock:
            record = self._new_project(name, data_collection, description)
            self._seeded[("project", record["id"])] = name
            return _copy(record)

    def _new_project(
        self, name: str, data_collection: int | None, description: str
    ) -> ProjectRecord:
        project_id = self._next_id("project")
        record: ProjectRecord = {
            "id": project_id,
            "name": name,
            "description": description,
            "data_collection": data_collection,
            "created_at": self._now(),
        }
        self._projects[project_id] = record
        return record

    def _collection(self, collection_id: int) -> DataCollectionRecord:
        dataset = self._datasets[collection_id]
        return {
            "id": collection_id,
            "name": dataset["name"],
            "description": dataset["description"],
            "file_specifications": _copy(self._specs[collection_id]),
            "data_unit_count": dataset["data_unit_count"],
            "created_at": dataset["created_at"],
        }

    def fail_next(self, method: str, error: Exception | None = None, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` raise ``error`` (default: a
        BackendError), to test how the action handles a failing backend. The failing calls
        are recorded in :attr:`calls` like any other."""
        methods = _protocol_methods()
        if method not in methods:
            from synapse_sdk.plugins.errors import did_you_mean

            guess = did_you_mean(method, methods)
            raise ValueError(
                f"fail_next({method!r}): not a BackendClient method; "
                + (f"did you mean {guess!r}? " if guess else "")
                + "methods: "
                + ", ".join(methods)
            )
        if error is None:
            error = BackendError(
                f"injected failure of {method} (synapse_backend.fail_next)", backend="FakeBackend"
            )
        self._failures.setdefault(method, []).extend([error] * times)

    # -- inspection --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[BackendCall]:
        """The recorded calls of one protocol method, in order."""
        return [c for c in self.calls if c.method == method]

    @property
    def uploaded_models(self) -> list[ModelRecord]:
        """Models the code under test created (``create_model``), oldest first."""
        seeded = {key for kind, key in self._seeded if kind == "model"}
        return [_copy(m) for i, m in self._models.items() if i not in seeded]

    def model_bytes(self, model: int | Mapping[str, Any]) -> bytes:
        """The stored content of a model (by id or record); not recorded as a call."""
        record = self._models[model if isinstance(model, int) else int(model["id"])]
        return self._files[record["file"]["sha256"]]

    @property
    def held_files(self) -> dict[str, list[str]]:
        """Files stored by uploads and not released yet: sha256 -> the sessions holding it
        (empty once every upload finished or was rolled back)."""
        return {sha: sorted(sessions) for sha, sessions in self._held.items() if sessions}

    def unused_files(self) -> list[str]:
        """sha256 of stored files that no data unit or model uses (orphans)."""
        used = {f["sha256"] for f in self._file_records()}
        return sorted(sha for sha in self._files if sha not in used)

    def unused_seeds(self) -> list[str]:
        """Seeded datasets and models that no call read (``"dataset 1 'digits'"``)."""
        return [
            f"{kind} {key} {name!r}"
            for (kind, key), name in self._seeded.items()
            if (kind, key) not in self._used
        ]

    # -- BackendClient: datasets and data units ---------------------------------------------

    def create_dataset(
        self, name: str, *, description: str = "", meta: Mapping[str, Any] | None = None
    ) -> DatasetRecord:
        with self._lock:
            self._record("create_dataset", name=name, description=description, meta=meta)
            return _copy(self._new_dataset(name, description, meta))

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        with self._lock:
            self._record("get_dataset", dataset_id=dataset_id)
            return _copy(self._dataset(dataset_id))

    def list_datasets(self) -> list[DatasetRecord]:
        with self._lock:
            self._record("list_datasets")
            self._used.update(("dataset", i) for i in self._datasets)
            return _copy(list(self._datasets.values()))

    def add_data_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileSource], Mapping[str, Any]]],
    ) -> list[DataUnitRecord]:
        with self._lock:
            self._record("add_data_units", dataset_id=dataset_id, units=list(units))
            self._dataset(dataset_id)
            return _copy(self._add_units(dataset_id, units))

    def list_data_units(
        self, dataset_id: int, *, offset: int = 0, limit: int | None = None
    ) -> list[DataUnitRecord]:
        with self._lock:
            self._record("list_data_units", dataset_id=dataset_id, offset=offset, limit=limit)
            self._dataset(dataset_id)
            units = self._units[dataset_id][offset:]
            return _copy(units if limit is None else units[:limit])

    # -- BackendClient: files ----------------------------------------------------------------

    def read_file(self, sha256: str) -> bytes:
        with self._lock:
            self._record("read_file", sha256=sha256)
            return self._file(sha256)

    def download_file(self, sha256: str, dest: str | os.PathLike[str]) -> str:
        with self._lock:
            self._record("download_file", sha256=sha256, dest=str(dest))
            data = self._file(sha256)
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return str(target)

    # -- BackendClient: models ---------------------------------------------------------------

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
        with self._lock:
            self._record(
                "create_model",
                path=str(path),
                name=name,
                description=description,
                meta=meta,
                dataset=dataset,
                parent=parent,
                job=job,
            )
            file = self._store("model", path)
            record = self._new_model(
                file,
                name=name,
                description=description,
                meta=meta,
                dataset=dataset,
                parent=parent,
                job=job,
            )
            return _copy(record)

    def get_model(self, model_id: int) -> ModelRecord:
        with self._lock:
            self._record("get_model", model_id=model_id)
            record = self._models.get(model_id)
            if record is None:
                raise self._missing("model", model_id)
            self._used.add(("model", model_id))
            return _copy(record)

    def list_models(self, *, name: str | None = None) -> list[ModelRecord]:
        with self._lock:
            self._record("list_models", name=name)
            found = [m for m in self._models.values() if name is None or m["name"] == name]
            self._used.update(("model", m["id"]) for m in found)
            return _copy(found)

    # -- BackendClient: jobs -----------------------------------------------------------------

    def create_job(
        self,
        action: str,
        *,
        params: Any = None,
        run_id: str | None = None,
        plugin: str | None = None,
    ) -> JobRecord:
        with self._lock:
            self._record("create_job", action=action, params=params, run_id=run_id, plugin=plugin)
            job_id = self._next_id("job")
            now = self._now()
            record: JobRecord = {
                "id": job_id,
                "action": action,
                "plugin": plugin,
                "run_id": run_id,
                "status": "running",
                "params": _json(params, "job params"),
                "progress": {},
                "metrics": {},
                "result": None,
                "error": None,
                "log_count": 0,
                "created_at": now,
                "updated_at": now,
            }
            self._jobs[job_id] = record
            self._logs[job_id] = {}
            return _copy(record)

    def get_job(self, job_id: int) -> JobRecord:
        with self._lock:
            self._record("get_job", job_id=job_id)
            return _copy(self._job(job_id))

    def list_jobs(self, *, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        with self._lock:
            self._record("list_jobs", status=status, limit=limit)
            jobs = [j for j in reversed(self._jobs.values()) if status in (None, j["status"])]
            return _copy(jobs if limit is None else jobs[:limit])

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
        if status is not None and status not in _JOB_STATUSES:
            raise ValueError(
                f"unknown job status {status!r}; use one of {', '.join(_JOB_STATUSES)}"
            )
        with self._lock:
            self._record(
                "update_job",
                job_id=job_id,
                status=status,
                progress=progress,
                metrics=metrics,
                result=result,
                error=error,
            )
            job = self._job(job_id)
            if status is not None:
                job["status"] = status
            if progress:
                job["progress"].update(_json(dict(progress), "job progress"))
            if metrics:
                for step, values in _json(dict(metrics), "job metrics").items():
                    job["metrics"].setdefault(step, {}).update(values)
            if result is not None:
                job["result"] = _json(result, "job result")
            if error is not None:
                job["error"] = error
            job["updated_at"] = self._now()

    def append_job_logs(self, job_id: int, entries: Sequence[LogEntry]) -> int:
        with self._lock:
            self._record("append_job_logs", job_id=job_id, entries=list(entries))
            job = self._job(job_id)
            log = self._logs[job_id]
            added = 0
            for entry in entries:
                seq = int(entry["seq"])
                if seq not in log:
                    log[seq] = _json(dict(entry), "log entry")
                    added += 1
            if added:
                job["log_count"] += added
                job["updated_at"] = self._now()
            return added

    def get_job_logs(
        self, job_id: int, *, after: int | None = None, limit: int | None = None
    ) -> list[LogEntry]:
        with self._lock:
            self._record("get_job_logs", job_id=job_id, after=after, limit=limit)
            self._job(job_id)
            entries = [
                e for s, e in sorted(self._logs[job_id].items()) if after is None or s > after
            ]
            return _copy(entries if limit is None else entries[:limit])

    # -- BackendClient: storages, data collections, projects, data files --------------------

    def create_storage(
        self, name: str, *, path: str | os.PathLike[str] | None = None, description: str = ""
    ) -> StorageRecord:
        with self._lock:
            self._record("create_storage", name=name, path=path, description=description)
            if any(s["name"] == name for s in self._storages.values()):
                raise BackendError(
                    f"A storage named {name!r} already exists", backend="FakeBackend"
                )
            if path is not None and not Path(path).is_dir():
                raise BackendError(
                    f"Cannot register storage {name!r}: {path} is not a directory",
                    backend="FakeBackend",
                )
            return _copy(self._new_storage(name, path, None, description))

    def get_storage(self, storage_id: int) -> StorageRecord:
        with self._lock:
            self._record("get_storage", storage_id=storage_id)
            record = self._storages.get(storage_id)
            if record is None:
                raise self._missing("storage", storage_id)
            self._used.add(("storage", storage_id))
            return _copy(record)

    def list_storages(self) -> list[StorageRecord]:
        with self._lock:
            self._record("list_storages")
            self._used.update(("storage", i) for i in self._storages)
            return _copy(list(self._storages.values()))

    def create_data_collection(
        self,
        name: str,
        *,
        file_specifications: Sequence[Mapping[str, Any]],
        description: str = "",
    ) -> DataCollectionRecord:
        from synapse_sdk.clients._collections import normalize_specifications

        with self._lock:
            self._record(
                "create_data_collection",
                name=name,
                file_specifications=list(file_specifications),
                description=description,
            )
            checked = normalize_specifications(file_specifications)
            record = self._new_dataset(name, description, {"data_collection": True})
            self._specs[record["id"]] = checked
            return self._collection(record["id"])

    def get_data_collection(self, collection_id: int) -> DataCollectionRecord:
        with self._lock:
            self._record("get_data_collection", collection_id=collection_id)
            if collection_id not in self._specs:
                raise self._missing("data_collection", collection_id)
            self._used.add(("data_collection", collection_id))
            return self._collection(collection_id)

    def list_data_collections(self) -> list[DataCollectionRecord]:
        with self._lock:
            self._record("list_data_collections")
            self._used.update(("data_collection", i) for i in self._specs)
            return [self._collection(i) for i in self._specs]

    def create_project(
        self, name: str, *, data_collection: int | None = None, description: str = ""
    ) -> ProjectRecord:
        with self._lock:
            self._record(
                "create_project", name=name, data_collection=data_collection,
                description=description,
            )  # fmt: skip
            if data_collection is not None and data_collection not in self._specs:
                raise self._missing("data_collection", data_collection)
            return _copy(self._new_project(name, data_collection, description))

    def get_project(self, project_id: int) -> ProjectRecord:
        with self._lock:
            self._record("get_project", project_id=project_id)
            record = self._projects.get(project_id)
            if record is None:
                raise self._missing("project", project_id)
            self._used.add(("project", project_id))
            return _copy(record)

    def list_projects(self) -> list[ProjectRecord]:
        with self._lock:
            self._record("list_projects")
            self._used.update(("project", i) for i in self._projects)
            return _copy(list(self._projects.values()))

    def upload_data_file(
        self, source: FileSource, *, name: str | None = None, session: str = ""
    ) -> FileRecord:
        with self._lock:
            self._record("upload_data_file", source=_source(source), name=name, session=session)
            return self._upload([source], None if name is None else [name], session)[0]

    def upload_data_files(
        self,
        sources: Sequence[FileSource],
        *,
        names: Sequence[str] | None = None,
        session: str = "",
    ) -> list[FileRecord]:
        with self._lock:
            self._record(
                "upload_data_files",
                sources=[_source(s) for s in sources],
                names=None if names is None else list(names),
                session=session,
            )
            return self._upload(sources, names, session)

    def _upload(
        self, sources: Sequence[FileSource], names: Sequence[str] | None, session: str
    ) -> list[FileRecord]:
        if names is not None and len(names) != len(sources):
            raise ValueError(f"{len(names)} names for {len(sources)} files")
        records = []
        for i, source in enumerate(sources):
            role = names[i] if names is not None else "file"
            known = sha256 if (sha256 := _digest_of(source)) in self._files else None
            record = self._store(role, source)
            if names is not None:
                record["name"] = _safe_name(role)
            sha = record["sha256"]
            holders = self._held.get(sha)
            if known is None:
                self._held.setdefault(sha, set()).add(session)
            elif holders:
                holders.add(session)
            records.append(record)
        return records

    def verify_data_files_checksums(self, checksums: Sequence[str]) -> list[str]:
        with self._lock:
            self._record("verify_data_files_checksums", checksums=list(checksums))
            return [sha for sha in dict.fromkeys(checksums) if sha in self._files]

    def release_data_files(self, checksums: Sequence[str], *, session: str = "") -> int:
        with self._lock:
            self._record("release_data_files", checksums=list(checksums), session=session)
            used = {f["sha256"] for f in self._file_records()}
            removed = 0
            for sha in dict.fromkeys(checksums):
                holders = self._held.get(sha)
                if not holders or session not in holders:
                    continue
                holders.discard(session)
                if not holders:
                    del self._held[sha]
                    if sha not in used and sha in self._files:
                        del self._files[sha]
                        removed += 1
            return removed

    def create_data_units(
        self, collection_id: int, units: Sequence[Mapping[str, Any]]
    ) -> list[CreatedDataUnit]:
        from synapse_sdk.clients._collections import data_unit_key

        with self._lock:
            self._record("create_data_units", collection_id=collection_id, units=list(units))
            if collection_id not in self._specs:
                raise self._missing("data_collection", collection_id)
            names = {s["name"] for s in self._specs[collection_id]}
            prepared = []
            for index, unit in enumerate(units):
                files: dict[str, FileRecord] = {
                    spec: {"name": f["name"], "sha256": f["sha256"], "size": int(f["size"])}
                    for spec, f in dict(unit.get("files") or {}).items()
                }
                if not files or set(files) - names:
                    raise ValueError(
                        f"units[{index}] has files for {sorted(set(files) - names) or 'nothing'}"
                        f"; file specifications of collection {collection_id}: {sorted(names)}"
                    )
                for f in files.values():
                    self._file(f["sha256"])
                key = unit.get("key") or data_unit_key(files)
                prepared.append((key, files, _json(dict(unit.get("meta") or {}), "meta")))
            out: list[CreatedDataUnit] = []
            for key, files, meta in prepared:
                existing = self._unit_keys.get((collection_id, key))
                if existing is not None:
                    out.append({"id": existing, "key": key, "created": False})
                    continue
                unit_id = self._next_id("data_unit")
                self._units[collection_id].append(
                    {"id": unit_id, "dataset": collection_id, "files": files, "meta": meta,
                     "created_at": self._now()}
                )  # fmt: skip
                self._datasets[collection_id]["data_unit_count"] += 1
                self._unit_keys[(collection_id, key)] = unit_id
                out.append({"id": unit_id, "key": key, "created": True})
            return out

    def delete_data_units(self, collection_id: int, unit_ids: Sequence[int]) -> int:
        with self._lock:
            self._record("delete_data_units", collection_id=collection_id, unit_ids=list(unit_ids))
            if collection_id not in self._specs:
                raise self._missing("data_collection", collection_id)
            gone = set(unit_ids)
            units = self._units[collection_id]
            kept = [u for u in units if u["id"] not in gone]
            removed = len(units) - len(kept)
            self._units[collection_id] = kept
            self._datasets[collection_id]["data_unit_count"] -= removed
            for k in [k for k, v in self._unit_keys.items() if k[0] == collection_id and v in gone]:
                del self._unit_keys[k]
            return removed


def _digest_of(source: FileSource) -> str | None:
    """sha256 of a source's content (None when it cannot be read: _store says why)."""
    try:
        data = (
            bytes(source)
            if isinstance(source, (bytes, bytearray, memoryview))
            else (Path(source).read_bytes())
        )
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest()


def _source(source: Any) -> Any:
    return source if isinstance(source, (bytes, bytearray, memoryview)) else str(source)


def _bytes(content: bytes | str) -> bytes:
    return content.encode() if isinstance(content, str) else bytes(content)


def _seed_bytes(content: SeedFile) -> bytes:
    """Seed content: bytes as is, ``str`` as UTF-8 text, a path-like object is read."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    if isinstance(content, str):
        return content.encode()
    return Path(content).read_bytes()
