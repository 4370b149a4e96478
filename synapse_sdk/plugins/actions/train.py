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

The reference synapse-sdk's form runs too: ``execute(self, data_path, checkpoint)`` (two
arguments) gets the dataset downloaded to a local directory (converted by
:meth:`BaseTrainAction.convert_dataset` when ``target_format`` is set) and the checkpoint as a
dict; the ``weights_path`` of its result is uploaded as the model (see
:meth:`BaseTrainAction.setup_steps`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field, model_validator

from .._compat import module_getattr
from ..enums import PluginCategory
from ..errors import ActionDefinitionError, ValidationError
from ..steps import BaseStep, StepContext, StepRegistry, default_steps
from ._common import CategoryAction, DatasetView, ProgressCategories, has_param, params_value

if TYPE_CHECKING:
    from ...clients.base import ModelRecord

__all__ = [
    "BaseTrainAction",
    "BaseTrainParams",
    "Checkpoint",
    "ConvertStep",
    "DatasetStep",
    "DownloadDatasetStep",
    "ModelUploadStep",
    "TrainProgress",
    "TrainStep",
    "WeightsUploadStep",
]

P = TypeVar("P")


class BaseTrainParams(BaseModel):
    """Params every training action understands; subclass it and add yours.

    These are the fields the platform sends to training actions. ``dataset`` is the id of the
    dataset (:meth:`BaseTrainAction.get_dataset`; declare ``dataset: int`` in your subclass to
    make it required), ``checkpoint`` the id of a model to resume from
    (:meth:`BaseTrainAction.get_checkpoint`), ``splits`` the platform's split definitions.
    ``hyperparameters`` is the platform's list of hyperparameter sets: the first set fills
    the fields of your subclass that the params do not give themselves (its other keys stay
    in the list, since unknown params are rejected). ``is_tune`` asks for a tuning run, which
    synapse_sdk does not do: a run with ``is_tune=True`` fails saying so.
    """

    dataset: int | None = Field(default=None, description="Id of the dataset to train on")
    splits: dict[str, Any] | None = Field(
        default=None,
        description="Split definitions: {'train': {...filters}, 'valid': {...}}",
    )
    checkpoint: int | None = Field(
        default=None, description="Id of a model to resume training from"
    )
    is_tune: bool = Field(default=False, description="Hyperparameter tuning run (unsupported)")
    hyperparameters: list[dict[str, Any]] | None = Field(
        default=None,
        description="Hyperparameter sets from the platform; the first fills the params",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_hyperparameters(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("is_tune"):
            return data  # a tuning run's hyperparameters are a search space, not values
        sets = data.get("hyperparameters")
        if not (isinstance(sets, list) and sets and isinstance(sets[0], dict)):
            return data
        fields = cls.model_fields
        given = {k: v for k, v in sets[0].items() if k in fields and k not in data}
        return {**data, **given} if given else data


#: The step of a reference-form action that runs ``convert_dataset`` (with ``target_format``).
CONVERT_STEP = "convert"


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

    #: Format the dataset is converted to before a reference-form ``execute(data_path,
    #: checkpoint)`` runs (``'yolo'``, ``'coco'``, ...), by :meth:`convert_dataset`; None
    #: passes the downloaded dataset as it is.
    target_format: ClassVar[str | None] = None
    # True when the class's execute takes (data_path, checkpoint): the reference's form
    _reference_execute: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = getattr(cls.execute, "__code__", None)
        cls._reference_execute = code is not None and code.co_argcount >= 3
        if cls._reference_execute:
            cls._uses_steps = True  # it runs as steps whatever setup_steps says

    @default_steps
    def setup_steps(self, registry: StepRegistry) -> None:
        """Offer the default steps ``dataset -> train -> model_upload`` (weights 1, 8, 1).

        A subclass uses them by defining ``train_model`` and its own ``setup_steps`` that
        calls ``super().setup_steps(registry)`` (then inserts or removes steps); a subclass
        defining ``execute`` does not use them. The run's result is the uploaded model record.

        A subclass in the reference's form, ``execute(self, data_path, checkpoint)``, always
        runs as steps: ``dataset`` (download ``params.dataset``; skipped without one),
        ``convert`` (only with ``target_format``), ``train`` (its ``execute``) and
        ``model_upload`` (the result's ``weights_path``, when there is one and a backend);
        the run's result is what ``execute`` returned, with ``model_id`` added to a dict
        result when a model was uploaded.
        """
        if self._reference_execute:
            if params_value(self.params, "is_tune"):
                raise ValidationError(
                    f"{type(self).__name__}: params.is_tune asks for a hyperparameter tuning "
                    "run, which synapse_sdk does not do",
                    errors=[
                        {"loc": ("is_tune",), "msg": "tuning is not supported", "type": "value"}
                    ],
                    action=self.ctx.action_name,
                    hint="run a training per hyperparameter set (is_tune=false), or tune in "
                    "execute() with your own tuner",
                )
            registry.register(DownloadDatasetStep())
            if self.target_format:
                registry.register(ConvertStep())
            registry.register(TrainStep())
            registry.register(WeightsUploadStep())
            return
        registry.register(DatasetStep())
        registry.register(TrainStep())
        registry.register(ModelUploadStep())

    def result_from_steps(self, context: StepContext) -> Any:
        if not self._reference_execute or not context.ran(TrainProgress.TRAIN):
            return super().result_from_steps(context)
        result = context.result_of(TrainProgress.TRAIN)
        if isinstance(result, dict) and context.ran(TrainProgress.MODEL_UPLOAD):
            uploaded = context.result_of(TrainProgress.MODEL_UPLOAD)
            if uploaded is not None:
                result = {**result, "model_id": uploaded["id"]}
        return result

    def convert_dataset(self, path: Path, target_format: str) -> Path:
        """Convert the downloaded dataset at ``path`` to ``target_format``; return the path
        ``execute(data_path, checkpoint)`` gets (a directory, or a file such as YOLO's
        ``dataset.yaml``). Override it: synapse_sdk ships no dataset converters."""
        raise ActionDefinitionError(
            f"{type(self).__name__}.target_format is {target_format!r}, but synapse_sdk has no "
            f"built-in converter to {target_format!r}",
            action=self.ctx.action_name,
            hint="define `def convert_dataset(self, path, target_format) -> Path` returning "
            "the converted dataset (the dataset is downloaded to `path` as "
            "<data unit id>/<file name>), or set target_format = None",
        )

    def reference_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint a reference-form ``execute`` gets: ``ctx.checkpoint`` when the
        platform set one, else the model of ``params.checkpoint`` downloaded, as
        ``{'category', 'path', 'id', 'name'}``; None without either."""
        if self.ctx.checkpoint is not None:
            return self.ctx.checkpoint
        found = self.get_checkpoint()
        if found is None:
            return None
        model: Any = found.model
        return {
            "category": model.get("category") or model["meta"].get("category") or "base",
            "path": found.path,
            "id": found.id,
            "name": model["name"],
        }

    def report_metrics(
        self, metrics: dict[str, Any], *, epoch: int | None = None, category: str = "train"
    ) -> None:
        """Record ``metrics`` for ``epoch`` under ``category`` (the reference's helper):
        ``log_metric(category, 'epoch', epoch or 0, **metrics)``."""
        self.log_metric(category, "epoch", epoch if epoch is not None else 0, **metrics)

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
    """Default step ``train``: the action's ``train_model(dataset, checkpoint)``, or for an
    action in the reference's form its ``execute(data_path, checkpoint)``."""

    name = TrainProgress.TRAIN
    progress_weight = 8

    def execute(self, ctx: StepContext) -> Any:
        action = ctx.action
        if action._reference_execute:
            data_path = None
            for step in (CONVERT_STEP, TrainProgress.DATASET):
                if ctx.ran(step):
                    data_path = ctx.result_of(step)
                    break
            return action.execute(data_path, action.reference_checkpoint())
        dataset = ctx.result_of(TrainProgress.DATASET) if ctx.ran(TrainProgress.DATASET) else None
        return action.train_model(dataset, action.get_checkpoint())


class DownloadDatasetStep(BaseStep[Path]):
    """Step ``dataset`` of a reference-form action: download ``params.dataset`` into the
    scratch directory and return its path; skipped when ``params.dataset`` is unset."""

    name = TrainProgress.DATASET
    progress_weight = 2

    def can_skip(self, ctx: StepContext) -> bool:
        return params_value(ctx.params, "dataset") is None

    def execute(self, ctx: StepContext) -> Path:
        if params_value(ctx.params, "splits"):
            ctx.runtime.warn(
                "params.splits is not applied: the whole dataset is downloaded (split it in "
                "execute() or convert_dataset())",
                code="splits_ignored",
            )
        action = ctx.action
        return action.download_dataset_files(
            int(params_value(ctx.params, "dataset")), step=TrainProgress.DATASET
        )


class ConvertStep(BaseStep[Path]):
    """Step ``convert`` of a reference-form action with ``target_format``:
    :meth:`BaseTrainAction.convert_dataset`; skipped when no dataset was downloaded."""

    name = CONVERT_STEP
    progress_weight = 1

    def can_skip(self, ctx: StepContext) -> bool:
        return not ctx.ran(TrainProgress.DATASET)

    def execute(self, ctx: StepContext) -> Path:
        action = ctx.action
        return Path(
            action.convert_dataset(ctx.result_of(TrainProgress.DATASET), action.target_format)
        )


class WeightsUploadStep(BaseStep["ModelRecord | None"]):
    """Step ``model_upload`` of a reference-form action: upload the ``weights_path`` of the
    train step's result as the model. Skipped when there is none; with no backend (or a path
    that does not exist) it warns and uploads nothing."""

    name = TrainProgress.MODEL_UPLOAD
    progress_weight = 1

    def can_skip(self, ctx: StepContext) -> bool:
        return _weights_path(ctx.result_of(TrainProgress.TRAIN)) is None

    def execute(self, ctx: StepContext) -> ModelRecord | None:
        path = Path(str(_weights_path(ctx.result_of(TrainProgress.TRAIN))))
        if ctx.client is None:
            ctx.runtime.warn(
                f"weights_path {path} is not uploaded: the run has no backend "
                "(pass one with --backend or client=)",
                code="model_upload_skipped",
            )
            return None
        if not path.exists():
            ctx.runtime.warn(
                f"weights_path {path} does not exist; no model is uploaded",
                code="model_upload_skipped",
            )
            return None
        action = ctx.action
        name = params_value(ctx.params, "name")
        return action.create_model(path, **({"name": name} if isinstance(name, str) else {}))


def _weights_path(result: Any) -> Any:
    if hasattr(result, "model_dump"):
        result = result.model_dump()
    return result.get("weights_path") if isinstance(result, dict) else None


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


__getattr__ = module_getattr(__name__, lambda: __all__)
