"""``DatasetAction``: operations over a backend dataset (download, convert, inspect).

Import it from here (it is not re-exported from ``synapse_sdk.plugins``)::

    from synapse_sdk.plugins.actions.dataset import DatasetAction, DatasetParams
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from .._compat import module_getattr
from ._common import CategoryAction, DatasetView, ProgressCategories, params_value

__all__ = ["DatasetAction", "DatasetParams", "DatasetProgress", "DatasetView"]

P = TypeVar("P")


class DatasetParams(BaseModel):
    """Params of dataset actions: the dataset id."""

    dataset: int = Field(description="Id of the dataset")


class DatasetProgress(ProgressCategories):
    """Progress steps of a dataset operation."""

    DOWNLOAD = "download"
    CONVERT = "convert"


class DatasetAction(CategoryAction[P], Generic[P]):
    """Base of dataset operations (no category). Override ``execute``.

    Helpers: :meth:`get_dataset` (``params.dataset`` or an id), :meth:`download_dataset`.
    """

    params_model = DatasetParams

    progress_categories = DatasetProgress
    progress: DatasetProgress

    def get_dataset(self, dataset_id: int | None = None) -> DatasetView:
        """The dataset ``dataset_id`` (default ``params.dataset``)."""
        return self.fetch_dataset(self._dataset_id(dataset_id))

    def _dataset_id(self, dataset_id: int | None) -> int:
        if dataset_id is None:
            dataset_id = params_value(self.params, "dataset")
            if dataset_id is None:
                raise ValueError(
                    f"{type(self).__name__}.get_dataset() needs params.dataset (a dataset id) "
                    "or an explicit dataset_id"
                )
        return int(dataset_id)

    def download_dataset(
        self, dest: str | os.PathLike[str] | None = None, dataset_id: int | None = None
    ) -> Path:
        """Download every file of the dataset into ``dest`` (default: the action's scratch
        directory, removed after the run) as ``<data unit id>/<file name>``, with progress per
        data unit; return ``dest``."""
        return self.download_dataset_files(
            self._dataset_id(dataset_id), dest, step=self.progress.DOWNLOAD
        )


__getattr__ = module_getattr(__name__, lambda: __all__)
