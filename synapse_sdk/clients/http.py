"""``HttpBackendClient``: the BackendClient protocol over HTTP (extra ``http``: httpx).

It talks to ``synapse backend serve`` (:mod:`synapse_sdk.clients.server`). Every call has a
timeout; connection errors and 502/503/504 answers are retried with exponential backoff, any
other answer is final (a 4xx is the request's fault and a 500 a bug: retrying cannot help).
Each write carries a fresh ``Idempotency-Key`` (the same on its retries), so a write whose
answer was lost is never applied twice; log batches are idempotent per entry ``seq`` as well.
Files travel as raw bodies, streamed from and to disk, and are verified against their sha256
at both ends.

``HttpBackendClient.from_env()`` reads ``SYNAPSE_BACKEND_URL`` and ``SYNAPSE_BACKEND_TOKEN``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ..plugins.errors import BackendError, IntegrityError, NotFoundError, UnsafePathError
from ._collections_http import HttpCollectionsMixin
from .base import (
    DatasetRecord,
    DataUnitRecord,
    FileSource,
    JobRecord,
    LogEntry,
    ModelRecord,
    ProgressRecord,
)
from .paths import safe_name

__all__ = ["HttpBackendClient"]

_RETRY_STATUS = frozenset({502, 503, 504})
_CHUNK = 1 << 20
_JSON_HEADERS = {"Content-Type": "application/json"}
_OCTET_HEADERS = {"Content-Type": "application/octet-stream"}


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise ImportError(
            "the HTTP backend client needs httpx: pip install 'synapse-sdk[http]'"
        ) from exc
    return httpx


class HttpBackendClient(HttpCollectionsMixin):
    """A :class:`~synapse_sdk.clients.base.BackendClient` for a backend served over HTTP.

    ``token`` is sent as a bearer token. ``timeout`` bounds each attempt; ``retries`` more
    attempts follow a connection error or a 502/503/504 answer, ``backoff * 2**n`` seconds
    apart.
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

    def _attempts(self) -> Iterator[int]:
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            yield attempt

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: Callable[[], bytes | Iterable[bytes]] | None = None,
        params: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        httpx = _httpx()
        headers: dict[str, str] = {}
        body: Any = None
        if content is not None:
            headers.update(_OCTET_HEADERS)
        elif method != "GET":
            headers.update(_JSON_HEADERS)
            headers["Idempotency-Key"] = uuid.uuid4().hex  # the same for every retry below
            body = json.dumps(json_body, ensure_ascii=False).encode()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        last = ""
        for _ in self._attempts():
            try:
                answer = self._http.request(
                    method,
                    path,
                    content=content() if content is not None else body,
                    params=query,
                    headers=headers,
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
        raise self._unreachable(method, path, last)

    def _unreachable(self, method: str, path: str, last: str) -> BackendError:
        return BackendError(
            f"{method} {self.url}{path} failed after {self.retries + 1} attempts: {last}",
            backend=self.url,
            hint="check that `synapse backend serve` is running and reachable",
        )

    def _error(self, answer: Any, method: str, path: str) -> BackendError:
        try:
            info = answer.json().get("error") or {}
        except (ValueError, AttributeError):
            info = {}
        kind = info.get("type")
        message = info.get("message") or answer.text[:200]
        status = answer.status_code
        if status == 404 and kind == "NotFoundError":
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
        if status == 401:
            return BackendError(
                f"The backend at {self.url} refused the token",
                backend=self.url,
                hint="pass token= (or set SYNAPSE_BACKEND_TOKEN) to the server's token, "
                "printed by `synapse backend serve`",
            )
        error = BackendError(
            f"{method} {self.url}{path} failed: HTTP {status} {kind}: {message}",
            backend=self.url,
            hint=info.get("hint"),
        )
        if status == 507:
            # The server's store cannot take writes (disk full, read-only): say so in the
            # chain, as a LocalBackend would, so a sink stops waiting for it.
            error.__cause__ = OSError(errno.ENOSPC, message)
        return error

    def _upload(self, source: FileSource) -> tuple[str, int]:
        """Post a file's bytes to the server's store; return its (sha256, size), verified."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            sha = hashlib.sha256(data).hexdigest()
            self._request("POST", "/files", content=lambda: data, params={"sha256": sha})
            return sha, len(data)
        path = Path(source)
        if not path.is_file():
            raise BackendError(f"Cannot store {path}: not a file", backend=self.url)
        digests: list[Any] = []

        def stream() -> Iterator[bytes]:
            digest = hashlib.sha256()
            digests.append(digest)
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
                    yield chunk

        answer = self._request("POST", "/files", content=stream)
        sha, size = answer["sha256"], int(answer["size"])
        mine = digests[-1].hexdigest()
        if sha != mine:
            raise IntegrityError(f"{self.url}/files", expected=mine, actual=sha, backend=self.url)
        return sha, size

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
        for files, _ in units:  # every role is checked before any byte is sent
            for role in files:
                safe_name(role)
        payload = []
        for files, meta in units:
            refs = {}
            for role, source in files.items():
                sha, _size = self._upload(source)
                name = role if isinstance(source, (bytes, bytearray, memoryview)) else None
                refs[role] = {"sha256": sha, "name": name or Path(cast(str, source)).name}
            payload.append({"files": refs, "meta": dict(meta)})
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
        from .local import write_verified

        httpx = _httpx()
        path = f"/files/{sha256}"
        last = ""
        for _ in self._attempts():
            try:
                with self._http.stream("GET", path) as answer:
                    if answer.status_code in _RETRY_STATUS:
                        last = f"HTTP {answer.status_code}"
                        continue
                    if answer.status_code >= 400:
                        answer.read()
                        raise self._error(answer, "GET", path)
                    # streamed to a file beside dest, renamed only once verified
                    return write_verified(
                        answer.iter_bytes(_CHUNK),
                        sha256,
                        dest,
                        where=f"{self.url}{path}",
                        backend=self.url,
                    )
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
        raise self._unreachable("GET", path, last)

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
        sha, _size = self._upload(Path(path))
        body = {
            "file": {"sha256": sha, "name": Path(path).name},
            "name": name,
            "description": description,
            "meta": dict(meta or {}),
            "dataset": dataset,
            "parent": parent,
            "job": job,
        }
        return cast(ModelRecord, self._request("POST", "/models", json_body=body))

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
