"""``BaseUploadAction``: bring local files into the backend as a dataset.

An upload action either writes ``execute()`` with the helpers below, or is made of context
steps (``setup_steps``; see :class:`~synapse_sdk.plugins.actions.upload.DefaultUploadAction`
for the default workflow), which share an :class:`UploadContext`.

Helpers: :meth:`~BaseUploadAction.iter_files` (sorted, filtered by
``allowed_extensions``, refusing symlinks that lead outside the folder),
:meth:`~BaseUploadAction.create_dataset`, :meth:`~BaseUploadAction.upload_data_units` (batched,
with progress) and :meth:`~BaseUploadAction.import_directory`. The module-level
:func:`import_directory` is what ``synapse backend import-dataset PATH`` runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from ...enums import PluginCategory
from ...errors import UnsafePathError
from .._common import CategoryAction, ProgressCategories
from .context import UploadContext
from .models import UploadResult

if TYPE_CHECKING:
    from ....clients.base import BackendClient, DatasetRecord, FileSource
    from ...steps import StepContext

__all__ = [
    "BaseUploadAction",
    "BaseUploadParams",
    "UploadProgress",
    "import_directory",
    "iter_files",
    "upload_units",
]

P = TypeVar("P")

Unit = tuple[Mapping[str, "FileSource"], Mapping[str, Any]]


def iter_files(
    root: str | os.PathLike[str],
    extensions: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
) -> Iterator[Path]:
    """Regular files below ``root`` in sorted order, skipping hidden names.

    ``extensions`` (``['.png', '.jpg']``, case-insensitive; a ``{file type: [...]}`` mapping
    allows all of its values) filters by suffix. A symlink that resolves outside ``root``
    raises UnsafePathError; one that stays inside is skipped (its target is visited anyway).
    """
    base = Path(root)
    if not base.is_dir():
        raise NotADirectoryError(f"{base} is not a directory")
    resolved_base = base.resolve()
    if isinstance(extensions, Mapping):
        extensions = [e for values in extensions.values() for e in values]
    allowed = None if extensions is None else {"." + e.lower().lstrip(".") for e in extensions}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        for name in list(dirnames):
            if (here / name).is_symlink():
                _check_link(here / name, resolved_base)
                dirnames.remove(name)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            if path.is_symlink():
                _check_link(path, resolved_base)
                continue
            if allowed is not None and path.suffix.lower() not in allowed:
                continue
            yield path


def _check_link(path: Path, base: Path) -> None:
    target = path.resolve()
    if target != base and base not in target.parents:
        raise UnsafePathError(str(path), f"it is a symlink to {target}, outside {base}")


def import_directory(
    client: BackendClient,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    extensions: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
    batch_size: int = 500,
    on_progress: Callable[[int, int], None] | None = None,
) -> DatasetRecord:
    """Create a dataset from the files below ``path``: one data unit per file (role
    ``file``), with meta ``path`` (relative, POSIX) and ``label`` (the sub-folder, for
    ``path/<label>/<file>`` layouts). Returns the dataset record."""
    base = Path(path)
    files = list(iter_files(base, extensions))
    units: list[Unit] = []
    for file in files:
        rel = file.relative_to(base).as_posix()
        meta: dict[str, Any] = {"path": rel}
        if "/" in rel:
            meta["label"] = rel.rsplit("/", 1)[0]
        units.append(({"file": file}, meta))
    dataset = client.create_dataset(
        name or base.resolve().name, meta={"source": str(base.resolve())}
    )
    upload_units(client, dataset["id"], units, batch_size=batch_size, on_progress=on_progress)
    return client.get_dataset(dataset["id"])


def upload_units(
    client: BackendClient,
    dataset_id: int,
    units: Sequence[Unit],
    *,
    batch_size: int = 500,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add ``units`` to a dataset in batches of ``batch_size``; return how many were added."""
    total = len(units)
    if on_progress is not None:
        on_progress(0, total)
    done = 0
    for start in range(0, total, max(1, batch_size)):
        done += len(client.add_data_units(dataset_id, units[start : start + batch_size]))
        if on_progress is not None:
            on_progress(done, total)
    return done


class BaseUploadParams(BaseModel):
    """Params of upload actions: the dataset name to create."""

    name: str = Field(default="upload", description="Name of the dataset to create")


class UploadProgress(ProgressCategories):
    """Progress steps of an upload run."""

    COLLECT = "collect"
    UPLOAD = "upload"


class BaseUploadAction(CategoryAction[P], Generic[P]):
    """Base of upload actions (category ``upload``). Override ``execute``, or
    ``setup_steps`` to make the action of context steps sharing an :class:`UploadContext`
    (:meth:`create_context`); a run of steps returns an :class:`UploadResult`.

    Set ``allowed_extensions`` (``('.png', '.jpg')``) or override
    :meth:`get_allowed_extensions` to filter the files taken.
    """

    category = PluginCategory.UPLOAD
    params_model: ClassVar[type[BaseModel] | None] = BaseUploadParams
    allowed_extensions: ClassVar[tuple[str, ...] | None] = None

    progress_categories = UploadProgress
    progress: UploadProgress

    def get_allowed_extensions(self) -> Any:
        """The file suffixes this upload accepts: None (every file), a sequence
        (``('.png', '.jpg')``) or, as in the reference synapse-sdk, a mapping from a file
        specification's ``file_type`` (or name) to its suffixes
        (``{'image': ['.tif', '.tiff']}``; types it does not name are not restricted)."""
        return self.allowed_extensions

    # -- context steps -----------------------------------------------------------------------

    def create_context(self) -> UploadContext:
        """The context the steps share (override to return a subclass with more state)."""
        return UploadContext(
            self.ctx,
            params=self.params,  # type: ignore[arg-type]
            action=self,
            allowed_extensions=self.get_allowed_extensions(),
        )

    def create_step_context(self) -> StepContext:
        """The steps share one :class:`UploadContext` (see :meth:`create_context`)."""
        return self.create_context()

    def result_from_steps(self, context: StepContext) -> Any:
        """An :class:`UploadResult` of what the upload made."""
        if not isinstance(context, UploadContext):
            return super().result_from_steps(context)
        ran = [r for r in context.results.values() if not r.skipped]
        files = sum(len(u["files"]) for u in context.uploaded_files.read_only())
        collection = context.data_collection
        return UploadResult(
            success=True,
            steps_executed=len(ran),
            steps_total=len(context.results),
            uploaded_files=context.sent_files,
            reused_files=files - context.sent_files,
            data_units=len(context.data_units),
            existing_data_units=context.existing_data_units,
            data_collection=collection["id"] if collection else None,
            partial_failure=bool(context.lost_files),
            lost_files_count=len(context.lost_files),
            lost_files=list(context.lost_files),
        )

    def iter_files(self, root: str | os.PathLike[str]) -> Iterator[Path]:
        """The files below ``root`` this upload accepts (see :func:`iter_files`)."""
        return iter_files(root, self.get_allowed_extensions())

    def create_dataset(
        self, name: str, *, description: str = "", meta: Mapping[str, Any] | None = None
    ) -> DatasetRecord:
        """Create an empty dataset in the backend."""
        return self._client_for("create_dataset()").create_dataset(
            name, description=description, meta=meta
        )

    def upload_data_units(
        self, dataset_id: int, units: Sequence[Unit], *, batch_size: int = 500
    ) -> int:
        """Add ``(files, meta)`` data units in batches, reporting ``progress.UPLOAD``."""
        client = self._client_for("upload_data_units()")
        step = self.progress.UPLOAD
        return upload_units(
            client,
            dataset_id,
            units,
            batch_size=batch_size,
            on_progress=lambda done, total: self.set_progress(done, total, step),
        )

    def import_directory(
        self, path: str | os.PathLike[str], name: str | None = None
    ) -> DatasetRecord:
        """A dataset from the accepted files below ``path`` (see :func:`import_directory`)."""
        step = self.progress.UPLOAD
        return import_directory(
            self._client_for("import_directory()"),
            path,
            name=name,
            extensions=self.get_allowed_extensions(),
            on_progress=lambda done, total: self.set_progress(done, total, step),
        )
