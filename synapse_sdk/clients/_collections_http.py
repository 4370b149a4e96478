"""The HTTP client's storages, data collections, projects and data files (see
``clients/_collections.py`` for the records and rules; the server's routes are in
``clients/_collections_routes.py``).

Uploading files claims their contents for the session first, then sends only the bytes the
server lacks: a client killed in between leaves claims the server releases (after a day).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .paths import safe_name

if TYPE_CHECKING:
    from ._collections import CreatedDataUnit, DataCollectionRecord, ProjectRecord, StorageRecord
    from .base import FileRecord, FileSource

__all__ = ["HttpCollectionsMixin"]


class HttpCollectionsMixin:
    """Uses the host's ``_request(method, path, json_body=, params=)`` and ``_upload(source)``."""

    if TYPE_CHECKING:

        def _request(
            self,
            method: str,
            path: str,
            *,
            json_body: Any = None,
            content: Callable[[], bytes | Iterable[bytes]] | None = None,
            params: Mapping[str, Any] | None = None,
            raw: bool = False,
        ) -> Any: ...
        def _upload(self, source: FileSource) -> tuple[str, int]: ...

    def create_storage(
        self, name: str, *, path: str | os.PathLike[str] | None = None, description: str = ""
    ) -> StorageRecord:
        body = {"name": name, "path": None if path is None else os.fspath(path),
                "description": description}  # fmt: skip
        return cast("StorageRecord", self._request("POST", "/storages", json_body=body))

    def get_storage(self, storage_id: int) -> StorageRecord:
        return cast("StorageRecord", self._request("GET", f"/storages/{int(storage_id)}"))

    def list_storages(self) -> list[StorageRecord]:
        return cast("list[StorageRecord]", self._request("GET", "/storages"))

    def create_data_collection(
        self,
        name: str,
        *,
        file_specifications: Sequence[Mapping[str, Any]],
        description: str = "",
    ) -> DataCollectionRecord:
        body = {"name": name, "description": description,
                "file_specifications": [dict(s) for s in file_specifications]}  # fmt: skip
        return cast("DataCollectionRecord", self._request("POST", "/data_collections",
                                                          json_body=body))  # fmt: skip

    def get_data_collection(self, collection_id: int) -> DataCollectionRecord:
        answer = self._request("GET", f"/data_collections/{int(collection_id)}")
        return cast("DataCollectionRecord", answer)

    def list_data_collections(self) -> list[DataCollectionRecord]:
        return cast("list[DataCollectionRecord]", self._request("GET", "/data_collections"))

    def create_project(
        self, name: str, *, data_collection: int | None = None, description: str = ""
    ) -> ProjectRecord:
        body = {"name": name, "data_collection": data_collection, "description": description}
        return cast("ProjectRecord", self._request("POST", "/projects", json_body=body))

    def get_project(self, project_id: int) -> ProjectRecord:
        return cast("ProjectRecord", self._request("GET", f"/projects/{int(project_id)}"))

    def list_projects(self) -> list[ProjectRecord]:
        return cast("list[ProjectRecord]", self._request("GET", "/projects"))

    def upload_data_file(
        self, source: FileSource, *, name: str | None = None, session: str = ""
    ) -> FileRecord:
        names = None if name is None else [name]
        return self.upload_data_files([source], names=names, session=session)[0]

    def upload_data_files(
        self,
        sources: Sequence[FileSource],
        *,
        names: Sequence[str] | None = None,
        session: str = "",
    ) -> list[FileRecord]:
        if names is not None and len(names) != len(sources):
            raise ValueError(f"{len(names)} names for {len(sources)} files")
        records: list[FileRecord] = []
        for i, source in enumerate(sources):
            sha, size = _digest(source)
            if names is not None:
                name = safe_name(names[i])
            elif isinstance(source, (bytes, bytearray, memoryview)):
                name = "file"
            else:
                name = safe_name(Path(source).name)
            records.append({"name": name, "sha256": sha, "size": size})
        shas = sorted({r["sha256"] for r in records})
        held = set(self._request("POST", "/data_files/claims",
                                 json_body={"checksums": shas, "session": session}))  # fmt: skip
        sent: set[str] = set()
        for source, record in zip(sources, records, strict=True):
            sha = record["sha256"]
            if sha not in held and sha not in sent:
                self._upload(source)  # verified against the server's answer
                sent.add(sha)
        return records

    def verify_data_files_checksums(self, checksums: Sequence[str]) -> list[str]:
        answer = self._request("POST", "/data_files/verify",
                               json_body={"checksums": list(checksums)})  # fmt: skip
        return cast("list[str]", answer)

    def release_data_files(self, checksums: Sequence[str], *, session: str = "") -> int:
        body = {"checksums": list(checksums), "session": session}
        return int(self._request("POST", "/data_files/release", json_body=body))

    def create_data_units(
        self, collection_id: int, units: Sequence[Mapping[str, Any]]
    ) -> list[CreatedDataUnit]:
        body = {"units": [
            {"files": {spec: {"name": f["name"], "sha256": f["sha256"], "size": int(f["size"])}
                       for spec, f in dict(u["files"]).items()},
             "meta": dict(u.get("meta") or {}), "key": u.get("key")}
            for u in units
        ]}  # fmt: skip
        answer = self._request("POST", f"/data_collections/{int(collection_id)}/units",
                               json_body=body)  # fmt: skip
        return cast("list[CreatedDataUnit]", answer)

    def delete_data_units(self, collection_id: int, unit_ids: Sequence[int]) -> int:
        answer = self._request("POST", f"/data_collections/{int(collection_id)}/units/delete",
                               json_body={"ids": [int(i) for i in unit_ids]})  # fmt: skip
        return int(answer)


def _digest(source: FileSource) -> tuple[str, int]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return hashlib.sha256(data).hexdigest(), len(data)
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
