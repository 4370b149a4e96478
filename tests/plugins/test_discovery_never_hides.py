"""Discovery never hides an action: each action of config.yaml gets its own status, the ast
scan follows SDK bases through import aliases and plugin classes and reports what it cannot
decide, and the plain entrypoints the reference's scaffolds write are listed and run."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest

from synapse_sdk.cli import main
from synapse_sdk.plugins import run_plugin
from synapse_sdk.plugins._scan import SDK_BASES, scan_actions
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.errors import ExecutionError

HEADER = """\
name: Mixed
code: mixed
version: 0.1.0
variant: null
category: custom
description: A plugin in the reference's layout
requires:
  sdk: '>=2026.1.0'
  python: '>=3.10,<3.13'
dependencies: {}
tags: []

actions:
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Three actions: one fine, one whose module imports a missing package, one plain."""
    return write(
        tmp_path / "mixed",
        {
            "config.yaml": HEADER
            + "  ok:\n    entrypoint: plugin.ok.Ok\n    method: task\n"
            + "  broken:\n    entrypoint: plugin.broken.Broken\n    method: job\n"
            + "  main:\n    entrypoint: plugin.main.run\n    method: task\n",
            "plugin/__init__.py": "",
            "plugin/ok.py": """\
                from pydantic import BaseModel

                from synapse_sdk.plugins.action import BaseAction


                class OkParams(BaseModel):
                    n: int = 1


                class Ok(BaseAction[OkParams]):
                    \"\"\"Double a number.\"\"\"

                    action_name = 'ok'

                    def execute(self):
                        return {'n': self.params.n * 2}
                """,
            "plugin/broken.py": """\
                import no_such_package_here

                from synapse_sdk.plugins.action import BaseAction


                class Broken(BaseAction):
                    def execute(self):
                        return {}
                """,
            "plugin/main.py": """\
                \"\"\"Main action.\"\"\"

                from typing import Any


                def run(**kwargs: Any) -> Any:
                    \"\"\"Echo the params.\"\"\"
                    return {'got': sorted(kwargs)}
                """,
        },
    )


def test_synapse_actions_lists_every_action_and_exits_1_when_one_cannot_load(mixed, capsys):
    assert main(["actions", str(mixed)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["ok", "class"],
        ["broken", "error"],
        ["main", "plain"],
    ]
    assert "error: broken:" in out and "no_such_package_here" in out


def test_synapse_actions_json_gives_each_action_its_status(mixed, capsys):
    assert main(["actions", str(mixed), "--json"]) == 1
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {name: row["status"] for name, row in rows.items()} == {
        "ok": "ok",
        "broken": "error",
        "main": "ok",
    }
    assert "No module named 'no_such_package_here'" in rows["broken"]["error"]
    assert rows["broken"]["entrypoint"] == "plugin.broken.Broken"


def test_the_other_actions_of_a_plugin_with_a_broken_one_still_run(mixed):
    assert run_plugin(mixed, "ok", {"n": 4}) == {"n": 8}
    assert run_plugin(mixed, "main", {"b": 1, "a": 2}) == {"got": ["a", "b"]}


def test_a_plain_class_entrypoint_gets_data_and_its_options(tmp_path):
    root = write(
        tmp_path / "validation",
        {
            "config.yaml": HEADER.replace("custom", "data_validation")
            + "  validate:\n    entrypoint: plugin.validate.Validator\n    method: task\n",
            "plugin/__init__.py": "",
            "plugin/validate.py": """\
                from typing import Any


                class Validator:
                    \"\"\"Check rows before annotation.\"\"\"

                    def __init__(self, **kwargs: Any) -> None:
                        self.strict_mode = kwargs.get('strict_mode', False)

                    def validate(self, data: Any) -> dict[str, Any]:
                        errors = [i for i, row in enumerate(data or []) if not row]
                        valid = not errors or not self.strict_mode
                        return {'valid': valid, 'errors': errors}
                """,
        },
    )
    spec = PluginDiscovery.from_path(root).get_action_spec("validate")
    assert (spec.kind, spec.description) == ("plain", "Check rows before annotation.")
    assert run_plugin(root, "validate", {"data": [1, 0], "strict_mode": True}) == {
        "valid": False,
        "errors": [1],
    }
    assert run_plugin(root, "validate", {"data": [1, 0]})["valid"] is True


def test_a_plain_function_missing_a_required_param_fails_the_run_naming_it(tmp_path):
    root = write(
        tmp_path / "strict",
        {
            "config.yaml": HEADER + "  main:\n    entrypoint: plugin.main.run\n    method: task\n",
            "plugin/__init__.py": "",
            "plugin/main.py": """\
                def run(*, epochs: int, **kwargs):
                    return {'epochs': epochs, 'extra': sorted(kwargs)}
                """,
        },
    )
    assert run_plugin(root, "main", {"epochs": 3, "seed": 1}) == {"epochs": 3, "extra": ["seed"]}
    with pytest.raises(ExecutionError) as info:
        run_plugin(root, "main", {"seed": 1})
    assert "run cannot take the params ['seed']" in str(info.value.__cause__)
    assert "epochs" in str(info.value.__cause__)


# -- the ast scan -------------------------------------------------------------------------------


def test_the_scan_follows_sdk_bases_through_aliases_and_plugin_classes(tmp_path):
    root = write(
        tmp_path / "nn",
        {
            "plugin/__init__.py": "",
            "plugin/base.py": """\
                from synapse_sdk.plugins.actions.train import BaseTrainAction as TrainBase


                class SharedTrain(TrainBase):
                    \"\"\"Shared helpers for our training actions.\"\"\"
                """,
            "plugin/train.py": """\
                from plugin.base import SharedTrain


                class TrainAction(SharedTrain):
                    \"\"\"Train the model.\"\"\"

                    action_name = 'train'

                    def execute(self):
                        return {}
                """,
            "plugin/serve.py": """\
                from synapse_sdk.plugins import BaseDeploymentAction, BaseServeDeployment


                class Predictor(BaseServeDeployment):
                    \"\"\"Answer prediction requests.\"\"\"

                    action_name = 'inference'


                class Deploy(BaseDeploymentAction):
                    \"\"\"Deploy the predictor.\"\"\"

                    action_name = 'deployment'
                """,
        },
    )
    scan = scan_actions(root)
    assert sorted(scan.actions) == ["deployment", "inference", "shared_train", "train"]
    assert scan.actions["train"]["entrypoint"] == "plugin.train:TrainAction"
    assert scan.undecided == []


def test_a_class_the_scan_cannot_decide_is_reported_not_dropped(tmp_path, caplog):
    root = write(
        tmp_path / "shared",
        {
            "plugin/__init__.py": "",
            "plugin/train.py": """\
                from company_ml_commons import CompanyTrainBase


                class TrainAction(CompanyTrainBase):
                    action_name = 'train'

                    def execute(self):
                        return {}


                class Helper(CompanyTrainBase):
                    \"\"\"Not action-shaped: nothing to report.\"\"\"
                """,
        },
    )
    with caplog.at_level(logging.WARNING, logger="synapse_sdk.discovery"):
        found = PluginDiscovery.discover_actions(root)
    assert found == {}
    (entry,) = scan_actions(root).undecided
    assert entry["entrypoint"] == "plugin.train:TrainAction"
    assert entry["line"] == 4
    assert "CompanyTrainBase" in entry["reason"]
    (record,) = caplog.records
    assert "train.py:4: class TrainAction may be an action" in record.getMessage()


def test_the_scans_sdk_bases_are_every_action_base_the_sdk_defines():
    import importlib
    import pkgutil

    import synapse_sdk.plugins.actions as actions
    from synapse_sdk.plugins import BaseAction

    for info in pkgutil.walk_packages(actions.__path__, actions.__name__ + "."):
        importlib.import_module(info.name)
    found: set[str] = set()
    pending = [BaseAction]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("synapse_sdk."):
            found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    assert found <= SDK_BASES
