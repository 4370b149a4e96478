"""``synapse backend serve``: a LocalBackend behind HTTP, so jobs elsewhere can reach it.

Standard library only (``http.server``, one thread per request). Binds 127.0.0.1 by default;
with ``token`` every request needs ``Authorization: Bearer <token>``. Routes (JSON bodies and
answers, files as raw bytes)::

    GET  /health
    POST /datasets                     GET /datasets           GET /datasets/{id}
    POST /datasets/{id}/units          GET /datasets/{id}/units?offset=&limit=
    GET  /files/{sha256}               (raw bytes)
    POST /models?name=&description=&meta=&dataset=&parent=&job=&filename=   (raw body)
    GET  /models?name=                 GET /models/{id}
    POST /jobs                         GET /jobs?status=&limit=   GET /jobs/{id}
    PATCH /jobs/{id}                   POST /jobs/{id}/logs       GET /jobs/{id}/logs?after=&limit=

A request carrying an ``Idempotency-Key`` header is executed once: a retry with the same key
gets the stored answer (the HTTP client sends one per call, so a retried write never applies
twice). Errors answer ``{"error": {"type", "message", ...}}``: 404 NotFoundError, 400 invalid
input or unsafe names, 409 integrity, 401 bad token, 500 anything unexpected.

``failure_rate`` makes the server fail that share of requests with 503 (half before, half
after doing the work), to test clients against an unreliable network.
"""

from __future__ import annotations

import base64
import collections
import hmac
import json
import random
import re
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..plugins.errors import BackendError, IntegrityError, NotFoundError, UnsafePathError

__all__ = ["BackendServer", "serve_backend"]

Handler = Callable[["_Request"], Any]


class _Request:
    def __init__(self, match: re.Match[str], query: dict[str, str], body: bytes) -> None:
        self.match = match
        self.query = query
        self.body = body

    def id(self) -> int:
        return int(self.match.group(1))

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def int_arg(self, name: str) -> int | None:
        value = self.query.get(name)
        return None if value is None or value == "" else int(value)


class _Raw(bytes):
    """An answer sent as raw bytes rather than JSON."""


def _routes(backend: Any, scratch: Path) -> list[tuple[str, re.Pattern[str], Handler]]:
    def add_units(req: _Request) -> Any:
        units = []
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            for n, unit in enumerate(req.json()["units"]):
                files: dict[str, Any] = {}
                for role, spec in unit["files"].items():
                    data = base64.b64decode(spec["data"])
                    if spec.get("name"):  # keep the file's own name: write it under that name
                        folder = Path(tmp, str(n), role)
                        folder.mkdir(parents=True)
                        path = folder / Path(spec["name"]).name
                        path.write_bytes(data)
                        files[role] = str(path)
                    else:
                        files[role] = data
                units.append((files, unit.get("meta") or {}))
            return backend.add_data_units(req.id(), units)

    def create_model(req: _Request) -> Any:
        q = req.query
        name = Path(q.get("filename") or "model.bin").name
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            path = Path(tmp, name)
            path.write_bytes(req.body)
            return backend.create_model(
                path,
                name=q["name"],
                description=q.get("description", ""),
                meta=json.loads(q.get("meta") or "{}"),
                dataset=req.int_arg("dataset"),
                parent=req.int_arg("parent"),
                job=req.int_arg("job"),
            )

    def update_job(req: _Request) -> Any:
        backend.update_job(req.id(), **req.json())
        return {"ok": True}

    routes: list[tuple[str, str, Handler]] = [
        ("GET", r"/health", lambda r: {"status": "ok"}),
        ("POST", r"/datasets", lambda r: backend.create_dataset(**r.json())),
        ("GET", r"/datasets", lambda r: backend.list_datasets()),
        ("GET", r"/datasets/(\d+)", lambda r: backend.get_dataset(r.id())),
        ("POST", r"/datasets/(\d+)/units", add_units),
        (
            "GET",
            r"/datasets/(\d+)/units",
            lambda r: backend.list_data_units(
                r.id(), offset=r.int_arg("offset") or 0, limit=r.int_arg("limit")
            ),
        ),
        ("GET", r"/files/([0-9a-f]{64})", lambda r: _Raw(backend.read_file(r.match.group(1)))),
        ("POST", r"/models", create_model),
        ("GET", r"/models", lambda r: backend.list_models(name=r.query.get("name"))),
        ("GET", r"/models/(\d+)", lambda r: backend.get_model(r.id())),
        ("POST", r"/jobs", lambda r: backend.create_job(**r.json())),
        (
            "GET",
            r"/jobs",
            lambda r: backend.list_jobs(status=r.query.get("status"), limit=r.int_arg("limit")),
        ),
        ("GET", r"/jobs/(\d+)", lambda r: backend.get_job(r.id())),
        ("PATCH", r"/jobs/(\d+)", update_job),
        (
            "POST",
            r"/jobs/(\d+)/logs",
            lambda r: {"added": backend.append_job_logs(r.id(), r.json()["entries"])},
        ),
        (
            "GET",
            r"/jobs/(\d+)/logs",
            lambda r: backend.get_job_logs(
                r.id(), after=r.int_arg("after"), limit=r.int_arg("limit")
            ),
        ),
    ]
    return [(method, re.compile(pattern + "$"), fn) for method, pattern, fn in routes]


def _error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    info: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": getattr(exc, "message", str(exc)),
    }
    if isinstance(exc, NotFoundError):
        info.update(kind=exc.kind, id=exc.id)
        return 404, {"error": info}
    if isinstance(exc, UnsafePathError):
        info.update(name=exc.name, reason=exc.reason)
        return 400, {"error": info}
    if isinstance(exc, IntegrityError):
        info.update(path=exc.path, expected=exc.expected, actual=exc.actual)
        return 409, {"error": info}
    if isinstance(exc, (BackendError, ValueError, TypeError, KeyError)):
        return 400, {"error": info}
    return 500, {"error": info}


class BackendServer:
    """A LocalBackend (or any BackendClient) served over HTTP in a background thread.

    ``port=0`` picks a free port; ``url`` tells which. ``token`` requires bearer auth.
    """

    def __init__(
        self,
        backend: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        failure_rate: float = 0.0,
        seed: int | None = None,
        remembered: int = 10_000,
    ) -> None:
        self.backend = backend
        self.token = token
        self.failure_rate = failure_rate
        self.requests = 0
        self.failures = 0
        self._random = random.Random(seed)
        self._scratch = Path(tempfile.mkdtemp(prefix="synapse-backend-server-"))
        self._routes = _routes(backend, self._scratch)
        self._answers: collections.OrderedDict[str, tuple[int, bytes, str]] = (
            collections.OrderedDict()
        )
        self._remembered = remembered
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        address = self._httpd.server_address
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self.url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BackendServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> BackendServer:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns quickly
            name="synapse-backend-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C."""
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # -- request handling --------------------------------------------------------------------

    def _chaos(self) -> str | None:
        if self.failure_rate <= 0:
            return None
        with self._lock:
            roll = self._random.random()
        if roll >= self.failure_rate:
            return None
        return "before" if roll < self.failure_rate / 2 else "after"

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        """Answer one request: (status, body, content type)."""
        with self._lock:
            self.requests += 1
        if self.token is not None:
            given = headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return self._json(
                    401, {"error": {"type": "Unauthorized", "message": "bad or missing token"}}
                )
        chaos = self._chaos()
        if chaos == "before":
            return self._fail()
        key = headers.get("Idempotency-Key")
        if key:
            with self._lock:
                key_lock = self._key_locks.setdefault(key, threading.Lock())
            with key_lock:  # a retry racing the original waits for its answer
                with self._lock:
                    stored = self._answers.get(key)
                if stored is None:
                    stored = self._dispatch(method, target, body)
                    if stored[0] < 500:
                        with self._lock:
                            self._answers[key] = stored
                            while len(self._answers) > self._remembered:
                                old, _ = self._answers.popitem(last=False)
                                self._key_locks.pop(old, None)
            answer = stored
        else:
            answer = self._dispatch(method, target, body)
        if chaos == "after":
            return self._fail()  # the work is done but the client does not learn it
        return answer

    def _fail(self) -> tuple[int, bytes, str]:
        with self._lock:
            self.failures += 1
        return self._json(503, {"error": {"type": "Unavailable", "message": "injected failure"}})

    @staticmethod
    def _json(status: int, data: Any) -> tuple[int, bytes, str]:
        return status, json.dumps(data).encode(), "application/json"

    def _dispatch(self, method: str, target: str, body: bytes) -> tuple[int, bytes, str]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        for route_method, pattern, fn in self._routes:
            match = pattern.match(parts.path)
            if match and route_method == method:
                try:
                    result = fn(_Request(match, query, body))
                except Exception as exc:
                    return self._json(*_error_body(exc))
                if isinstance(result, _Raw):
                    return 200, bytes(result), "application/octet-stream"
                return self._json(200, result)
        return self._json(
            404, {"error": {"type": "NoRoute", "message": f"no route {method} {parts.path}"}}
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, data, ctype = server.handle(self.command, self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the CLI prints the URL; requests are not logged by default

        return _Handler


def serve_backend(
    root: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    token: str | None = None,
) -> BackendServer:
    """A server for the LocalBackend at ``root`` (default ``$SYNAPSE_HOME`` / ``./.synapse``)."""
    from .local import LocalBackend

    return BackendServer(LocalBackend(root), host, port, token=token)
