"""``BaseExportAction``: write models or datasets out of the backend into files.

Helpers: :attr:`~BaseExportAction.output_dir` (``params.output_dir``, created), :meth:`output_path`
(a safe path below it), plus ``get_model`` / ``download_model`` / ``fetch_dataset``.
:meth:`~BaseExportAction.export_with` runs a :class:`BaseExporter` (the reference synapse-sdk's
export template, in :mod:`.exporter`) over items such as :meth:`dataset_export_items` gives.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from ..._compat import module_getattr
from ...enums import PluginCategory
from .._common import CategoryAction, ProgressCategories, params_value
from .exporter import BaseExporter, ExporterRunAdapter, ExportStatus, MetricsRecord

__all__ = [
    "BaseExportAction",
    "BaseExportParams",
    "BaseExporter",
    "ExportProgress",
    "ExportStatus",
    "ExporterRunAdapter",
    "MetricsRecord",
]

P = TypeVar("P")


class BaseExportParams(BaseModel):
    """Params of export actions: where to write."""

    output_dir: str = Field(description="Directory the export is written into")


class ExportProgress(ProgressCategories):
    """Progress steps of an export run."""

    PREPARE = "prepare"
    EXPORT = "export"


class BaseExportAction(CategoryAction[P], Generic[P]):
    """Base of export actions (category ``export``). Override ``execute``.

    Helpers (final): :attr:`output_dir`, :meth:`output_path`, :meth:`export_with`,
    :meth:`dataset_export_items`, and those of every category action.
    """

    category = PluginCategory.EXPORT
    params_model = BaseExportParams

    progress_categories = ExportProgress
    progress: ExportProgress

    @property
    def output_dir(self) -> Path:
        """``params.output_dir``, created if missing."""
        value = params_value(self.params, "output_dir")
        if value is None:
            raise ValueError(
                f"{type(self).__name__}.output_dir reads params.output_dir, which is not set: "
                "add `output_dir: str` to the params model or override output_dir"
            )
        path = Path(value)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def output_path(self, name: str | os.PathLike[str]) -> Path:
        """``output_dir / name``, refusing names that would land outside ``output_dir``."""
        from ....clients.paths import safe_join

        target = safe_join(self.output_dir, Path(name).as_posix())
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def export_with(
        self,
        exporter: type[BaseExporter],
        items: Iterable[Any],
        *,
        name: str,
        count: int | None = None,
        save_original_file: bool = False,
        **params: Any,
    ) -> dict[str, Any]:
        """Build ``exporter`` over ``items`` with this run's context, writing under
        :attr:`output_dir` as ``name``, and return what its ``export()`` returns.

        ``count`` (default: ``len(items)`` for a list) sizes the progress; ``params`` reach
        the exporter's ``self.params`` beside ``name``, ``count`` and ``save_original_file``.
        """
        if count is None and isinstance(items, (list, tuple)):
            count = len(items)
        instance = exporter(
            self.ctx,
            items,
            self.output_dir,
            name=name,
            count=count,
            save_original_file=save_original_file,
            **params,
        )
        return instance.export()

    def dataset_export_items(self, dataset_id: int, role: str | None = None) -> Iterator[dict]:
        """The data units of dataset ``dataset_id`` as exporter items: ``id``, ``data`` (the
        unit's meta), ``files`` (``file_name_original`` and ``sha256`` of its file ``role``,
        default its first) and the whole ``data_unit``."""
        for unit in self.fetch_dataset(dataset_id).data_units():
            files = unit["files"]
            record = files[role] if role is not None else next(iter(files.values()), None)
            item_files = (
                {}
                if record is None
                else {
                    "file_name_original": Path(record["name"]).name,
                    "sha256": record["sha256"],
                }
            )
            yield {"id": unit["id"], "files": item_files, "data": unit["meta"], "data_unit": unit}


__getattr__ = module_getattr(__name__, lambda: __all__)
