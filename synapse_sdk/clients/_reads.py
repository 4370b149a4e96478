"""``ReadRecorder``: a BackendClient wrapper that remembers what a run read.

Wrap the client a run is given (``run_action(..., client=ReadRecorder(client))``) and, after
the run, :meth:`ReadRecorder.reads` tells what the action fetched from the backend: dataset,
data unit, model, storage, data collection and project records, and the sha256 of every file
whose bytes it read. ``synapse_testing.save_as_test`` seeds the kit's fake backend with exactly
that, so a saved run replays without the real backend.

Records the run created itself (``create_dataset``, ``create_model``, uploads, ...) are not
reads: a replay makes them again. Job methods are passed through unrecorded (the run's own job
is the job sink's business). Memory: records as the backend returned them, and file checksums
only; the bytes are fetched from the wrapped client when :meth:`ReadRecorder.file_bytes` asks.
Everything that is not a protocol method (``root``, ``url``, ``sink_in_background``, ...) is
the wrapped client's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._collections import CreatedDataUnit, DataCollectionRecord, ProjectRecord, StorageRecord
    from .base import (
        DatasetRecord,
        DataUnitRecord,
        FileRecord,
        FileSource,
        JobRecord,
        LogEntry,
        ModelRecord,
        ProgressRecord,
    )

__all__ = ["BackendReads", "ReadRecorder"]

# a data collection is numbered as the dataset that holds its units
_COUNTERS = {"data_collection": "dataset"}


@dataclass
class BackendReads:
    """What a run read from a backend, as plain JSON records keyed by id.

    ``data_units`` maps a dataset id to its units by position (the ``offset`` a listing
    returned them at), so a replay lists the same units at the same offsets. ``files`` are the
    sha256 of every file whose bytes were read (``read_file``, ``download_file``, or found by
    ``verify_data_files_checksums``).
    """

    datasets: dict[int, dict[str, Any]] = field(default_factory=dict)
    data_units: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    models: dict[int, dict[str, Any]] = field(default_factory=dict)
    storages: dict[int, dict[str, Any]] = field(default_factory=dict)
    data_collections: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    #: the first id the backend gave each kind of record the run created (``'dataset'``,
    #: ``'data_unit'``, ``'model'``, ``'job'``, ...): a replay numbers its own records alike
    first_created: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(
            (
                self.datasets,
                self.data_units,
                self.models,
                self.storages,
                self.data_collections,
                self.projects,
                self.files,
            )
        )


class ReadRecorder:
    """A :class:`~synapse_sdk.clients.BackendClient` that passes every call to ``client`` and
    records the reads (see the module docstring). Thread-safe; one recorder per run."""

    def __init__(self, client: Any) -> None:
        if isinstance(client, ReadRecorder):
            client = client.client
        self.client: Any = client
        self._lock = threading.Lock()
        self._reads = BackendReads()
        # what the run made itself: never seeded, a replay makes it again
        self._created: dict[str, set[int]] = {}
        self._stored: set[str] = set()

    def __repr__(self) -> str:
        # transparent: an action that prints its client prints the same with or without it
        return repr(self.client)

    def __getattr__(self, name: str) -> Any:
        # only called for what this class does not define: the client's own attributes
        if name == "client":  # not set yet (a copy, an unpickled one): no recursion
            raise AttributeError(name)
        return getattr(self.client, name)

    # -- what was read -----------------------------------------------------------------------

    def reads(self) -> BackendReads:
        """A copy of what was read so far, without what the run created itself."""
        with self._lock:
            r = self._reads
            made = self._created

            def own(kind: str, table: Mapping[int, Any]) -> dict[int, Any]:
                skip = made.get(kind, set())
                return {k: v for k, v in table.items() if k not in skip}

            skip_units = made.get("dataset", set()) | made.get("data_collection", set())
            return BackendReads(
                datasets=own("dataset", r.datasets),
                data_units={k: dict(v) for k, v in r.data_units.items() if k not in skip_units},
                models=own("model", r.models),
                storages=own("storage", r.storages),
                data_collections=own("data_collection", r.data_collections),
                projects=own("project", r.projects),
                files={sha for sha in r.files if sha not in self._stored},
                first_created={
                    _COUNTERS.get(kind, kind): min(ids) for kind, ids in made.items() if ids
                },
            )

    def file_bytes(self, sha256: str) -> bytes:
        """The bytes of a file that was read, fetched from the wrapped client (unrecorded)."""
        data: bytes = self.client.read_file(sha256)
        return data

    def list_units(self, dataset_id: int, offset: int, limit: int) -> list[DataUnitRecord]:
        """Data units from the wrapped client, unrecorded (to fill gaps between listings)."""
        units: list[DataUnitRecord] = self.client.list_data_units(
            dataset_id, offset=offset, limit=limit
        )
        return units

    # -- recording helpers -------------------------------------------------------------------

    def _keep(self, table: dict[int, dict[str, Any]], records: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            for record in records:
                table[int(record["id"])] = dict(record)

    def _made(self, kind: str, *records: Mapping[str, Any]) -> None:
        with self._lock:
            self._created.setdefault(kind, set()).update(
                int(r["id"]) for r in records if r.get("id") is not None
            )

    # -- datasets and data units -------------------------------------------------------------

    def create_dataset(
        self, name: str, *, description: str = "", meta: Mapping[str, Any] | None = None
    ) -> DatasetRecord:
        record: DatasetRecord = self.client.create_dataset(name, description=description, meta=meta)
        self._made("dataset", record)
        return record

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        record: DatasetRecord = self.client.get_dataset(dataset_id)
        self._keep(self._reads.datasets, [record])
        return record

    def list_datasets(self) -> list[DatasetRecord]:
        records: list[DatasetRecord] = self.client.list_datasets()
        self._keep(self._reads.datasets, records)
        return records

    def add_data_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileSource], Mapping[str, Any]]],
    ) -> list[DataUnitRecord]:
        records: list[DataUnitRecord] = self.client.add_data_units(dataset_id, units)
        self._made("data_unit", *records)
        with self._lock:
            for unit in records:
                self._stored.update(f["sha256"] for f in unit["files"].values())
        return records

    def list_data_units(
        self, dataset_id: int, *, offset: int = 0, limit: int | None = None
    ) -> list[DataUnitRecord]:
        units: list[DataUnitRecord] = self.client.list_data_units(
            dataset_id, offset=offset, limit=limit
        )
        with self._lock:
            table = self._reads.data_units.setdefault(int(dataset_id), {})
            for position, unit in enumerate(units, offset):
                table[position] = dict(unit)
        return units

    # -- files -------------------------------------------------------------------------------

    def read_file(self, sha256: str) -> bytes:
        data: bytes = self.client.read_file(sha256)
        with self._lock:
            self._reads.files.add(sha256)
        return data

    def download_file(self, sha256: str, dest: str | os.PathLike[str]) -> str:
        path: str = self.client.download_file(sha256, dest)
        with self._lock:
            self._reads.files.add(sha256)
        return path

    # -- models ------------------------------------------------------------------------------

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
        record: ModelRecord = self.client.create_model(
            path,
            name=name,
            description=description,
            meta=meta,
            dataset=dataset,
            parent=parent,
            job=job,
        )
        self._made("model", record)
        with self._lock:
            self._stored.add(record["file"]["sha256"])
        return record

    def get_model(self, model_id: int) -> ModelRecord:
        record: ModelRecord = self.client.get_model(model_id)
        self._keep(self._reads.models, [record])
        return record

    def list_models(self, *, name: str | None = None) -> list[ModelRecord]:
        records: list[ModelRecord] = self.client.list_models(name=name)
        self._keep(self._reads.models, records)
        return records

    # -- jobs: passed through (the run's own job is written by its job sink) -------------------

    def create_job(
        self,
        action: str,
        *,
        params: Any = None,
        run_id: str | None = None,
        plugin: str | None = None,
    ) -> JobRecord:
        record: JobRecord = self.client.create_job(
            action, params=params, run_id=run_id, plugin=plugin
        )
        self._made("job", record)
        return record

    def get_job(self, job_id: int) -> JobRecord:
        record: JobRecord = self.client.get_job(job_id)
        return record

    def list_jobs(self, *, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        records: list[JobRecord] = self.client.list_jobs(status=status, limit=limit)
        return records

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
        self.client.update_job(
            job_id, status=status, progress=progress, metrics=metrics, result=result, error=error
        )

    def append_job_logs(self, job_id: int, entries: Sequence[LogEntry]) -> int:
        count: int = self.client.append_job_logs(job_id, entries)
        return count

    def get_job_logs(
        self, job_id: int, *, after: int | None = None, limit: int | None = None
    ) -> list[LogEntry]:
        entries: list[LogEntry] = self.client.get_job_logs(job_id, after=after, limit=limit)
        return entries

    # -- storages, data collections, projects, data files --------------------------------------

    def create_storage(
        self, name: str, *, path: str | os.PathLike[str] | None = None, description: str = ""
    ) -> StorageRecord:
        record: StorageRecord = self.client.create_storage(name, path=path, description=description)
        self._made("storage", record)
        return record

    def get_storage(self, storage_id: int) -> StorageRecord:
        record: StorageRecord = self.client.get_storage(storage_id)
        self._keep(self._reads.storages, [record])
        return record

    def list_storages(self) -> list[StorageRecord]:
        records: list[StorageRecord] = self.client.list_storages()
        self._keep(self._reads.storages, records)
        return records

    def create_data_collection(
        self,
        name: str,
        *,
        file_specifications: Sequence[Mapping[str, Any]],
        description: str = "",
    ) -> DataCollectionRecord:
        record: DataCollectionRecord = self.client.create_data_collection(
            name, file_specifications=file_specifications, description=description
        )
        self._made("data_collection", record)
        return record

    def get_data_collection(self, collection_id: int) -> DataCollectionRecord:
        record: DataCollectionRecord = self.client.get_data_collection(collection_id)
        self._keep(self._reads.data_collections, [record])
        return record

    def list_data_collections(self) -> list[DataCollectionRecord]:
        records: list[DataCollectionRecord] = self.client.list_data_collections()
        self._keep(self._reads.data_collections, records)
        return records

    def create_project(
        self, name: str, *, data_collection: int | None = None, description: str = ""
    ) -> ProjectRecord:
        record: ProjectRecord = self.client.create_project(
            name, data_collection=data_collection, description=description
        )
        self._made("project", record)
        return record

    def get_project(self, project_id: int) -> ProjectRecord:
        record: ProjectRecord = self.client.get_project(project_id)
        self._keep(self._reads.projects, [record])
        return record

    def list_projects(self) -> list[ProjectRecord]:
        records: list[ProjectRecord] = self.client.list_projects()
        self._keep(self._reads.projects, records)
        return records

    def upload_data_file(
        self, source: FileSource, *, name: str | None = None, session: str = ""
    ) -> FileRecord:
        record: FileRecord = self.client.upload_data_file(source, name=name, session=session)
        with self._lock:
            self._stored.add(record["sha256"])
        return record

    def upload_data_files(
        self,
        sources: Sequence[FileSource],
        *,
        names: Sequence[str] | None = None,
        session: str = "",
    ) -> list[FileRecord]:
        records: list[FileRecord] = self.client.upload_data_files(
            sources, names=names, session=session
        )
        with self._lock:
            self._stored.update(r["sha256"] for r in records)
        return records

    def verify_data_files_checksums(self, checksums: Sequence[str]) -> list[str]:
        found: list[str] = self.client.verify_data_files_checksums(checksums)
        with self._lock:
            # held before the run: the replay must hold them too
            self._reads.files.update(sha for sha in found if sha not in self._stored)
        return found

    def release_data_files(self, checksums: Sequence[str], *, session: str = "") -> int:
        count: int = self.client.release_data_files(checksums, session=session)
        return count

    def create_data_units(
        self, collection_id: int, units: Sequence[Mapping[str, Any]]
    ) -> list[CreatedDataUnit]:
        created: list[CreatedDataUnit] = self.client.create_data_units(collection_id, units)
        self._made("data_unit", *(c for c in created if c.get("created", True)))
        return created

    def delete_data_units(self, collection_id: int, unit_ids: Sequence[int]) -> int:
        count: int = self.client.delete_data_units(collection_id, unit_ids)
        return count
