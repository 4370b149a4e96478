import pytest

from synapse_sdk.plugins.enums import PluginCategory, RunMethod
from synapse_sdk.plugins.types import (
    Dataset,
    DataType,
    DMv2Dataset,
    ImageFile,
    Model,
    ModelWeights,
    ONNXModel,
    Predictions,
    get_data_type,
)


def test_plugin_categories_match_the_spec():
    assert [c.value for c in PluginCategory] == [
        "neural_net",
        "export",
        "upload",
        "smart_tool",
        "pre_annotation",
        "post_annotation",
        "data_validation",
        "custom",
    ]
    assert PluginCategory("neural_net") is PluginCategory.NEURAL_NET


def test_run_methods():
    assert [m.value for m in RunMethod] == ["task", "job", "serve", "restapi"]


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("dm_v2_dataset", DMv2Dataset),
        ("model_weights", ModelWeights),
        ("image_file", ImageFile),
        ("predictions", Predictions),
        ("onnx_model", ONNXModel),
    ],
)
def test_config_names_resolve_to_types(name, cls):
    assert get_data_type(name) is cls
    assert cls.name == name


def test_compatibility_is_subclassing():
    assert DMv2Dataset.is_compatible_with(Dataset)
    assert not Dataset.is_compatible_with(DMv2Dataset)
    assert ONNXModel.is_compatible_with(Model)
    assert not ImageFile.is_compatible_with(Model)


def test_user_defined_types_are_found_and_typos_get_a_hint():
    class PointCloud(DataType):
        name = "point_cloud"

    assert get_data_type("point_cloud") is PointCloud
    with pytest.raises(KeyError, match="did you mean 'model_weights'"):
        get_data_type("model_weight")
