"""What every category base class shares: the backend client, datasets, models, scratch space.

Not a public door: the category modules (``train``, ``inference``, ``export``, ``upload``,
``dataset``) are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ..base import BaseAction
from ..errors import BackendNotConfiguredError

if TYPE_CHECKING:
    from ...clients.base import BackendClient, DatasetRecord, DataUnitRecord, ModelRecord
    from ..context import RuntimeContext

__all__ = ["CategoryAction", "DatasetView", "ProgressCategories"]

P = TypeVar("P")


class ProgressCategories:
    """Named progress steps of a category (``self.progress.TRAIN``); values are step names.

    Iterating gives the step names in order (what a progress view can lay out up front).
    """

    def __iter__(self) -> Iterator[str]:
        for name in dir(type(self)):
            if name.isupper():
                yield getattr(self, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self)})"


class DatasetView:
    """A dataset of the backend: its record plus ways to walk and fetch its data units."""

    def __init__(self, client: BackendClient, record: DatasetRecord) -> None:
        self.client = client
        self.record = record

    @property
    def id(self) -> int:
        return self.record["id"]

    @property
    def name(self) -> str:
        return self.record["name"]

    @property
    def meta(self) -> dict[str, Any]:
        return self.record["meta"]

    def __len__(self) -> int:
        return self.record["data_unit_count"]

    def __repr__(self) -> str:
        return f"DatasetView(id={self.id}, name={self.name!r}, data_units={len(self)})"

    def data_units(self, *, page_size: int = 1000) -> Iterator[DataUnitRecord]:
        """Every data unit in order, fetched ``page_size`` at a time."""
        offset = 0
        while True:
            page = self.client.list_data_units(self.id, offset=offset, limit=page_size)
            yield from page
            if len(page) < page_size:
                return
            offset += len(page)

    __iter__ = data_units

    def read(self, unit: DataUnitRecord, role: str | None = None) -> bytes:
        """The bytes of ``unit``'s file ``role`` (its only file when ``role`` is None)."""
        files = unit["files"]
        if role is None:
            if len(files) != 1:
                raise ValueError(
                    f"data unit {unit['id']} has files {sorted(files)}; pass role= to pick one"
                )
            (record,) = files.values()
        else:
            try:
                record = files[role]
            except KeyError:
                raise KeyError(
                    f"data unit {unit['id']} has no file {role!r}; it has {sorted(files)}"
                ) from None
        return self.client.read_file(record["sha256"])

    def download(
        self,
        dest: str | os.PathLike[str],
        *,
        on_unit: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Write every file to ``dest/<data unit id>/<file name>`` (verified) and return
        ``dest``; file names cannot escape ``dest``. ``on_unit(done, total)`` is called after
        each data unit (for progress)."""
        from ...clients.paths import safe_join

        root = Path(dest)
        root.mkdir(parents=True, exist_ok=True)
        total = len(self)
        for done, unit in enumerate(self.data_units(), 1):
            for record in unit["files"].values():
                target = safe_join(root, f"{unit['id']}/{record['name']}")
                self.client.download_file(record["sha256"], target)
            if on_unit is not None:
                on_unit(done, total)
        return root


class CategoryAction(BaseAction[P], Generic[P]):
    """Base of the category actions: backend access and scratch space.

    Helpers (final): :attr:`client`, :meth:`get_model`, :meth:`download_model`,
    :meth:`fetch_dataset`, :attr:`work_dir`; ``self.progress`` is an instance of the class's
    ``progress_categories`` (step names for ``set_progress``).
    """

    progress_categories: ClassVar[type[ProgressCategories]] = ProgressCategories
    progress: ProgressCategories

    def __init__(self, params: P, ctx: RuntimeContext) -> None:
        super().__init__(params, ctx)
        self.progress = self.progress_categories()

    @property
    def client(self) -> BackendClient:
        """The run's backend client; a clear error says how to configure one when missing."""
        return self._client_for(f"{type(self).__name__}.client")

    def _client_for(self, helper: str) -> BackendClient:
        client = self.ctx.client
        if client is None:
            raise BackendNotConfiguredError(helper, action=self.ctx.action_name)
        return client

    @property
    def work_dir(self) -> Path:
        """A scratch directory for this action instance, removed when the instance goes."""
        path = self.__dict__.get("_work_dir")
        if path is None:
            path = Path(tempfile.mkdtemp(prefix="synapse-action-"))
            weakref.finalize(self, shutil.rmtree, path, True)
            self.__dict__["_work_dir"] = path
        return path

    def get_model(self, model_id: int) -> ModelRecord:
        """The model record ``model_id`` (a dict with ``id``, ``name``, ``meta``, ``file``)."""
        return self._client_for("get_model()").get_model(model_id)

    def download_model(
        self, model: int | ModelRecord, dest: str | os.PathLike[str] | None = None
    ) -> Path:
        """Download a model's file (verified) into ``dest`` (default: :attr:`work_dir`) and
        return its path."""
        client = self._client_for("download_model()")
        record = client.get_model(model) if isinstance(model, int) else model
        from ...clients.paths import safe_join

        folder = Path(dest) if dest is not None else self.work_dir / f"model-{record['id']}"
        target = safe_join(folder, record["file"]["name"])
        return Path(client.download_file(record["file"]["sha256"], target))

    def fetch_dataset(self, dataset_id: int) -> DatasetView:
        """The dataset ``dataset_id`` as a :class:`DatasetView`."""
        client = self._client_for("get_dataset()")
        return DatasetView(client, client.get_dataset(dataset_id))

    def download_dataset_files(
        self, dataset_id: int, dest: str | os.PathLike[str] | None = None, *, step: str
    ) -> Path:
        """Download every file of dataset ``dataset_id`` into ``dest`` (default: the scratch
        directory, removed after the run) as ``<data unit id>/<file name>``, reporting
        progress per data unit under ``step``; return ``dest``."""
        view = self.fetch_dataset(dataset_id)
        root = Path(dest) if dest is not None else self.work_dir / f"dataset-{view.id}"
        self.set_progress(0, len(view), step=step)
        return view.download(root, on_unit=lambda done, total: self.set_progress(done, total, step))

    def _job_id(self) -> int | None:
        from ...clients.sink import current_job_id

        return current_job_id(self.ctx)


def params_value(params: Any, name: str) -> Any:
    """``params.<name>`` for a model or ``params[name]`` for a dict (None when absent)."""
    if isinstance(params, dict):
        return params.get(name)
    return getattr(params, name, None)


def has_param(params: Any, name: str) -> bool:
    """Whether the params (model instance or dict) declare ``name``."""
    if isinstance(params, dict):
        return name in params
    fields = getattr(type(params), "model_fields", None)
    if fields is not None:
        return name in fields
    return hasattr(params, name)
