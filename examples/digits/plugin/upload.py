"""``upload``: import scikit-learn's bundled digits into the backend as a dataset."""

from __future__ import annotations

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseUploadAction
from synapse_sdk.plugins.types import Dataset

from .data import DATASET_NAME, digit_units


class ImportParams(BaseModel):
    name: str = Field(default=DATASET_NAME, description="Name of the dataset to create")
    limit: int | None = Field(default=None, ge=1, description="Import only the first N images")


class ImportResult(BaseModel):
    dataset: int
    data_units: int


class ImportDigits(BaseUploadAction[ImportParams]):
    """One data unit per image: an 8x8 PGM file plus its label."""

    output_type = Dataset
    result_model = ImportResult

    def execute(self) -> ImportResult:
        units = digit_units(self.params.limit)
        dataset = self.create_dataset(
            self.params.name,
            description="8x8 handwritten digits bundled with scikit-learn",
            meta={"source": "sklearn.datasets.load_digits", "classes": list(range(10))},
        )
        added = self.upload_data_units(dataset["id"], units)
        self.log("dataset_imported", {"dataset": dataset["id"], "data_units": added})
        return ImportResult(dataset=dataset["id"], data_units=added)
