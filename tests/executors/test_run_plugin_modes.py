"""run_plugin / run_plugin_record with mode=...: a config.yaml plugin through every executor."""

from __future__ import annotations

import pytest

from synapse_sdk.plugins import ValidationError, run_plugin
from synapse_sdk.plugins.events import ProgressEvent
from synapse_sdk.plugins.runner import RunStatus, run_plugin_record


@pytest.mark.parametrize("mode", ["task", "job"])
def test_run_plugin_record_gives_the_same_run_as_local(modes_plugin, mode):
    local = run_plugin_record(modes_plugin, "shout", {"word": "hi"})
    remote = run_plugin_record(modes_plugin, "shout", {"word": "hi"}, mode=mode)

    assert remote.status is RunStatus.SUCCEEDED
    assert remote.action == local.action == "shout"
    assert type(remote.result) is type(local.result)  # typed with the plugin's result model
    assert remote.result.text == "hello HI"  # the worker got config.yaml's env
    assert remote.result.pid != local.result.pid
    assert remote.params == local.params
    assert [type(e) for e in remote.events] == [type(e) for e in local.events]
    assert len(remote.events_of(ProgressEvent)) == 1


def test_run_plugin_returns_the_result_in_task_mode(modes_plugin):
    assert run_plugin(modes_plugin, "shout", {"word": "yo"}, mode="task").text == "hello YO"


def test_params_are_checked_before_any_worker_starts(modes_plugin):
    with pytest.raises(ValidationError) as info:
        run_plugin_record(modes_plugin, "shout", {"wrod": "x"}, mode="job")
    assert info.value.fields == ["wrod"]


def test_serve_mode_runs_through_the_http_endpoint(modes_plugin):
    pytest.importorskip("fastapi")
    run = run_plugin_record(modes_plugin, "shout", {"word": "web"}, mode="serve")
    assert run.ok and run.result.text == "hello WEB"


def test_an_unknown_mode_lists_the_modes(modes_plugin):
    with pytest.raises(ValidationError, match="supported modes: local, task, job, serve, ray-task"):
        run_plugin_record(modes_plugin, "shout", {"word": "x"}, mode="rocket")


def test_an_action_object_runs_in_a_mode_with_the_callers_context(plugin_dir, tmp_path):
    """What a notebook panel does: its context's sinks update live and its cancel works."""
    import importlib
    import sys

    from synapse_sdk.plugins import MemorySink, RuntimeContext, run_action

    sys.path.insert(0, plugin_dir)
    try:
        module = importlib.import_module("h8plugin.actions")
    finally:
        sys.path.remove(plugin_dir)
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])
    run = run_action(module.count, {"n": 2}, mode="task", plugin_dir=plugin_dir, ctx=ctx)

    assert run.ok and run.run_id == ctx.run_id
    assert run.result == module.CountResult(**run.result.model_dump())
    assert sink.events == run.events


def test_a_job_venv_is_built_with_the_plugins_config(tmp_path):
    """config.yaml's wheels_dir and package_manager_options build the job's venv."""
    from synapse_sdk.plugins.executors import JobExecutor

    from .helpers import write_wheel

    root = tmp_path / "venv-plugin"
    (root / "vendor").mkdir(parents=True)
    write_wheel(root / "vendor", "h8vendored", "2.0", "VALUE = 'from the wheel'\n")
    (root / "requirements.txt").write_text("h8vendored==2.0\n")
    (root / "config.yaml").write_text(
        "name: Venv Plugin\ncode: venvplugin\nwheels_dir: vendor\n"
        "package_manager_options: ['--no-index']\n"
        "actions:\n  use_dep:\n    entrypoint: tool:use_dep\n    method: job\n"
    )
    (root / "tool.py").write_text(
        "import sys\nfrom synapse_sdk.plugins import action\n\n\n@action\n"
        "def use_dep(params: dict, ctx) -> dict:\n    import h8vendored\n\n"
        "    return {'value': h8vendored.VALUE, 'prefix': sys.prefix}\n"
    )
    jobs = JobExecutor(jobs_dir=tmp_path / "jobs", venv=True, venvs_dir=tmp_path / "venvs")
    with jobs:
        run = run_plugin_record(str(root), "use_dep", {}, mode="job", executor=jobs)

    assert run.raise_for_status().result["value"] == "from the wheel"
    assert run.result["prefix"].startswith(str(tmp_path / "venvs"))


def test_venv_is_only_for_jobs(modes_plugin):
    with pytest.raises(ValueError, match="venv=True needs mode='job'"):
        run_plugin_record(modes_plugin, "shout", {"word": "x"}, mode="task", venv=True)
