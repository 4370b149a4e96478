"""Config sync: code metadata written into config.yaml, keeping comments and formatting."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from synapse_sdk.plugins.errors import ConfigError
from synapse_sdk.plugins.sync import SyncChange, sync_config

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
    pytest.importorskip("ruamel.yaml")
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
    pytest.importorskip("ruamel.yaml")
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
    pytest.importorskip("ruamel.yaml")
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


def test_missing_ruamel_names_the_extra(plugin, monkeypatch):
    _add_function(plugin)
    monkeypatch.setitem(sys.modules, "ruamel.yaml", None)
    with pytest.raises(ImportError, match=r"pip install 'synapse-sdk\[cli\]'"):
        sync_config(plugin)
