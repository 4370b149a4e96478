"""``train``: softmax regression on the digits, trained epoch by epoch with mini-batch SGD."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseTrainAction
from synapse_sdk.plugins.actions.dataset import DatasetView
from synapse_sdk.plugins.actions.train import BaseTrainParams
from synapse_sdk.plugins.types import Dataset, ModelWeights

from .data import (
    DATASET_NAME,
    MODEL_NAME,
    digit_units,
    load_arrays,
    load_model,
    save_model,
    softmax,
)


class TrainParams(BaseTrainParams):
    dataset: int | None = Field(
        default=None,
        description="Dataset id; by default scikit-learn's digits, imported on first use",
    )
    epochs: int = Field(default=30, ge=1, le=1000)
    learning_rate: float = Field(default=0.5, gt=0, le=10)
    batch_size: int = Field(default=64, ge=1)
    validation_split: float = Field(default=0.2, gt=0, lt=0.9)
    seed: int = Field(
        default=0, ge=0, description="Seed of the shuffles (numpy needs it non-negative)"
    )


class TrainResult(BaseModel):
    model_id: int
    stored_in: str
    val_accuracy: float
    epochs: int


class TrainAction(BaseTrainAction[TrainParams]):
    """Train a softmax classifier and upload it with ``create_model``."""

    input_type = Dataset
    output_type = ModelWeights
    result_model = TrainResult

    def get_dataset(self) -> DatasetView:
        """The given dataset, or the bundled digits (imported into the backend once)."""
        if self.params.dataset is not None:
            return super().get_dataset()
        existing = [d for d in self.client.list_datasets() if d["name"] == DATASET_NAME]
        if existing:
            return self.fetch_dataset(existing[-1]["id"])
        self.log("importing_bundled_digits", {"name": DATASET_NAME})
        dataset = self.client.create_dataset(DATASET_NAME, meta={"source": "sklearn"})
        self.client.add_data_units(dataset["id"], digit_units())
        return self.fetch_dataset(dataset["id"])

    def execute(self) -> TrainResult:
        p = self.params
        view = self.get_dataset()
        units = list(view.data_units())
        x, y = load_arrays(
            units,
            lambda unit: view.read(unit, "image"),
            lambda done, total: self.set_progress(done, total, step=self.progress.DATASET),
        )
        rng = np.random.default_rng(p.seed)
        order = rng.permutation(len(y))
        n_val = max(1, int(len(y) * p.validation_split))
        val, train = order[:n_val], order[n_val:]

        weights = np.zeros((x.shape[1], 10))
        bias = np.zeros(10)
        checkpoint = self.get_checkpoint()
        if checkpoint is not None:
            start = load_model(checkpoint.path)
            weights, bias = start["weights"].copy(), start["bias"].copy()
        onehot = np.eye(10)[y]
        accuracy = 0.0
        for epoch in range(1, p.epochs + 1):
            rng.shuffle(train)
            for i in range(0, len(train), p.batch_size):
                batch = train[i : i + p.batch_size]
                grad = softmax(x[batch] @ weights + bias) - onehot[batch]
                weights -= p.learning_rate * x[batch].T @ grad / len(batch)
                bias -= p.learning_rate * grad.mean(axis=0)
            probs = softmax(x @ weights + bias)
            loss = float(-np.log(probs[train, y[train]] + 1e-12).mean())
            accuracy = float((probs[val].argmax(axis=1) == y[val]).mean())
            self.set_progress(epoch, p.epochs, step=self.progress.TRAIN)
            self.set_metrics(
                {"epoch": epoch, "loss": round(loss, 5), "val_accuracy": round(accuracy, 4)},
                step=self.progress.TRAIN,
            )
        path = save_model(self.work_dir / "digits-model.npz", weights, bias)
        model = self.create_model(
            path,
            name=MODEL_NAME,
            dataset=view.id,  # also when params.dataset is None (the bundled digits)
            description=f"softmax regression, {p.epochs} epochs",
            meta={"val_accuracy": accuracy, "epochs": p.epochs, "format": "npz-softmax"},
        )
        return TrainResult(
            model_id=model["id"],
            stored_in=str(getattr(self.client, "root", self.client)),
            val_accuracy=round(accuracy, 4),
            epochs=p.epochs,
        )
