"""`synapse_sdk.clients` exports: every public name resolves; importing it stays cheap."""

import json
import subprocess
import sys

import synapse_sdk.clients as clients


def test_every_exported_name_resolves():
    assert clients.__all__ == [
        "JOB_STATUSES",
        "RUN_STEP",
        "BackendClient",
        "BackendSink",
        "DataUnitRecord",
        "DatasetRecord",
        "FileRecord",
        "FileSource",
        "HttpBackendClient",
        "JobRecord",
        "LocalBackend",
        "LogEntry",
        "ModelRecord",
        "ProgressRecord",
        "ReadRecorder",
        "default_home",
    ]
    for name in clients.__all__:
        assert getattr(clients, name) is not None


def test_importing_the_package_loads_neither_sqlite_nor_httpx():
    probe = (
        "import sys, json, synapse_sdk.clients; "
        "print(json.dumps([m for m in ('sqlite3', 'httpx', 'pydantic') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
