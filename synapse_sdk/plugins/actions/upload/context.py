"""``UploadContext``: the shared state the steps of an upload read and write (the reference
synapse-sdk's ``upload.context`` path)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ..._compat import module_getattr
from ...errors import BackendNotConfiguredError
from ...steps import StepContext
from .models import LostFile
from .spill import SpillList

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ....clients._collections import DataCollectionRecord, FileSpecification, StorageRecord
    from ....clients.base import BackendClient
    from ...context import RuntimeContext

__all__ = ["UploadContext"]


class _PerFileList:
    """An attribute holding a :class:`SpillList`: a list assigned to it is taken over
    (copied into a new SpillList of the context)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, context: None, owner: type | None = None) -> _PerFileList: ...
    @overload
    def __get__(
        self, context: UploadContext, owner: type | None = None
    ) -> SpillList[dict[str, Any]]: ...

    def __get__(
        self, context: UploadContext | None, owner: type | None = None
    ) -> SpillList[dict[str, Any]] | _PerFileList:
        if context is None:
            return self
        files: SpillList[dict[str, Any]] = context.__dict__[self.slot]
        return files

    def __set__(self, context: UploadContext, value: Iterable[dict[str, Any]]) -> None:
        taken = value if isinstance(value, SpillList) else context.new_list(value)
        context.__dict__[self.slot] = taken


class UploadContext(StepContext):
    """What the upload steps share. Each default step fills part of it:

    ========================  ======================================================
    ``storage``               the storage record (initialize)
    ``pathlib_cwd``           the folder of single-path mode (initialize)
    ``project``               the project record when ``project`` is given (initialize)
    ``excel_metadata``        ``{file name: {column: value}}`` (process_metadata)
    ``data_collection``       the collection with its ``file_specifications`` (analyze)
    ``organized_files``       ``[{'files': {spec: Path}, 'meta': {...}}]`` (organize_files)
    ``uploaded_files``        ``[{'files': {spec: FileRecord + 'path'}, 'meta': {...}}]``
    ``data_units``            ``[{'id', 'files', 'meta'}]`` made by this run (generate)
    ``lost_files``            every file that could not be used, with why (any step)
    ========================  ======================================================

    ``params`` is the params as a dict (``context.params['path']``); ``upload_params`` the
    validated model. A custom step may add files to ``organized_files`` (its own
    :meth:`scratch_dir` is removed when the run ends) and must report files it cannot use
    with :meth:`lose`.

    ``organized_files``, ``uploaded_files`` and ``data_units`` are lists that keep a few
    chunks of ``list_chunk`` entries in memory and the rest in a file of the scratch folder
    (:class:`~synapse_sdk.plugins.actions.upload.spill.SpillList`), so memory stays flat in
    the number of files. Use them as lists: iterate, ``len``, index, slice (a plain list),
    ``append``, or assign a new list (it is taken over the same way). An entry read back is
    a copy: a change made to it while walking the list is kept; to change one later, assign
    it (``context.organized_files[i] = group``). For a large list of your own, take
    :meth:`new_list`.
    """

    organized_files = _PerFileList()
    uploaded_files = _PerFileList()
    data_units = _PerFileList()

    #: Entries of each per-file list kept in memory (the rest spill to the scratch folder).
    list_chunk = 512
    #: ``upload_file_lost`` warnings logged one by one; later lost files are only listed in
    #: the result (and counted in the ``upload_summary`` event).
    lost_log_limit = 100

    def __init__(
        self,
        runtime: RuntimeContext | None = None,
        *,
        params: BaseModel | Mapping[str, Any] | None = None,
        action: Any = None,
        allowed_extensions: Mapping[str, Any] | Any = None,
        runtime_ctx: RuntimeContext | None = None,
    ) -> None:
        runtime = runtime if runtime is not None else runtime_ctx
        if runtime is None:
            raise TypeError("UploadContext needs the run's RuntimeContext: UploadContext(ctx)")
        model = params if hasattr(params, "model_dump") else None
        super().__init__(runtime, action=action, params=model)
        if model is not None:
            self.params: dict[str, Any] = model.model_dump()
        else:
            self.params = dict(params or {})
        self.upload_params = model
        self.allowed_extensions = allowed_extensions
        self.storage: StorageRecord | None = None
        self.data_collection: DataCollectionRecord | None = None
        self.project: Any = None
        self.pathlib_cwd: Path | None = None
        self.excel_metadata: dict[str, dict[str, Any]] | None = None
        self._scratch: Path | None = None
        self.organized_files = self.new_list()
        self.uploaded_files = self.new_list()
        self.data_units = self.new_list()
        self.lost_files: list[LostFile] = []
        #: Distinct file contents this run sent to the backend (the others it held already).
        self.sent_files = 0
        #: Data units of the same files the collection had already (not made again).
        self.existing_data_units = 0
        #: Files of this run stay pending under this name until bound (see delete_data_files).
        self.session = f"upload-{runtime.run_id}"

    # -- the per-file lists ------------------------------------------------------------------

    def new_list(self, items: Iterable[Any] = ()) -> SpillList[Any]:
        """A list that spills to the scratch folder beyond ``list_chunk`` entries."""
        return SpillList(items, chunk=self.list_chunk, directory=self.scratch_dir)

    # -- reading params ----------------------------------------------------------------------

    def get_param(self, key: str, default: Any = None) -> Any:
        """A param by name; then ``extra_params[key]``; then ``default``."""
        value = self.params.get(key)
        if value is not None:
            return value
        extra = self.params.get("extra_params")
        if isinstance(extra, Mapping) and key in extra:
            return extra[key]
        return default

    @property
    def use_single_path(self) -> bool:
        return bool(self.params.get("use_single_path", True))

    @property
    def upload_name(self) -> str:
        return str(self.params.get("name") or "upload")

    @property
    def max_file_size_bytes(self) -> int:
        return int(float(self.get_param("max_file_size_mb", 50)) * 1024 * 1024)

    @property
    def batch_size(self) -> int:
        return max(1, int(self.get_param("creating_data_unit_batch_size", 200)))

    @property
    def max_retries(self) -> int:
        return max(0, int(self.get_param("upload_max_retries", 2)))

    @property
    def file_specifications(self) -> list[FileSpecification]:
        """The data collection's file specifications (empty before analyze_collection)."""
        collection = self.data_collection
        return list(collection["file_specifications"]) if collection else []

    @property
    def client(self) -> BackendClient:
        """The run's backend; a clear error says how to configure one when there is none."""
        client = self.runtime.client
        if client is None:
            raise BackendNotConfiguredError("UploadContext.client", action=self.runtime.action_name)
        return client

    # -- reporting ---------------------------------------------------------------------------

    def lose(self, file: str | Path, reason: str) -> None:
        """Report a file that cannot be used: it is counted and listed in the result with
        ``reason``, and logged as an ``upload_file_lost`` warning event."""
        name = self.display_path(file)
        step = self.current_step.name if self.current_step is not None else ""
        self.lost_files.append(LostFile(file=name, reason=reason, step=step))
        lost = len(self.lost_files)
        if lost <= self.lost_log_limit:
            self.log("upload_file_lost", {"file": name, "reason": reason}, level="warning")
        elif lost == self.lost_log_limit + 1:
            self.log(
                "upload_files_lost_more",
                {"after": self.lost_log_limit, "hint": "every lost file is in the result"},
                level="warning",
            )

    def display_path(self, file: str | Path) -> str:
        """``file`` relative to the storage when it is inside it (as users name it)."""
        text = str(file)
        if self.storage is not None:
            root = self.storage["path"].rstrip("/\\")
            if text.startswith(root + "/") or text.startswith(root + "\\"):
                return Path(text[len(root) + 1 :]).as_posix()
        return text

    # -- scratch space -----------------------------------------------------------------------

    def scratch_dir(self) -> Path:
        """A folder for files a step makes (e.g. frames cut from a video); removed when the
        run ends, whether it succeeded or not."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="synapse-upload-"))
        return self._scratch

    def close(self) -> None:
        """End of the run (the upload action calls it once the result is made): drop the
        spilled entries of the per-file lists and remove the scratch folder."""
        for files in (self.organized_files, self.uploaded_files, self.data_units):
            files.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


__getattr__ = module_getattr(__name__, lambda: __all__)
