from pydantic import BaseModel, Field

from plugin.common import WHO
from synapse_sdk.plugins import BaseAction
from synapse_sdk.plugins.types import DMv2Dataset, ModelWeights

from .common import loss_after


class TrainParams(BaseModel):
    epochs: int = Field(default=2, ge=1)


class TrainResult(BaseModel):
    plugin: str
    final_loss: float


class TrainAction(BaseAction[TrainParams]):
    """Train a tiny model."""

    input_type = DMv2Dataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self) -> TrainResult:
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs, step="train")
        return TrainResult(plugin=WHO, final_loss=loss_after(self.params.epochs))
