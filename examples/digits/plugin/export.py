"""``export``: write a trained model as dependency-free JSON, checked against the original."""

from __future__ import annotations

import json
import math

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseExportAction
from synapse_sdk.plugins.types import Model, ModelWeights

from .data import bundled_digits, latest_model_id, load_model, predict_proba


class ExportParams(BaseModel):
    output_dir: str = Field(default="digits-export", description="Where to write the export")
    model: int | None = Field(default=None, description="Model id; default: the newest 'digits'")


class ExportResult(BaseModel):
    path: str
    model: int
    agreement: float


def predict_json(model: dict, pixels: list[float]) -> int:
    """Pure-Python prediction from the exported JSON (what any consumer would do)."""
    x = [p / model["scale"] for p in pixels]
    scores = [
        sum(xi * w[c] for xi, w in zip(x, model["weights"], strict=True)) + model["bias"][c]
        for c in range(len(model["classes"]))
    ]
    best = max(range(len(scores)), key=scores.__getitem__)
    assert math.isfinite(scores[best])
    return int(model["classes"][best])


class ExportAction(BaseExportAction[ExportParams]):
    input_type = ModelWeights
    output_type = Model
    result_model = ExportResult

    def execute(self) -> ExportResult:
        model_id = latest_model_id(self.client, self.params.model)
        self.set_progress(0, 2, step=self.progress.PREPARE)
        model = load_model(self.download_model(model_id))
        self.set_progress(1, 2, step=self.progress.PREPARE)
        exported = {
            "format": "softmax-linear/v1",
            "input": "8x8 grey levels, row-major, divided by scale",
            "scale": float(model["scale"]),
            "classes": list(range(10)),
            "weights": model["weights"].round(6).tolist(),
            "bias": model["bias"].round(6).tolist(),
        }
        target = self.output_path(f"digits-model-{model_id}.json")
        target.write_text(json.dumps(exported))
        self.set_progress(2, 2, step=self.progress.PREPARE)

        images, _ = bundled_digits(limit=100)
        reference = predict_proba(model, images).argmax(axis=1)
        total = len(images)
        same = 0
        for i, image in enumerate(images, 1):
            same += predict_json(exported, [float(v) for v in image]) == int(reference[i - 1])
            if i % 25 == 0:
                self.set_progress(i, total, step=self.progress.EXPORT)
        return ExportResult(path=str(target), model=model_id, agreement=same / total)
