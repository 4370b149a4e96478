"""Hostile input to ``synapse run`` and plugin loading: each one a typed error that says where
and how to fix it (exit 2, no traceback), never a crash, a hang or output a parser refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synapse_sdk.cli import main
from synapse_sdk.plugins import run_action
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.errors import ConfigError, ValidationError
from synapse_sdk.plugins.loading import resolve_action
from tests.plugin_files import write_plugin

CONFIG = """\
name: Input
code: input
actions:
  train:
    entrypoint: plugin.actions:train
  chatty:
    entrypoint: plugin.actions:chatty
  count:
    entrypoint: plugin.actions:count
"""

ACTIONS = """
from typing import Any

from pydantic import BaseModel

from synapse_sdk.plugins import action


class TrainParams(BaseModel):
    lr: float = 0.1
    x: Any = None


class CountParams(BaseModel):
    items: list[int] = []


@action(params=TrainParams)
def train(params, ctx):
    return {"lr": params.lr}


@action
def chatty(params, ctx):
    print("hello from the action")
    os.write(1, b"and from C code\\n")
    return {"ok": True}


@action(params=CountParams)
def count(params, ctx):
    return len(params.items)
"""


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    return write_plugin(tmp_path / "input", CONFIG, {"actions": "import os\n" + ACTIONS})


def strict_json(text: str) -> object:
    """Parse as a strict JSON parser would (no NaN, no Infinity)."""

    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# -- params --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["-p", f"x={deep(3000)}"],
        ["--params", f'{{"x": {deep(3000)}}}'],
        ["--params", f'{{"x": {deep(150)}}}'],  # parses, but deeper than params may go
        ["-p", ".".join(["x"] * 5000) + "=1", "--json"],
    ],
    ids=["pair", "json", "json-150", "dotted"],
)
def test_deeply_nested_params_are_a_validation_error(plugin, capsys, argv):
    assert main(["run", str(plugin), "train", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "nested deeper than 100 levels" in err and "hint:" in err
    assert "Traceback" not in err and "RecursionError" not in err


def test_deep_json_params_given_to_run_action_are_a_validation_error(plugin):
    spec = resolve_action(plugin, "train")
    with pytest.raises(ValidationError, match="nested deeper than 100 levels"):
        run_action(spec, f'{{"x": {deep(5000)}}}')


def test_nan_in_json_params_is_refused(plugin, capsys):
    assert main(["run", str(plugin), "train", "--params", '{"lr": NaN}']) == 2
    err = capsys.readouterr().err
    assert "--params: NaN is not valid JSON" in err and 'the string "NaN"' in err


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "nan"])
def test_a_non_finite_number_is_printed_as_valid_json(plugin, capsys, value):
    assert main(["run", str(plugin), "train", "-p", f"lr={value}", "--json"]) == 0
    record = strict_json(capsys.readouterr().out)
    assert record["result"]["lr"] in ("NaN", "Infinity", "-Infinity")
    assert record["params"]["lr"] == record["result"]["lr"]


def test_200000_invalid_items_print_a_bounded_list(plugin, tmp_path, capsys):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"items": ["x"] * 200_000}))
    assert main(["run", str(plugin), "count", "--params", f"@{params}"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) < 30
    assert "items[0]: Input should be a valid integer" in err
    assert "… and 199980 more (ValidationError.errors lists every one)" in err


def test_a_params_file_that_is_not_utf8_is_named(plugin, tmp_path, capsys):
    params = tmp_path / "params.json"
    params.write_bytes(b'{"lr": "\xff"}')
    assert main(["run", str(plugin), "train", "--params", f"@{params}"]) == 2
    err = capsys.readouterr().err
    assert f"params file {params}: not UTF-8 text (byte 0xff at position 8)" in err
    assert "Traceback" not in err


# -- output ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["local", "task"])
def test_what_an_action_prints_under_json_goes_to_stderr(plugin, mode):
    argv = [sys.executable, "-m", "synapse_sdk.cli", "run", str(plugin), "chatty", "--json"]
    proc = subprocess.run(
        [*argv, "--mode", mode, "--no-backend"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYNAPSE_HOME": str(plugin / "home")},
    )
    assert proc.returncode == 0, proc.stderr
    assert strict_json(proc.stdout)["result"] == {"ok": True}  # one JSON document
    assert "hello from the action" in proc.stderr
    assert "and from C code" in proc.stderr


# -- config.yaml and plugin files ----------------------------------------------------------------


def test_a_config_yaml_that_is_not_utf8_is_a_config_error_naming_it(plugin, capsys):
    config = plugin / "config.yaml"
    config.write_bytes(config.read_bytes().replace(b"Input", b"Entr\xe9e"))  # Latin-1 text
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.from_path(plugin)
    assert info.value.path == str(config) and info.value.line == 1
    assert "not UTF-8 text (byte 0xe9 at line 1)" in str(info.value)
    for command in (["actions", str(plugin)], ["run", str(plugin), "train"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"{config}:1: not UTF-8 text" in err and "Traceback" not in err


@pytest.mark.parametrize("key", ['"A=B"', '""'])
def test_an_env_name_no_environment_can_hold_is_a_config_error_at_its_line(plugin, capsys, key):
    config = plugin / "config.yaml"
    config.write_text(config.read_text() + f"env:\n  GOOD: 1\n  {key}: x\n")
    lines = config.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith(key))
    assert main(["run", str(plugin), "train"]) == 2
    err = capsys.readouterr().err
    assert f"{config}:{line}:3: invalid config" in err
    assert "not a usable environment variable name" in err
    assert "hint: name it like MY_SETTING" in err


def test_symlinks_out_of_a_plugin_or_in_a_loop_are_not_followed(plugin, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.py").write_text(
        "from synapse_sdk.plugins import action\n\n@action\ndef evil(params, ctx):\n    return 1\n"
    )
    (plugin / "plugin" / "up").symlink_to("..")  # a loop
    (plugin / "plugin" / "ext").symlink_to(outside)  # a tree outside the plugin
    (plugin / "plugin" / "linked.py").symlink_to(outside / "evil.py")  # a file outside
    found = PluginDiscovery.discover_actions(plugin)
    assert set(found) == {"train", "chatty", "count"}
    assert {info["file"] for info in found.values()} == {str(plugin / "plugin" / "actions.py")}
    assert main(["sync", str(plugin), "--check"]) in (0, 1)  # no OSError, no traceback
