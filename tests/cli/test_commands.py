"""`synapse actions`, `schema` and `sync` (`synapse new`: test_new.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synapse_sdk.cli import main

ALPHA = Path(__file__).parents[1] / "plugins" / "sample_plugins" / "alpha"


def test_actions_table(capsys):
    assert main(["actions", str(ALPHA)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "METHOD", "INPUT", "->", "OUTPUT", "DESCRIPTION"]
    assert lines[1].split() == [
        "train", "class", "job", "dm_v2_dataset", "->", "model_weights", "Train", "classification",
        "model",
    ]  # fmt: skip
    assert lines[2].split() == ["greet", "function", "task", "-", "->", "-", "Say", "hello"]


def test_actions_json(capsys):
    assert main(["actions", str(ALPHA), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["train", "greet"]
    assert rows[0]["entrypoint"] == "plugin.train:TrainAction"


def test_schema_prints_params_and_result_schemas(capsys):
    assert main(["schema", str(ALPHA), "train"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["action"] == "train"
    assert doc["params"]["properties"]["epochs"]["minimum"] == 1
    assert doc["result"]["required"] == ["plugin", "final_loss"]
    assert main(["schema", str(ALPHA), "greet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"]["type"] == "object" and doc["result"] is None


def test_sync_check_fails_on_drift_then_sync_fixes_it(tmp_path, capsys):
    root = tmp_path / "alpha"
    shutil.copytree(ALPHA, root, ignore=shutil.ignore_patterns("__pycache__"))
    config = root / "config.yaml"
    config.write_text(config.read_text().replace("    output_type: model_weights\n", ""))
    assert main(["sync", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    assert "out of sync with the code (1 change(s))" in out
    assert "actions.train.output_type: None -> 'model_weights'" in out
    assert main(["sync", str(root)]) == 0
    assert "updated (1 change(s))" in capsys.readouterr().out
    assert main(["sync", str(root), "--check"]) == 0
    assert "in sync" in capsys.readouterr().out


def test_sync_reports_syntax_errors_with_position(tmp_path, capsys):
    root = tmp_path / "alpha"
    shutil.copytree(ALPHA, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "plugin" / "bad.py").write_text("def f(:\n")
    assert main(["sync", str(root), "--check"]) == 2
    assert f"error: {root / 'plugin' / 'bad.py'}:1:" in capsys.readouterr().err


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("synapse")
    if not script.exists():
        pytest.skip("the synapse console script is not installed next to this Python")
    return [str(script)]


def test_console_script_runs_an_action(tools_plugin):
    env = {"NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [*_console_script(), "run", str(tools_plugin), "add", "-p", "a=20", "-p", "b=22"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"total": 42}
    proc = subprocess.run(
        [*_console_script(), "run", str(tools_plugin), "fail"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "error: Action 'fail' failed: RuntimeError: kaboom" in proc.stderr
