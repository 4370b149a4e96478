"""Loading plugins by reference (directory, config.yaml, module name); isolation; caching."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from synapse_sdk.plugins import ActionNotFoundError, run_plugin
from synapse_sdk.plugins.errors import ConfigError, PluginLoadError
from synapse_sdk.plugins.loading import load_entrypoint, load_plugin, resolve_action
from synapse_sdk.plugins.types import DMv2Dataset

SAMPLES = Path(__file__).parent / "sample_plugins"
ALPHA = SAMPLES / "alpha"
BETA = SAMPLES / "beta"


def test_run_plugin_accepts_a_directory_and_a_config_path():
    assert run_plugin(str(ALPHA), "train", {"epochs": 3}).final_loss == 0.25
    assert run_plugin(ALPHA / "config.yaml", "greet", {"name": "bob"}) == {
        "greeting": "hello bob from alpha"
    }


def test_plugin_dir_is_not_put_on_sys_path():
    run_plugin(ALPHA, "greet")
    assert str(ALPHA) not in sys.path
    assert "plugin" not in sys.modules


def test_two_plugins_with_the_same_package_name_run_side_by_side():
    assert run_plugin(BETA, "train") == {"plugin": "beta"}
    assert run_plugin(ALPHA, "train").plugin == "alpha"
    assert run_plugin(BETA, "train") == {"plugin": "beta"}
    alpha = resolve_action(ALPHA, "train").target
    beta = resolve_action(BETA, "train").target
    assert sys.modules[alpha.__module__] is not sys.modules[beta.__module__]


def test_resolve_action_applies_config_metadata():
    spec = resolve_action(ALPHA, "train")
    assert spec.name == "train"
    assert spec.method == "job"
    assert spec.description == "Train classification model"
    assert spec.entrypoint == "plugin.train:TrainAction"
    assert spec.input_type is DMv2Dataset
    # the user's class is untouched
    assert spec.target.action_name is None
    assert "method" not in vars(spec.target)


def test_resolve_action_is_cached():
    assert resolve_action(ALPHA, "greet") is resolve_action(ALPHA, "greet")
    assert load_plugin(ALPHA) is load_plugin(ALPHA)


def test_unknown_action_lists_the_available_ones():
    with pytest.raises(ActionNotFoundError) as info:
        resolve_action(ALPHA, "trian")
    assert info.value.available == ["greet", "train"]
    assert "did you mean 'train'?" in str(info.value)


def test_missing_reference_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no plugin at"):
        load_plugin(str(tmp_path / "nope" / "x.yaml"))
    with pytest.raises(ConfigError, match=r"no config\.yaml"):
        load_plugin(tmp_path)


def test_load_entrypoint_by_module_name():
    from synapse_sdk.plugins.types import DataType

    assert load_entrypoint("synapse_sdk.plugins.types:DataType") is DataType
    assert load_entrypoint("synapse_sdk.plugins.types.DataType") is DataType


def test_missing_entrypoint_module_names_action_entrypoint_and_dir(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "name: x\ncode: x\nactions:\n  go:\n    entrypoint: plugin.nothere:Go\n"
    )
    with pytest.raises(PluginLoadError) as info:
        resolve_action(tmp_path, "go")
    err = info.value
    assert err.action == "go" and err.entrypoint == "plugin.nothere:Go"
    assert err.plugin_dir == str(tmp_path.resolve())
    assert (err.line, err.column) == (5, 17)
    assert isinstance(err.__cause__, ImportError)
    assert "cannot import 'plugin.nothere'" in str(err)
