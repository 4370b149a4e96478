"""config.yaml models: every field of the spec's example, unknown keys, positions, bad YAML."""

from __future__ import annotations

import pytest

from synapse_sdk.plugins.config import ActionConfig, PluginConfig, load_config, parse_config
from synapse_sdk.plugins.enums import PluginCategory, RunMethod
from synapse_sdk.plugins.errors import ConfigError, PluginError

# The "Complete Example" of the spec, verbatim.
COMPLETE = """\
name: Image Classification Plugin
code: image-classifier
version: 1.0.0
category: neural_net
description: Train and deploy image classification models

data_type: image
tasks:
  - image.classification

package_manager: pip
package_manager_options: []
wheels_dir: wheels

env:
  CUDA_VISIBLE_DEVICES: '0'
  LOG_LEVEL: INFO

runtime_env:
  py_modules:
    - ./plugin

actions:
  train:
    entrypoint: plugin.train:TrainAction
    method: job
    description: Train classification model
    input_type: dm_v2_dataset
    output_type: model_weights

  infer:
    entrypoint: plugin.inference:InferenceAction
    method: task
    description: Classify images
    input_type: image_file
    output_type: predictions

  export:
    entrypoint: plugin.export:ExportAction
    method: task
    description: Export model to ONNX
    input_type: model_weights
    output_type: onnx_model
"""


def test_the_spec_complete_example_parses_into_every_field():
    config = parse_config(COMPLETE)
    assert config.name == "Image Classification Plugin"
    assert config.code == "image-classifier"
    assert config.version == "1.0.0"
    assert config.category is PluginCategory.NEURAL_NET
    assert config.description.startswith("Train and deploy")
    assert config.readme == "README.md"
    assert config.data_type == "image"
    assert config.tasks == ["image.classification"]
    assert config.package_manager == "pip"
    assert config.package_manager_options == []
    assert config.wheels_dir == "wheels"
    assert config.env == {"CUDA_VISIBLE_DEVICES": "0", "LOG_LEVEL": "INFO"}
    assert config.runtime_env == {"py_modules": ["./plugin"]}
    assert list(config.actions) == ["train", "infer", "export"]
    train = config.actions["train"]
    assert train == ActionConfig(
        entrypoint="plugin.train:TrainAction",
        method=RunMethod.JOB,
        description="Train classification model",
        input_type="dm_v2_dataset",
        output_type="model_weights",
    )
    assert train.module_and_attr == ("plugin.train", "TrainAction")


def test_defaults_for_a_minimal_config():
    config = parse_config("name: x\ncode: x\nactions:\n  go:\n    entrypoint: plugin.go.run\n")
    assert config.category is PluginCategory.CUSTOM
    assert config.package_manager == "pip"
    assert config.actions["go"].method is RunMethod.TASK
    assert config.actions["go"].module_and_attr == ("plugin.go", "run")


def test_env_values_written_as_numbers_become_strings():
    config = parse_config("name: x\ncode: x\nenv:\n  CUDA_VISIBLE_DEVICES: 0\n  DEBUG: true\n")
    assert config.env == {"CUDA_VISIBLE_DEVICES": "0", "DEBUG": "true"}


def test_unknown_top_level_key_names_file_line_column_and_a_guess():
    text = "name: x\ncode: x\nactoins:\n  go:\n    entrypoint: a.b:C\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="p/config.yaml")
    err = info.value
    assert isinstance(err, PluginError)
    assert (err.path, err.line, err.column) == ("p/config.yaml", 3, 1)
    assert str(err).startswith("p/config.yaml:3:1: invalid config")
    assert "actoins: unknown key (did you mean 'actions'?)" in str(err)
    assert err.hint == "rename 'actoins' to 'actions'"


def test_unknown_action_key_points_at_the_key():
    text = "name: x\ncode: x\nactions:\n  go:\n    entrypoint: a.b:C\n    methd: job\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="config.yaml")
    assert (info.value.line, info.value.column) == (6, 5)
    assert "actions.go.methd: unknown key (did you mean 'method'?)" in str(info.value)


def test_bad_value_points_at_the_value():
    text = "name: x\ncode: x\nactions:\n  go:\n    entrypoint: a.b:C\n    method: jobs\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert (info.value.line, info.value.column) == (6, 13)
    assert (
        "actions.go.method: Input should be 'task', 'job', 'serve' or 'restapi' (got 'jobs')"
        in str(info.value)
    )


def test_missing_entrypoint_and_bad_entrypoint_are_errors():
    with pytest.raises(ConfigError, match=r"actions\.go\.entrypoint: required key is missing"):
        parse_config("name: x\ncode: x\nactions:\n  go:\n    method: job\n")
    with pytest.raises(ConfigError, match=r"must look like 'package\.module:Name'"):
        parse_config("name: x\ncode: x\nactions:\n  go:\n    entrypoint: not valid\n")


def test_every_error_is_listed():
    with pytest.raises(ConfigError) as info:
        parse_config("code: x\nversoin: 1\n")
    message = str(info.value)
    assert "invalid config (2 errors)" in message
    assert "name: required key is missing" in message
    assert "line 2: versoin: unknown key (did you mean 'version'?)" in message


def test_malformed_yaml_names_file_and_line():
    with pytest.raises(ConfigError) as info:
        parse_config("name: a\n  code: b\n", path="bad/config.yaml")
    err = info.value
    assert (err.path, err.line) == ("bad/config.yaml", 2)
    assert "malformed YAML: mapping values are not allowed" in str(err)
    assert err.__cause__ is not None


def test_duplicate_keys_are_errors_not_silently_overwritten():
    text = (
        "name: x\ncode: x\nactions:\n  go:\n    entrypoint: a.b:C\n  go:\n    entrypoint: a.b:D\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="config.yaml")
    err = info.value
    assert (err.line, err.column) == (6, 3)
    assert str(err).startswith("config.yaml:6:3: duplicate key 'go' (first at line 4)")
    assert err.hint == "rename or remove one of the two"


def test_non_mapping_document_is_rejected():
    with pytest.raises(ConfigError) as info:
        parse_config("- a\n- b\n", path="p/config.yaml")
    err = info.value
    assert (err.path, err.line, err.column) == ("p/config.yaml", 1, 1)
    assert err.message == (
        "p/config.yaml:1:1: config.yaml must be a mapping of keys (name, code, actions, ...), "
        "got list"
    )
    assert err.hint == (
        "write one `key: value` per line: name, code, then actions (see `synapse new`)"
    )


def test_load_config_from_dir_and_file(tmp_path):
    (tmp_path / "config.yaml").write_text("name: x\ncode: x\n")
    assert load_config(tmp_path).code == "x"
    assert load_config(tmp_path / "config.yaml").name == "x"
    with pytest.raises(ConfigError, match=r"no config\.yaml found") as info:
        load_config(tmp_path / "missing")
    assert info.value.hint and "synapse new" in info.value.hint


def test_models_are_frozen_and_strict():
    config = PluginConfig(name="x", code="x")
    with pytest.raises(ValueError, match="frozen"):
        config.name = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            "name: x\ncode: x\nactions:\n  go:\n    entrypoint: a.b:C\n    method: jobs\n",
            (6, 13),
            "actions.go.method: Input should be 'task', 'job', 'serve' or 'restapi' (got 'jobs')",
            "did you mean 'job'?",
        ),
        (
            "name: x\ncode: x\ncategory: robots\n",
            (3, 11),
            "category: Input should be 'neural_net', ",
            "use one of: neural_net, export, upload, smart_tool, pre_annotation, "
            "post_annotation, data_validation, custom",
        ),
        (
            "name: x\ncode: x\nversion: 1.0\n",
            (3, 10),
            "version: Input should be a valid string (got 1.0)",
            "quote it so YAML reads text: version: '1.0'",
        ),
        (
            "name: x\ncode: x\ntasks: image.classification\n",
            (3, 8),
            "tasks: Input should be a valid list (got 'image.classification')",
            "write a YAML list: `tasks: [a, b]` or one `- item` line per entry",
        ),
        (
            "name: x\ncode: x\nenv: 3\n",
            (3, 6),
            "env: Input should be a valid dictionary (got 3)",
            "write a mapping: `env:` followed by indented `name: value` lines",
        ),
        (
            "name: x\ncode: x\nactions:\n  go:\n    method: job\n",
            (5, 5),
            "actions.go.entrypoint: required key is missing",
            "add `entrypoint: package.module:Name` under actions.go",
        ),
        (
            "name: x\ncode: x\nactions:\n  go: plugin.x:Go\n",
            (4, 7),
            "actions.go: Input should be a mapping of keys (got 'plugin.x:Go')",
            "an action is a mapping: `go:` then an indented `entrypoint: plugin.x:Go` line",
        ),
        (
            "code: x\n",
            (1, 1),
            "name: required key is missing",
            "add `name: ...` at the top level",
        ),
    ],
)
def test_invalid_values_and_missing_keys_come_with_a_hint(text, where, message, hint):
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="config.yaml")
    err = info.value
    assert (err.line, err.column) == where
    assert message in err.message
    assert err.hint == hint


# -- the reference's keys: wrong values and unknown keys -------------------------------------------

REFERENCE_HEAD = "name: x\ncode: x\nvariant: null\n"


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            "requires:\n  sdk: '>=2026.1.0'\n  python: 3.10\n",
            (6, 11),
            "requires.python: Input should be a valid string (got 3.1)",
            "quote it so YAML reads text: python: '3.10'",  # as written, not YAML's 3.1
        ),
        (
            "requires: '>=3.10'\n",
            (4, 11),
            "requires: Input should be a mapping of keys (got '>=3.10')",
            "write a mapping: `requires:` followed by indented `name: value` lines",
        ),
        (
            "requires:\n  pyhton: '>=3.10'\n",
            (5, 3),
            "requires.pyhton: unknown key (did you mean 'python'?)",
            "rename 'pyhton' to 'python'",
        ),
        (
            "smart_tool_typ: interactive\n",
            (4, 1),
            "smart_tool_typ: unknown key (did you mean 'smart_tool_type'?)",
            "rename 'smart_tool_typ' to 'smart_tool_type'",
        ),
        (
            "dependecies: {}\n",
            (4, 1),
            "dependecies: unknown key (did you mean 'dependencies'?)",
            "rename 'dependecies' to 'dependencies'",
        ),
        (
            "dependencies:\n  other-plugin: 1.0\n",
            (5, 17),
            "dependencies.other-plugin: Input should be a valid string (got 1.0)",
            "quote it so YAML reads text: other-plugin: '1.0'",
        ),
        (
            "actions:\n  go:\n    entrypoint: a.b.C\n    method: rest\n",
            (7, 13),
            "actions.go.method: Input should be 'task', 'job', 'serve' or 'restapi' (got 'rest')",
            "did you mean 'restapi'?",
        ),
        (
            "actions:\n  go:\n    entrypoint: a.b.C\n    method: local\n",
            (7, 13),
            "actions.go.method: Input should be 'task', 'job', 'serve' or 'restapi' (got 'local')",
            "use one of: task, job, serve, restapi",
        ),
        (
            "actions:\n  go:\n    entrypoint: a.b.C\n    serve_option:\n      num_replicas: 1\n",
            (7, 5),
            "actions.go.serve_option: unknown key (did you mean 'serve_options'?)",
            "rename 'serve_option' to 'serve_options'",
        ),
        (
            "actions:\n  train:\n    entrypoint: a.b.C\n    hyperparameters:\n"
            "      train_ui_schema: []\n",
            (8, 7),
            "actions.train.hyperparameters.train_ui_schema: unknown key "
            "(did you mean 'train_ui_schemas'?)",
            "rename 'train_ui_schema' to 'train_ui_schemas'",
        ),
        (
            "actions:\n  up:\n    entrypoint: a.b.C\n    ui_schema:\n      $formkit: group\n",
            (8, 7),
            "actions.up.ui_schema: Input should be a valid list",
            "write a YAML list: `ui_schema: [a, b]` or one `- item` line per entry",
        ),
        (
            "supported_data_type: [image, lidar]\n",
            (4, 30),
            "supported_data_type[1]: Input should be 'image', 'text', 'video', 'pcd', 'audio' or "
            "'data' (got 'lidar')",
            "use one of: image, text, video, pcd, audio, data",
        ),
        (
            "supported_annotation_tools:\n  imagee: [polygon]\n",
            (5, 3),
            "supported_annotation_tools.imagee: Input should be 'image', ",
            "did you mean 'image'?",
        ),
        (
            "supported_annotation_tools:\n  image: [polygon, bbox]\n",
            (5, 20),
            "supported_annotation_tools.image[1]: Input should be 'bounding_box', ",
            "use one of: bounding_box, polygon, polyline, keypoint, segmentation, relation, "
            "classification, annotationGroup, named_entity, 3d_bounding_box, 3d_segmentation, "
            "prompt, answer, time_range",
        ),
        (
            "smart_tool_type: manual\n",
            (4, 18),
            "smart_tool_type: Input should be 'interactive', 'automatic' or 'semi_automatic' "
            "(got 'manual')",
            "use one of: interactive, automatic, semi_automatic",
        ),
        (
            "supported_data_types: [image]\nsupported_data_type: [video]\n",
            (5, 1),
            "supported_data_type: given twice: 'supported_data_type' and 'supported_data_types' "
            "are two spellings of one key",
            "keep one of 'supported_data_type' and 'supported_data_types'",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "\n" not in value else None,
)
def test_the_reference_keys_are_type_checked_with_positions_and_hints(text, where, message, hint):
    with pytest.raises(ConfigError) as info:
        parse_config(REFERENCE_HEAD + text, path="config.yaml")
    err = info.value
    assert message in err.message
    assert (err.line, err.column) == where
    assert err.hint == hint
    assert err.__cause__ is not None  # the pydantic error is kept


def test_a_truly_unknown_key_lists_what_is_allowed():
    with pytest.raises(ConfigError) as info:
        parse_config(REFERENCE_HEAD + "flavour: vanilla\n", path="p/config.yaml")
    err = info.value
    assert str(err).startswith("p/config.yaml:4:1: invalid config:\n  line 4: flavour: unknown key")
    assert err.hint is not None and err.hint.startswith(
        "allowed keys: name, code, version, variant"
    )
    assert "supported_data_type," in err.hint and "smart_tool_type" in err.hint  # aliases too
