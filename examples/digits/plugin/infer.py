"""``infer``: classify digit images with a trained model (loaded once per process)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from synapse_sdk.plugins import BaseInferenceAction
from synapse_sdk.plugins.actions.inference import BaseInferenceParams
from synapse_sdk.plugins.types import ModelWeights, Predictions

from .data import bundled_digits, latest_model_id, load_model, predict_proba


class InferParams(BaseInferenceParams):
    model: int | None = Field(  # type: ignore[assignment]
        default=None, description="Model id; by default the newest model named 'digits'"
    )
    samples: list[int] = Field(
        default_factory=lambda: list(range(10)),
        description="Indices of scikit-learn's bundled digits to classify",
    )
    images: list[list[float]] | None = Field(
        default=None, description="Images to classify instead: 64 grey levels (0..16) each"
    )


class InferAction(BaseInferenceAction[InferParams]):
    input_type = ModelWeights
    output_type = Predictions

    @property
    def model_id(self) -> int:
        return latest_model_id(self.client, self.params.model)

    def load_model(self, path: Path, record: Any) -> dict[str, np.ndarray]:
        return load_model(path)

    def get_inputs(self) -> Sequence[Any]:
        if self.params.images is not None:
            return self.params.images
        images, _ = bundled_digits()
        return [images[i] for i in self.params.samples]

    def infer(self, model: dict[str, np.ndarray], inputs: Sequence[Any]) -> list[dict[str, Any]]:
        probs = predict_proba(model, np.asarray(inputs))
        return [
            {"label": int(row.argmax()), "confidence": round(float(row.max()), 4)} for row in probs
        ]

    def postprocess(self, predictions: list[Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"model": self.model_id, "predictions": predictions}
        if self.params.images is None:
            _, labels = bundled_digits()
            truth = [int(labels[i]) for i in self.params.samples]
            hits = sum(p["label"] == t for p, t in zip(predictions, truth, strict=True))
            result["labels"] = truth
            result["accuracy"] = round(hits / max(1, len(truth)), 4)
        return result
