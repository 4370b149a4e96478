"""DefaultUploadAction through the HTTP client and a real backend server on 127.0.0.1."""

from __future__ import annotations

import pytest

pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from synapse_sdk.clients import BackendClient
from synapse_sdk.clients.http import HttpBackendClient
from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.clients.server import BackendServer
from synapse_sdk.plugins.actions.upload import (
    DefaultUploadAction,
    UploadContext,
    UploadParams,
)
from synapse_sdk.plugins.errors import NotFoundError
from synapse_sdk.plugins.runner import run_action
from synapse_sdk.plugins.steps import BaseStep, StepResult


class Upload(DefaultUploadAction[UploadParams]):
    action_name = "upload"


@pytest.fixture
def served(tmp_path):
    with (
        LocalBackend(tmp_path / "home", durable=False) as backend,
        BackendServer(backend, token="t") as server,
        HttpBackendClient(server.url, token="t", timeout=5) as client,
    ):
        yield backend, client


def files(root, n):
    (root / "image").mkdir(parents=True)
    for i in range(n):
        (root / "image" / f"{i}.jpg").write_bytes(bytes([i]) * (10 + i * 40_000))


def test_an_upload_over_http_makes_units_once_and_leaves_nothing_held(served, tmp_path):
    backend, client = served
    assert isinstance(client, BackendClient)
    files(tmp_path / "data", 4)
    storage = client.create_storage("data", path=tmp_path / "data")
    collection = client.create_data_collection("c", file_specifications=[{"name": "image"}])
    assert client.get_storage(storage["id"]) == storage and client.list_storages() == [storage]
    assert client.list_data_collections()[0]["file_specifications"][0]["is_primary"] is True
    params = {"name": "u", "path": ".", "storage": storage["id"],
              "data_collection": collection["id"]}  # fmt: skip
    result = run_action(Upload, params, client=client).raise_for_status().result
    assert (result.data_units, result.uploaded_files) == (4, 4)
    again = run_action(Upload, params, client=client).raise_for_status().result
    assert (again.data_units, again.existing_data_units, again.uploaded_files) == (0, 4, 0)
    assert backend.get_data_collection(collection["id"])["data_unit_count"] == 4
    assert backend._query("SELECT count(*) FROM pending_files") == [(0,)]
    with pytest.raises(NotFoundError):
        client.get_project(5)
    project = client.create_project("p", data_collection=collection["id"])
    assert client.get_project(project["id"])["data_collection"] == collection["id"]


def test_a_failed_upload_over_http_is_rolled_back_on_the_server(served, tmp_path):
    backend, client = served
    files(tmp_path / "data", 3)
    storage = client.create_storage("data", path=tmp_path / "data")
    collection = client.create_data_collection("c", file_specifications=[{"name": "image"}])

    class Fail(BaseStep[UploadContext]):
        name = "fail"

        def execute(self, context: UploadContext) -> StepResult:
            return StepResult(success=False, error="stop")

    class Failing(DefaultUploadAction[UploadParams]):
        def setup_steps(self, registry):
            super().setup_steps(registry)
            registry.insert_before("cleanup", Fail())

    params = {"name": "u", "path": ".", "storage": storage["id"],
              "data_collection": collection["id"]}  # fmt: skip
    assert not run_action(Failing, params, client=client).ok
    assert backend.list_data_units(collection["id"]) == []
    assert backend._query("SELECT count(*) FROM blobs") == [(0,)]
    assert list((backend.root / "blobs").glob("*/*")) == []
