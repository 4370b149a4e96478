"""`synapse backend serve`: a real server process on 127.0.0.1 that the HTTP client uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

pytest.importorskip("httpx")

from synapse_sdk.clients.http import HttpBackendClient


def test_backend_serve_exposes_the_local_backend(tmp_path):
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synapse_sdk.cli",
            "backend",
            "serve",
            "--home",
            str(home),
            "--port",
            "0",
            "--token",
            "tok",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving the LocalBackend at http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        with HttpBackendClient(url, token="tok") as client:
            dataset = client.create_dataset("remote")
            assert client.get_dataset(dataset["id"])["name"] == "remote"
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert (home / "synapse.db").exists()
