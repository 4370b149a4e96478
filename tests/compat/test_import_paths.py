"""The reference synapse-sdk's module paths resolve to our objects; missing names explain."""

import importlib

import pytest

import synapse_sdk.plugins as plugins
from synapse_sdk.plugins import steps
from synapse_sdk.plugins._compat import UnknownNameError
from synapse_sdk.plugins.actions import deployment, train
from synapse_sdk.plugins.log_messages import LogLevel

SAME = [
    ("synapse_sdk.plugins.action", "BaseAction", plugins.BaseAction),
    ("synapse_sdk.plugins.action", "NoResult", plugins.NoResult),
    ("synapse_sdk.plugins.decorators", "action", plugins.action),
    ("synapse_sdk.plugins.steps", "StepRegistry", steps.StepRegistry),
    ("synapse_sdk.plugins.steps.base", "BaseStep", steps.BaseStep),
    ("synapse_sdk.plugins.steps.base", "StepResult", steps.StepResult),
    ("synapse_sdk.plugins.steps.registry", "StepRegistry", steps.StepRegistry),
    ("synapse_sdk.plugins.steps.orchestrator", "Orchestrator", steps.Orchestrator),
    ("synapse_sdk.plugins.steps.context", "StepContext", steps.StepContext),
    ("synapse_sdk.plugins.models.logger", "LogLevel", LogLevel),
    ("synapse_sdk.plugins.actions.train", "BaseTrainParams", train.BaseTrainParams),
    ("synapse_sdk.plugins", "BaseDeploymentAction", deployment.BaseDeploymentAction),
    ("synapse_sdk.plugins", "BaseServeDeployment", deployment.BaseServeDeployment),
    (
        "synapse_sdk.plugins.actions.inference",
        "BaseServeDeployment",
        deployment.BaseServeDeployment,
    ),
]


@pytest.mark.parametrize(("module", "name", "expected"), SAME, ids=[f"{m}.{n}" for m, n, _ in SAME])
def test_reference_path_gives_our_object(module, name, expected):
    assert getattr(importlib.import_module(module), name) is expected


REFERENCE_TYPES = {
    "Dataset": ("dataset", None),
    "DMDataset": ("dm_dataset", None),
    "DMv1Dataset": ("dm_v1_dataset", "dm_v1"),
    "DMv2Dataset": ("dm_v2_dataset", "dm_v2"),
    "YOLODataset": ("yolo_dataset", "yolo"),
    "COCODataset": ("coco_dataset", "coco"),
    "PascalVOCDataset": ("pascal_voc_dataset", "pascal"),
    "Model": ("model", None),
    "ModelWeights": ("model_weights", "weights"),
    "ONNXModel": ("onnx_model", "onnx"),
    "TensorRTModel": ("tensorrt_model", "tensorrt"),
    "Result": ("result", None),
    "TestResults": ("test_results", "metrics"),
    "InferenceResults": ("inference_results", "predictions"),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_TYPES))
def test_every_reference_semantic_type_has_its_name_and_format(name):
    from synapse_sdk.plugins import types

    cls = getattr(types, name)
    assert issubclass(cls, types.DataType)
    assert (cls.name, cls.format) == REFERENCE_TYPES[name]
    assert types.get_data_type(cls.name) is cls


def test_compatibility_follows_the_reference_hierarchy():
    from synapse_sdk.plugins.types import Dataset, PascalVOCDataset, Result, TestResults

    assert PascalVOCDataset.is_compatible_with(Dataset)
    assert TestResults.is_compatible_with(Result)
    assert not TestResults.is_compatible_with(Dataset)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "from synapse_sdk.plugins.steps import BaseStepContext",
            "synapse_sdk has no BaseStepContext in synapse_sdk.plugins.steps "
            "(did you mean StepContext?)",
        ),
        (
            "from synapse_sdk.plugins.steps.utils import LoggingStep",
            "synapse_sdk has no LoggingStep in synapse_sdk.plugins.steps.utils "
            "(did you mean BaseStep?)",
        ),
        (
            "from synapse_sdk.plugins.actions.upload import DefaultUploadActon",
            "synapse_sdk has no DefaultUploadActon in synapse_sdk.plugins.actions.upload "
            "(did you mean DefaultUploadAction?)",
        ),
        (
            "from synapse_sdk.plugins.actions.auto_label import AutoLabelParam",
            "synapse_sdk has no AutoLabelParam in synapse_sdk.plugins.actions.auto_label "
            "(did you mean AutoLabelParams?)",
        ),
        (
            "from synapse_sdk.plugins.action import BaseActon",
            "synapse_sdk has no BaseActon in synapse_sdk.plugins.action (did you mean BaseAction?)",
        ),
    ],
)
def test_a_missing_name_says_what_to_use_never_install(statement, message):
    with pytest.raises(UnknownNameError) as info:
        exec(statement)
    assert str(info.value).splitlines()[0] == message
    assert "install" not in str(info.value)
    assert isinstance(info.value, ImportError)


def test_types_answer_getattr_probes_with_an_attribute_error():
    from synapse_sdk.plugins import types

    assert getattr(types, "NoSuchType", None) is None
    with pytest.raises(AttributeError, match=r"no PascalDataset .*did you mean PascalVOCDataset"):
        types.PascalDataset  # noqa: B018


def test_dunder_lookups_stay_plain_attribute_errors():
    from synapse_sdk.plugins import decorators

    assert not hasattr(decorators, "__wrapped__")


def test_validate_result_warns_and_returns_the_result_unchanged(caplog):
    from pydantic import BaseModel

    from synapse_sdk.plugins.action import validate_result

    class Out(BaseModel):
        weights_path: str

    wrong = {"wrong": 1}
    assert validate_result(wrong, Out) is wrong
    assert "Result does not match Out" in caplog.text
    assert validate_result(wrong, plugins.NoResult) is wrong
