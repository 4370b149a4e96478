"""Loading plugins by reference (directory, config.yaml, module name); isolation; caching."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from synapse_sdk.plugins import ActionNotFoundError, run_plugin
from synapse_sdk.plugins.errors import ConfigError, ExecutionError, PluginLoadError
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


def _bump(path: Path, text: str) -> None:
    """Rewrite ``path`` and move its mtime forward (coarse clocks must not hide the change)."""
    import os

    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10_000_000, before + 10_000_000))


def _counter_plugin(root: Path, value: int) -> Path:
    (root / "plugin").mkdir(parents=True, exist_ok=True)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "config.yaml").write_text(
        "name: c\ncode: c\nactions:\n  value:\n    entrypoint: plugin.act:value\n"
    )
    (root / "plugin" / "act.py").write_text(
        "from synapse_sdk.plugins import action\n\n"
        f"@action\ndef value(params, ctx):\n    return {value}\n"
    )
    return root


def test_editing_the_action_module_reloads_the_code(tmp_path):
    root = _counter_plugin(tmp_path, 1)
    assert run_plugin(root, "value") == 1
    _bump(
        root / "plugin" / "act.py",
        "from synapse_sdk.plugins import action\n\n@action\ndef value(params, ctx):\n"
        "    return 22\n",
    )
    assert run_plugin(root, "value") == 22


def test_editing_config_yaml_is_picked_up(tmp_path):
    root = _counter_plugin(tmp_path, 1)
    assert resolve_action(root, "value").method == "task"
    _bump(
        root / "config.yaml",
        "name: c\ncode: c\nactions:\n  value:\n    entrypoint: plugin.act:value\n"
        "    method: job\n  again:\n    entrypoint: plugin.act:value\n",
    )
    assert resolve_action(root, "value").method == "job"
    assert load_plugin(root).list_actions() == ["value", "again"]


def _plugin_with_helper(root: Path, helper: str, code: str) -> Path:
    """The counter plugin with a ``helper``.py (``N = 1``) and the action module ``code``."""
    _counter_plugin(root, 0)
    (root / "plugin" / f"{helper}.py").write_text("N = 1\n")
    _bump(root / "plugin" / "act.py", "from synapse_sdk.plugins import action\n" + code)
    return root


def test_editing_a_helper_module_reloads_the_code(tmp_path):
    code = "from .helper import N\n\n@action\ndef value(params, ctx):\n    return N\n"
    root = _plugin_with_helper(tmp_path, "helper", code)
    assert run_plugin(root, "value") == 1
    _bump(root / "plugin" / "helper.py", "N = 2\n")
    assert run_plugin(root, "value") == 2
    before = resolve_action(root, "value")
    _bump(root / "plugin" / "__init__.py", "# edited\n")  # a package __init__ is watched too
    after = resolve_action(root, "value")
    assert after is not before
    assert resolve_action(root, "value") is after  # nothing changed since: the cached spec


def test_reload_picks_up_a_module_imported_only_at_run_time(tmp_path):
    # imported inside the action, after it was loaded: not among the watched files
    code = "\n@action\ndef value(params, ctx):\n    from . import late\n    return late.N\n"
    root = _plugin_with_helper(tmp_path, "late", code)
    assert run_plugin(root, "value") == 1
    _bump(root / "plugin" / "late.py", "N = 2\n")
    assert run_plugin(root, "value") == 1
    load_plugin(root, reload=True)
    assert run_plugin(root, "value") == 2


def test_syntax_error_in_plugin_code_points_at_the_file(tmp_path):
    root = _counter_plugin(tmp_path, 1)
    _bump(root / "plugin" / "act.py", "def broken(:\n")
    with pytest.raises(PluginLoadError) as info:
        resolve_action(root, "value")
    err = info.value
    assert err.path == str((root / "plugin" / "act.py").resolve())
    assert err.line == 1
    assert "syntax error" in str(err)
    assert isinstance(err.__cause__, SyntaxError)


def test_import_error_inside_the_plugin_names_the_missing_module(tmp_path):
    root = _counter_plugin(tmp_path, 1)
    _bump(root / "plugin" / "act.py", "import not_installed_anywhere_xyz\n")
    with pytest.raises(PluginLoadError) as info:
        resolve_action(root, "value")
    assert "No module named 'not_installed_anywhere_xyz'" in str(info.value)
    assert info.value.hint == "the plugin code needs 'not_installed_anywhere_xyz': install it"


def test_module_without_actions_has_none():
    with pytest.raises(ActionNotFoundError) as info:
        run_plugin("synapse_sdk.plugins.types", "nothing")
    assert info.value.available == []


def test_unsupported_mode_lists_the_supported_ones():
    from synapse_sdk.plugins.errors import ValidationError

    with pytest.raises(ValidationError, match="unknown mode 'rocket'; supported modes: "):
        run_plugin(ALPHA, "greet", mode="rocket")


def test_module_reference_not_found_vs_missing_dependency(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no such directory or importable module"):
        load_plugin("no_such_plugin_module_xyz")
    (tmp_path / "needs_dep_mod.py").write_text("import missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginLoadError) as info:
        load_plugin("needs_dep_mod")
    assert "No module named 'missing_dependency_xyz'" in str(info.value)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_a_plugin_already_imported_from_sys_path_is_reused(tmp_path, monkeypatch):
    # a plugin's own tests often import its modules directly; synapse_run must then hand
    # back the same classes, or `run.result == TrainResult(...)` would compare two copies
    root = _counter_plugin(tmp_path / "own", 3)
    (root / "plugin" / "act.py").write_text(
        "from pydantic import BaseModel\nfrom synapse_sdk.plugins import action\n\n"
        "class Out(BaseModel):\n    n: int\n\n"
        "@action\ndef value(params, ctx):\n    return Out(n=3)\n"
    )
    monkeypatch.syspath_prepend(str(root))
    for name in [n for n in sys.modules if n == "plugin" or n.startswith("plugin.")]:
        monkeypatch.delitem(sys.modules, name)
    from plugin.act import Out  # the test's own import

    try:
        assert run_plugin(root, "value") == Out(n=3)
        assert resolve_action(root, "value").target.__module__ == "plugin.act"
    finally:
        for name in [n for n in sys.modules if n == "plugin" or n.startswith("plugin.")]:
            del sys.modules[name]


def test_local_runs_start_from_the_config_env(tmp_path):
    root = _counter_plugin(tmp_path, 0)
    (root / "config.yaml").write_text(
        "name: c\ncode: c\nenv:\n  LOG_LEVEL: INFO\n  DEVICES: 0\n"
        "actions:\n  value:\n    entrypoint: plugin.act:value\n"
    )
    _bump(
        root / "plugin" / "act.py",
        "from synapse_sdk.plugins import action\n\n@action\ndef value(params, ctx):\n"
        "    return dict(ctx.env)\n",
    )
    assert run_plugin(root, "value") == {"LOG_LEVEL": "INFO", "DEVICES": "0"}
    assert run_plugin(root, "value", env={"DEVICES": "1", "X": "y"}) == {
        "LOG_LEVEL": "INFO",
        "DEVICES": "1",
        "X": "y",
    }
    from synapse_sdk.plugins.runner import run_plugin_record

    assert run_plugin_record(root, "value").result["LOG_LEVEL"] == "INFO"


def test_nested_packages_with_relative_and_absolute_imports(tmp_path):
    root = tmp_path / "nested"
    (root / "plugin" / "models").mkdir(parents=True)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "models" / "__init__.py").write_text("")
    (root / "plugin" / "common.py").write_text("SCALE = 10\n")
    (root / "plugin" / "models" / "net.py").write_text(
        "from ..common import SCALE\nimport plugin.common as absolute\n\n"
        "def forward(x):\n    return x * SCALE + absolute.SCALE\n"
    )
    (root / "plugin" / "models" / "act.py").write_text(
        "from synapse_sdk.plugins import action\nfrom .net import forward\n\n"
        "@action\ndef predict(params, ctx):\n    return forward(params['x'])\n"
    )
    (root / "config.yaml").write_text(
        "name: n\ncode: n\nactions:\n  predict:\n    entrypoint: plugin.models.act:predict\n"
    )
    assert run_plugin(root, "predict", {"x": 2}) == 30
    assert "plugin.models.net" not in sys.modules


def test_module_that_raises_at_import_is_a_load_error(tmp_path):
    root = _counter_plugin(tmp_path, 1)
    _bump(root / "plugin" / "act.py", "raise RuntimeError('no GPU found')\n")
    with pytest.raises(PluginLoadError) as info:
        resolve_action(root, "value")
    assert "importing 'plugin.act' (entrypoint 'plugin.act:value'" in str(info.value)
    assert "raised RuntimeError: no GPU found" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def _dynamic_plugin(root: Path, marker: str) -> Path:
    """A plugin whose action imports its own helpers by name at run time."""
    (root / "plugin" / "handlers").mkdir(parents=True)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "handlers" / "__init__.py").write_text("")
    (root / "plugin" / "handlers" / "echo.py").write_text(f"WHO = {marker!r}\n")
    (root / "config.yaml").write_text(
        "name: d\ncode: d\nactions:\n  who:\n    entrypoint: plugin.act:who\n"
    )
    (root / "plugin" / "act.py").write_text(
        "import importlib\nfrom importlib import import_module\nimport importlib.util\n\n"
        "from synapse_sdk.plugins import action\n\n"
        "@action\ndef who(params, ctx):\n"
        "    a = importlib.import_module('plugin.handlers.echo').WHO\n"
        "    b = import_module('plugin.handlers.' + params['name']).WHO\n"
        "    c = importlib.import_module('.handlers.echo', __package__).WHO\n"
        "    assert importlib.util.find_spec('json') is not None\n"
        "    return [a, b, c]\n"
    )
    return root


def test_import_module_of_the_plugins_own_names_at_run_time_stays_in_the_plugin(tmp_path):
    one = _dynamic_plugin(tmp_path / "one", "one")
    two = _dynamic_plugin(tmp_path / "two", "two")
    assert run_plugin(one, "who", {"name": "echo"}) == ["one", "one", "one"]
    assert run_plugin(two, "who", {"name": "echo"}) == ["two", "two", "two"]
    assert "plugin" not in sys.modules and "plugin.handlers.echo" not in sys.modules
    with pytest.raises(ExecutionError) as info:
        run_plugin(one, "who", {"name": "missing"})
    cause = info.value.__cause__
    assert isinstance(cause, ModuleNotFoundError)
    assert (str(cause), cause.name) == (
        "No module named 'plugin.handlers.missing'",
        "plugin.handlers.missing",
    )


def test_only_the_plugins_own_modules_are_watched(tmp_path, monkeypatch):
    code = "from .helper import N\n\n@action\ndef value(params, ctx):\n    return N\n"
    root = _plugin_with_helper(tmp_path / "p", "helper", code)
    # a module imported from inside the plugin directory that is not plugin code (a local venv)
    venv = root / "venv_lib"
    venv.mkdir()
    (venv / "thirdparty_xyz.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(venv))
    import thirdparty_xyz  # noqa: F401

    try:
        discovery = load_plugin(root)
        watched = discovery.action_files("value")
    finally:
        del sys.modules["thirdparty_xyz"]
    plugin = root.resolve() / "plugin"
    assert sorted(watched) == [
        str(plugin / "__init__.py"),
        str(plugin / "act.py"),
        str(plugin / "helper.py"),
    ]
