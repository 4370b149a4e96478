"""Config sync: code metadata written into config.yaml, keeping comments and formatting."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from synapse_sdk.plugins.config import load_config
from synapse_sdk.plugins.errors import ConfigError
from synapse_sdk.plugins.sync import SyncChange, sync_config

from .test_config_reference import EVERY_KEY

ALPHA = Path(__file__).parent / "sample_plugins" / "alpha"


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "alpha"
    shutil.copytree(ALPHA, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _describe_train(root: Path, text: str) -> None:
    """Give TrainAction an explicit ``description`` attribute."""
    train = root / "plugin" / "train.py"
    train.write_text(
        train.read_text().replace(
            '    """Train a tiny model."""\n',
            f'    """Train a tiny model."""\n\n    description = {text!r}\n',
        )
    )


def _add_function(root: Path) -> None:
    with (root / "plugin" / "tools.py").open("a") as fh:
        fh.write('\n\n@action(name="shout")\ndef shout(params, ctx):\n    """Shout it."""\n')


def test_check_reports_drift_and_writes_nothing(plugin):
    _describe_train(plugin, "Train it well")
    before = (plugin / "config.yaml").read_text()
    report = sync_config(plugin, check=True)
    assert report.drift and not report.written
    assert report.changes == [
        SyncChange("train", "description", "Train classification model", "Train it well")
    ]
    assert str(report.changes[0]) == (
        "actions.train.description: 'Train classification model' -> 'Train it well'"
    )
    assert (plugin / "config.yaml").read_text() == before


def test_the_sample_plugin_is_in_sync(plugin):
    # TrainAction's docstring differs from config.yaml's description: a docstring never
    # replaces a written description
    report = sync_config(plugin, check=True)
    assert not report.drift and report.unmatched == []


def test_a_docstring_fills_a_missing_description(plugin):
    config = plugin / "config.yaml"
    config.write_text(
        config.read_text().replace("    description: Train classification model\n", "")
    )
    report = sync_config(plugin)
    assert [str(c) for c in report.changes] == [
        "actions.train.description: None -> 'Train a tiny model.'"
    ]
    assert "    description: Train a tiny model.\n" in config.read_text()


def test_sync_keeps_comments_order_and_indentation(plugin):
    _add_function(plugin)
    _describe_train(plugin, "Train it well")
    before = (plugin / "config.yaml").read_text()
    report = sync_config(plugin)
    assert report.written
    assert [str(c) for c in report.changes] == [
        "actions.shout: add (entrypoint 'plugin.tools:shout')",
        "actions.train.description: 'Train classification model' -> 'Train it well'",
    ]
    after = (plugin / "config.yaml").read_text()
    expected = before.replace(
        "description: Train classification model", "description: Train it well"
    ) + ("  shout:\n    entrypoint: plugin.tools:shout\n    description: Shout it.\n")
    assert after == expected  # every other byte (comments, quotes, blank lines) is kept


def test_sync_writes_types_and_moved_entrypoints(plugin):
    config = plugin / "config.yaml"
    text = config.read_text()
    text = text.replace("    input_type: dm_v2_dataset\n    output_type: model_weights\n", "")
    text = text.replace("plugin.tools:greet", "plugin.old_tools:greet")
    config.write_text(text)
    report = sync_config(plugin)
    fields = {(c.action, c.field): (c.old, c.new) for c in report.changes}
    assert fields[("train", "input_type")] == (None, "dm_v2_dataset")
    assert fields[("train", "output_type")] == (None, "model_weights")
    assert fields[("greet", "entrypoint")] == ("plugin.old_tools:greet", "plugin.tools:greet")
    from synapse_sdk.plugins.config import load_config

    synced = load_config(config)
    assert synced.actions["train"].input_type == "dm_v2_dataset"
    assert synced.actions["greet"].entrypoint == "plugin.tools:greet"


def test_dotted_and_colon_entrypoints_are_the_same(plugin):
    config = plugin / "config.yaml"
    config.write_text(config.read_text().replace("plugin.tools:greet", "plugin.tools.greet"))
    report = sync_config(plugin, check=True)
    assert not any(c.field == "entrypoint" for c in report.changes)


def test_unmatched_config_actions_are_listed(plugin):
    config = plugin / "config.yaml"
    config.write_text(config.read_text() + "  ghost:\n    entrypoint: plugin.nowhere:Ghost\n")
    assert sync_config(plugin, check=True).unmatched == ["ghost"]


def test_invalid_config_is_refused_with_its_position(plugin):
    config = plugin / "config.yaml"
    config.write_text(config.read_text().replace("method: job", "methd: job"))
    with pytest.raises(ConfigError) as info:
        sync_config(plugin)
    assert info.value.line == 27


def test_sync_needs_no_extra(plugin, monkeypatch):
    # the file is edited as text at the parser's positions: no round-trip YAML library
    _add_function(plugin)
    monkeypatch.setitem(sys.modules, "ruamel", None)
    monkeypatch.setitem(sys.modules, "ruamel.yaml", None)
    assert sync_config(plugin).written


# -- reference-style config.yaml: every key, comments, the reference's own YAML styles -----------

TRAIN = """\
from synapse_sdk.plugins import BaseAction
from synapse_sdk.plugins.types import DMv2Dataset, ModelWeights


class TrainAction(BaseAction):
    \"\"\"Train.\"\"\"

    description = "Train the apple counter"
    input_type = DMv2Dataset
    output_type = ModelWeights

    def execute(self):
        return {}
"""
COUNT = """\
from synapse_sdk.plugins import action


@action(description="Count apples on one photo")
def count(params, ctx):
    return {}
"""
UPLOAD = """\
from synapse_sdk.plugins import BaseAction


class UploadPhotos(BaseAction):
    def execute(self):
        return {}
"""
TALLY = '\n\n@action(name="tally")\ndef tally(params, ctx):\n    """Sum: the counts."""\n'


@pytest.fixture
def orchard(tmp_path: Path) -> Path:
    """A plugin with the code of EVERY_KEY's three actions (train, count, upload)."""
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "__init__.py").write_text("")
    (tmp_path / "plugin" / "train.py").write_text(TRAIN)
    (tmp_path / "plugin" / "count.py").write_text(COUNT)
    (tmp_path / "plugin" / "upload.py").write_text(UPLOAD)
    (tmp_path / "config.yaml").write_text(EVERY_KEY)
    return tmp_path


def _sync_and_read(root: Path, text: str) -> tuple[list[str], str]:
    (root / "config.yaml").write_bytes(text.encode())
    report = sync_config(root)
    return [str(c) for c in report.changes], (root / "config.yaml").read_bytes().decode()


def test_a_config_with_every_reference_key_is_in_sync_with_its_code(orchard):
    report = sync_config(orchard, check=True)
    assert [str(c) for c in report.changes] == [
        "actions.train.description: 'Train the counting model' -> 'Train the apple counter'"
    ]
    assert report.unmatched == []


def test_sync_round_trips_every_reference_key_and_comment(orchard):
    with (orchard / "plugin" / "count.py").open("a") as fh:
        fh.write(TALLY)
    before = load_config(orchard).model_dump()
    changes, after = _sync_and_read(orchard, EVERY_KEY)
    assert changes == [
        "actions.tally: add (entrypoint 'plugin.count:tally')",
        "actions.train.description: 'Train the counting model' -> 'Train the apple counter'",
    ]
    expected = EVERY_KEY.replace(
        "    description: Train the counting model\n", "    description: Train the apple counter\n"
    ) + ("  tally:\n    entrypoint: plugin.count:tally\n    description: 'Sum: the counts.'\n")
    assert after == expected  # every other byte: comments, flow lists, quotes, FormKit schemas
    synced = load_config(orchard).model_dump()
    assert synced["actions"].pop("tally")["entrypoint"] == "plugin.count:tally"
    before["actions"]["train"]["description"] = "Train the apple counter"
    assert synced == before  # every other key and value read back as it was


# the reference's `update-config` writes with PyYAML: sequences not indented, `null` spelled out
PYYAML_STYLE = """\
name: Orchard Counter
code: orchard-counter
version: 0.1.0
variant: null
category: neural_net
requires:
  sdk: '>=2026.1.0'
  python: '>=3.10,<3.13'
dependencies: {}
tags: []
data_type: image
tasks:
- image.object_detection
actions:
  train:
    entrypoint: plugin.train.TrainAction
    method: job
    input_type:
    hyperparameters:
      train_ui_schemas:
      - $formkit: number
        name: epochs
        value: 30
        min: 1.0e-06
        required: true
  # serving
  count:
    entrypoint: plugin.count:count
    method: restapi
  upload:
    entrypoint: plugin.upload.UploadPhotos
    method: job
    ui_schema:
    - $formkit: text
      name: group_name
"""


def test_sync_keeps_the_reference_pyyaml_style_and_edits_only_what_changed(orchard):
    changes, after = _sync_and_read(orchard, PYYAML_STYLE)
    assert changes == [
        "actions.count.description: None -> 'Count apples on one photo'",
        "actions.train.description: None -> 'Train the apple counter'",
        "actions.train.input_type: None -> 'dm_v2_dataset'",
        "actions.train.output_type: None -> 'model_weights'",
    ]
    assert after == PYYAML_STYLE.replace(
        "    input_type:\n", "    input_type: dm_v2_dataset\n"
    ).replace(
        "        required: true\n  # serving\n",
        "        required: true\n"
        "    description: Train the apple counter\n"
        "    output_type: model_weights\n"
        "  # serving\n",  # after the action's last key, before the comment of the next one
    ).replace(
        "    method: restapi\n", "    method: restapi\n    description: Count apples on one photo\n"
    )


def test_sync_keeps_mixed_sequence_styles_null_spellings_and_crlf(orchard):
    text = (
        EVERY_KEY.replace("supported_data_types: [image, video]", "supported_data_types:\n- image")
        .replace("variant: acme  # the customer build", "variant: ~")
        .replace("    description: Train the counting model\n", '    description: "old"\n')
        .replace("\n", "\r\n")
    )
    changes, after = _sync_and_read(orchard, text)
    assert changes == ["actions.train.description: 'old' -> 'Train the apple counter'"]
    assert after == text.replace('"old"', '"Train the apple counter"')  # its quotes kept too


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (
            "actions: {}  # none yet\n",
            "actions:  # none yet\n  count:\n    entrypoint: plugin.count:count\n",
        ),
        ("", "actions:\n  count:\n    entrypoint: plugin.count:count\n"),
        (
            "actions:\n  count: {entrypoint: plugin.count:count}\n",
            "actions:\n  count: {entrypoint: plugin.count:count, description: Count apples}\n",
        ),
        (
            "actions: {tally: {entrypoint: plugin.tally:tally}}\n",
            "actions: {tally: {entrypoint: plugin.tally:tally}, "
            "count: {entrypoint: plugin.count:count, description: Count apples}}\n",
        ),
        (
            "actions: {count: {entrypoint: plugin.count:count}}\n",
            "actions: {count: {entrypoint: plugin.count:count, description: Count apples}}\n",
        ),
    ],
)
def test_sync_writes_into_empty_missing_and_flow_actions(orchard, actions, expected):
    (orchard / "plugin" / "train.py").unlink()
    (orchard / "plugin" / "upload.py").unlink()
    (orchard / "plugin" / "count.py").write_text(COUNT.replace(" on one photo", ""))
    head = "# counter\nname: Counter\ncode: counter\n"
    changes, after = _sync_and_read(orchard, head + actions)
    expected = expected.replace(
        "    entrypoint: plugin.count:count\n",
        "    entrypoint: plugin.count:count\n    description: Count apples\n",
    )  # in the block forms
    assert after == head + expected
    assert changes and load_config(orchard).actions["count"].description == "Count apples"


def test_an_edit_that_would_not_read_back_leaves_the_file_alone(orchard, monkeypatch):
    # the written text is parsed and compared before it replaces config.yaml
    from synapse_sdk.plugins import sync

    monkeypatch.setattr(sync, "_scalar", lambda value, *args, **kwargs: "[broken")
    with pytest.raises(ConfigError) as info:
        sync_config(orchard)
    assert "synapse sync could not edit config.yaml safely" in str(info.value)
    assert info.value.hint == "the file was not changed; please report this with the file attached"
    assert (orchard / "config.yaml").read_text() == EVERY_KEY
    assert [p.name for p in orchard.iterdir() if p.name.endswith(".synapse-tmp")] == []
