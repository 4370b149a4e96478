"""`synapse run --mode ...` uses the executors; `--mode config` takes the action's method."""

from __future__ import annotations

import json

import pytest

from synapse_sdk.cli import main


@pytest.mark.parametrize("mode", ["task", "job", "config"])
def test_synapse_run_in_a_worker_prints_the_same_result(modes_plugin, mode, capsys, monkeypatch):
    monkeypatch.delenv("SYNAPSE_HOME", raising=False)
    assert main(["run", modes_plugin, "shout", "-p", "word=cli", "--mode", mode, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)

    assert record["status"] == "succeeded"
    assert record["result"]["text"] == "hello CLI"
    assert record["events"][0]["type"] == "run_started"


def test_synapse_run_with_backend_records_the_worker_run(modes_plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNAPSE_HOME", str(tmp_path / "home"))
    assert main(["run", modes_plugin, "shout", "-p", "word=b", "--mode", "task", "--backend"]) == 0

    from synapse_sdk.clients.local import LocalBackend

    with LocalBackend(tmp_path / "home") as backend:
        jobs = backend.list_jobs()
    assert [(j["action"], j["status"]) for j in jobs] == [("shout", "succeeded")]
