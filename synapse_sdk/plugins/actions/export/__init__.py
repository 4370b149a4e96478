"""``BaseExportAction``: write models or datasets out of the backend into files.

Helpers: :attr:`~BaseExportAction.output_dir` (``params.output_dir``, created), :meth:`output_path`
(a safe path below it), plus ``get_model`` / ``download_model`` / ``fetch_dataset``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from ..._compat import module_getattr
from ...enums import PluginCategory
from .._common import CategoryAction, ProgressCategories, params_value

__all__ = ["BaseExportAction", "BaseExportParams", "ExportProgress"]

P = TypeVar("P")


class BaseExportParams(BaseModel):
    """Params of export actions: where to write."""

    output_dir: str = Field(description="Directory the export is written into")


class ExportProgress(ProgressCategories):
    """Progress steps of an export run."""

    PREPARE = "prepare"
    EXPORT = "export"


class BaseExportAction(CategoryAction[P], Generic[P]):
    """Base of export actions (category ``export``). Override ``execute``."""

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


__getattr__ = module_getattr(__name__, lambda: __all__)
