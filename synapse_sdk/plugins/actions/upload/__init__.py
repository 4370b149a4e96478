"""Upload actions: bring files into the backend.

- :class:`DefaultUploadAction` (with :class:`UploadParams`): the default workflow of context
  steps (initialize, process_metadata, analyze_collection, organize_files, validate_files,
  upload_files, generate_data_units, cleanup) sharing an :class:`UploadContext`; extend it by
  inserting steps of your own (``BaseStep[UploadContext]``).
- :class:`BaseUploadAction`: write ``execute()`` with its helpers (:func:`iter_files`,
  :func:`import_directory`, ...), or your own steps.

The reference synapse-sdk's submodule paths (``.action``, ``.context``, ``.models``,
``.steps``) hold the same objects. :class:`SpillList` is the list type of the context's
per-file lists (bounded memory, the rest in a scratch file).
"""

from __future__ import annotations

from ..._compat import module_getattr
from ._base import (
    BaseUploadAction,
    BaseUploadParams,
    UploadProgress,
    import_directory,
    iter_files,
    upload_units,
)
from .action import DefaultUploadAction
from .context import UploadContext
from .models import AssetConfig, LostFile, UploadParams, UploadResult
from .spill import SpillList
from .steps import (
    AnalyzeCollectionStep,
    CleanupStep,
    GenerateDataUnitsStep,
    InitializeStep,
    OrganizeFilesStep,
    ProcessMetadataStep,
    UploadFilesStep,
    ValidateFilesStep,
    default_upload_steps,
)

__all__ = [
    "AnalyzeCollectionStep",
    "AssetConfig",
    "BaseUploadAction",
    "BaseUploadParams",
    "CleanupStep",
    "DefaultUploadAction",
    "GenerateDataUnitsStep",
    "InitializeStep",
    "LostFile",
    "OrganizeFilesStep",
    "ProcessMetadataStep",
    "SpillList",
    "UploadContext",
    "UploadFilesStep",
    "UploadParams",
    "UploadProgress",
    "UploadResult",
    "ValidateFilesStep",
    "default_upload_steps",
    "import_directory",
    "iter_files",
    "upload_units",
]

__getattr__ = module_getattr(__name__, lambda: __all__)
