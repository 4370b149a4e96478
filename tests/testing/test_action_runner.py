"""ActionRunner (the synapse_run fixture's object) used directly."""

import pytest

from synapse_sdk.plugins import RunStatus, RuntimeContext, action
from synapse_sdk.plugins.errors import ExecutionError
from synapse_testing import ActionRunner, FakeBackend, RecordingContext


@action(name="echo")
def echo(params: dict, ctx: RuntimeContext) -> dict:
    return {"params": params, "env": dict(ctx.env), "client": ctx.client is not None}


@action(name="boom")
def boom(params: dict, ctx: RuntimeContext) -> None:
    raise RuntimeError("kaput")


def runner() -> ActionRunner:
    return ActionRunner(RecordingContext(env={"A": "1"}, client=FakeBackend()))


def test_runs_with_the_context_then_fresh_ones_sharing_env_and_backend():
    r = runner()
    first = r(echo, {"x": 1})
    second = r(echo, {"x": 2}, env={"B": "2"})
    assert first.result == {"params": {"x": 1}, "env": {"A": "1"}, "client": True}
    assert second.result == {"params": {"x": 2}, "env": {"B": "2"}, "client": True}
    assert r.runs == [first, second] and r.contexts[0] is r.ctx
    assert r.contexts[1].client is r.ctx.client and r.contexts[1].events == second.events
    assert repr(r) == "ActionRunner(runs=2)"


def test_check_false_returns_the_failed_run():
    r = runner()
    run = r(boom, check=False)
    assert run.status is RunStatus.FAILED and r.runs == [run]
    assert isinstance(run.error, ExecutionError) and run.error.action == "boom"
    assert str(run.error) == "Action 'boom' failed: RuntimeError: kaput"
    assert type(run.error.__cause__) is RuntimeError


def test_a_failed_run_fails_with_the_error_and_a_hint():
    with pytest.raises(pytest.fail.Exception) as info:
        runner()(boom)
    assert str(info.value) == (
        "synapse_run: action 'boom' failed: RuntimeError: kaput\n"
        "\n"
        "Traceback of the action:\n"
        f'  File "{__file__}", line 17, in boom\n'
        '    raise RuntimeError("kaput")\n'
        "RuntimeError: kaput\n"
        "\n"
        "(pass check=False to get the Run without failing the test)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("plugin_dir",),
            "synapse_run('plugin_dir', ...): name the action to run, e.g. "
            "synapse_run('plugin_dir', 'train', params)",
        ),
        ((echo, {}, "x"), "synapse_run(action, params): an action object takes no action name"),
        (
            ("p", "a", {}, 1),
            "synapse_run takes (action, params) or (plugin, action_name, params); "
            "got 4 positional arguments",
        ),
    ],
)
def test_wrong_arguments_say_how_to_call_it(args, message):
    with pytest.raises(TypeError) as info:
        runner()(*args)
    assert str(info.value) == message


def test_a_plugin_run_starts_from_its_config_env_under_the_test_env(tmp_path):
    root = tmp_path / "envplugin"
    (root / "plugin").mkdir(parents=True)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "act.py").write_text(
        "from synapse_sdk.plugins import action\n\n"
        "@action\ndef env(params, ctx):\n    return dict(ctx.env)\n"
    )
    (root / "config.yaml").write_text(
        "name: e\ncode: e\nenv:\n  LOG_LEVEL: INFO\n  A: from-config\n"
        "actions:\n  env:\n    entrypoint: plugin.act:env\n"
    )
    r = runner()  # the test's env is {"A": "1"}
    assert r(root, "env").result == {"LOG_LEVEL": "INFO", "A": "1"}
    assert r.ctx.env == {"LOG_LEVEL": "INFO", "A": "1"}
    assert r(root, "env", env={"LOG_LEVEL": "DEBUG"}).result == {
        "LOG_LEVEL": "DEBUG",
        "A": "from-config",
    }
    assert r(echo).result["env"] == {"A": "1"}  # an action object gets the test's env only
