"""Semantic data types for action inputs and outputs.

A ``DataType`` subclass names what flows between actions (``input_type`` / ``output_type``).
Compatibility is subclassing: an action that accepts ``Dataset`` accepts ``DMv2Dataset``.
Each type has a stable snake_case ``name`` used in config.yaml; look one up with
:func:`get_data_type`. Define your own by subclassing and setting ``name``.

Names and formats are the reference synapse-sdk's, so the ``input_type`` / ``output_type`` of
its plugins (in code and in config.yaml) mean the same here.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "COCODataset",
    "DMDataset",
    "DMv1Dataset",
    "DMv2Dataset",
    "DataType",
    "Dataset",
    "ImageFile",
    "InferenceResults",
    "Model",
    "ModelWeights",
    "ONNXModel",
    "PascalVOCDataset",
    "Predictions",
    "Result",
    "TensorRTModel",
    "TestResults",
    "YOLODataset",
    "data_type_names",
    "get_data_type",
]


class DataType:
    """Base of all semantic types. Never instantiated: the classes themselves are the values."""

    name: ClassVar[str] = "data"
    format: ClassVar[str | None] = None
    description: ClassVar[str] = ""

    @classmethod
    def is_compatible_with(cls, other: type[DataType]) -> bool:
        """True when a value of this type can be used where ``other`` is expected."""
        return issubclass(cls, other)


class Dataset(DataType):
    name = "dataset"
    description = "A collection of data items, usually with annotations"


class DMDataset(Dataset):
    name = "dm_dataset"
    description = "A dataset in Datamaker format"


class DMv1Dataset(DMDataset):
    name = "dm_v1_dataset"
    format = "dm_v1"
    description = "A dataset in Datamaker v1 format"


class DMv2Dataset(DMDataset):
    name = "dm_v2_dataset"
    format = "dm_v2"
    description = "A dataset in Datamaker v2 format"


class YOLODataset(Dataset):
    name = "yolo_dataset"
    format = "yolo"
    description = "A dataset in YOLO format"


class COCODataset(Dataset):
    name = "coco_dataset"
    format = "coco"
    description = "A dataset in COCO format"


class PascalVOCDataset(Dataset):
    name = "pascal_voc_dataset"
    format = "pascal"
    description = "A dataset in Pascal VOC format"


class Model(DataType):
    name = "model"
    description = "A trained model"


class ModelWeights(Model):
    name = "model_weights"
    format = "weights"
    description = "Trained model weights"


class ONNXModel(Model):
    name = "onnx_model"
    format = "onnx"
    description = "A model exported to ONNX"


class TensorRTModel(Model):
    name = "tensorrt_model"
    format = "tensorrt"
    description = "A model compiled with TensorRT"


class ImageFile(DataType):
    name = "image_file"
    description = "A single image file"


class Result(DataType):
    name = "result"
    description = "The output of an action"


class TestResults(Result):
    __test__ = False  # a data type, not a pytest test class

    name = "test_results"
    format = "metrics"
    description = "Evaluation results: metrics of a model on a test set"


class Predictions(Result):
    name = "predictions"
    description = "Model predictions"


class InferenceResults(Predictions):
    name = "inference_results"
    format = "predictions"
    description = "Results of running inference over a set of inputs"


def _all_types() -> dict[str, type[DataType]]:
    found: dict[str, type[DataType]] = {}
    stack: list[type[DataType]] = [DataType]
    while stack:
        cls = stack.pop()
        found.setdefault(cls.name, cls)
        stack.extend(cls.__subclasses__())
    return found


def __getattr__(name: str) -> Any:
    from ._compat import module_getattr

    # an AttributeError: discovery probes this module with getattr(types, name, None)
    return module_getattr(__name__, lambda: __all__, probed=True)(name)


def data_type_names() -> list[str]:
    """Names of every known DataType (built-in and user subclasses), sorted."""
    return sorted(_all_types())


def get_data_type(name: str) -> type[DataType]:
    """The DataType class registered under ``name`` (its ``name`` attribute).

    Raises KeyError with a "did you mean" when ``name`` is unknown.
    """
    types = _all_types()
    try:
        return types[name]
    except KeyError:
        from .errors import did_you_mean

        guess = did_you_mean(name, types)
        hint = (
            f"; did you mean {guess!r}?" if guess else f"; known types: {', '.join(sorted(types))}"
        )
        raise KeyError(f"Unknown data type {name!r}{hint}") from None
