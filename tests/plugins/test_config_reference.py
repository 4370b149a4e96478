"""Plugins written for the reference synapse-sdk: their config.yaml loads unchanged.

One config per category that the reference's ``synapse plugin create`` offers, written here in
its style (``variant: null``, ``requires``, ``dependencies``, ``tags``, the category's own keys,
dotted entrypoints), and one config that uses every key the reference knows. Each loads through
the models, through the fast check (with the same answer, so running it needs no pydantic) and
through ``PluginDiscovery.from_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synapse_sdk.plugins._configfile import check
from synapse_sdk.plugins.config import PluginConfig, load_config, parse_config
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.enums import PluginCategory, RunMethod

_HEAD = """\
name: {name}
code: {code}
version: 0.2.0
variant: null
category: {category}
description: {name} for the platform
requires:
  sdk: '>=2026.1.0'
  python: '>=3.10,<3.13'{cuda}
dependencies: {{}}
tags: []
"""


def _head(category: str, name: str, *, cuda: bool = False) -> str:
    code = name.lower().replace(" ", "-")
    extra = "\n  cuda: '>=12.1'" if cuda else ""
    return _HEAD.format(name=name, code=code, category=category, cuda=extra)


# category -> (config.yaml text, {action: method})
CATEGORIES: dict[str, tuple[str, dict[str, str]]] = {
    "neural_net": (
        _head("neural_net", "Pothole Detector", cuda=True)
        + "data_type: image\ntasks:\n- image.object_detection\n- image.segmentation\n"
        "actions:\n"
        "  convert:\n    entrypoint: plugin.convert.ConvertAction\n    method: job\n"
        "  deployment:\n    entrypoint: plugin.deployment.PotholeDeployment\n    method: job\n"
        "  download:\n    entrypoint: plugin.download.DownloadAction\n    method: job\n"
        "  inference:\n    entrypoint: plugin.inference.PotholeDeployment\n    method: serve\n"
        "  test:\n    entrypoint: plugin.test.TestAction\n    method: job\n"
        "  train:\n    entrypoint: plugin.train.TrainAction\n    method: job\n",
        {
            "convert": "job",
            "deployment": "job",
            "download": "job",
            "inference": "serve",
            "test": "job",
            "train": "job",
        },
    ),
    "export": (
        _head("export", "Pascal Exporter")
        + "supported_annotation_tools:\n  image:\n  - bounding_box\n  - polygon\n"
        "  video:\n  - segmentation\n\n"
        "actions:\n  export:\n    entrypoint: plugin.export.Exporter\n    method: job\n",
        {"export": "job"},
    ),
    "upload": (
        _head("upload", "Drone Footage Upload") + "supported_data_types:\n  - image\n  - video\n\n"
        "actions:\n  upload:\n    entrypoint: plugin.upload.UploadAction\n    method: job\n",
        {"upload": "job"},
    ),
    "smart_tool": (
        _head("smart_tool", "Click To Segment")
        + "annotation_category: image\nannotation_type: polygon\n"
        "smart_tool_type: semi_automatic\n\n"
        "actions:\n  auto_label:\n    entrypoint: plugin.auto_label.AutoLabelAction\n"
        "    method: task\n",
        {"auto_label": "task"},
    ),
    "pre_annotation": (
        _head("pre_annotation", "Draft Labels") + "\nactions:\n"
        "  pre_annotate:\n    entrypoint: plugin.pre_annotate.PreAnnotator\n    method: task\n"
        "  to_task:\n    entrypoint: plugin.to_task.ToTask\n    method: job\n",
        {"pre_annotate": "task", "to_task": "job"},
    ),
    "post_annotation": (
        _head("post_annotation", "Label Cleanup")
        + "\nactions:\n  post_annotate:\n    entrypoint: plugin.post_annotate.PostAnnotator\n"
        "    method: task\n",
        {"post_annotate": "task"},
    ),
    "data_validation": (
        _head("data_validation", "Blur Check")
        + "\nactions:\n  validate:\n    entrypoint: plugin.validate.Validator\n"
        "    method: task\n",
        {"validate": "task"},
    ),
    "custom": (
        _head("custom", "Odd Jobs")
        + "\nactions:\n  main:\n    entrypoint: plugin.main.run\n    method: task\n",
        {"main": "task"},
    ),
}

# Every key the reference knows, as a plugin author (and its config sync) would write them.
EVERY_KEY = """\
# Orchard counter: counts apples on drone photos.
name: Orchard Counter
code: orchard-counter
version: 1.4.0
variant: acme  # the customer build
category: neural_net
description: Counts apples on drone photos
readme: docs/README.md

package_manager: uv
package_manager_options:
  - --no-cache
wheels_dir: vendor/wheels

env:
  TILE_SIZE: 640   # read by the tiler
  DEBUG: false
runtime_env:
  env_vars:
    OMP_NUM_THREADS: '4'

data_type: image
tasks:
  - image.object_detection
supported_data_types: [image, video]
supported_annotation_tools:
  image: [bounding_box, keypoint]
annotation_category: image
annotation_type: bbox
smart_tool: automatic

# what the plugin needs to run
requires:
  sdk: '>=2026.1.0'
  python: '>=3.10,<3.13'
  cuda: '>=12.1'
dependencies:
  apple-tiler: '>=0.4,<1'   # another plugin
tags: [agriculture, counting]

actions:
  train:
    name: Train counter
    description: Train the counting model
    entrypoint: plugin.train:TrainAction
    method: job
    input_type: dm_v2_dataset
    output_type: model_weights
    params_schema:
      type: object
      properties:
        epochs: {type: integer}
    hyperparameters:
      train_ui_schemas:
        - $formkit: number
          name: epochs
          label: Epochs
          value: 30
          min: 1
          required: true
    result_schema:
      - $formkit: text
        name: weights_path
        label: Weights
  count:
    entrypoint: plugin.count:count
    method: restapi
    description: Count apples on one photo
    serve_options:
      max_ongoing_requests: 16   # keep high: see the serve guide
      num_replicas: 1
  upload:
    entrypoint: plugin.upload:UploadPhotos
    method: job
    ui_schema:
      - $formkit: text
        name: group_name
        label: Batch name
        required: false
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_a_reference_style_plugin_of_each_category_loads(tmp_path, category):
    text, methods = CATEGORIES[category]
    config = parse_config(text)
    assert config.category is PluginCategory(category)
    assert config.variant is None
    assert config.requires is not None and config.requires.python == ">=3.10,<3.13"
    assert config.dependencies == {} and config.tags == []
    assert {name: action.method.value for name, action in config.actions.items()} == methods

    discovery = PluginDiscovery.from_path(_write(tmp_path, text))
    assert discovery.list_actions() == list(methods)
    assert {name: discovery.get_action_method(name).value for name in methods} == methods
    assert discovery.config.model_dump() == config.model_dump()


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_the_fast_check_decides_reference_style_configs_itself(category):
    # no fallback to pydantic: running such a plugin stays as cheap as running ours
    data = yaml.safe_load(CATEGORIES[category][0])
    assert check(data) == PluginConfig.model_validate(data).model_dump()


def test_category_keys_of_the_scaffolds_are_typed():
    neural_net = parse_config(CATEGORIES["neural_net"][0])
    assert neural_net.data_type == "image"
    assert neural_net.tasks == ["image.object_detection", "image.segmentation"]
    assert neural_net.requires is not None and neural_net.requires.cuda == ">=12.1"
    upload = parse_config(CATEGORIES["upload"][0])
    assert upload.supported_data_types == ["image", "video"]
    export = parse_config(CATEGORIES["export"][0])
    assert export.supported_annotation_tools == {
        "image": ["bounding_box", "polygon"],
        "video": ["segmentation"],
    }
    smart_tool = parse_config(CATEGORIES["smart_tool"][0])
    # the reference's scaffold writes `smart_tool_type`, its model reads `smart_tool`: both work
    assert (smart_tool.annotation_category, smart_tool.annotation_type) == ("image", "polygon")
    assert smart_tool.smart_tool == "semi_automatic"


def test_every_key_of_the_reference_loads_with_its_value(tmp_path):
    config = load_config(_write(tmp_path, EVERY_KEY))
    assert (config.variant, config.readme, config.package_manager) == (
        "acme",
        "docs/README.md",
        "uv",
    )
    assert config.env == {"TILE_SIZE": "640", "DEBUG": "false"}
    assert config.supported_data_types == ["image", "video"]
    assert config.supported_annotation_tools == {"image": ["bounding_box", "keypoint"]}
    assert (config.annotation_category, config.annotation_type, config.smart_tool) == (
        "image",
        "bbox",
        "automatic",
    )
    assert config.requires is not None
    assert config.requires.model_dump() == {
        "sdk": ">=2026.1.0",
        "python": ">=3.10,<3.13",
        "cuda": ">=12.1",
    }
    assert config.dependencies == {"apple-tiler": ">=0.4,<1"}
    assert config.tags == ["agriculture", "counting"]

    train = config.actions["train"]
    assert (train.name, train.method) == ("Train counter", RunMethod.JOB)
    assert train.params_schema == {"type": "object", "properties": {"epochs": {"type": "integer"}}}
    assert train.hyperparameters is not None
    assert [node["name"] for node in train.hyperparameters.train_ui_schemas] == ["epochs"]
    assert train.result_schema == [{"$formkit": "text", "name": "weights_path", "label": "Weights"}]
    count = config.actions["count"]
    assert count.method is RunMethod.RESTAPI
    assert count.serve_options == {"max_ongoing_requests": 16, "num_replicas": 1}
    upload = config.actions["upload"]
    assert upload.ui_schema is not None and upload.ui_schema[0]["name"] == "group_name"
    # absent keys keep their defaults
    assert (upload.name, upload.params_schema, upload.hyperparameters) == (None, None, None)

    discovery = PluginDiscovery.from_path(tmp_path)
    assert discovery.list_actions() == ["train", "count", "upload"]
    assert discovery.get_action_method("count") is RunMethod.RESTAPI
    assert discovery.config_data == config.model_dump()
    assert check(yaml.safe_load(EVERY_KEY)) == config.model_dump()


@pytest.mark.parametrize(
    ("written", "field", "value"),
    [
        ("supported_data_type: [pcd]\n", "supported_data_types", ["pcd"]),
        ("supported_data_types: [pcd]\n", "supported_data_types", ["pcd"]),
        ("smart_tool_type: interactive\n", "smart_tool", "interactive"),
        ("smart_tool: interactive\n", "smart_tool", "interactive"),
    ],
)
def test_either_spelling_of_an_aliased_key_fills_the_field(written, field, value):
    text = "name: x\ncode: x\n" + written
    assert getattr(parse_config(text), field) == value
    assert check(yaml.safe_load(text)) == parse_config(text).model_dump()
