"""What a test written by :func:`synapse_testing.save_as_test` imports.

- :func:`seed_from` seeds the kit's :class:`~synapse_testing.FakeBackend` with what the saved
  run read (``backend.json`` and ``files.bin`` in the test's ``saved/<test>/`` folder), with the
  same ids, so the replay fetches the same records and bytes.
- :func:`outline` is the stable view of a long run: every event, except that each step's
  progress and metrics keep only their first and last report, plus how many there were. A
  long run's record keeps *samples* of its progress (the interactive one thinned and coalesced
  in time, a replay thinned by count), so only that outline is the same run after run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synapse_sdk.plugins.errors import BackendError, IntegrityError
from synapse_sdk.plugins.events import MetricsEvent, ProgressEvent

from ._checked import mark_checked

if TYPE_CHECKING:
    from ._backend import FakeBackend

__all__ = ["SEED_FORMAT", "Seed", "outline", "seed_from"]

#: The version of ``backend.json``; a newer file than this kit reads is refused.
SEED_FORMAT = 1
SEED_FILE = "backend.json"
BLOB_FILE = "files.bin"

# FakeBackend's id counter for each kind of record
_COUNTERS = ("dataset", "data_unit", "model", "storage", "project", "job")


@dataclass
class Seed:
    """Backend records and file bytes that a replay starts from (what a run read).

    Records are the backend's own JSON records, ids included; ``data_units`` maps a dataset id
    to its units in listing order; ``next_ids`` the id the first record of each kind the run
    created had, so the replay numbers its own records the same way.
    """

    datasets: list[dict[str, Any]] = field(default_factory=list)
    data_units: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)
    storages: list[dict[str, Any]] = field(default_factory=list)
    data_collections: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.datasets
            or self.data_units
            or self.models
            or self.storages
            or self.data_collections
            or self.projects
            or self.files
            or self.next_ids
        )

    # -- files on disk -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The ``backend.json`` document (file bytes excepted: see :meth:`write`)."""
        offset = 0
        index = []
        for sha in sorted(self.files):
            size = len(self.files[sha])
            index.append({"sha256": sha, "offset": offset, "size": size})
            offset += size
        return {
            "format": SEED_FORMAT,
            "datasets": self.datasets,
            "data_units": {str(k): v for k, v in sorted(self.data_units.items())},
            "models": self.models,
            "storages": self.storages,
            "data_collections": self.data_collections,
            "projects": self.projects,
            "next_ids": dict(sorted(self.next_ids.items())),
            "files": index,
        }

    def encode(self) -> tuple[bytes, bytes]:
        """The bytes of ``backend.json`` and of ``files.bin`` (every file, in sha256 order)."""
        text = json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        blob = b"".join(self.files[sha] for sha in sorted(self.files))
        return text.encode(), blob

    def write(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write ``backend.json`` (and ``files.bin`` when there are files) into ``folder``."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        text, blob = self.encode()
        written = [target / SEED_FILE]
        written[0].write_bytes(text)
        if blob:
            written.append(target / BLOB_FILE)
            written[1].write_bytes(blob)
        return written

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> Seed:
        """The seed written by :meth:`write` (file bytes checked against their sha256)."""
        where = Path(folder) / SEED_FILE
        try:
            doc = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"cannot read the saved backend {where}: {exc}",
                backend="FakeBackend",
                hint="save the run again (save_as_test(run, overwrite=True)) to rewrite it",
            ) from exc
        if doc.get("format", 0) > SEED_FORMAT:
            raise BackendError(
                f"{where} has format {doc.get('format')}; this synapse-sdk reads up to "
                f"{SEED_FORMAT}",
                backend="FakeBackend",
                hint="upgrade synapse-sdk, or save the run again with this one",
            )
        files: dict[str, bytes] = {}
        if doc["files"]:
            blob = (Path(folder) / BLOB_FILE).read_bytes()
            for entry in doc["files"]:
                data = blob[entry["offset"] : entry["offset"] + entry["size"]]
                actual = hashlib.sha256(data).hexdigest()
                if actual != entry["sha256"]:
                    raise IntegrityError(
                        f"{Path(folder) / BLOB_FILE}@{entry['offset']}",
                        expected=entry["sha256"],
                        actual=actual,
                        backend="FakeBackend",
                    )
                files[entry["sha256"]] = data
        return cls(
            datasets=doc["datasets"],
            data_units={int(k): v for k, v in doc["data_units"].items()},
            models=doc["models"],
            storages=doc["storages"],
            data_collections=doc["data_collections"],
            projects=doc["projects"],
            files=files,
            next_ids=doc["next_ids"],
        )

    # -- into a fake backend -----------------------------------------------------------------

    def apply(self, backend: FakeBackend) -> None:
        """Put these records and files into ``backend`` under their own ids.

        They are not counted as seeds for the strict "seeded but never read" check: the run
        read them once already. New records continue after the highest id (or at the id the
        saved run's first new record had).
        """
        b = backend
        with b._lock:
            for record in self.datasets:
                b._datasets[int(record["id"])] = _clone(record)
                b._units.setdefault(int(record["id"]), [])
            for collection in self.data_collections:
                cid = int(collection["id"])
                if cid not in b._datasets:
                    b._datasets[cid] = {
                        "id": cid,
                        "name": collection["name"],
                        "description": collection.get("description", ""),
                        "meta": {"data_collection": True},
                        "data_unit_count": collection.get("data_unit_count", 0),
                        "created_at": collection.get("created_at", 0.0),
                    }
                    b._units.setdefault(cid, [])
                b._specs[cid] = _clone(collection["file_specifications"])
            for dataset_id, units in self.data_units.items():
                b._units[int(dataset_id)] = [_clone(u) for u in units]
            for record in self.models:
                b._models[int(record["id"])] = _clone(record)
            for record in self.storages:
                b._storages[int(record["id"])] = _clone(record)
            for record in self.projects:
                b._projects[int(record["id"])] = _clone(record)
            b._files.update(self.files)
            highest: dict[str, Mapping[int, Any]] = {
                "dataset": b._datasets,
                "model": b._models,
                "storage": b._storages,
                "project": b._projects,
            }
            for kind in _COUNTERS:
                top = max(highest.get(kind, {}), default=0)
                if kind == "data_unit":
                    top = max((u["id"] for us in b._units.values() for u in us), default=0)
                wanted = self.next_ids.get(kind)
                b._ids[kind] = max(top, b._ids.get(kind, 0), (wanted or 0) - 1)


def _clone(value: Any) -> Any:
    return json.loads(json.dumps(value))


def seed_from(folder: str | os.PathLike[str]) -> Callable[[FakeBackend], None]:
    """A seeding function for ``@pytest.mark.synapse(backend=...)``: it puts the saved
    run's reads (``folder``: ``backend.json`` and ``files.bin``) into the test's fake backend.
    The files are read when the test runs, not when it is collected."""
    path = Path(folder)

    def seed(backend: FakeBackend) -> None:
        Seed.read(path).apply(backend)

    seed.__qualname__ = f"seed_from({path.name!r})"
    return seed


def outline(run: Any) -> dict[str, Any]:
    """A run as its snapshot shows it, but with each step's progress and metrics reduced to
    their first and last report, and ``reported``: how many progress and metrics reports the
    run made in all (what its record left out counted too).

    The same run gives the same outline whether its record was thinned or coalesced, so a
    long run (past 256 reports of one step) can be compared with a saved baseline.
    """
    events = list(run.events)
    first: dict[tuple[type, Any], int] = {}
    last: dict[tuple[type, Any], int] = {}
    counts = {"progress": 0, "metrics": 0}
    for i, event in enumerate(events):
        kind = type(event)
        if kind is ProgressEvent or kind is MetricsEvent:
            key = (kind, event.step)
            first.setdefault(key, i)
            last[key] = i
            counts["progress" if kind is ProgressEvent else "metrics"] += 1
    ends = set(first.values()) | set(last.values())
    kept = [
        e
        for i, e in enumerate(events)
        if i in ends or not isinstance(e, (ProgressEvent, MetricsEvent))
    ]
    omitted: Mapping[str, int] = getattr(run, "omitted", None) or {}
    for name in counts:
        counts[name] += omitted.get(name, 0)
    mark_checked(run.events)  # the outline shows the warnings: they count as looked at
    error = run.error
    return {
        "action": run.action,
        "status": str(getattr(run.status, "value", run.status)),
        "params": run.params,
        "result": run.result,
        "error": None
        if error is None
        else {
            "type": type(error).__name__,
            "message": str(error),
            "cause": None
            if error.__cause__ is None
            else f"{type(error.__cause__).__name__}: {error.__cause__}",
        },
        "events": kept,
        "reported": counts,
    }
