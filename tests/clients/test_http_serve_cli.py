"""`synapse backend serve`: a real server process on 127.0.0.1 that the HTTP client uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from synapse_sdk.clients.http import HttpBackendClient
from synapse_sdk.plugins.errors import BackendError


def _serve(home, *options):
    env = {k: v for k, v in os.environ.items() if k != "SYNAPSE_BACKEND_TOKEN"}
    return subprocess.Popen(
        [sys.executable, "-m", "synapse_sdk.cli", "backend", "serve", "--home", str(home),
         "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip


def _stop(proc) -> str:
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    return err


def _url(proc) -> str:
    line = proc.stdout.readline()
    assert line.startswith("serving the LocalBackend at http://127.0.0.1:"), line
    return line.rsplit(" ", 1)[1].strip()


def test_backend_serve_exposes_the_local_backend(tmp_path):
    home = tmp_path / "home"
    proc = _serve(home, "--token", "tok")
    try:
        url = _url(proc)
        with HttpBackendClient(url, token="tok") as client:
            dataset = client.create_dataset("remote")
            assert client.get_dataset(dataset["id"])["name"] == "remote"
    finally:
        _stop(proc)
    assert (home / "synapse.db").exists()


def test_a_token_is_generated_stored_owner_only_and_printed(tmp_path):
    home = tmp_path / "home"
    proc = _serve(home)
    try:
        url = _url(proc)
        line = proc.stdout.readline()
        stored = home / "backend.token"
        token = stored.read_text().strip()
        assert line.strip() == f"token (stored in {stored}): export SYNAPSE_BACKEND_TOKEN={token}"
        assert stored.stat().st_mode & 0o777 == 0o600
        with HttpBackendClient(url) as anonymous, pytest.raises(BackendError, match="token"):
            anonymous.list_jobs()
        with HttpBackendClient(url, token=token) as client:
            assert client.list_jobs() == []
    finally:
        _stop(proc)
    proc = _serve(home)  # the same token next time
    try:
        url = _url(proc)
        with HttpBackendClient(url, token=token) as client:
            assert client.list_jobs() == []
    finally:
        _stop(proc)


def test_no_token_is_explicit_and_warned_about(tmp_path):
    proc = _serve(tmp_path / "home", "--no-token")
    try:
        url = _url(proc)
        with HttpBackendClient(url) as client:
            assert client.list_jobs() == []
    finally:
        err = _stop(proc)
    assert "warning: no token" in err


def test_without_the_serve_extra_the_command_names_it(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoFastAPI:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('fastapi', 'uvicorn'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _NoFastAPI())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    done = subprocess.run(
        [sys.executable, "-m", "synapse_sdk.cli", "backend", "serve", "--home",
         str(tmp_path / "home"), "--port", "0"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "pip install 'synapse-sdk[serve]'" in done.stderr
    assert "Traceback" not in done.stderr
