"""``BaseTrainAction``: training with dataset, checkpoint and model helpers over the backend.

::

    from synapse_sdk.plugins import BaseTrainAction
    from synapse_sdk.plugins.actions.train import BaseTrainParams

    class MyTrainParams(BaseTrainParams):
        epochs: int = 100
        dataset: int  # required for get_dataset()

    class MyTrainAction(BaseTrainAction[MyTrainParams]):
        def execute(self) -> dict:
            dataset = self.get_dataset()
            checkpoint = self.get_checkpoint()
            ...
            model = self.create_model(model_path, name='my-model')
            return {'model_id': model['id']}
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from ..enums import PluginCategory
from ..steps import BaseStep, StepContext, StepRegistry, default_steps
from ._common import CategoryAction, DatasetView, ProgressCategories, has_param, params_value

if TYPE_CHECKING:
    from ...clients.base import ModelRecord

__all__ = [
    "BaseTrainAction",
    "BaseTrainParams",
    "Checkpoint",
    "DatasetStep",
    "ModelUploadStep",
    "TrainProgress",
    "TrainStep",
]

P = TypeVar("P")


class BaseTrainParams(BaseModel):
    """Params every training action understands; subclass it and add yours.

    Add ``dataset: int`` to use :meth:`BaseTrainAction.get_dataset`. ``checkpoint`` is the id
    of a model to resume from (:meth:`BaseTrainAction.get_checkpoint`).
    """

    checkpoint: int | None = Field(
        default=None, description="Id of a model to resume training from"
    )


class TrainProgress(ProgressCategories):
    """Progress steps of a training run (``self.progress.TRAIN`` ...)."""

    DATASET = "dataset"
    TRAIN = "train"
    MODEL_UPLOAD = "model_upload"


@dataclass(frozen=True)
class Checkpoint:
    """A model to resume from: its backend record and the downloaded file."""

    model: ModelRecord
    path: Path

    @property
    def id(self) -> int:
        return self.model["id"]


class BaseTrainAction(CategoryAction[P], Generic[P]):
    """Base of training actions (category ``neural_net``).

    Override ``execute``. Helpers: :meth:`get_dataset`, :meth:`get_checkpoint`,
    :meth:`create_model`, :meth:`get_model`, and ``self.progress.DATASET / TRAIN /
    MODEL_UPLOAD`` as step names for ``set_progress``.
    """

    category = PluginCategory.NEURAL_NET
    params_model = BaseTrainParams

    progress_categories = TrainProgress
    progress: TrainProgress

    @default_steps
    def setup_steps(self, registry: StepRegistry) -> None:
        """Offer the default steps ``dataset -> train -> model_upload`` (weights 1, 8, 1).

        A subclass uses them by defining ``train_model`` and its own ``setup_steps`` that
        calls ``super().setup_steps(registry)`` (then inserts or removes steps); a subclass
        defining ``execute`` does not use them. The run's result is the uploaded model record.
        """
        registry.register(DatasetStep())
        registry.register(TrainStep())
        registry.register(ModelUploadStep())

    def train_model(self, dataset: DatasetView | None, checkpoint: Checkpoint | None) -> Any:
        """The work of the default ``train`` step: train, then return the path of the model
        file or directory for the ``model_upload`` step (or None to upload nothing)."""
        raise NotImplementedError(
            f"{type(self).__name__} runs the default training steps but does not define "
            f"train_model(self, dataset, checkpoint) -> model path; define it, or define "
            f"execute() instead of setup_steps()"
        )

    def get_dataset(self) -> DatasetView:
        """The training dataset named by ``params.dataset`` (a dataset id).

        Raises ValueError when the params model has no ``dataset`` field: add one, or override
        this method to load your data another way.
        """
        if not has_param(self.params, "dataset"):
            raise ValueError(
                f"{type(self).__name__}.get_dataset() needs a 'dataset' field in the params model "
                f"{type(self.params).__name__}, which has none. Either add `dataset: int` (the "
                f"dataset id) to {type(self.params).__name__}, or override get_dataset() in "
                f"{type(self).__name__} to load the data yourself."
            )
        dataset_id = params_value(self.params, "dataset")
        if dataset_id is None:
            raise ValueError(
                f"{type(self).__name__}.get_dataset(): params.dataset is not set; pass the "
                "dataset id (list them with `synapse backend datasets`)"
            )
        self.set_progress(0, 1, step=self.progress.DATASET)
        view = self.fetch_dataset(int(dataset_id))
        self.set_progress(1, 1, step=self.progress.DATASET)
        return view

    def get_checkpoint(self) -> Checkpoint | None:
        """The model to resume from when ``params.checkpoint`` is set (downloaded), else None."""
        model_id = params_value(self.params, "checkpoint")
        if model_id is None:
            return None
        record = self.get_model(int(model_id))
        return Checkpoint(record, self.download_model(record))

    def create_model(self, path: str | os.PathLike[str], **kwargs: Any) -> ModelRecord:
        """Upload the trained model at ``path`` (a file, or a directory stored as a .zip) and
        return its record, a dict with ``id``.

        ``kwargs``: ``name`` (default: the action name), ``description``, ``meta``; the
        dataset, the checkpoint it resumed from and the run's job are linked automatically.
        """
        client = self._client_for("create_model()")
        source = Path(path)
        if source.is_dir():
            archive = shutil.make_archive(
                str(self.work_dir / f"{source.name or 'model'}"), "zip", root_dir=source
            )
            source = Path(archive)
        elif not source.exists():
            raise FileNotFoundError(f"create_model(): {source} does not exist")
        kwargs.setdefault("name", self.ctx.action_name or type(self).__name__)
        kwargs.setdefault("dataset", _int_or_none(params_value(self.params, "dataset")))
        kwargs.setdefault("parent", _int_or_none(params_value(self.params, "checkpoint")))
        kwargs.setdefault("job", self._job_id())
        self.set_progress(0, 1, step=self.progress.MODEL_UPLOAD)
        record = client.create_model(source, **kwargs)
        self.set_progress(1, 1, step=self.progress.MODEL_UPLOAD)
        self.log("model_created", {"model_id": record["id"], "name": record["name"]})
        return record


class DatasetStep(BaseStep[DatasetView]):
    """Default step ``dataset``: ``get_dataset()``; skipped when ``params.dataset`` is unset."""

    name = TrainProgress.DATASET
    progress_weight = 1

    def can_skip(self, ctx: StepContext) -> bool:
        return params_value(ctx.params, "dataset") is None

    def execute(self, ctx: StepContext) -> DatasetView:
        return ctx.action.get_dataset()


class TrainStep(BaseStep[Any]):
    """Default step ``train``: the action's ``train_model(dataset, checkpoint)``."""

    name = TrainProgress.TRAIN
    progress_weight = 8

    def execute(self, ctx: StepContext) -> Any:
        dataset = ctx.result_of(TrainProgress.DATASET) if ctx.ran(TrainProgress.DATASET) else None
        return ctx.action.train_model(dataset, ctx.action.get_checkpoint())


class ModelUploadStep(BaseStep["ModelRecord"]):
    """Default step ``model_upload``: ``create_model(<path train_model returned>)``;
    skipped when it returned None."""

    name = TrainProgress.MODEL_UPLOAD
    progress_weight = 1

    def can_skip(self, ctx: StepContext) -> bool:
        return not ctx.ran(TrainProgress.TRAIN) or ctx.result_of(TrainProgress.TRAIN) is None

    def execute(self, ctx: StepContext) -> ModelRecord:
        return ctx.action.create_model(ctx.result_of(TrainProgress.TRAIN))


def _int_or_none(value: Any) -> int | None:
    # only ids link records: a dataset given as a path (an overridden get_dataset) does not
    return value if isinstance(value, int) and not isinstance(value, bool) else None
