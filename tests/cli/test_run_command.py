"""`synapse run`: params from JSON, files and -p pairs; output once; exit codes; errors."""

from __future__ import annotations

import json

import pytest

from synapse_sdk.cli import main
from synapse_sdk.cli.run import parse_params
from synapse_sdk.plugins.errors import ValidationError


def test_run_prints_the_result_once_on_stdout(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "add", "-p", "a=2", "-p", "b=3"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"total": 5}
    assert out.count("total") == 1
    assert "add: 100.0% (1/1)" in err and "succeeded" in err
    assert "\033[" not in out + err  # not a terminal: no colour


def test_params_json_and_file_merge_with_pairs(tools_plugin, tmp_path, capsys):
    params_file = tmp_path / "p.json"
    params_file.write_text('{"a": 1, "b": 1}')
    assert main(["run", str(tools_plugin), "add", "--params", f"@{params_file}", "-p", "b=9"]) == 0
    assert json.loads(capsys.readouterr().out) == {"total": 10}
    assert main(["run", str(tools_plugin), "add", "--params", '{"a": 4}']) == 0
    assert json.loads(capsys.readouterr().out) == {"total": 4}


def test_pairs_parse_json_values_and_nest_dotted_keys():
    assert parse_params(None, ["epochs=3", "lr=0.1", "name=bob", "on=true", "opt.beta.x=1"]) == {
        "epochs": 3,
        "lr": 0.1,
        "name": "bob",
        "on": True,
        "opt": {"beta": {"x": 1}},
    }
    assert parse_params('{"a": {"b": 1}}', ["a.c=[1, 2]"]) == {"a": {"b": 1, "c": [1, 2]}}


@pytest.mark.parametrize(
    ("raw", "pairs", "message"),
    [
        ("{bad", [], "--params: not valid JSON at line 1 column 2"),
        ("[1]", [], "--params: expected a JSON object, got list"),
        ("@/nonexistent/p.json", [], "cannot read params file '/nonexistent/p.json'"),
        (None, ["novalue"], "-p 'novalue': expected KEY=VALUE"),
        (None, ["a=1", "a.b=2"], "-p 'a.b=2': a is already set to 1, not an object"),
    ],
)
def test_bad_params_input_is_a_validation_error(raw, pairs, message):
    with pytest.raises(ValidationError) as info:
        parse_params(raw, pairs)
    assert message in str(info.value)


def test_invalid_params_exit_2_without_traceback(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "add", "-p", "a=x"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: Invalid params for action 'add':")
    assert "a: Input should be a valid integer" in err
    assert err.endswith(
        f"  hint: `synapse run {tools_plugin} add --help` lists the params with their types and "
        "defaults\n"
    )
    assert "Traceback" not in err


def test_unknown_param_and_unknown_action_exit_2_with_a_hint(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "add", "-p", "a=1", "-p", "bb=2"]) == 2
    assert "bb: unknown field (did you mean 'b'?)" in capsys.readouterr().err
    assert main(["run", str(tools_plugin), "ad"]) == 2
    err = capsys.readouterr().err
    assert "Action 'ad' not found in plugin 'tools'" in err
    assert "hint: did you mean 'add'?" in err
    assert main(["schema", str(tools_plugin), "multiply"]) == 2
    assert capsys.readouterr().err == (
        "error: Action 'multiply' not found in plugin 'tools'; available actions: add, echo, "
        f"fail\n  hint: `synapse actions {tools_plugin}` describes each action\n"
    )


def test_failed_action_exits_1_and_debug_shows_the_traceback(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "fail"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error: Action 'fail' failed: RuntimeError: kaboom" in err
    assert "hint: run with --debug for the traceback" in err
    assert "Traceback" not in err
    assert main(["run", str(tools_plugin), "fail", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert 'raise RuntimeError("kaboom")' in err


def test_json_prints_the_run_record(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "add", "-p", "a=1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "succeeded"
    assert record["result"] == {"total": 1}
    assert record["params"] == {"a": 1, "b": 0, "opts": {}}
    assert record["events"][0]["type"] == "run_started"
    assert main(["run", str(tools_plugin), "fail", "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "failed"
    assert record["error"]["cause"] == {"type": "RuntimeError", "message": "kaboom"}


def test_config_errors_exit_2(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("name: x\ncode: x\nactoins: {}\n")
    assert main(["run", str(tmp_path), "go"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'config.yaml'}:3:1: invalid config" in err
    assert "did you mean 'actions'?" in err
    assert main(["run", str(tmp_path / "nothing"), "go"]) == 2
    assert "no plugin at" in capsys.readouterr().err


def test_unknown_mode_exits_2(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "add", "-p", "a=1", "--mode", "rocket"]) == 2
    assert "unknown mode 'rocket'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert "usage: synapse" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert "the following arguments are required: PLUGIN, ACTION" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out


def test_function_action_without_params_model_gets_a_dict(tools_plugin, capsys):
    assert main(["run", str(tools_plugin), "echo", "--params", "{}"]) == 0
    assert json.loads(capsys.readouterr().out) == {}
