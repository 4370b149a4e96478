"""The three execution methods on Ray (extras ``ray`` = ``ray[default]`` and ``ray-serve``).

* :class:`RayTaskExecutor` (``mode='ray-task'``): each run is a Ray task that is a streaming
  generator; the task runs the action in a thread and yields every event as it happens, then
  the ``done`` message. ``cancel()`` interrupts the task, which cancels the action's context so
  it rolls back. Tasks are never retried (a crashed worker is a failed run).
* :class:`RayJobExecutor` (``mode='ray-job'``): each run is a Ray Job submitted through the
  Jobs API with the plugin directory as the job's ``runtime_env`` ``working_dir``; the entrypoint
  is the worker module, and events come back as prefixed lines of the job's log.
* :class:`RayServeExecutor` (``mode='ray-serve'``): the same FastAPI app as ``serve``, deployed
  with Ray Serve.

Only the entrypoint string and JSON params travel, never pickled classes. Ray is imported only
here, lazily. Connecting: ``address=None`` uses ``RAY_ADDRESS`` or starts a local Ray instance
(slow: seconds, about 1 GiB); a local instance is pinned to 127.0.0.1 by setting
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` and ``RAY_USAGE_STATS_ENABLED=0`` (unless already set).
Ray 2.60+ turns token auth on for local clusters: the Jobs client needs ``RAY_AUTH_MODE=token``
(or the cluster started with ``RAY_AUTH_MODE=disabled``) consistently on both sides.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..context import RuntimeContext
from ..errors import CancelledError, WorkerLostError
from ..events import Sink
from ..run import Run, RunStatus
from ._base import BaseExecutor, Submission
from ._env import KEEP
from ._protocol import LINE_PREFIX, RunHandle

__all__ = ["RayJobExecutor", "RayServeExecutor", "RayTaskExecutor", "ensure_ray"]

_WORKER_MODULE = "synapse_sdk.plugins.executors.worker"
_REQUEST_VAR = "SYNAPSE_RUN_REQUEST"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the Ray executors need Ray: pip install 'synapse-sdk[ray]'") from exc
    return ray


def loopback_env() -> None:
    """Keep a locally started Ray on 127.0.0.1 and quiet (only sets what is not set).

    Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when ``ray`` is first imported; when
    it was imported before this call, its constant is brought in line with the variable.
    """
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    constants: Any = sys.modules.get("ray._private.ray_constants")
    if constants is not None and os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0":
        constants.ENABLE_RAY_CLUSTER = False  # else the node IP is the default route's


def ensure_ray(address: str | None = None, **init_options: Any) -> Any:
    """Connect to Ray (``address`` or ``RAY_ADDRESS``) or start a local instance; return ray.

    Does nothing when Ray is already initialized in this process.
    """
    local = not (address or os.environ.get("RAY_ADDRESS"))
    if local:
        loopback_env()  # before the import: Ray reads it then
    ray = _import_ray()
    if not ray.is_initialized():
        if local:
            loopback_env()
        init_options.setdefault("log_to_driver", False)
        init_options.setdefault("include_dashboard", False)
        if address or os.environ.get("RAY_ADDRESS"):
            init_options.pop("include_dashboard")
        ray.init(address=address, **init_options)
    return ray


# -- ray-task ------------------------------------------------------------------------------------


def _ray_worker_keeps(name: str) -> bool:
    """What a Ray worker's ``os.environ`` keeps during a run: what every worker keeps (see
    :mod:`._env`), Python's and Ray's own variables, and the devices Ray assigned."""
    return (
        name in KEEP
        or name.startswith(("LC_", "PYTHON", "RAY_"))
        or name.endswith(("_VISIBLE_DEVICES", "_VISIBLE_CORES", "_VISIBLE_CHIPS"))
        or name == "OMP_NUM_THREADS"
    )


def _task_body(request: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The Ray task: run the request in a thread and yield its messages as they come (each
    yield carries every message waiting at that moment: one object per burst, not per event).

    Ray workers inherit the environment of whoever started Ray (the caller's shell, with its
    tokens and cloud keys): the run sees only a minimal one, as in every other mode."""
    from .worker import execute_request, run_environ

    messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
    contexts: list[RuntimeContext] = []

    def work() -> None:
        try:
            with run_environ(request.get("env") or {}, keep=_ray_worker_keeps):
                message = execute_request(request, messages.put, on_context=contexts.append)
            messages.put(message)
        finally:
            messages.put(None)

    thread = threading.Thread(target=work, name="synapse-ray-action", daemon=True)
    thread.start()
    try:
        while True:
            try:
                message = messages.get(timeout=0.1)  # short waits: KeyboardInterrupt gets in
            except queue.Empty:
                continue
            batch = []
            while message is not None:
                batch.append(message)
                try:
                    message = messages.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch
            if message is None:
                return
    except KeyboardInterrupt:  # ray.cancel(): stop the action cooperatively so it rolls back
        for ctx in contexts:
            ctx.cancel()
        thread.join()
        raise


class RayTaskExecutor(BaseExecutor):
    """Run actions as Ray tasks streaming their events back (``mode='ray-task'``).

    ``address`` is the cluster (default: ``RAY_ADDRESS`` or a new local instance started with
    ``init_options``, e.g. ``num_cpus=2``). ``num_cpus`` / ``num_gpus`` are each task's
    resources. On one machine the plugin directory is used in place; for a remote cluster,
    ship the plugin with ``init_options={'runtime_env': {'working_dir': plugin_dir}}`` and
    pass ``plugin_dir='.'``. ``close()`` leaves the Ray connection (``ray.shutdown()`` is
    the caller's).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: float = 1,
        num_gpus: float = 0,
        env: Mapping[str, str] | None = None,
        **init_options: Any,
    ) -> None:
        super().__init__(env=env)
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.init_options = init_options
        self._remote: Any = None
        self._refs: dict[str, Any] = {}

    def _function(self) -> Any:
        if self._remote is None:
            ray = ensure_ray(self.address, **self.init_options)
            self._remote = ray.remote(_task_body).options(
                num_returns="streaming",
                max_retries=0,
                num_cpus=self.num_cpus,
                num_gpus=self.num_gpus,
            )
        return self._remote

    def _start(self, submission: Submission) -> None:
        handle = submission.handle
        generator = self._function().remote(submission.request)
        self._refs[handle.run_id] = generator
        threading.Thread(
            target=self._relay,
            args=(handle, generator),
            name=f"synapse-ray-{handle.run_id}",
            daemon=True,
        ).start()

    def _relay(self, handle: RunHandle, generator: Any) -> None:
        ray = _import_ray()
        exceptions = ray.exceptions
        try:
            for object_ref in generator:
                for message in ray.get(object_ref):
                    handle.feed(message)
        except exceptions.TaskCancelledError:
            handle.fail(
                CancelledError("The run was cancelled (Ray task cancelled)", action=handle.action),
                status=RunStatus.CANCELLED,
            )
        except (exceptions.WorkerCrashedError, exceptions.NodeDiedError) as exc:
            handle.fail(
                WorkerLostError(
                    f"The Ray worker running action {handle.action!r} died: {exc}",
                    action=handle.action,
                )
            )
        except exceptions.RayError as exc:
            status = RunStatus.CANCELLED if handle.cancel_requested else RunStatus.FAILED
            handle.fail(
                WorkerLostError(
                    f"The Ray task running action {handle.action!r} failed: "
                    f"{type(exc).__name__}: {exc}",
                    action=handle.action,
                ),
                status=status,
            )
        finally:
            self._refs.pop(handle.run_id, None)
        if not handle.done():
            handle.fail(
                WorkerLostError("The Ray task ended without a result", action=handle.action)
            )

    def _cancel(self, handle: RunHandle) -> None:
        generator = self._refs.get(handle.run_id)
        if generator is not None:
            _import_ray().cancel(generator)


# -- ray-job -------------------------------------------------------------------------------------


class RayJobHandle(RunHandle):
    """A Ray Job: ``job_id`` (the submission id), ``ray_status()``, ``logs()``, ``stop()``."""

    job_id: str
    client: Any = None

    def ray_status(self) -> str:
        """The job's status as Ray reports it (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED)."""
        return str(self.client.get_job_status(self.job_id).value)

    def logs(self) -> str:
        """The job's log (its stdout and stderr, with event lines removed)."""
        text = self.client.get_job_logs(self.job_id)
        return "".join(
            line for line in text.splitlines(keepends=True) if not line.startswith(LINE_PREFIX)
        )

    def stop(self) -> None:
        """Stop the job: SIGTERM cancels the action cooperatively (rollback), Ray kills later."""
        self.cancel()


class RayJobExecutor(BaseExecutor):
    """Run each action as a Ray Job through the Jobs API (``mode='ray-job'``).

    ``address`` is the dashboard URL (default ``RAY_ADDRESS`` or ``http://127.0.0.1:8265``).
    The plugin directory is the job's ``runtime_env['working_dir']`` (uploaded by Ray);
    ``runtime_env`` adds to it (``pip`` / ``uv`` requirements, ...). ``python`` is the
    interpreter the entrypoint runs (default: this one, right for a cluster on this machine or
    the same image). ``close()`` leaves submitted jobs running on the cluster.
    """

    handle_class = RayJobHandle

    def __init__(
        self,
        address: str | None = None,
        *,
        python: str | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        entrypoint_num_cpus: float | None = None,
        entrypoint_num_gpus: float | None = None,
        submit_timeout: float = 60.0,
    ) -> None:
        _import_ray()
        from ray.job_submission import JobSubmissionClient

        super().__init__(env=env)
        self.address = address or os.environ.get("RAY_ADDRESS") or "http://127.0.0.1:8265"
        self.client = JobSubmissionClient(self.address)
        self.python = python or sys.executable
        self.runtime_env = dict(runtime_env or {})
        self.entrypoint_num_cpus = entrypoint_num_cpus
        self.entrypoint_num_gpus = entrypoint_num_gpus
        self.submit_timeout = submit_timeout
        self.jobs: dict[str, RayJobHandle] = {}

    def _start(self, submission: Submission) -> None:
        handle = submission.handle
        assert isinstance(handle, RayJobHandle)
        ref, request = submission.ref, submission.request
        runtime_env = dict(self.runtime_env)
        if ref.plugin_dir:
            runtime_env.setdefault("working_dir", os.path.abspath(ref.plugin_dir))
            request["plugin_dir"] = "."  # the job starts in its unpacked working_dir
            if ref.plugin and os.path.isdir(ref.plugin):
                request["plugin"] = "."
        runtime_env["env_vars"] = {**runtime_env.get("env_vars", {}), **submission.env}
        # the request (env, backend token) goes in the job's environment, which only its
        # user can read, never on the command line every local user sees in /proc/*/cmdline;
        # the worker takes it out of os.environ before the action starts
        runtime_env["env_vars"][_REQUEST_VAR] = json.dumps(request)
        entrypoint = (
            f"{self.python} -m {_WORKER_MODULE} --once --event-stdout --request-env {_REQUEST_VAR}"
        )
        handle.client = self.client
        handle.job_id = self._submit(
            entrypoint=entrypoint,
            submission_id=f"synapse-{handle.run_id}",
            runtime_env=runtime_env,
            metadata={"action": handle.action, "run_id": handle.run_id},
            entrypoint_num_cpus=self.entrypoint_num_cpus,
            entrypoint_num_gpus=self.entrypoint_num_gpus,
        )
        self.jobs[handle.job_id] = handle
        threading.Thread(
            target=self._relay,
            args=(handle,),
            name=f"synapse-ray-job-{handle.run_id}",
            daemon=True,
        ).start()

    def _submit(self, **job: Any) -> str:
        # A cluster that just started answers "No available agent to submit job, please try
        # again later" until its dashboard agent is up: retry that, for up to submit_timeout.
        deadline = time.monotonic() + self.submit_timeout
        delay = 0.25
        while True:
            try:
                return str(self.client.submit_job(**job))
            except RuntimeError as exc:
                if "No available agent" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def get(self, job_id: str) -> RayJobHandle:
        try:
            return self.jobs[job_id]
        except KeyError:
            known = ", ".join(self.jobs) or "(none)"
            raise KeyError(f"no job {job_id!r}; known jobs: {known}") from None

    def _relay(self, handle: RayJobHandle) -> None:
        done: dict[str, Any] | None = None

        async def tail() -> None:
            nonlocal done
            buffer = ""
            async for chunk in self.client.tail_job_logs(handle.job_id):
                buffer += chunk
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    if not line.startswith(LINE_PREFIX):
                        continue
                    message = json.loads(line[len(LINE_PREFIX) :])
                    if message.get("kind") == "done":
                        done = message
                    else:
                        handle.feed(message)

        try:
            asyncio.run(tail())
        except Exception as exc:
            # the log stream broke: wait for the job to end and read its whole log instead
            handle.ctx.logger.debug("tailing Ray job %s failed: %s", handle.job_id, exc)
            try:
                done = self._poll(handle)
            except Exception as exc2:
                handle.fail(
                    WorkerLostError(
                        f"Lost contact with the Ray cluster at {self.address} while job "
                        f"{handle.job_id} (action {handle.action!r}) ran: {exc2}",
                        action=handle.action,
                        hint="check that the cluster is up (ray status) and reachable",
                    )
                )
                return
        if done is not None:
            handle.feed(done)
            return
        info = self.client.get_job_info(handle.job_id)
        status = str(info.status.value)
        if status == "STOPPED" or handle.cancel_requested:
            handle.fail(
                CancelledError(f"Ray job {handle.job_id} was stopped", action=handle.action),
                status=RunStatus.CANCELLED,
            )
        else:
            handle.fail(
                WorkerLostError(
                    f"Ray job {handle.job_id} (action {handle.action!r}) ended {status} "
                    f"without a result: {info.message}",
                    action=handle.action,
                    exit_code=getattr(info, "driver_exit_code", None),
                )
            )

    def _poll(self, handle: RayJobHandle) -> dict[str, Any] | None:
        while handle.ray_status() not in ("SUCCEEDED", "FAILED", "STOPPED"):
            time.sleep(0.2)
        seen = len(handle.events)
        done = None
        for line in self.client.get_job_logs(handle.job_id).splitlines():
            if not line.startswith(LINE_PREFIX):
                continue
            message = json.loads(line[len(LINE_PREFIX) :])
            if message.get("kind") == "done":
                done = message
            elif message.get("kind") == "event" and message["event"].get("seq", 0) >= seen:
                handle.feed(message)
        return done

    def _cancel(self, handle: RunHandle) -> None:
        assert isinstance(handle, RayJobHandle)
        if getattr(handle, "job_id", None) is not None:  # None until the job is submitted
            self.client.stop_job(handle.job_id)


# -- ray-serve -----------------------------------------------------------------------------------


class RayServeExecutor(BaseExecutor):
    """Serve an action's endpoint with Ray Serve (``mode='ray-serve'``, extra ``ray-serve``).

    The app is the one ``serve`` builds (same routes, 422s and OpenAPI schema), deployed as
    ``name`` at ``route_prefix``. HTTP listens on ``host``:``port`` (127.0.0.1 by default).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        num_replicas: int = 1,
        num_cpus: float = 0,
        **init_options: Any,
    ) -> None:
        super().__init__()
        self.address = address
        self.host = host
        self.port = port
        self.num_replicas = num_replicas
        self.num_cpus = num_cpus
        self.init_options = init_options
        self.apps: list[str] = []
        self._urls: dict[tuple[Any, ...], str] = {}  # the endpoints `run` deployed

    def serve(
        self,
        action: Any,
        *,
        plugin_dir: str | None = None,
        name: str | None = None,
        route_prefix: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Deploy ``action`` and return the endpoint's base URL (``env``: each run's ctx.env)."""
        ray = ensure_ray(self.address, **self.init_options)
        try:
            from ray import serve
        except ImportError as exc:
            raise ImportError(
                "mode 'ray-serve' needs Ray Serve: pip install 'synapse-sdk[ray-serve]'"
            ) from exc
        from .serve import build_app, resolve_spec

        spec = resolve_spec(action, plugin_dir)
        app_name = name or spec.name
        prefix = route_prefix or f"/{app_name}"
        serve.start(http_options={"host": self.host, "port": self.port})
        fastapi_app = build_app(spec, env=env)
        options: dict[str, Any] = {"num_cpus": self.num_cpus}
        if plugin_dir:  # replicas import the plugin by reference: same machine or shared FS
            options["runtime_env"] = {"env_vars": {"PYTHONPATH": os.path.abspath(plugin_dir)}}

        class ActionIngress:
            """The generated FastAPI app as a Ray Serve deployment."""

        deployment = serve.deployment(
            name=app_name, num_replicas=self.num_replicas, ray_actor_options=options
        )(serve.ingress(fastapi_app)(ActionIngress))
        serve.run(deployment.bind(), name=app_name, route_prefix=prefix)
        self.apps.append(app_name)
        del ray
        return f"http://{self.host}:{self.port}{prefix}"

    def submit(self, action: Any, params: Any = None, **options: Any) -> str:
        """Same as :meth:`serve`."""
        return self.serve(action, **options)

    def run(
        self,
        action: Any,
        params: Any = None,
        *,
        plugin_dir: str | None = None,
        ctx: RuntimeContext | None = None,
        env: Mapping[str, str] | None = None,
        sinks: Iterable[Sink] | None = None,
        reject_unknown: bool = True,
        backend: Mapping[str, Any] | None = None,
    ) -> Run:
        """Deploy ``action`` (once per action and env) and POST ``params``; the Run rebuilt
        from the answer. The run's events stay in the replica: ``ctx``, ``sinks`` and
        ``backend`` are not used here (not recorded as a job; see ``mode='serve'``)."""
        from .serve import post_run, resolve_spec

        spec = resolve_spec(action, plugin_dir)
        key = (spec, tuple(sorted((env or {}).items())))
        url = self._urls.get(key)
        if url is None:
            same_name = sum(1 for other, *_ in self._urls if other.name == spec.name)
            name = f"{spec.name}-{same_name}" if same_name else None  # one app per env
            url = self._urls[key] = self.serve(spec, plugin_dir=plugin_dir, name=name, env=env)
        return post_run(url, spec, params, reject_unknown=reject_unknown)

    def close(self) -> None:
        """Delete the apps this executor deployed."""
        super().close()
        if not self.apps:
            return
        from ray import serve

        for app_name in self.apps:
            serve.delete(app_name)
        self.apps.clear()
        self._urls.clear()
