"""The spec's two actions, run locally: a function action and a class action.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from synapse_sdk.plugins import (
    BaseAction,
    ConsoleSink,
    JsonlSink,
    RuntimeContext,
    action,
    run_action,
)
from synapse_sdk.plugins.enums import PluginCategory


class ConvertParams(BaseModel):
    input_path: str
    output_format: str = Field(default="yolo", description="Target format")


class ConvertResult(BaseModel):
    output_path: str
    file_count: int


@action(
    name="convert",
    description="Convert dataset to target format",
    params=ConvertParams,
    result=ConvertResult,
)
def convert(params: ConvertParams, ctx: RuntimeContext) -> ConvertResult:
    """Write one label file per input line into a sibling folder named after the format."""
    source = Path(params.input_path)
    lines = source.read_text().splitlines()
    out_dir = source.parent / f"{source.stem}_{params.output_format}"
    out_dir.mkdir(exist_ok=True)
    ctx.set_progress(0, len(lines))
    for i, line in enumerate(lines, 1):
        (out_dir / f"{i:04d}.txt").write_text(line + "\n")
        ctx.set_progress(i, len(lines))
    return ConvertResult(output_path=str(out_dir), file_count=len(lines))


class TrainParams(BaseModel):
    epochs: int = Field(default=10, ge=1, le=1000)
    learning_rate: float = Field(default=0.1, gt=0, lt=1)


class TrainResult(BaseModel):
    weights: list[float]
    final_loss: float


class TrainAction(BaseAction[TrainParams]):
    """Fit y = 2x + 1 by gradient descent."""

    action_name = "train"
    category = PluginCategory.NEURAL_NET
    result_model = TrainResult

    def execute(self) -> TrainResult:
        xs = [i / 10 for i in range(20)]
        ys = [2 * x + 1 for x in xs]
        w, b = 0.0, 0.0
        lr = self.params.learning_rate
        self.log("train_start", {"epochs": self.params.epochs, "lr": lr})
        loss = 0.0
        for epoch in range(self.params.epochs):
            gw = sum(2 * (w * x + b - y) * x for x, y in zip(xs, ys, strict=True)) / len(xs)
            gb = sum(2 * (w * x + b - y) for x, y in zip(xs, ys, strict=True)) / len(xs)
            w, b = w - lr * gw, b - lr * gb
            loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys, strict=True)) / len(xs)
            self.set_progress(epoch + 1, self.params.epochs, step="train")
            self.set_metrics({"loss": loss, "epoch": epoch + 1}, step="train")
        return TrainResult(weights=[round(w, 4), round(b, 4)], final_loss=loss)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="synapse-quickstart-"))
    data = workdir / "boxes.txt"
    data.write_text("\n".join(f"0 0.5 0.5 0.{i} 0.{i}" for i in range(1, 8)))
    console = ConsoleSink(sys.stdout)

    run = run_action(convert, {"input_path": str(data)}, sinks=[console])
    print("convert ->", run.result)

    log_path = workdir / "train.jsonl"
    run = run_action(TrainAction, {"epochs": 50}, sinks=[console, JsonlSink(log_path)])
    print("train ->", run.result)
    print(f"run log: {log_path} ({len(run.events)} events)")
    return 0 if run.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
