"""mode='serve' through the front door: the right plugin's code, its env, and the job record."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins import MemorySink, RuntimeContext, run_action
from synapse_sdk.plugins.executors import ServeExecutor
from synapse_sdk.plugins.runner import run_plugin_record


def _plugin(root: Path, who: str) -> str:
    """A plugin whose action `train` says which plugin it is and what env it got."""
    root.mkdir()
    (root / "config.yaml").write_text(
        f"name: Plugin {who}\ncode: plugin{who}\nversion: 0.1.0\nenv:\n  WHO: {who}\n"
        f"actions:\n  train:\n    entrypoint: tools_{who}:train\n    method: restapi\n"
    )
    (root / f"tools_{who}.py").write_text(
        textwrap.dedent(
            f"""
            from synapse_sdk.plugins import action


            @action
            def train(params: dict, ctx) -> dict:
                ctx.log("training", {{"who": "{who}"}})
                return {{"plugin": "{who}", "env": dict(ctx.env)}}
            """
        )
    )
    return str(root)


@pytest.fixture
def serve():
    with ServeExecutor() as executor:
        yield executor


def test_a_second_plugins_action_of_the_same_name_runs_its_own_code(tmp_path, serve):
    a = _plugin(tmp_path / "a", "a")
    b = _plugin(tmp_path / "b", "b")

    run_a = run_plugin_record(a, "train", {}, mode="serve", executor=serve)
    run_b = run_plugin_record(b, "train", {}, mode="serve", executor=serve)

    assert run_a.result == {"plugin": "a", "env": {"WHO": "a"}}
    assert run_b.result == {"plugin": "b", "env": {"WHO": "b"}}


def test_a_later_env_is_not_ignored(tmp_path, serve):
    a = _plugin(tmp_path / "a", "a")

    first = run_plugin_record(a, "train", {}, mode="serve", executor=serve)
    second = run_plugin_record(a, "train", {}, mode="serve", executor=serve, env={"EXTRA": "1"})
    again = run_plugin_record(a, "train", {}, mode="serve", executor=serve)

    assert first.result["env"] == {"WHO": "a"}
    assert second.result["env"] == {"WHO": "a", "EXTRA": "1"}
    assert again.result["env"] == {"WHO": "a"}
    assert len(serve.handles) == 2  # one endpoint per action and env, reused


def test_a_serve_run_with_a_backend_is_recorded_as_a_job(tmp_path, serve):
    a = _plugin(tmp_path / "a", "a")
    with LocalBackend(tmp_path / "home", durable=False) as backend:
        run = run_plugin_record(a, "train", {}, mode="serve", executor=serve, client=backend)
        jobs = [j for j in backend.list_jobs() if j["run_id"] == run.run_id]
        logs = backend.get_job_logs(jobs[0]["id"]) if jobs else []

    assert run.ok
    assert len(jobs) == 1, jobs
    assert jobs[0]["status"] == "succeeded"
    assert jobs[0]["result"] == {"plugin": "a", "env": {"WHO": "a"}}
    assert [entry["event"] for entry in logs if entry["event"] == "training"] == ["training"]


def test_the_callers_context_sees_the_served_runs_events(plugin_dir, serve):
    sys.path.insert(0, plugin_dir)
    try:
        module = importlib.import_module("h8plugin.actions")
    finally:
        sys.path.remove(plugin_dir)
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])

    run = run_action(module.count, {"n": 2}, mode="serve", ctx=ctx, executor=serve)

    assert run.ok and run.run_id == ctx.run_id
    assert run.result == module.CountResult(**run.result.model_dump())
    assert sink.events == run.events and len(run.events) >= 4
