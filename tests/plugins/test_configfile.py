"""The pydantic-free config check agrees with the pydantic models, and running needs no pydantic.

``_configfile.check`` may only answer for data the models accept, with exactly the models'
values; for everything else it must step aside (None) so that the models give the error.
"""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, BaseModel
from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.plugins import _configfile
from synapse_sdk.plugins._configfile import ACTION, HYPERPARAMETERS, PLUGIN, REQUIRES, check
from synapse_sdk.plugins.config import ActionConfig, Hyperparameters, PluginConfig, PluginRequires
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.errors import ConfigError

from .test_config import COMPLETE

FULL: dict[str, Any] = {
    "name": "Image Classification Plugin",
    "code": "image-classifier",
    "version": "1.0.0",
    "variant": "acme",
    "category": "neural_net",
    "description": "Train",
    "readme": "README.md",
    "data_type": "image",
    "tasks": ["image.classification"],
    "supported_data_types": ["image", "video"],
    "supported_annotation_tools": {"image": ["bounding_box", "3d_segmentation"], "text": []},
    "annotation_category": "time_series",
    "annotation_type": "bbox",
    "smart_tool": "semi_automatic",
    "package_manager": "uv",
    "package_manager_options": ["--no-cache"],
    "wheels_dir": "wheels",
    "env": {"CUDA_VISIBLE_DEVICES": 0, "DEBUG": True, "RATE": 0.5, "LOG": "INFO"},
    "runtime_env": {"py_modules": ["./plugin"], "pip": {"packages": ["x"]}},
    "requires": {"sdk": ">=2026.1.0", "python": ">=3.10,<3.13", "cuda": None},
    "dependencies": {"other-plugin": ">=1.0"},
    "tags": ["vision"],
    "actions": {
        "train": {
            "entrypoint": "plugin.train:TrainAction",
            "method": "job",
            "description": "Train it",
            "name": "Train",
            "input_type": "dm_v2_dataset",
            "output_type": "model_weights",
            "params_schema": {"type": "object"},
            "hyperparameters": {
                "train_ui_schemas": [{"$formkit": "number", "name": "epochs", "value": 3}]
            },
            "result_schema": [{"$formkit": "text", "name": "path"}],
        },
        "infer": {"entrypoint": "plugin.infer.Infer", "method": "restapi"},
        "nested": {"entrypoint": "plugin.mod:Outer.Inner", "input_type": None},
        "deploy": {
            "entrypoint": "plugin.deploy.Deploy",
            "serve_options": {"num_replicas": 2},
            "ui_schema": [],
        },
    },
}
MINIMAL: dict[str, Any] = {"name": "n", "code": "c"}


def _with(base: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def _without(base: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    target = data
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return data


VALUES: list[tuple[tuple[str, ...], Any]] = [
    # wrong types pydantic refuses (or would coerce: the fast check must not guess)
    (("name",), 3),
    (("name",), None),
    (("name",), ["a"]),
    (("code",), "bad code!"),
    (("code",), "-starts-with-dash"),
    (("code",), 12),
    (("version",), 1.0),
    (("version",), "2.0"),
    (("category",), "neural-net"),
    (("category",), "export"),
    (("category",), None),
    (("data_type",), "images"),
    (("data_type",), None),
    (("data_type",), "pcd"),
    (("tasks",), "image.classification"),
    (("tasks",), [1, 2]),
    (("tasks",), []),
    (("tasks",), None),
    (("package_manager",), "conda"),
    (("package_manager",), "pip"),
    (("package_manager_options",), "--x"),
    (("wheels_dir",), None),
    (("env",), {"A": None}),
    (("env",), {"A": [1]}),
    (("env",), {1: "a"}),
    (("env",), {"A": False, "B": 10**20}),
    (("env",), []),
    (("env",), None),
    (("runtime_env",), {1: "x"}),
    (("runtime_env",), "x"),
    (("runtime_env",), {}),
    (("actions",), None),
    (("actions",), []),
    (("actions",), {}),
    (("actions",), {1: {"entrypoint": "a.b:C"}}),
    (("actions", "train"), "plugin.train:TrainAction"),
    (("actions", "train"), None),
    (("actions", "train", "entrypoint"), "nodots"),
    (("actions", "train", "entrypoint"), "a.b:"),
    (("actions", "train", "entrypoint"), "a b:C"),
    (("actions", "train", "entrypoint"), "a.b::C"),
    (("actions", "train", "entrypoint"), "x:Y"),
    (("actions", "train", "entrypoint"), None),
    (("actions", "train", "method"), "jobs"),
    (("actions", "train", "method"), "serve"),
    (("actions", "train", "method"), None),
    (("actions", "train", "description"), 5),
    (("actions", "train", "input_type"), 5),
    (("actions", "train", "output_type"), None),
    (("actions", "train", "entrypont"), "a.b:C"),
    # the reference's keys
    (("variant",), None),
    (("variant",), 3),
    (("supported_data_types",), "image"),
    (("supported_data_types",), ["images"]),
    (("supported_data_types",), None),
    (("supported_annotation_tools",), {"imagee": ["polygon"]}),
    (("supported_annotation_tools",), {"image": ["bbox"]}),
    (("supported_annotation_tools",), {"image": "polygon"}),
    (("supported_annotation_tools",), {"image": None}),
    (("supported_annotation_tools",), []),
    (("annotation_category",), "images"),
    (("annotation_category",), None),
    (("annotation_type",), "box"),
    (("smart_tool",), "manual"),
    (("smart_tool",), None),
    (("requires",), None),
    (("requires",), {}),
    (("requires",), {"python": 3.1}),
    (("requires",), {"python": None}),
    (("requires",), {"pyhton": ">=3.10"}),
    (("requires",), ">=3.10"),
    (("requires",), []),
    (("dependencies",), {"x": 1.0}),
    (("dependencies",), {"x": None}),
    (("dependencies",), ["x"]),
    (("dependencies",), {}),
    (("tags",), "vision"),
    (("tags",), [1]),
    (("actions", "train", "method"), "restapi"),
    (("actions", "train", "method"), "local"),
    (("actions", "train", "name"), None),
    (("actions", "train", "name"), 7),
    (("actions", "train", "params_schema"), "plugin.train:Params"),
    (("actions", "train", "params_schema"), {1: "x"}),
    (("actions", "train", "serve_options"), []),
    (("actions", "train", "serve_options"), {}),
    (("actions", "train", "hyperparameters"), None),
    (("actions", "train", "hyperparameters"), {}),
    (("actions", "train", "hyperparameters"), []),
    (("actions", "train", "hyperparameters"), {"train_ui_schema": []}),
    (("actions", "train", "hyperparameters"), {"train_ui_schemas": None}),
    (("actions", "train", "hyperparameters"), {"train_ui_schemas": [["x"]]}),
    (("actions", "train", "ui_schema"), {"$formkit": "group"}),
    (("actions", "train", "ui_schema"), [{"$formkit": "text"}, "x"]),
    (("actions", "train", "ui_schema"), [{1: "x"}]),
    (("actions", "train", "result_schema"), None),
    (("actions", "train", "result_schema"), "x"),
    (("actions", "train", "serve_option"), {}),
    (("nmae",), "typo"),
    (("extra",), None),
]


def _cases() -> list[tuple[str, dict[str, Any]]]:
    cases = [("full", FULL), ("minimal", MINIMAL), ("empty", {})]
    for path, value in VALUES:
        cases.append((f"{'.'.join(path)}={value!r}", _with(FULL, path, value)))
    for key in ("name", "code", "tasks", "env", "actions"):
        cases.append((f"without {key}", _without(FULL, (key,))))
    cases.append(("without entrypoint", _without(FULL, ("actions", "train", "entrypoint"))))
    cases.append(("not a dict", ["name", "code"]))  # type: ignore[list-item]
    # the aliases: either spelling alone, never both
    for alias, name in (
        ("supported_data_type", "supported_data_types"),
        ("smart_tool_type", "smart_tool"),
    ):
        aliased = _without(FULL, (name,))
        aliased[alias] = FULL[name]
        cases.append((f"alias {alias}", aliased))
        cases.append((f"both {alias} and {name}", {**FULL, alias: FULL[name]}))
    return cases


@pytest.mark.parametrize(("label", "data"), _cases(), ids=[label for label, _ in _cases()])
def test_fast_check_answers_like_the_pydantic_models_or_steps_aside(label, data):
    try:
        expected = PluginConfig.model_validate(data).model_dump()
    except PydanticValidationError:
        assert check(data) is None  # invalid: only pydantic may answer (with positions)
        return
    got = check(data)  # every valid shape here is one YAML produces: the fast path decides it
    assert got == expected
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
    assert list(got) == list(expected)


def _aliases(model: type[BaseModel]) -> dict[str, str]:
    aliases = {}
    for name, info in model.model_fields.items():
        assert info.validation_alias is None or isinstance(info.validation_alias, AliasChoices)
        for choice in info.validation_alias.choices if info.validation_alias else ():
            if choice != name:
                aliases[str(choice)] = name
    return aliases


@pytest.mark.parametrize(
    ("mapping", "model"),
    [
        (PLUGIN, PluginConfig),
        (ACTION, ActionConfig),
        (REQUIRES, PluginRequires),
        (HYPERPARAMETERS, Hyperparameters),
    ],
    ids=["plugin", "action", "requires", "hyperparameters"],
)
def test_the_fast_check_knows_exactly_the_models_keys(mapping, model):
    # a key added to a model and not to the fast check (or the other way) fails here
    assert list(mapping.fields) == list(model.model_fields)  # same fields, dump order
    assert mapping.aliases == _aliases(model)
    assert mapping.keys == set(model.model_fields) | set(_aliases(model))


def test_the_fast_check_never_imports_the_models():
    # _configfile sits below config.py: the models import it, never the other way round
    tree = ast.parse(Path(_configfile.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
            imported.update(f"{node.module or ''}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.rsplit(".", 1)[-1] in ("config", "pydantic")}
    assert imported >= {".enums", ".errors", "yaml"}  # the walk does see its imports


def test_fast_check_decides_the_common_configs_itself():
    # these shapes are what `synapse new` writes and what the spec shows: no fallback
    assert check(FULL) is not None
    assert check(MINIMAL) is not None
    import yaml

    assert (
        check(yaml.safe_load(COMPLETE))
        == PluginConfig.model_validate(yaml.safe_load(COMPLETE)).model_dump()
    )


def test_fast_check_copies_lists_and_dicts(tmp_path: Path):
    data = copy.deepcopy(FULL)
    got = check(data)
    assert got is not None
    got["tasks"].append("x")
    got["env"]["NEW"] = "1"
    assert data["tasks"] == ["image.classification"]
    assert "NEW" not in data["env"]


def test_discovery_data_and_lazy_models_agree(tmp_path: Path):
    (tmp_path / "config.yaml").write_text(COMPLETE)
    discovery = PluginDiscovery.from_path(tmp_path)
    assert discovery.list_actions() == ["train", "infer", "export"]
    assert discovery.get_action_method("train").value == "job"
    assert discovery.get_action_entrypoint("infer") == "plugin.inference:InferenceAction"
    assert discovery.config.model_dump() == discovery.config_data
    assert discovery.get_action_config("export").output_type == "onnx_model"


def test_invalid_config_still_gets_the_positioned_error(tmp_path: Path):
    (tmp_path / "config.yaml").write_text(
        "name: x\ncode: y\nactions:\n  a:\n    entrypont: p.m:A\n"
    )
    with pytest.raises(ConfigError) as info:
        PluginDiscovery.from_path(tmp_path)
    assert info.value.line == 5
    assert "did you mean 'entrypoint'" in str(info.value)


PROBE = """
import json, sys
from synapse_sdk.cli import main
code = main(["run", {plugin!r}, "noop", "--no-backend"])
print(json.dumps([code, sorted(m for m in ("pydantic", "pydantic_core") if m in sys.modules)]))
"""


def test_running_an_action_without_params_model_never_imports_pydantic(tmp_path: Path):
    # pydantic's import is most of a small CLI run's start-up time
    (tmp_path / "config.yaml").write_text(
        "name: Quick\ncode: quick\nenv:\n  LEVEL: 3\nactions:\n  noop:\n"
        "    entrypoint: plugin.noop:noop\n    method: task\n"
    )
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "__init__.py").write_text("")
    (tmp_path / "plugin" / "noop.py").write_text(
        "from synapse_sdk.plugins import action\n\n\n"
        "@action\ndef noop(params, ctx):\n    return {'level': ctx.env['LEVEL']}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(plugin=str(tmp_path))],
        capture_output=True,
        text=True,
        check=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    *printed, last = proc.stdout.strip().splitlines()
    assert json.loads(last) == [0, []]
    assert json.loads("\n".join(printed)) == {"level": "3"}
