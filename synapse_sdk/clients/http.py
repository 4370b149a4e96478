"""``HttpBackendClient``: the BackendClient protocol over HTTP (extra ``http``: httpx).

It talks to ``synapse backend serve`` (:mod:`synapse_sdk.clients.server`). Every call has a
timeout; connection errors and 5xx answers are retried with exponential backoff. Each write
carries a fresh ``Idempotency-Key`` (the same on its retries), so a write whose answer was lost
is never applied twice; log batches are idempotent per entry ``seq`` as well.

``HttpBackendClient.from_env()`` reads ``SYNAPSE_BACKEND_URL`` and ``SYNAPSE_BACKEND_TOKEN``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ..plugins.errors import BackendError, IntegrityError, NotFoundError, UnsafePathError
from .base import (
    DatasetRecord,
    DataUnitRecord,
    FileSource,
    JobRecord,
    LogEntry,
    ModelRecord,
    ProgressRecord,
)

__all__ = ["HttpBackendClient"]

_RETRY_STATUS = frozenset({500, 502, 503, 504})


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise ImportError(
            "the HTTP backend client needs httpx: pip install 'synapse-sdk[http]'"
        ) from exc
    return httpx


class HttpBackendClient:
    """A :class:`~synapse_sdk.clients.base.BackendClient` for a backend served over HTTP.

    ``token`` is sent as a bearer token. ``timeout`` bounds each attempt; ``retries`` more
    attempts follow a connection error or a 5xx answer, ``backoff * 2**n`` seconds apart.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.05,
    ) -> None:
        httpx = _httpx()
        self.url = url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    @classmethod
    def from_env(cls, **options: Any) -> HttpBackendClient:
        """A client for ``$SYNAPSE_BACKEND_URL`` with ``$SYNAPSE_BACKEND_TOKEN``."""
        url = os.environ.get("SYNAPSE_BACKEND_URL")
        if not url:
            raise BackendError(
                "SYNAPSE_BACKEND_URL is not set",
                hint="start a server with `synapse backend serve` and export its URL",
            )
        return cls(url, token=os.environ.get("SYNAPSE_BACKEND_TOKEN"), **options)

    def __repr__(self) -> str:
        return f"HttpBackendClient({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpBackendClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        httpx = _httpx()
        headers = {}
        if method != "GET":
            headers["Idempotency-Key"] = uuid.uuid4().hex  # the same for every retry below
        query = {k: v for k, v in (params or {}).items() if v is not None}
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                answer = self._http.request(
                    method, path, json=json_body, content=content, params=query, headers=headers
                )
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if answer.status_code in _RETRY_STATUS:
                last = f"HTTP {answer.status_code}: {answer.text[:200]}"
                continue
            if answer.status_code >= 400:
                raise self._error(answer, method, path)
            return answer.content if raw else answer.json()
        raise BackendError(
            f"{method} {self.url}{path} failed after {self.retries + 1} attempts: {last}",
            backend=self.url,
            hint="check that `synapse backend serve` is running and reachable",
        )

    def _error(self, answer: Any, method: str, path: str) -> BackendError:
        try:
            info = answer.json().get("error") or {}
        except ValueError:
            info = {}
        kind = info.get("type")
        message = info.get("message") or answer.text[:200]
        if answer.status_code == 404 and kind == "NotFoundError":
            return NotFoundError(info.get("kind", "record"), info.get("id"), backend=self.url)
        if kind == "UnsafePathError":
            return UnsafePathError(
                info.get("name", ""), info.get("reason", message), backend=self.url
            )
        if kind == "IntegrityError":
            return IntegrityError(
                info.get("path", ""),
                expected=info.get("expected", ""),
                actual=info.get("actual", ""),
                backend=self.url,
            )
        if answer.status_code == 401:
            return BackendError(
                f"The backend at {self.url} refused the token",
                backend=self.url,
                hint="pass token= (or set SYNAPSE_BACKEND_TOKEN) to the server's token",
            )
        return BackendError(
            f"{method} {self.url}{path} failed: HTTP {answer.status_code} {kind}: {message}",
            backend=self.url,
        )

    # -- datasets and data units -------------------------------------------------------------

    def create_dataset(
        self, name: str, *, description: str = "", meta: Mapping[str, Any] | None = None
    ) -> DatasetRecord:
        body = {"name": name, "description": description, "meta": dict(meta or {})}
        return cast(DatasetRecord, self._request("POST", "/datasets", json_body=body))

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        return cast(DatasetRecord, self._request("GET", f"/datasets/{int(dataset_id)}"))

    def list_datasets(self) -> list[DatasetRecord]:
        return cast("list[DatasetRecord]", self._request("GET", "/datasets"))

    def add_data_units(
        self,
        dataset_id: int,
        units: Sequence[tuple[Mapping[str, FileSource], Mapping[str, Any]]],
    ) -> list[DataUnitRecord]:
        payload = []
        for files, meta in units:
            encoded = {}
            for role, source in files.items():
                if isinstance(source, bytes):
                    data, name = source, None
                else:
                    data, name = Path(source).read_bytes(), Path(source).name
                encoded[role] = {"name": name, "data": base64.b64encode(data).decode()}
            payload.append({"files": encoded, "meta": dict(meta)})
        answer = self._request(
            "POST", f"/datasets/{int(dataset_id)}/units", json_body={"units": payload}
        )
        return cast("list[DataUnitRecord]", answer)

    def list_data_units(
        self, dataset_id: int, *, offset: int = 0, limit: int | None = None
    ) -> list[DataUnitRecord]:
        answer = self._request(
            "GET", f"/datasets/{int(dataset_id)}/units", params={"offset": offset, "limit": limit}
        )
        return cast("list[DataUnitRecord]", answer)

    # -- files -------------------------------------------------------------------------------

    def read_file(self, sha256: str) -> bytes:
        data: bytes = self._request("GET", f"/files/{sha256}", raw=True)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise IntegrityError(
                f"{self.url}/files/{sha256}", expected=sha256, actual=actual, backend=self.url
            )
        return data

    def download_file(self, sha256: str, dest: str | os.PathLike[str]) -> str:
        data = self.read_file(sha256)  # verified before anything is written
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        return str(target)

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
        source = Path(path)
        params = {
            "name": name,
            "description": description,
            "meta": json.dumps(dict(meta or {})),
            "dataset": dataset,
            "parent": parent,
            "job": job,
            "filename": source.name,
        }
        answer = self._request("POST", "/models", content=source.read_bytes(), params=params)
        return cast(ModelRecord, answer)

    def get_model(self, model_id: int) -> ModelRecord:
        return cast(ModelRecord, self._request("GET", f"/models/{int(model_id)}"))

    def list_models(self, *, name: str | None = None) -> list[ModelRecord]:
        return cast("list[ModelRecord]", self._request("GET", "/models", params={"name": name}))

    # -- jobs --------------------------------------------------------------------------------

    def create_job(
        self,
        action: str,
        *,
        params: Any = None,
        run_id: str | None = None,
        plugin: str | None = None,
    ) -> JobRecord:
        body = {"action": action, "params": params, "run_id": run_id, "plugin": plugin}
        return cast(JobRecord, self._request("POST", "/jobs", json_body=body))

    def get_job(self, job_id: int) -> JobRecord:
        return cast(JobRecord, self._request("GET", f"/jobs/{int(job_id)}"))

    def list_jobs(self, *, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        answer = self._request("GET", "/jobs", params={"status": status, "limit": limit})
        return cast("list[JobRecord]", answer)

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
        changes = {
            "status": status,
            "progress": None if progress is None else {k: dict(v) for k, v in progress.items()},
            "metrics": None if metrics is None else {k: dict(v) for k, v in metrics.items()},
            "result": result,
            "error": error,
        }
        body = {k: v for k, v in changes.items() if v is not None}
        self._request("PATCH", f"/jobs/{int(job_id)}", json_body=body)

    def append_job_logs(self, job_id: int, entries: Sequence[LogEntry]) -> int:
        body = {"entries": [dict(e) for e in entries]}
        answer = self._request("POST", f"/jobs/{int(job_id)}/logs", json_body=body)
        return int(answer["added"])

    def get_job_logs(
        self, job_id: int, *, after: int | None = None, limit: int | None = None
    ) -> list[LogEntry]:
        answer = self._request(
            "GET", f"/jobs/{int(job_id)}/logs", params={"after": after, "limit": limit}
        )
        return cast("list[LogEntry]", answer)
