"""Params and result of the default upload workflow: ``UploadParams``, ``AssetConfig``,
``UploadResult`` and ``LostFile`` (the reference synapse-sdk's ``upload.models`` path)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..._compat import module_getattr

__all__ = ["AssetConfig", "LostFile", "UploadParams", "UploadResult"]


class AssetConfig(BaseModel):
    """Where the files of one file specification are, in multi-path mode: ``path`` (inside
    the storage) and whether to look into sub-folders."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Folder of this specification's files, inside the storage")
    is_recursive: bool = Field(default=True, description="Also read the sub-folders")


class UploadParams(BaseModel):
    """Params of :class:`~synapse_sdk.plugins.actions.upload.DefaultUploadAction`.

    Single-path mode (``use_single_path=True``, the default): ``path`` is a folder of the
    storage holding one sub-folder per file specification (``path/image/0001.jpg``,
    ``path/label/0001.json``; a collection with one specification may also keep its files
    directly in ``path``). Multi-path mode: ``assets`` maps each specification to its own
    folder. Files of different specifications with the same relative path and stem make one
    data unit.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Name of this upload")
    description: str | None = Field(default=None, description="What is being uploaded")
    use_single_path: bool = Field(
        default=True, description="One folder with a sub-folder per file specification"
    )
    path: str | None = Field(default=None, description="Folder inside the storage (single-path)")
    is_recursive: bool = Field(default=True, description="Also read sub-folders (single-path)")
    assets: dict[str, AssetConfig] | None = Field(
        default=None, description="Specification name -> its folder (multi-path)"
    )
    storage: int = Field(gt=0, description="Id of the storage the files are read from")
    data_collection: int = Field(gt=0, description="Id of the data collection to fill")
    project: int | None = Field(default=None, gt=0, description="Id of a project (optional)")
    excel_metadata_path: str | None = Field(
        default=None,
        description="A .xlsx (extra 'upload-excel') or .csv sheet: first column the file name, "
        "the others metadata of its data unit",
    )
    max_file_size_mb: float = Field(default=50, gt=0, description="Larger files are not uploaded")
    creating_data_unit_batch_size: int = Field(
        default=200, ge=1, description="Data units made per backend call"
    )
    upload_max_retries: int = Field(
        default=2, ge=0, le=10, description="Extra attempts of a failed backend call"
    )
    extra_params: dict[str, Any] | None = Field(
        default=None, description="Free-form settings a plugin reads with context.get_param"
    )

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _paths_of_the_mode(self) -> UploadParams:
        if self.use_single_path and not self.path:
            raise ValueError(
                "single-path mode (use_single_path=true) needs 'path': the folder inside the "
                "storage; or set use_single_path=false and give 'assets'"
            )
        if not self.use_single_path and not self.assets:
            raise ValueError(
                "multi-path mode (use_single_path=false) needs 'assets': "
                "{specification name: {path: ..., is_recursive: ...}}"
            )
        return self


class LostFile(BaseModel):
    """A file the upload could not use: its ``file`` (path inside the storage when it is in
    it), the ``reason`` and the ``step`` that found it."""

    model_config = ConfigDict(frozen=True)

    file: str
    reason: str
    step: str


class UploadResult(BaseModel):
    """What an upload made.

    ``uploaded_files``: distinct file contents sent to the backend (it did not hold them);
    ``reused_files``: the other files of the data units, whose content the backend held
    already (from an earlier upload, or the same file twice): not sent again. ``data_units``:
    data units made by this run; ``existing_data_units``: data units of the same files that
    the collection had already (not made twice). Every file that could not be used is in
    ``lost_files`` with its reason (``lost_files_count`` of them).
    """

    success: bool
    steps_executed: int
    steps_total: int
    uploaded_files: int
    reused_files: int = 0
    data_units: int
    existing_data_units: int = 0
    data_collection: int | None = None
    partial_failure: bool = False
    lost_files_count: int = 0
    lost_files: list[LostFile] = Field(default_factory=list)


__getattr__ = module_getattr(__name__, lambda: __all__)
