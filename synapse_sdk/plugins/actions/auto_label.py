"""``BaseAutoLabelAction``: a smart tool's auto-labelling (the reference synapse-sdk's path).

A smart tool sends its input (a file URL, the model to use, tool settings); the action turns
it into a model's input, has the model answer, and turns the answer into annotations::

    class Params(AutoLabelParams):
        confidence_threshold: float = 0.5

    class AutoLabel(BaseAutoLabelAction[Params]):
        def handle_input(self, input_data):
            return {"image": input_data["file_url"]}

        def handle_output(self, output_data):
            return {"annotations": output_data["predictions"]}

:meth:`BaseAutoLabelAction.execute` runs ``handle_input -> run_inference -> handle_output``
with one progress step each. The model belongs to another plugin (``params.plugin`` at
``params.version``): the platform serves it. Here :meth:`~BaseAutoLabelAction.run_inference`
posts the model input to ``SYNAPSE_INFERENCE_URL`` from the run's env (with
``SYNAPSE_INFERENCE_TOKEN`` as a bearer token when set), e.g. the ``/run`` route of an
inference action served with ``synapse serve``; without it the run fails with
:class:`~synapse_sdk.plugins.errors.PlatformRequiredError`. A plugin (or a test) overrides
``run_inference`` to call its model some other way.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .._compat import module_getattr
from ..enums import PluginCategory
from ._common import CategoryAction, ProgressCategories, params_value

__all__ = [
    "AutoLabelParams",
    "AutoLabelProgress",
    "AutoLabelProgressCategories",
    "AutoLabelResult",
    "BaseAutoLabelAction",
]

P = TypeVar("P")


class AutoLabelParams(BaseModel):
    """Params of auto-label actions: the model to use. Subclass it for the tool's settings.

    Keys it does not declare are kept (a smart tool sends its own, such as ``file_url``) and
    reach :meth:`BaseAutoLabelAction.handle_input`: the one params model of synapse_sdk that
    is not strict about unknown keys, as the platform's smart tools expect.
    """

    model_config = ConfigDict(extra="allow")

    plugin: str = Field(description="Code of the plugin whose model answers")
    version: str = Field(description="Version of that plugin")
    model_id: int | None = Field(default=None, description="Id of the model to use")


class AutoLabelResult(BaseModel):
    """What a smart tool reads back: annotations and free-form metadata."""

    annotations: list[dict[str, Any]] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class AutoLabelProgress(ProgressCategories):
    """Progress steps of an auto-label run (``self.progress.INFERENCE`` ...)."""

    INPUT_TRANSFORM = "input_transform"
    INFERENCE = "inference"
    OUTPUT_TRANSFORM = "output_transform"


#: The reference synapse-sdk's name.
AutoLabelProgressCategories = AutoLabelProgress


class BaseAutoLabelAction(CategoryAction[P], Generic[P]):
    """Base of smart-tool auto-label actions (category ``smart_tool``).

    Override: :meth:`handle_input` and :meth:`handle_output` (required);
    :meth:`run_inference` to call the model another way; ``execute`` for a different flow.
    Final: the helpers of every category action (``client``, ``get_model``, ...).
    """

    category = PluginCategory.SMART_TOOL
    params_model = AutoLabelParams

    progress_categories = AutoLabelProgress
    progress: AutoLabelProgress

    #: seconds :meth:`run_inference` waits for the model's answer
    inference_timeout: float = 300.0

    @abstractmethod
    def handle_input(self, input_data: dict[str, Any]) -> dict[str, Any] | None:
        """Turn the tool's input (every param, undeclared keys included) into the model's
        input; None passes the input on unchanged."""

    @abstractmethod
    def handle_output(self, output_data: Any) -> Any:
        """Turn the model's answer into what the tool reads (``{'annotations': [...]}``);
        None returns the answer unchanged."""

    def run_inference(self, model_input: dict[str, Any]) -> Any:
        """The model's answer to ``model_input``.

        Posts ``model_input`` as JSON to ``SYNAPSE_INFERENCE_URL`` of the run's env: its
        ``json`` key, when present, is the whole body, and its ``method`` key the HTTP method
        (default POST), as the reference's serve call reads them. Without that URL raises
        :class:`PlatformRequiredError`: the platform's serving of ``params.plugin`` is out of
        reach. Override it to call the model some other way.
        """
        from ._serving import call_model

        return call_model(
            self.ctx,
            model_input,
            feature=f"the model of plugin {self._model_app()}",
            override="run_inference(self, model_input)",
            owner=type(self).__name__,
            timeout=self.inference_timeout,
        )

    def execute(self) -> Any:
        """``handle_input`` -> ``run_inference`` -> ``handle_output``, one progress step each."""
        params: Any = self.params
        input_data = params.model_dump() if isinstance(params, BaseModel) else dict(params)
        self.set_progress(1, 3, self.progress.INPUT_TRANSFORM)
        model_input = self.handle_input(input_data)
        if model_input is None:
            model_input = input_data
        self.set_progress(2, 3, self.progress.INFERENCE)
        model_output = self.run_inference(model_input)
        self.set_progress(3, 3, self.progress.OUTPUT_TRANSFORM)
        result = self.handle_output(model_output)
        return model_output if result is None else result

    def _model_app(self) -> str:
        plugin = params_value(self.params, "plugin")
        if not plugin:
            return "(params.plugin is not set)"
        return repr(f"{plugin}@{params_value(self.params, 'version')}")


__getattr__ = module_getattr(__name__, lambda: __all__)
