"""``BaseInferenceAction``: load a stored model once per process, run it over inputs.

::

    class Params(BaseInferenceParams):
        inputs: list[list[float]]

    class Predict(BaseInferenceAction[Params]):
        def load_model(self, path, record):
            return pickle.loads(path.read_bytes())

        def infer(self, model, inputs):
            return model.predict(inputs).tolist()

``execute()`` (override it for something else) loads ``params.model`` (cached: the next run
in the same process with the same model reuses it), splits ``get_inputs()`` into batches of
``params.batch_size``, reports progress per batch and returns ``{'model': id, 'predictions':
[...]}`` through :meth:`postprocess`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from .._compat import module_getattr
from ..enums import PluginCategory
from ._common import CategoryAction, ProgressCategories, has_param, params_value

# the reference synapse-sdk's serve deployments live at this path
from .deployment import BaseDeploymentAction, BaseServeDeployment, DeploymentProgressCategories

if TYPE_CHECKING:
    from ...clients.base import ModelRecord

__all__ = [
    "BaseDeploymentAction",
    "BaseInferenceAction",
    "BaseInferenceParams",
    "BaseServeDeployment",
    "DeploymentProgressCategories",
    "InferenceProgress",
    "clear_model_cache",
]

__getattr__ = module_getattr(__name__, lambda: __all__)


P = TypeVar("P")

# (action class, backend identity, model id, sha256) -> loaded model; a few, newest last.
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def clear_model_cache() -> None:
    """Forget every loaded model of this process."""
    with _CACHE_LOCK:
        _CACHE.clear()


class BaseInferenceParams(BaseModel):
    """Params of inference actions: the model id and the batch size."""

    model: int = Field(description="Id of the model to run")
    batch_size: int = Field(default=64, ge=1, description="Inputs per inference call")


class InferenceProgress(ProgressCategories):
    """Progress steps of an inference run (``self.progress.INFERENCE`` ...)."""

    MODEL_LOAD = "model_load"
    INFERENCE = "inference"
    POSTPROCESS = "postprocess"


class BaseInferenceAction(CategoryAction[P], Generic[P]):
    """Base of inference actions (category ``neural_net``).

    Override :meth:`load_model` and :meth:`infer`; optionally :meth:`get_inputs`,
    :meth:`postprocess` or ``execute``. :meth:`get_model_instance` is the cached loader.
    """

    category = PluginCategory.NEURAL_NET
    params_model = BaseInferenceParams
    model_cache_size = _CACHE_SIZE

    progress_categories = InferenceProgress
    progress: InferenceProgress

    # -- override these ----------------------------------------------------------------------

    def load_model(self, path: Path, record: ModelRecord) -> Any:
        """Turn the downloaded model file at ``path`` into a usable model (override).

        The file lives in the action's scratch directory, removed after the run: the returned
        model (cached for later runs) must not need it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override load_model(path, record) to load its model"
        )

    def infer(self, model: Any, inputs: Sequence[Any]) -> Sequence[Any]:
        """Predictions for one batch of ``inputs``, one per input (override)."""
        raise NotImplementedError(
            f"{type(self).__name__} must override infer(model, inputs) to run its model"
        )

    def get_inputs(self) -> Sequence[Any]:
        """The inputs to run on: ``params.inputs`` by default."""
        if not has_param(self.params, "inputs"):
            raise ValueError(
                f"{type(self).__name__}.get_inputs() reads params.inputs, but "
                f"{type(self.params).__name__} has no 'inputs' field: add one or override "
                "get_inputs()"
            )
        return params_value(self.params, "inputs") or []

    def postprocess(self, predictions: list[Any]) -> Any:
        """The action's result from all predictions (default: model id and predictions)."""
        return {"model": self.model_id, "predictions": predictions}

    # -- helpers -----------------------------------------------------------------------------

    @property
    def model_id(self) -> int:
        value = params_value(self.params, "model")
        if value is None:
            raise ValueError(f"{type(self).__name__}: params.model (a model id) is not set")
        return int(value)

    def get_model_instance(self, model_id: int | None = None) -> Any:
        """The loaded model ``model_id`` (default ``params.model``), loaded at most once per
        process and stored file (same backend, same id, same content)."""
        client = self._client_for("get_model_instance()")
        mid = self.model_id if model_id is None else model_id
        record = client.get_model(mid)
        key = (type(self), _backend_key(client), mid, record["file"]["sha256"])
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                self.log("model_reused", {"model_id": mid})
                return _CACHE[key]
        self.set_progress(0, 1, step=self.progress.MODEL_LOAD)
        path = self.download_model(record)
        model = self.load_model(path, record)
        self.set_progress(1, 1, step=self.progress.MODEL_LOAD)
        self.log("model_loaded", {"model_id": mid})
        with _CACHE_LOCK:
            _CACHE[key] = model
            while len(_CACHE) > max(1, self.model_cache_size):
                _CACHE.popitem(last=False)
        return model

    def execute(self) -> Any:
        model = self.get_model_instance()
        inputs = list(self.get_inputs())
        size = int(params_value(self.params, "batch_size") or 64)
        predictions: list[Any] = []
        total = len(inputs)
        self.set_progress(0, total, step=self.progress.INFERENCE)
        for start in range(0, total, size):
            batch = inputs[start : start + size]
            out = list(self.infer(model, batch))
            if len(out) != len(batch):
                raise ValueError(
                    f"{type(self).__name__}.infer returned {len(out)} predictions for "
                    f"{len(batch)} inputs; return one per input"
                )
            predictions.extend(out)
            self.set_progress(len(predictions), total, step=self.progress.INFERENCE)
        return self.postprocess(predictions)


def _backend_key(client: Any) -> str:
    root = getattr(client, "root", None)
    return f"{type(client).__name__}:{root}" if root is not None else f"{id(client)}"
