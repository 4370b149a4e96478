"""The ``BackendClient`` protocol and its JSON-friendly record types.

A backend stores what category actions need: **datasets** made of **data units** (each a few
named files plus metadata), **models** (one stored file plus metadata; a checkpoint is a model),
and **job records** (one per run: status, latest progress and metrics, result, and an ordered
log). Implementations: :class:`~synapse_sdk.clients.local.LocalBackend` (embedded default,
SQLite + files), the HTTP client, and the in-memory fake of ``synapse_testing``.

Rules every implementation follows:

- Records are plain dicts (the ``TypedDict`` s below) holding only JSON values, so they cross
  HTTP unchanged. Ids are positive ints assigned by the backend. Times are Unix seconds.
- Files are content addressed: a :class:`FileRecord` carries the ``sha256`` of its bytes, and
  reading a file verifies it (:class:`~synapse_sdk.plugins.errors.IntegrityError` otherwise).
- File ``name`` s are relative POSIX paths (``'images/0001.pgm'``); a name that is absolute,
  has a drive, ``..`` or a NUL raises :class:`~synapse_sdk.plugins.errors.UnsafePathError`.
- A missing id raises :class:`~synapse_sdk.plugins.errors.NotFoundError` (``.kind``, ``.id``);
  any other backend failure raises :class:`~synapse_sdk.plugins.errors.BackendError`.
- Every method is safe to call from several threads and processes at once.
- Job progress is keyed by step name, ``""`` for run-level progress (``step=None``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Union, runtime_checkable

if TYPE_CHECKING:
    from ._collections import (
        CreatedDataUnit,
        DataCollectionRecord,
        ProjectRecord,
        StorageRecord,
    )

__all__ = [
    "JOB_STATUSES",
    "RUN_STEP",
    "BackendClient",
    "DataUnitRecord",
    "DatasetRecord",
    "FileRecord",
    "FileSource",
    "JobRecord",
    "LogEntry",
    "ModelRecord",
    "ProgressRecord",
]

#: Job statuses: ``running`` while the run goes on, then the run's final status.
JOB_STATUSES = ("running", "succeeded", "failed", "cancelled")

#: The progress/metrics key used for run-level values (``set_progress(..., step=None)``).
RUN_STEP = ""

#: What can be uploaded as a file: a local path, or the bytes themselves.
FileSource = Union[str, "os.PathLike[str]", bytes]


class FileRecord(TypedDict):
    """A stored file: its relative ``name``, content ``sha256`` (hex) and ``size`` in bytes."""

    name: str
    sha256: str
    size: int


class DatasetRecord(TypedDict):
    """A dataset; ``data_unit_count`` is how many data units it holds."""

    id: int
    name: str
    description: str
    meta: dict[str, Any]
    data_unit_count: int
    created_at: float


class DataUnitRecord(TypedDict):
    """One item of a dataset: files by role (``{'image': FileRecord}``) plus metadata
    (``{'label': 3}``)."""

    id: int
    dataset: int
    files: dict[str, FileRecord]
    meta: dict[str, Any]
    created_at: float


class ModelRecord(TypedDict):
    """A stored model (or checkpoint): one file plus metadata.

    ``dataset`` is the dataset it was trained on, ``parent`` the checkpoint it resumed from and
    ``job`` the job that created it; each may be None.
    """

    id: int
    name: str
    description: str
    meta: dict[str, Any]
    file: FileRecord
    dataset: int | None
    parent: int | None
    job: int | None
    created_at: float


class ProgressRecord(TypedDict):
    """Latest progress of one step: ``percent`` is None when ``total <= 0`` (indeterminate)."""

    current: float
    total: float
    percent: float | None


class JobRecord(TypedDict):
    """The record of one run.

    ``progress`` and ``metrics`` hold the latest values per step (key :data:`RUN_STEP` for the
    run level); the full history (every log, metrics and warning event) is the job's log.
    """

    id: int
    action: str
    plugin: str | None
    run_id: str | None
    status: str
    params: Any
    progress: dict[str, ProgressRecord]
    metrics: dict[str, dict[str, Any]]
    result: Any
    error: str | None
    log_count: int
    created_at: float
    updated_at: float


class LogEntry(TypedDict):
    """One entry of a job's log, in ``seq`` order (the run's event sequence number).

    ``event`` is the structured event name (``'message'`` for logger records, ``'metrics'``,
    ``'warning'``, ``'step'`` for those events), ``level`` one of debug/info/warning/error/
    critical, ``data`` a JSON object and ``file`` an optional attached file name.
    """

    seq: int
    time: float
    event: str
    level: str
    data: dict[str, Any]
    file: str | None


@runtime_checkable
class BackendClient(Protocol):
    """What category actions, the backend sink and the CLI need from a backend.

    Write methods return the stored record. Appending logs is idempotent per ``(job, seq)``:
    an entry whose seq is already stored is ignored, so a retried batch never duplicates.
    """

    # -- datasets and data units -----------------------------------------------------------

    def create_dataset(
        self, name: str, *, description: str = "", meta: Mapping[str, Any] | None = None
    ) -> DatasetRecord:
        """Create an empty dataset."""
        ...

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        """The dataset ``dataset_id`` (NotFoundError if there is none)."""
        ...

    def list_datasets(self) -> list[DatasetRecord]:
        """Every dataset, oldest first."""
        ...

    def add_data_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileSource], Mapping[str, Any]]],
    ) -> list[DataUnitRecord]:
        """Add data units to a dataset in one transaction; each unit is ``(files, meta)``
        where ``files`` maps a role to a ``FileSource`` (the stored name is the path's file
        name, or ``role`` for bytes)."""
        ...

    def list_data_units(
        self, dataset_id: int, *, offset: int = 0, limit: int | None = None
    ) -> list[DataUnitRecord]:
        """The dataset's data units in insertion order, ``limit`` at most from ``offset``."""
        ...

    # -- files -----------------------------------------------------------------------------

    def read_file(self, sha256: str) -> bytes:
        """The bytes of a stored file, verified against ``sha256``."""
        ...

    def download_file(self, sha256: str, dest: str | os.PathLike[str]) -> str:
        """Write a stored file to ``dest`` (verified; nothing is left at ``dest`` when it is
        not) and return ``dest`` as a string."""
        ...

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
        """Store the file at ``path`` as a new model. Atomic: an interrupted upload leaves no
        record."""
        ...

    def get_model(self, model_id: int) -> ModelRecord:
        """The model ``model_id`` (NotFoundError if there is none)."""
        ...

    def list_models(self, *, name: str | None = None) -> list[ModelRecord]:
        """Every model (with this ``name`` when given), oldest first."""
        ...

    # -- jobs ------------------------------------------------------------------------------

    def create_job(
        self,
        action: str,
        *,
        params: Any = None,
        run_id: str | None = None,
        plugin: str | None = None,
    ) -> JobRecord:
        """Record a new job with status ``running``."""
        ...

    def get_job(self, job_id: int) -> JobRecord:
        """The job ``job_id`` (NotFoundError if there is none)."""
        ...

    def list_jobs(self, *, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Jobs, newest first (only those with ``status`` when given)."""
        ...

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
        """Update a job in one round trip. ``progress`` replaces the entries of the given
        steps; ``metrics`` merges values into the given steps; ``result`` / ``error`` are set
        when not None."""
        ...

    def append_job_logs(self, job_id: int, entries: Sequence[LogEntry]) -> int:
        """Append a batch of log entries (in seq order); return how many were new."""
        ...

    def get_job_logs(
        self, job_id: int, *, after: int | None = None, limit: int | None = None
    ) -> list[LogEntry]:
        """The job's log entries in seq order, those with ``seq > after`` when given."""
        ...

    # -- storages, data collections, projects, data files (upload plugins) -----------------
    # Records and rules: synapse_sdk/clients/_collections.py. A data collection's id is the id
    # of the dataset holding its data units.

    def create_storage(
        self, name: str, *, path: str | os.PathLike[str] | None = None, description: str = ""
    ) -> StorageRecord:
        """Register a folder uploads read from (``path``), or make one in the backend."""
        ...

    def get_storage(self, storage_id: int) -> StorageRecord:
        """The storage ``storage_id`` (NotFoundError if there is none)."""
        ...

    def list_storages(self) -> list[StorageRecord]:
        """Every storage, oldest first."""
        ...

    def create_data_collection(
        self,
        name: str,
        *,
        file_specifications: Sequence[Mapping[str, Any]],
        description: str = "",
    ) -> DataCollectionRecord:
        """Create a data collection (a dataset with file specifications)."""
        ...

    def get_data_collection(self, collection_id: int) -> DataCollectionRecord:
        """The data collection with its file specifications (NotFoundError if none)."""
        ...

    def list_data_collections(self) -> list[DataCollectionRecord]:
        """Every data collection, oldest first."""
        ...

    def create_project(
        self, name: str, *, data_collection: int | None = None, description: str = ""
    ) -> ProjectRecord:
        """Create a project (optionally on a data collection)."""
        ...

    def get_project(self, project_id: int) -> ProjectRecord:
        """The project ``project_id`` (NotFoundError if there is none)."""
        ...

    def list_projects(self) -> list[ProjectRecord]:
        """Every project, oldest first."""
        ...

    def upload_data_file(
        self, source: FileSource, *, name: str | None = None, session: str = ""
    ) -> FileRecord:
        """Store one file, held by ``session`` until it releases it."""
        ...

    def upload_data_files(
        self,
        sources: Sequence[FileSource],
        *,
        names: Sequence[str] | None = None,
        session: str = "",
    ) -> list[FileRecord]:
        """Store several files at once (held by ``session`` until released)."""
        ...

    def verify_data_files_checksums(self, checksums: Sequence[str]) -> list[str]:
        """The sha256 checksums among ``checksums`` whose content the backend holds."""
        ...

    def release_data_files(self, checksums: Sequence[str], *, session: str = "") -> int:
        """End ``session``'s hold on these files; delete those nothing uses; how many went."""
        ...

    def create_data_units(
        self, collection_id: int, units: Sequence[Mapping[str, Any]]
    ) -> list[CreatedDataUnit]:
        """Bind stored files into data units in one transaction; a unit whose ``key`` the
        collection has already is answered with ``created=False``, not made twice."""
        ...

    def delete_data_units(self, collection_id: int, unit_ids: Sequence[int]) -> int:
        """Remove data units of a collection; return how many were removed."""
        ...
