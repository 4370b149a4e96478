"""PluginDiscovery: from_path, from_module and the ast-only discover_actions."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import ActionNotFoundError, BaseAction, action
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.enums import PluginCategory, RunMethod
from synapse_sdk.plugins.errors import ConfigError

ALPHA = Path(__file__).parent / "sample_plugins" / "alpha"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# -- from_path -------------------------------------------------------------------------------


def test_from_path_lists_actions_in_config_order_and_loads_classes():
    discovery = PluginDiscovery.from_path(ALPHA)
    assert discovery.list_actions() == ["train", "greet"]
    assert discovery.config.code == "alpha"
    assert discovery.get_action_method("train") is RunMethod.JOB
    assert discovery.get_action_method("greet") is RunMethod.TASK
    train = discovery.get_action_class("train")
    assert isinstance(train, type) and issubclass(train, BaseAction)
    greet = discovery.get_action_class("greet")
    assert greet._is_action is True  # the decorated function itself


def test_from_path_accepts_the_config_file():
    discovery = PluginDiscovery.from_path(ALPHA / "config.yaml")
    assert discovery.root == ALPHA.resolve()
    assert discovery.get_action_entrypoint("greet") == "plugin.tools:greet"


def test_unknown_action():
    with pytest.raises(ActionNotFoundError) as info:
        PluginDiscovery.from_path(ALPHA).get_action_class("grete")
    assert info.value.available == ["greet", "train"]
    assert info.value.plugin == "alpha"


def test_discovery_never_mutates_the_user_class():
    discovery = PluginDiscovery.from_path(ALPHA)
    cls = discovery.get_action_class("train")
    before = dict(vars(cls))
    spec = discovery.get_action_spec("train")
    assert spec.name == "train" and spec.category is PluginCategory.NEURAL_NET
    assert dict(vars(cls)) == before
    assert cls.action_name is None and cls.category is None


def test_entrypoint_that_is_not_an_action(tmp_path):
    write(
        tmp_path,
        {
            "config.yaml": "name: x\ncode: x\nactions:\n  go:\n    entrypoint: plugin.m:helper\n",
            "plugin/__init__.py": "",
            "plugin/m.py": "def helper(a, b):\n    return 1\n",
        },
    )
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.from_path(tmp_path).get_action_spec("go")
    assert "entrypoint 'plugin.m:helper' is not an action" in str(info.value)
    assert info.value.line == 5


def test_missing_attribute_suggests_the_action(tmp_path):
    write(
        tmp_path,
        {
            "config.yaml": "name: x\ncode: x\nactions:\n  go:\n    entrypoint: plugin.m:Go\n",
            "plugin/__init__.py": "",
            "plugin/m.py": """\
                from synapse_sdk.plugins import action

                @action
                def go(params, ctx):
                    return 1
            """,
        },
    )
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.from_path(tmp_path).get_action_spec("go")
    assert "module 'plugin.m' has no attribute 'Go'" in str(info.value)
    assert info.value.hint == "did you mean plugin.m:go?"
    assert isinstance(info.value.__cause__, AttributeError)


def test_unknown_config_data_type_is_reported_at_its_line(tmp_path):
    write(
        tmp_path,
        {
            "config.yaml": (
                "name: x\ncode: x\nactions:\n  go:\n    entrypoint: plugin.m:go\n"
                "    input_type: dm_v3_dataset\n"
            ),
            "plugin/__init__.py": "",
            "plugin/m.py": "from synapse_sdk.plugins import action\n\n"
            "@action\ndef go(params, ctx):\n    return 1\n",
        },
    )
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.from_path(tmp_path).get_action_spec("go")
    assert (info.value.line, info.value.column) == (6, 17)
    assert "input_type 'dm_v3_dataset' is not a known data type" in str(info.value)
    assert "did you mean" in (info.value.hint or "")


# -- from_module -----------------------------------------------------------------------------


class Params(BaseModel):
    n: int = 1


def _module() -> types.ModuleType:
    module = types.ModuleType("discovery_fixture_mod", "A fixture module.")

    class CountAction(BaseAction[Params]):
        """Count things."""

        def execute(self):
            return self.params.n

    @action(name="hello")
    def hello(params, ctx):
        return "hi"

    for obj in (CountAction, hello):
        obj.__module__ = module.__name__
    module.CountAction = CountAction
    module.hello = hello
    module.BaseAction = BaseAction  # imported base classes are not actions
    module.action = action
    return module


def test_from_module_finds_classes_and_functions_defined_there(monkeypatch):
    module = _module()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    discovery = PluginDiscovery.from_module(module, name="fixture", category=PluginCategory.EXPORT)
    assert discovery.list_actions() == ["count", "hello"]
    assert discovery.config.name == "fixture"
    assert discovery.config.category is PluginCategory.EXPORT
    assert discovery.get_action_class("count") is module.CountAction
    assert discovery.get_action_class("hello") is module.hello
    assert discovery.get_action_config("count").description == "Count things."
    assert PluginDiscovery.from_module(module.__name__).list_actions() == ["count", "hello"]


# -- discover_actions (ast) ------------------------------------------------------------------

PLUGIN_SOURCES = {
    "config.yaml": "name: x\ncode: x\n",
    "plugin/__init__.py": "",
    "plugin/base.py": """\
        from synapse_sdk.plugins import BaseAction

        class BaseMine(BaseAction):
            '''A plugin-level base: no execute, not an action.'''
            input_type = None
    """,
    "plugin/train.py": """\
        import synapse_sdk.plugins.types as t
        from synapse_sdk.plugins.types import DMv2Dataset
        from plugin.base import BaseMine
        raise RuntimeError("discover_actions must not import this module")

        class MyDataset(t.DataType):
            name = "my_dataset"

        class TrainAction(BaseMine):
            '''Train it.'''
            input_type = DMv2Dataset
            output_type = t.ModelWeights

            def execute(self):
                return 1

        class ExportToONNXAction(TrainAction):
            action_name = "export"
            description = "Export it"
            input_type = MyDataset
    """,
    "plugin/funcs.py": """\
        from synapse_sdk import plugins

        @plugins.action(name="convert", description="Convert data")
        def do_convert(params, ctx):
            return 1

        @plugins.action
        def plain(params, ctx):
            '''Plain one.'''

        def not_an_action(params, ctx):
            pass
    """,
    "tests/test_x.py": "this is not python",
}


def test_discover_actions_finds_classes_and_functions_without_importing(tmp_path):
    write(tmp_path, PLUGIN_SOURCES)
    found = PluginDiscovery.discover_actions(tmp_path)
    assert set(found) == {"convert", "plain", "train", "export"}
    assert found["train"] == {
        "entrypoint": "plugin.train:TrainAction",
        "kind": "class",
        "description": "Train it.",
        "docstring": "Train it.",
        "input_type": "dm_v2_dataset",
        "output_type": "model_weights",
        "file": str(tmp_path / "plugin" / "train.py"),
        "line": 9,
    }
    assert found["export"]["entrypoint"] == "plugin.train:ExportToONNXAction"
    assert found["export"]["input_type"] == "my_dataset"
    assert found["export"]["output_type"] == "model_weights"  # inherited
    assert found["export"]["description"] == "Export it"
    assert found["export"]["docstring"] == ""
    assert found["convert"]["entrypoint"] == "plugin.funcs:do_convert"
    assert found["convert"]["kind"] == "function"
    assert found["convert"]["description"] == "Convert data"
    assert found["plain"]["description"] == "Plain one."
    assert "plugin.train" not in sys.modules


def test_discover_actions_reports_syntax_errors_with_file_and_line(tmp_path):
    write(tmp_path, {**PLUGIN_SOURCES, "plugin/broken.py": "x = 1\ndef f(:\n    pass\n"})
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.discover_actions(tmp_path / "config.yaml")
    err = info.value
    assert err.path == str(tmp_path / "plugin" / "broken.py")
    assert err.line == 2
    assert "syntax error" in str(err)
    assert isinstance(err.__cause__, SyntaxError)


def test_discover_actions_on_the_sample_plugin_matches_config():
    found = PluginDiscovery.discover_actions(ALPHA)
    assert found["train"]["entrypoint"] == "plugin.train:TrainAction"
    assert found["greet"]["entrypoint"] == "plugin.tools:greet"


def test_discover_actions_sees_edits_to_cached_files(tmp_path):
    import os

    write(tmp_path, PLUGIN_SOURCES)
    assert "renamed" not in PluginDiscovery.discover_actions(tmp_path)
    funcs = tmp_path / "plugin" / "funcs.py"
    before = funcs.stat().st_mtime_ns
    funcs.write_text(funcs.read_text().replace('name="convert"', 'name="renamed"'))
    os.utime(funcs, ns=(before + 10_000_000, before + 10_000_000))
    found = PluginDiscovery.discover_actions(tmp_path)
    assert "renamed" in found and "convert" not in found


def test_from_module_on_a_package_includes_actions_of_its_submodules(tmp_path, monkeypatch):
    write(
        tmp_path,
        {
            "pkg_with_actions/__init__.py": "from .train import TrainAction\n"
            "from synapse_sdk.plugins import BaseAction\n",
            "pkg_with_actions/train.py": """\
                from synapse_sdk.plugins import BaseAction

                class TrainAction(BaseAction):
                    def execute(self):
                        return 1
            """,
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        discovery = PluginDiscovery.from_module("pkg_with_actions")
        assert discovery.list_actions() == ["train"]
        assert discovery.get_action_entrypoint("train") == "pkg_with_actions.train:TrainAction"
    finally:
        for name in [n for n in sys.modules if n.startswith("pkg_with_actions")]:
            del sys.modules[name]


def test_discover_actions_counts_setup_steps_like_execute(tmp_path):
    write(
        tmp_path,
        {
            "config.yaml": "name: x\ncode: x\n",
            "plugin/__init__.py": "",
            "plugin/steps.py": """\
                from synapse_sdk.plugins import BaseAction
                from synapse_sdk.plugins.steps import default_steps

                class BaseOffersSteps(BaseAction):
                    '''Offers steps to subclasses only: not an action.'''

                    @default_steps
                    def setup_steps(self, registry):
                        registry.register(LoadStep())

                class BasePipeline(BaseAction):
                    '''Runs its own steps, so it is an action despite its Base name.'''

                    def setup_steps(self, registry):
                        registry.register(LoadStep())
            """,
        },
    )
    found = PluginDiscovery.discover_actions(tmp_path)
    assert list(found) == ["base_pipeline"]
    assert found["base_pipeline"]["entrypoint"] == "plugin.steps:BasePipeline"


def test_discover_actions_on_a_missing_directory_is_a_config_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.discover_actions(missing)
    err = info.value
    assert err.path == str(missing)
    assert err.message == f"{missing}: cannot scan for actions: no such directory"
    assert err.hint == "pass the plugin directory (the one holding config.yaml and the code)"


def test_discover_actions_reads_a_file_whole_when_it_grew_since_its_stat(tmp_path, monkeypatch):
    # the scan reads size+1 bytes from the descriptor it stat-ed; a writer may append meanwhile
    from synapse_sdk.plugins import _scan

    (tmp_path / "plugin").mkdir()
    body = "\n".join(f"X{i} = {i}" for i in range(3000))
    (tmp_path / "plugin" / "grown.py").write_text(
        f"{body}\nfrom synapse_sdk.plugins import action\n\n\n@action\ndef late(params, ctx):\n"
        "    return 1\n"
    )
    real_fstat = _scan.os.fstat

    def stale_fstat(fd):
        st = real_fstat(fd)
        return _scan.os.stat_result((*st[:6], 10, *st[7:]))  # as if it held 10 bytes then

    monkeypatch.setattr(_scan.os, "fstat", stale_fstat)
    _scan._CACHE.clear()
    found = PluginDiscovery.discover_actions(tmp_path)
    assert found["late"]["line"] == 3005  # the def line, after the 3,000 lines


def test_a_spec_reads_with_the_plugins_own_names():
    from synapse_sdk.plugins.loading import resolve_action
    from synapse_sdk.plugins.spec import as_spec

    spec = resolve_action(ALPHA, "train")
    assert repr(spec) == (
        "<ActionSpec 'train' class plugin.train:TrainAction params=TrainParams, result=TrainResult>"
    )
    plain = as_spec(spec.target).replace(entrypoint=None)
    assert "_synapse_plugin_" not in repr(plain)
    assert "plugin.train:TrainAction" in repr(plain)
