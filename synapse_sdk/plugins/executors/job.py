"""``job``: one fresh, isolated process per run, with its own environment, log and id.

A job is ``python -m synapse_sdk.plugins.executors.worker --once`` started in a new session
with a clean environment (see :mod:`._env`: only what Python needs to start, the plugin's
``env`` and what the caller passes; never the caller's whole ``os.environ``), optionally with
the interpreter of the plugin's own virtual environment built from its ``requirements.txt``
with ``pip`` or ``uv`` (and ``wheels_dir`` for offline wheels). Its stdout and stderr go to the
job's log file; its events stream back live to the caller's sinks. ``stop()`` sends SIGTERM
(the run is cancelled cooperatively and rolls back), then SIGKILL after ``stop_grace``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from ..errors import CancelledError, ConfigError, WorkerLostError
from ..run import RunStatus
from ._base import BaseExecutor, Submission
from ._env import caller_pythonpath, worker_env
from ._protocol import RunHandle, read_messages
from .task import exit_reason

__all__ = ["JobExecutor", "JobHandle", "ensure_venv"]

_WORKER_MODULE = "synapse_sdk.plugins.executors.worker"


class JobHandle(RunHandle):
    """A submitted job: ``job_id``, ``status``, ``logs()``, ``stop()``, and the final ``Run``.

    ``status`` is 'running' until the process ends, then the run's status. ``log_path`` holds
    the process's stdout and stderr; ``dir`` the request (until the job has read it) and, when
    it ended, ``run.json``. The job id is the run id.
    """

    dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def job_id(self) -> str:
        return self.run_id

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def logs(self) -> str:
        """The job's stdout and stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the job: cancel cooperatively (rollback), kill after the executor's grace."""
        self.cancel()


class JobExecutor(BaseExecutor):
    """Run each action in a fresh isolated process (``mode='job'``).

    ``jobs_dir`` keeps one directory per job (default: a temporary directory of the executor's
    own, removed when it closes: pass ``jobs_dir`` to keep the job logs). ``venv=True``
    runs jobs with the interpreter of the plugin's own virtual environment, built once per
    requirements set with ``package_manager`` (``'pip'`` or ``'uv'``) and ``wheels_dir``
    (see :func:`ensure_venv`). ``env`` is added to every job's environment.
    """

    handle_class = JobHandle

    def __init__(
        self,
        *,
        jobs_dir: str | os.PathLike[str] | None = None,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        venv: bool = False,
        venvs_dir: str | os.PathLike[str] | None = None,
        package_manager: str = "pip",
        package_manager_options: Iterable[str] = (),
        wheels_dir: str | None = None,
        stop_grace: float = 10.0,
    ) -> None:
        super().__init__(env=env)
        self._own_jobs_dir = not jobs_dir  # a temporary directory, removed at close()
        self.jobs_dir = (
            Path(jobs_dir) if jobs_dir else Path(tempfile.mkdtemp(prefix="synapse-jobs-"))
        )
        self.python = python or sys.executable
        self.venv = venv
        self.venvs_dir = (
            Path(venvs_dir) if venvs_dir else Path.home() / ".cache" / "synapse-sdk" / "venvs"
        )
        self.package_manager = package_manager
        self.package_manager_options = list(package_manager_options)
        self.wheels_dir = wheels_dir
        self.stop_grace = stop_grace
        self.jobs: dict[str, JobHandle] = {}

    def _start(self, submission: Submission) -> None:
        handle = submission.handle
        assert isinstance(handle, JobHandle)
        ref = submission.ref
        handle.dir = self.jobs_dir / handle.job_id
        handle.dir.mkdir(parents=True, exist_ok=True)
        handle.log_path = handle.dir / "job.log"
        request = submission.request
        # only this user may read it (the plugin's env, a backend token); the job removes it
        # once read, and the reader below if the job never got that far
        request_path = handle.dir / "request.json"
        fd = os.open(request_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(request, fh)
        python, pythonpath = self.python, True
        if self.venv:
            packaging = ref.packaging  # config.yaml's settings win over the executor's
            python = str(
                ensure_venv(
                    ref.plugin_dir,
                    self.venvs_dir,
                    package_manager=packaging.get("package_manager", self.package_manager),
                    options=packaging.get("package_manager_options", self.package_manager_options),
                    wheels_dir=packaging.get("wheels_dir", self.wheels_dir),
                    log=handle.log_path,
                )
            )
            pythonpath = False  # the venv's .pth file layers the SDK under its own packages
        evt_r, evt_w = os.pipe()
        argv = [
            python,
            "-m",
            _WORKER_MODULE,
            "--once",
            "--request",
            str(request_path),
            "--event-fd",
            str(evt_w),
        ]
        log: IO[bytes] = handle.log_path.open("ab")
        try:
            handle.process = subprocess.Popen(
                argv,
                pass_fds=(evt_w,),
                env=worker_env(submission.env, pythonpath=pythonpath),
                cwd=ref.plugin_dir or handle.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            os.close(evt_r)
            raise
        finally:
            os.close(evt_w)
            log.close()
        self.jobs[handle.job_id] = handle
        reader = threading.Thread(
            target=self._read,
            args=(handle, evt_r),
            name=f"synapse-job-{handle.job_id}",
            daemon=True,
        )
        reader.start()

    def get(self, job_id: str) -> JobHandle:
        """The handle of a job submitted by this executor (KeyError naming known ids)."""
        try:
            return self.jobs[job_id]
        except KeyError:
            raise KeyError(
                f"no job {job_id!r}; known jobs: {', '.join(self.jobs) or '(none)'}"
            ) from None

    def stop(self, job_id: str) -> None:
        self.get(job_id).stop()

    def close(self) -> None:
        """Stop every job still running and wait for them."""
        for handle in list(self.jobs.values()):
            if not handle.done():
                handle.stop()
        for handle in list(self.jobs.values()):
            with contextlib.suppress(TimeoutError):
                handle.wait(self.stop_grace + 5)
        super().close()
        if self._own_jobs_dir:  # its job logs and records go with it
            shutil.rmtree(self.jobs_dir, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------------

    def _read(self, handle: JobHandle, events_fd: int) -> None:
        done: dict[str, Any] | None = None
        assert handle.process is not None
        for message in read_messages(events_fd, handle.process):
            if message.get("kind") == "done":
                done = message  # the job is finished when its process is: exit code known
            else:
                handle.feed(message)
        code = handle.process.wait()
        with contextlib.suppress(OSError):
            (handle.dir / "request.json").unlink()
        if done is not None:
            handle.feed(done)
        if not handle.done():
            if handle.cancel_requested:
                handle.fail(
                    CancelledError(
                        f"Job {handle.job_id} was stopped ({exit_reason(code)})",
                        action=handle.action,
                    ),
                    status=RunStatus.CANCELLED,
                )
            else:
                tail = "\n".join(handle.logs().splitlines()[-5:])
                handle.fail(
                    WorkerLostError(
                        f"Job {handle.job_id} (action {handle.action!r}) died "
                        f"({exit_reason(code)}) before finishing; log {handle.log_path}"
                        + (f"; last lines:\n{tail}" if tail else ""),
                        action=handle.action,
                        exit_code=code,
                    )
                )
        run = handle.wait()
        (handle.dir / "run.json").write_text(json.dumps(run.to_dict()), encoding="utf-8")

    def _cancel(self, handle: RunHandle) -> None:
        assert isinstance(handle, JobHandle)
        process = handle.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        timer = threading.Timer(self.stop_grace, _kill, (process,))
        timer.daemon = True
        timer.start()


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


# -- the plugin's own virtual environment ---------------------------------------------------------


def _venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(
    plugin_dir: str | None,
    venvs_dir: str | os.PathLike[str],
    *,
    package_manager: str = "pip",
    options: Iterable[str] = (),
    wheels_dir: str | None = None,
    log: Path | None = None,
) -> Path:
    """Build (once) the virtual environment of a plugin and return its Python interpreter.

    Its packages are the plugin's ``requirements.txt`` installed with ``package_manager``
    (``pip`` or ``uv``; ``wheels_dir``, relative to the plugin, is searched for wheels first).
    The SDK and its own dependencies come from the caller's environment through a ``.pth``
    file placed after the venv's packages, so a plugin's pins win. Environments are keyed by
    the requirements, the wheels and the Python version, and reused.
    """
    if package_manager not in ("pip", "uv"):
        raise ConfigError(
            f"package_manager must be 'pip' or 'uv', got {package_manager!r}",
            hint="set package_manager: pip (or uv) in config.yaml",
        )
    root = Path(plugin_dir) if plugin_dir else None
    req = root / "requirements.txt" if root else None
    requirements = req.read_text(encoding="utf-8") if req and req.is_file() else ""
    wheels = Path(wheels_dir) if wheels_dir else None
    if wheels is not None and root is not None and not wheels.is_absolute():
        wheels = root / wheels
    wheel_names = sorted(p.name for p in wheels.glob("*.whl")) if wheels and wheels.is_dir() else []
    key = hashlib.sha256(
        json.dumps(
            [requirements, wheel_names, sys.version, package_manager, list(options)]
        ).encode()
    ).hexdigest()[:16]
    target = Path(venvs_dir) / key
    python = _venv_python(target)
    if (target / ".synapse-ready").is_file():
        return python
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--clear", str(target)], check=True
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "_synapse_sdk_layer.pth").write_text(
        caller_pythonpath().replace(os.pathsep, "\n") + "\n"
    )
    if requirements.strip():
        assert req is not None
        if package_manager == "uv":
            uv = shutil.which("uv")
            if uv is None:
                raise ConfigError(
                    "package_manager is 'uv' but the uv command is not on PATH",
                    hint="pip install uv, or set package_manager: pip",
                )
            argv = [uv, "pip", "install", "--python", str(python), "-r", str(req)]
        else:
            argv = [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python),
                "install",
                "--disable-pip-version-check",
                "-r",
                str(req),
            ]
        if wheels is not None:
            argv += ["--find-links", str(wheels)]
        argv += list(options)
        out = log.open("ab") if log else subprocess.DEVNULL
        try:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=root)
        finally:
            if log:
                out.close()  # type: ignore[union-attr]
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise ConfigError(
                f"Installing the plugin's requirements with {package_manager} failed "
                f"(exit code {done.returncode})",
                path=str(req),
                hint=f"see {log}" if log else "run the install by hand to see why",
            )
    (target / ".synapse-ready").write_text(time.ctime())
    return python
