"""``synapse backend serve``: a LocalBackend behind HTTP (FastAPI + uvicorn, extra ``serve``).

Typed routes (the OpenAPI page is at ``/docs``, the schema at ``/openapi.json``)::

    GET  /health
    POST /files                        raw body (application/octet-stream) -> {sha256, size}
    GET  /files/{sha256}               raw bytes, streamed
    POST /datasets                     GET /datasets           GET /datasets/{id}
    POST /datasets/{id}/units          GET /datasets/{id}/units?offset=&limit=
    POST /models                       GET /models?name=       GET /models/{id}
    POST /jobs                         GET /jobs?status=&limit=   GET /jobs/{id}
    PATCH /jobs/{id}                   POST /jobs/{id}/logs    GET /jobs/{id}/logs?after=&limit=

Files travel as raw bodies: a file is posted to ``/files`` (streamed to a temporary file, hashed
and moved into the content-addressed store; no name is involved), then data units and models
refer to stored files by sha256 with the name to record. Every name is checked before any
record is written; no name is ever used as a path by the server.

Security model (see docs/security.md): binds 127.0.0.1 by default; every request but
the OpenAPI page needs ``Authorization: Bearer <token>`` unless the server was started without
one on purpose; request bodies must be ``application/json`` (``application/octet-stream`` for
``POST /files``), anything else is 415, so a web page cannot send a request without a CORS
preflight, and the server answers no preflight; ``Host`` must name the bound address (no DNS
rebinding) and a browser's ``Origin``, when sent, must be the server itself. Bodies are
limited in size (413) and in time (408), headers in time (the connection is closed).

A request carrying an ``Idempotency-Key`` header is applied once: its answer is stored in the
backend's database in the same transaction as its writes, so a retry (even after a restart of
the server) gets the stored answer; the same key with another request is refused (409). Errors
answer ``{"error": {"type", "message", ...}}``: 400 unsafe names or bad values, 404 missing
records, 409 integrity and key reuse, 413/415/408 transport limits, 401 token, 403 origin or
host, 422 a body or parameter of the wrong shape, 507 the backend cannot write, 500 a bug.

``failure_rate`` makes the server fail that share of requests with 503 (half before, half
after doing the work), to test clients against an unreliable network.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any, Literal

try:
    import uvicorn
    from fastapi import FastAPI, Header, Query, Request
    from fastapi import Path as PathParam
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import Response, StreamingResponse
    from pydantic import BaseModel, ConfigDict, Field
    from typing_extensions import TypedDict
    from uvicorn.protocols.http.auto import AutoHTTPProtocol
except ImportError as exc:  # pragma: no cover - exercised in the core CI environment
    raise ImportError(
        "`synapse backend serve` needs FastAPI and uvicorn: pip install 'synapse-sdk[serve]'"
    ) from exc

from ..plugins.errors import BackendError, IntegrityError, NotFoundError, UnsafePathError
from .base import FileRecord
from .local import LocalBackend, stored_file_name
from .paths import safe_name
from .sink import storage_failure

__all__ = ["BackendServer", "Limits", "create_app", "serve_backend"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = "application/json"
_OCTETS = "application/octet-stream"
_MAX_ID = 2**63 - 1  # SQLite's integer range: larger ids are 422, not an overflow
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Paths that need no token: the OpenAPI page and schema describe the API, they hold no data.
_PUBLIC = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})


class Limits:
    """Size and time limits of one server (the defaults suit a workstation or a small team).

    ``json_body`` and ``file_body`` bound request bodies in bytes (413 beyond); ``headers``
    is how long a client may take to send a request's headers and ``body`` how long it may
    pause while sending its body (408); ``keep_alive`` closes idle connections;
    ``concurrency`` caps open connections and requests (503 beyond).
    """

    def __init__(
        self,
        *,
        json_body: int = 64 << 20,
        file_body: int = 64 << 30,
        headers: float = 10.0,
        body: float = 30.0,
        keep_alive: int = 5,
        concurrency: int = 512,
    ) -> None:
        self.json_body = json_body
        self.file_body = file_body
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.concurrency = concurrency


# -- request and answer shapes (the OpenAPI schema) ---------------------------------------------

Id = int  # any integer: one the backend does not hold (0, -1, 40 digits) is a 404
Count = Annotated[int | None, Query(ge=0, le=_MAX_ID)]
Key = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileRef(_Strict):
    """A file already posted to ``/files``, and the name to record it under."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=4096)


class DatasetIn(_Strict):
    name: str
    description: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)


class UnitIn(_Strict):
    files: dict[str, FileRef] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)


class UnitsIn(_Strict):
    units: list[UnitIn]


class ModelIn(_Strict):
    file: FileRef
    name: str
    description: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)
    dataset: int | None = Field(default=None, ge=1, le=_MAX_ID)
    parent: int | None = Field(default=None, ge=1, le=_MAX_ID)
    job: int | None = Field(default=None, ge=1, le=_MAX_ID)


class JobIn(_Strict):
    action: str
    params: Any = None
    run_id: str | None = None
    plugin: str | None = None


class ProgressIn(TypedDict, total=False):
    current: float
    total: float
    percent: float | None


class JobPatch(_Strict):
    status: Literal["running", "succeeded", "failed", "cancelled"] | None = None
    progress: dict[str, ProgressIn] | None = None
    metrics: dict[str, dict[str, Any]] | None = None
    result: Any = None
    error: str | None = None


class LogEntryIn(TypedDict):
    seq: int
    time: float
    event: str
    level: str
    data: dict[str, Any]
    file: str | None


class LogsIn(_Strict):
    entries: list[LogEntryIn]


class StoredFile(BaseModel):
    sha256: str
    size: int


# -- errors -------------------------------------------------------------------------------------


class _KeyReused(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _error(status: int, type_: str, message: str, **fields: Any) -> Response:
    body = {"error": {"type": type_, "message": message, **fields}}
    return Response(json.dumps(body), status_code=status, media_type=_JSON)


def _backend_error(exc: BackendError) -> Response:
    name, message = type(exc).__name__, str(getattr(exc, "message", exc))
    if isinstance(exc, NotFoundError):
        return _error(404, name, message, kind=exc.kind, id=exc.id)
    if isinstance(exc, UnsafePathError):
        return _error(400, name, message, name=exc.name, reason=exc.reason)
    if isinstance(exc, IntegrityError):
        return _error(409, name, message, path=exc.path, expected=exc.expected, actual=exc.actual)
    if storage_failure(exc):  # the store cannot take writes: not the client's fault
        return _error(507, name, message, hint=exc.hint)
    return _error(400, name, message)


# -- the guard: token, origin, host, content type, size and time limits ------------------------


class _Guard:
    """Pure ASGI middleware in front of the routes (cheap: no request object is built)."""

    def __init__(self, app: Any, server: _Settings) -> None:
        self.app = app
        self.s = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        s = self.s
        s.requests += 1
        headers = dict(scope["headers"])
        refusal = self._refuse(scope, headers)
        if refusal is not None:
            await _send(send, refusal, close=True)
            return
        chaos = s.chaos()
        if chaos == "before":
            s.failures += 1
            await _send(send, _error(503, "Unavailable", "injected failure"))
            return
        limit = s.limits.file_body if scope["path"] == "/files" else s.limits.json_body
        violation: Response | None = None
        body_done = scope["method"] in ("GET", "HEAD")
        received = 0
        answered = False

        async def guarded_receive() -> Message:
            nonlocal body_done, received, violation
            if violation is not None:
                return {"type": "http.disconnect"}
            if body_done:  # e.g. a streaming answer listening for a disconnect: no timeout
                return await receive()
            try:
                message = await _within(receive(), s.limits.body)
            except asyncio.TimeoutError:
                violation = _error(408, "Timeout", f"no body bytes for {s.limits.body:g} s")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    violation = _error(413, "TooLarge", f"the body is over {limit} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if violation is not None and not answered:
                return  # replaced by the violation's answer below
            if chaos == "after":
                return  # the work is done but the client does not learn it
            answered = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if violation is None or answered:
                raise
        if violation is not None and not answered:
            await _send(send, violation, close=True)
        elif chaos == "after":
            s.failures += 1
            await _send(send, _error(503, "Unavailable", "injected failure"))

    def _refuse(self, scope: Scope, headers: dict[bytes, bytes]) -> Response | None:
        s = self.s
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if s.hosts is not None and host not in s.hosts:
            return _error(403, "Forbidden", f"Host {host!r} is not this server's address")
        origin = headers.get(b"origin")
        if origin is not None:
            text = origin.decode("latin-1").lower()
            if text != f"http://{host}":
                return _error(403, "Forbidden", f"requests from the web page {text} are refused")
        path = scope["path"]
        if s.token is not None and not (scope["method"] == "GET" and path in _PUBLIC):
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, s.bearer):
                return _error(401, "Unauthorized", "bad or missing token")
        method = scope["method"]
        if method in ("POST", "PUT", "PATCH"):
            wanted = _OCTETS if path == "/files" else _JSON
            ctype = headers.get(b"content-type", b"").decode("latin-1")
            if ctype.split(";", 1)[0].strip().lower() != wanted:
                return _error(415, "UnsupportedMediaType", f"send the body as {wanted}")
            length = headers.get(b"content-length")
            if length is not None:
                if not length.isdigit():
                    return _error(400, "BadRequest", "Content-Length must be a number")
                limit = s.limits.file_body if path == "/files" else s.limits.json_body
                if int(length) > limit:
                    return _error(413, "TooLarge", f"the body is over {limit} bytes")
        return None


async def _within(awaitable: Awaitable[Message], seconds: float) -> Message:
    """``await awaitable``, TimeoutError after ``seconds`` (asyncio.timeout where it exists:
    unlike wait_for, it starts no task per body chunk)."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # Python 3.10
        return await asyncio.wait_for(awaitable, seconds)
    async with timeout(seconds):
        return await awaitable


async def _send(send: Send, answer: Response, *, close: bool = False) -> None:
    headers = [
        (b"content-type", _JSON.encode()),
        (b"content-length", str(len(answer.body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": bytes(answer.body)})


class _Settings:
    """What the guard checks, and its counters."""

    def __init__(
        self,
        token: str | None,
        hosts: frozenset[str] | None,
        limits: Limits,
        failure_rate: float,
        seed: int | None,
    ) -> None:
        self.token = token
        self.bearer = f"Bearer {token}".encode() if token is not None else b""
        self.hosts = hosts
        self.limits = limits
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self.requests = 0
        self.failures = 0

    def chaos(self) -> str | None:
        if self.failure_rate <= 0:
            return None
        roll = self._random.random()
        if roll >= self.failure_rate:
            return None
        return "before" if roll < self.failure_rate / 2 else "after"


def _allowed_hosts(host: str, port: int, extra: tuple[str, ...]) -> frozenset[str] | None:
    """The Host headers that name this server; None (any) for a wildcard bind without names."""
    if host in ("0.0.0.0", "::", "") and not extra:
        return None
    names = set(_LOOPBACK) if host in _LOOPBACK else {host}
    names.update(extra)
    return frozenset(
        f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in names
    ) | frozenset(f"[{name}]" if ":" in name else name for name in names if port == 80)


# -- the application ----------------------------------------------------------------------------


def create_app(
    backend: LocalBackend,
    *,
    token: str | None,
    hosts: frozenset[str] | None,
    limits: Limits | None = None,
    failure_rate: float = 0.0,
    seed: int | None = None,
) -> tuple[Any, _Settings]:
    """The ASGI application serving ``backend`` (the routes behind the guard), and its
    settings object (request and failure counters)."""
    settings = _Settings(token, hosts, limits or Limits(), failure_rate, seed)
    app = FastAPI(
        title="synapse-sdk backend",
        description="A LocalBackend served over HTTP (`synapse backend serve`).",
        redoc_url=None,
    )

    @app.exception_handler(BackendError)
    async def on_backend_error(request: Request, exc: BackendError) -> Response:
        return _backend_error(exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _error(422, "ValidationError", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(_KeyReused)
    async def on_key_reused(request: Request, exc: _KeyReused) -> Response:
        return _error(
            409,
            "IdempotencyKeyReused",
            f"Idempotency-Key {exc.key!r} was used for another request",
        )

    @app.exception_handler(ValueError)
    async def on_value_error(request: Request, exc: ValueError) -> Response:
        return _error(400, type(exc).__name__, str(exc))

    def answer(value: Any) -> Response:
        return Response(_dumps(value), media_type=_JSON)

    def once(key: str | None, request: Request, body: BaseModel, work: Callable[[], Any]) -> Any:
        """Do ``work`` once per idempotency key (its answer is stored with its writes)."""
        if key is None:
            return answer(work())
        fingerprint = hashlib.sha256(
            f"{request.method} {request.url.path}\n".encode() + body.model_dump_json().encode()
        ).hexdigest()
        with backend._idempotent(key, fingerprint) as slot:
            if slot.conflict:
                raise _KeyReused(key)
            if slot.answer is None:
                slot.answer = _dumps(work())
        return Response(slot.answer, media_type=_JSON)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- files: raw bodies in, raw bytes out --------------------------------------------------

    @app.post(
        "/files",
        response_model=StoredFile,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def post_file(
        request: Request,
        sha256: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    ) -> Response:
        """Store the raw body; answers its sha256 and size (409 if ``sha256`` was given and
        the bytes do not match it). Files are content addressed: posting one twice is a
        no-op."""
        fd, tmp = await run_in_threadpool(backend._new_upload)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            actual = digest.hexdigest()
            if sha256 is not None and actual != sha256:
                raise IntegrityError("the uploaded body", expected=sha256, actual=actual)
            await run_in_threadpool(backend._adopt, tmp, actual, size)
        finally:
            tmp.unlink(missing_ok=True)
        return answer({"sha256": actual, "size": size})

    @app.get(
        "/files/{sha256}",
        response_class=Response,
        responses={200: {"content": {_OCTETS: {}}}},
    )
    def get_file(sha256: Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")]) -> Response:
        """The stored bytes (the client verifies them against the sha256)."""
        blob = backend._open_blob(sha256)
        if isinstance(blob, bytes):
            return Response(blob, media_type=_OCTETS)
        size = os.fstat(blob.fileno()).st_size

        def chunks() -> Iterator[bytes]:
            with blob:
                while chunk := blob.read(1 << 20):
                    yield chunk

        return StreamingResponse(
            chunks(), media_type=_OCTETS, headers={"content-length": str(size)}
        )

    def stored(ref: FileRef, name: str) -> FileRecord:
        size = backend._stored_size(ref.sha256)
        if size is None:
            raise NotFoundError(
                "file",
                ref.sha256,
                backend=str(backend.root),
                hint="POST the file's bytes to /files first",
            )
        return {"name": name, "sha256": ref.sha256, "size": size}

    # -- datasets -----------------------------------------------------------------------------

    @app.post("/datasets")
    def create_dataset(body: DatasetIn, request: Request, key: Key = None) -> Any:
        return once(
            key,
            request,
            body,
            lambda: backend.create_dataset(body.name, description=body.description, meta=body.meta),
        )

    @app.get("/datasets")
    def list_datasets() -> Any:
        return answer(backend.list_datasets())

    @app.get("/datasets/{dataset_id}")
    def get_dataset(dataset_id: Id) -> Any:
        return answer(backend.get_dataset(dataset_id))

    @app.post("/datasets/{dataset_id}/units")
    def add_units(dataset_id: Id, body: UnitsIn, request: Request, key: Key = None) -> Any:
        # Every role and name is checked before anything is written.
        checked = [
            (
                {
                    safe_name(role): stored(ref, stored_file_name(ref.name))
                    for role, ref in unit.files.items()
                },
                unit.meta,
            )
            for unit in body.units
        ]
        return once(key, request, body, lambda: backend._insert_units(dataset_id, checked))

    @app.get("/datasets/{dataset_id}/units")
    def list_units(dataset_id: Id, offset: Count = 0, limit: Count = None) -> Any:
        return answer(backend.list_data_units(dataset_id, offset=offset or 0, limit=limit))

    # -- models -------------------------------------------------------------------------------

    @app.post("/models")
    def create_model(body: ModelIn, request: Request, key: Key = None) -> Any:
        file = stored(body.file, stored_file_name(body.file.name))
        return once(
            key,
            request,
            body,
            lambda: backend._insert_model(
                file,
                None,
                (body.name, body.description, body.meta, body.dataset, body.parent, body.job),
            ),
        )

    @app.get("/models")
    def list_models(name: str | None = None) -> Any:
        return answer(backend.list_models(name=name))

    @app.get("/models/{model_id}")
    def get_model(model_id: Id) -> Any:
        return answer(backend.get_model(model_id))

    # -- jobs ---------------------------------------------------------------------------------

    @app.post("/jobs")
    def create_job(body: JobIn, request: Request, key: Key = None) -> Any:
        return once(
            key,
            request,
            body,
            lambda: backend.create_job(
                body.action, params=body.params, run_id=body.run_id, plugin=body.plugin
            ),
        )

    @app.get("/jobs")
    def list_jobs(
        status: Literal["running", "succeeded", "failed", "cancelled"] | None = None,
        limit: Count = None,
    ) -> Any:
        return answer(backend.list_jobs(status=status, limit=limit))

    @app.get("/jobs/{job_id}")
    def get_job(job_id: Id) -> Any:
        return answer(backend.get_job(job_id))

    @app.patch("/jobs/{job_id}")
    def update_job(job_id: Id, body: JobPatch, request: Request, key: Key = None) -> Any:
        def work() -> dict[str, bool]:
            backend.update_job(
                job_id,
                status=body.status,
                progress=body.progress,  # type: ignore[arg-type]
                metrics=body.metrics,
                result=body.result,
                error=body.error,
            )
            return {"ok": True}

        return once(key, request, body, work)

    @app.post("/jobs/{job_id}/logs")
    def append_logs(job_id: Id, body: LogsIn, request: Request, key: Key = None) -> Any:
        return once(
            key,
            request,
            body,
            lambda: {"added": backend.append_job_logs(job_id, body.entries)},
        )

    @app.get("/jobs/{job_id}/logs")
    def get_logs(
        job_id: Id,
        after: Annotated[int | None, Query(ge=-_MAX_ID, le=_MAX_ID)] = None,
        limit: Count = None,
    ) -> Any:
        return answer(backend.get_job_logs(job_id, after=after, limit=limit))

    from ._collections_routes import collections_router  # storages, data collections, files

    app.include_router(collections_router(backend, answer, once))
    return _Guard(app, settings), settings


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> bytes:
    return _encoder.encode(value).encode()


# -- the server ---------------------------------------------------------------------------------


def header_deadline_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, closing connections whose request headers take longer than
    ``header_timeout`` seconds to arrive (uvicorn times out idle keep-alive connections, not a
    client that sends half a request and waits)."""
    base: Any = AutoHTTPProtocol

    class _HeaderDeadline(base):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            cycle = self.cycle
            self.loop.call_later(header_timeout, self._header_deadline, cycle)

        def _header_deadline(self, cycle: Any) -> None:
            # No new request began since the deadline was set: the client is too slow.
            if self.cycle is cycle and not self.transport.is_closing():
                self.transport.close()

    return _HeaderDeadline


class BackendServer:
    """A LocalBackend served over HTTP by uvicorn, in a background thread or this one.

    ``port=0`` picks a free port; ``url`` tells which. A bearer ``token`` is required by
    default: pass one, or let the server generate it (``.token``); ``require_token=False``
    serves without one (anyone who can reach the port can read and write). ``allowed_hosts``
    adds names clients use to reach a non-loopback address (checked against ``Host``).
    """

    def __init__(
        self,
        backend: LocalBackend,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        require_token: bool = True,
        allowed_hosts: tuple[str, ...] = (),
        limits: Limits | None = None,
        failure_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if not isinstance(backend, LocalBackend):
            raise TypeError(
                f"BackendServer serves a LocalBackend, got {type(backend).__name__}; "
                "open one with LocalBackend(root)"
            )
        self.backend = backend
        if token is None and require_token:
            token = secrets.token_urlsafe(32)
        self.token = token
        self.limits = limits or Limits()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
            self._sock.listen(2048)
        except OSError:
            self._sock.close()
            raise
        self.host: str = host
        self.port: int = int(self._sock.getsockname()[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        hosts = _allowed_hosts(host, self.port, tuple(a.lower() for a in allowed_hosts))
        self.app, self._settings = create_app(
            backend,
            token=token,
            hosts=hosts,
            limits=self.limits,
            failure_rate=failure_rate,
            seed=seed,
        )
        config = uvicorn.Config(
            self.app,
            http=header_deadline_protocol(self.limits.headers),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_keep_alive=self.limits.keep_alive,
            limit_concurrency=self.limits.concurrency,
            backlog=2048,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"BackendServer({self.url!r}, {self.backend!r})"

    @property
    def requests(self) -> int:
        """How many requests arrived (including refused ones)."""
        return self._settings.requests

    @property
    def failures(self) -> int:
        """How many requests were failed on purpose (``failure_rate``)."""
        return self._settings.failures

    def __enter__(self) -> BackendServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> BackendServer:
        """Serve in a background thread (returns once it accepts requests)."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="synapse-backend-server",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise BackendError(f"The backend server at {self.url} did not start")
            time.sleep(0.005)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM."""
        try:
            self._server.run(sockets=[self._sock])
        except KeyboardInterrupt:  # uvicorn re-raises the signal it handled
            pass
        finally:
            self._sock.close()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._sock.close()


def serve_backend(
    root: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    token: str | None = None,
    require_token: bool = True,
) -> BackendServer:
    """A server for the LocalBackend at ``root`` (default ``$SYNAPSE_HOME`` / ``./.synapse``)."""
    return BackendServer(
        LocalBackend(Path(root) if root is not None else None),
        host,
        port,
        token=token,
        require_token=require_token,
    )
