"""``serve``: an HTTP endpoint generated from an action's params and result models.

:func:`build_app` turns an action into a FastAPI app (extra ``serve``):

* ``POST /run``: the body is the params (validated like ``run_action``: unknown keys rejected);
  the response is the action's result as JSON with the run id in ``X-Synapse-Run-Id``. Invalid
  params give **422** with ``detail[i].loc`` (``['body', 'augmentation', 'rotate']``) and
  ``detail[i].field`` (``'augmentation.rotate'``); a failing action gives **500** with the
  error's type and message.
* ``GET /health``: ``{"status": "ok", "action": ...}``; ``GET /schema``: params and result
  JSON Schemas; ``GET /openapi.json`` and ``/docs``: the OpenAPI schema built from the models.

:class:`ServeExecutor` runs the app with uvicorn on 127.0.0.1 (port 0 picks a free port) in a
background thread and returns a :class:`ServeHandle` (``url``, ``stop()``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..context import RuntimeContext
from ..errors import ExecutionError, ValidationError
from ..events import Sink, jsonable
from ..run import Run, execute_spec
from ..spec import ActionSpec
from ._base import BaseExecutor
from ._protocol import error_to_json, to_ref
from .worker import load_action

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServeExecutor", "ServeHandle", "build_app", "post_run", "resolve_spec"]


def _require_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:
        raise ImportError(
            "mode 'serve' needs FastAPI and uvicorn: pip install 'synapse-sdk[serve]'"
        ) from exc
    return fastapi


def resolve_spec(action: Any, plugin_dir: str | None = None) -> ActionSpec:
    """The spec of an action object, or of an entrypoint string imported in this process."""
    ref, spec = to_ref(action, plugin_dir)
    if spec is not None:
        return spec
    return load_action(ref.entrypoint, ref.plugin_dir, ref.name)


def build_app(
    action: Any,
    *,
    plugin_dir: str | None = None,
    env: Mapping[str, str] | None = None,
    client: Any = None,
    sinks: Callable[[], Iterable[Sink]] | None = None,
) -> FastAPI:
    """A FastAPI app serving ``action`` (see the module docstring for the routes).

    ``env`` and ``client`` build each request's RuntimeContext; ``sinks`` is a factory called
    once per request for the sinks of that run (e.g. a run log per request).
    """
    fastapi = _require_fastapi()
    from fastapi import Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.openapi.utils import get_openapi
    from fastapi.responses import JSONResponse

    spec = resolve_spec(action, plugin_dir)
    app = fastapi.FastAPI(
        title=f"{spec.name} (synapse action)", description=spec.description or spec.name
    )
    defs: dict[str, Any] = {}

    def model_schema(model: Any) -> dict[str, Any]:
        schema = dict(model.model_json_schema(ref_template="#/components/schemas/{model}"))
        defs.update(schema.pop("$defs", {}))
        return schema

    params_schema = (
        model_schema(spec.params_model)
        if spec.params_model is not None
        else {"type": "object", "title": f"{spec.name} params"}
    )
    responses: dict[int | str, dict[str, Any]] = {
        422: {"description": "Invalid params (detail[i].loc / .field name the field)"},
        500: {"description": "The action failed"},
    }
    if spec.result_model is not None:
        responses[200] = {
            "description": "The action's result",
            "content": {"application/json": {"schema": model_schema(spec.result_model)}},
        }

    def call(params: Any) -> Run:
        ctx = RuntimeContext(env=env, client=client, action_name=spec.name)
        return execute_spec(spec, params, ctx=ctx, sinks=list(sinks()) if sinks else None)

    async def run_endpoint(request: Request) -> Any:
        body = await request.body()
        try:
            params = spec.validate_params(body or None)
        except ValidationError as exc:
            detail = [
                {
                    "loc": ["body", *err.get("loc", ())],
                    "field": field,
                    "msg": err.get("msg"),
                    "type": err.get("type"),
                }
                for err, field in zip(exc.errors, exc.fields, strict=True)
            ]
            return JSONResponse({"detail": detail, "message": exc.message}, status_code=422)
        run = await run_in_threadpool(call, params)
        headers = {"X-Synapse-Run-Id": run.run_id}
        if not run.ok:
            error = error_to_json(run.error, None) or {}
            error.pop("traceback", None)
            error.update(run_id=run.run_id, status=run.status.value)
            return JSONResponse({"detail": error}, status_code=500, headers=headers)
        return JSONResponse(jsonable(run.result), headers=headers)

    # FastAPI reads the annotation at runtime; `Request` is imported lazily, not a module global
    run_endpoint.__annotations__["request"] = Request
    app.add_api_route(
        "/run",
        run_endpoint,
        methods=["POST"],
        summary=f"Run {spec.name}",
        description=spec.description,
        responses=responses,
        openapi_extra={
            "requestBody": {
                "required": spec.params_model is not None,
                "content": {"application/json": {"schema": params_schema}},
            }
        },
    )

    def health() -> dict[str, str]:
        return {"status": "ok", "action": spec.name}

    def schema() -> dict[str, Any]:
        return {"action": spec.name, "params": spec.params_schema(), "result": spec.result_schema()}

    app.add_api_route("/health", health, methods=["GET"], summary="Liveness check")
    app.add_api_route("/schema", schema, methods=["GET"], summary="Params and result schemas")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            doc.setdefault("components", {}).setdefault("schemas", {}).update(defs)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
    return app


class ServeHandle:
    """A running endpoint: ``url``, ``stop()``; usable as a context manager."""

    def __init__(self, app: Any, server: Any, thread: threading.Thread, host: str, port: int):
        self.app = app
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self._server = server
        self._thread = thread

    def __repr__(self) -> str:
        return f"<ServeHandle {self.url}>"

    def __enter__(self) -> ServeHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it)."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            self.stop()


class ServeExecutor(BaseExecutor):
    """Serve actions over HTTP (``mode='serve'``) with uvicorn, on 127.0.0.1 by default.

    ``submit(action)`` / ``serve(action)`` start an endpoint and return its handle; ``run``
    starts (once per action) and posts the params, returning a ``Run`` built from the answer.
    ``server_options`` are more ``uvicorn.Config`` keywords (``http='h11'``, timeouts, ...).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        env: Mapping[str, str] | None = None,
        client: Any = None,
        log_level: str = "warning",
        startup_timeout: float = 30.0,
        server_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(env=env)
        self.server_options = dict(server_options or {})
        self.host = host
        self.port = port
        self.client = client
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.handles: dict[str, ServeHandle] = {}
        self._by_action: dict[str, ServeHandle] = {}  # the endpoints `run` started

    def serve(
        self,
        action: Any,
        *,
        plugin_dir: str | None = None,
        env: Mapping[str, str] | None = None,
        sinks: Callable[[], Iterable[Sink]] | None = None,
        port: int | None = None,
    ) -> ServeHandle:
        """Start an endpoint for ``action`` and return once it accepts requests."""
        _require_fastapi()
        try:
            import uvicorn
        except ImportError as exc:
            raise ImportError(
                "mode 'serve' needs uvicorn: pip install 'synapse-sdk[serve]'"
            ) from exc
        app = build_app(
            action,
            plugin_dir=plugin_dir,
            env={**self.env, **(env or {})},
            client=self.client,
            sinks=sinks,
        )
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only for
        # sockets that say so, and without it (h11, no httptools) every response's body
        # waits for the client's delayed ACK, about 40 ms
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port if port is None else port))
        bound_port = sock.getsockname()[1]
        options = {"log_level": self.log_level, "lifespan": "off", "access_log": False}
        config = uvicorn.Config(app, **{**options, **self.server_options})
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="synapse-serve", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the server for {app.title} did not start on port {bound_port}")
            time.sleep(0.005)
        handle = ServeHandle(app, server, thread, self.host, bound_port)
        self.handles[handle.url] = handle
        return handle

    def submit(self, action: Any, params: Any = None, **options: Any) -> ServeHandle:
        """Same as :meth:`serve` (``params`` is ignored: requests bring their own)."""
        return self.serve(action, **options)

    def run(self, action: Any, params: Any = None, **options: Any) -> Run:
        """Serve ``action`` (the endpoint is kept for later calls) and POST ``params``.

        The Run is rebuilt from the answer (see :func:`post_run`).
        """
        spec = resolve_spec(action, options.get("plugin_dir"))
        handle = self._by_action.get(spec.name)
        if handle is None or not handle.running:
            handle = self._by_action[spec.name] = self.serve(action, **options)
        return post_run(handle.url, spec, params)

    def close(self) -> None:
        """Stop every endpoint this executor started."""
        super().close()
        for handle in list(self.handles.values()):
            handle.stop()
        self.handles.clear()
        self._by_action.clear()


def post_run(url: str, spec: ActionSpec, params: Any = None, *, timeout: float = 300.0) -> Run:
    """POST ``params`` to the endpoint at ``url`` (its ``/run``) and rebuild the ``Run``.

    Status, result (typed with the result model) and error come from the answer; the run's
    events stay on the server side (give ``serve(..., sinks=...)`` a factory to record them).
    """
    import json
    import urllib.error
    import urllib.request

    from ..run import RunStatus
    from ._protocol import RunHandle, error_from_json

    validated = spec.validate_params(params)
    dump = getattr(validated, "model_dump", None)
    body = json.dumps(dump(mode="json", by_alias=True) if dump else jsonable(validated))
    request = urllib.request.Request(
        url + "/run", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    relay = RunHandle(run_id="", action=spec.name, params=validated, spec=spec)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            relay.run_id = answer.headers.get("X-Synapse-Run-Id", "")
            relay.finish_from_json(
                {"status": "succeeded", "result": json.loads(answer.read() or b"null")}
            )
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail") or {}
        relay.run_id = exc.headers.get("X-Synapse-Run-Id", "")
        status = RunStatus(detail.get("status", "failed"))
        error = error_from_json(detail, spec.name) or ExecutionError(
            f"POST {url}/run failed: HTTP {exc.code}", action=spec.name
        )
        relay.fail(error, status=status)
    return relay.wait()
