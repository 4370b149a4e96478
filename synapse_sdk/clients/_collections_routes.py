"""The backend server's routes for storages, data collections, projects and data files
(the HTTP side of ``clients/_collections.py``), included by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from .local import LocalBackend

__all__ = ["collections_router"]

_SHA = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    path: str | None = None
    description: str = ""


class CollectionIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    file_specifications: list[dict[str, Any]]


class ProjectIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    data_collection: int | None = Field(default=None, ge=1)
    description: str = ""


class ChecksumsIn(_Strict):
    checksums: list[str] = Field(max_length=100_000)
    session: str = Field(default="", max_length=200)


class FileIn(_Strict):
    name: str = Field(min_length=1, max_length=4096)
    sha256: str = Field(pattern=_SHA)
    size: int = Field(ge=0)


class DataUnitIn(_Strict):
    files: dict[str, FileIn]
    meta: dict[str, Any] = Field(default_factory=dict)
    key: str | None = Field(default=None, max_length=200)


class DataUnitsIn(_Strict):
    units: list[DataUnitIn]


class IdsIn(_Strict):
    ids: list[int]


Answer = Callable[[Any], Response]  # a route's value as a JSON response
Once = Callable[[str | None, Request, BaseModel, Callable[[], Any]], Any]  # idempotent write


def collections_router(backend: LocalBackend, answer: Answer, once: Once) -> APIRouter:
    """The routes serving ``backend``'s storages, data collections, projects and files;
    ``answer`` and ``once`` are the server's (one JSON encoding, one idempotency rule)."""
    router = APIRouter()

    idempotency = Header(default=None, alias="Idempotency-Key", max_length=200)

    @router.post("/storages")
    def create_storage(body: StorageIn, request: Request, key: str | None = idempotency) -> Any:
        return once(key, request, body, lambda: backend.create_storage(
            body.name, path=body.path, description=body.description))  # fmt: skip

    @router.get("/storages")
    def list_storages() -> Any:
        return answer(backend.list_storages())

    @router.get("/storages/{storage_id}")
    def get_storage(storage_id: int) -> Any:
        return answer(backend.get_storage(storage_id))

    @router.post("/data_collections")
    def create_collection(
        body: CollectionIn, request: Request, key: str | None = idempotency
    ) -> Any:
        return once(key, request, body, lambda: backend.create_data_collection(
            body.name, file_specifications=body.file_specifications,
            description=body.description))  # fmt: skip

    @router.get("/data_collections")
    def list_collections() -> Any:
        return answer(backend.list_data_collections())

    @router.get("/data_collections/{collection_id}")
    def get_collection(collection_id: int) -> Any:
        return answer(backend.get_data_collection(collection_id))

    @router.post("/data_collections/{collection_id}/units")
    def create_units(collection_id: int, body: DataUnitsIn) -> Any:
        # keyed by content: a retry answers the units made by the first attempt
        units = [u.model_dump() for u in body.units]
        return answer(backend.create_data_units(collection_id, units))

    @router.post("/data_collections/{collection_id}/units/delete")
    def delete_units(collection_id: int, body: IdsIn) -> Any:
        return answer(backend.delete_data_units(collection_id, body.ids))

    @router.post("/projects")
    def create_project(body: ProjectIn, request: Request, key: str | None = idempotency) -> Any:
        return once(key, request, body, lambda: backend.create_project(
            body.name, data_collection=body.data_collection,
            description=body.description))  # fmt: skip

    @router.get("/projects")
    def list_projects() -> Any:
        return answer(backend.list_projects())

    @router.get("/projects/{project_id}")
    def get_project(project_id: int) -> Any:
        return answer(backend.get_project(project_id))

    @router.post("/data_files/claims")
    def claim_files(body: ChecksumsIn) -> Any:
        return answer(backend.claim_data_files(_shas(body), session=body.session))

    @router.post("/data_files/verify")
    def verify_files(body: ChecksumsIn) -> Any:
        return answer(backend.verify_data_files_checksums(_shas(body)))

    @router.post("/data_files/release")
    def release_files(body: ChecksumsIn) -> Any:
        return answer(backend.release_data_files(_shas(body), session=body.session))

    return router


def _shas(body: ChecksumsIn) -> list[str]:
    import re

    bad = [c for c in body.checksums if not re.match(_SHA, c)]
    if bad:
        raise ValueError(f"checksums must be 64-digit lowercase sha256 hex; got {bad[0]!r}")
    return body.checksums
