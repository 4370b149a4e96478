"""``DefaultUploadAction``: the upload workflow plugins extend (the reference synapse-sdk's
``upload.action`` path)."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from ..._compat import module_getattr
from ...steps import StepRegistry
from ._base import BaseUploadAction
from .models import UploadParams, UploadResult
from .steps import default_upload_steps

__all__ = ["BaseUploadAction", "DefaultUploadAction", "UploadResult"]

P = TypeVar("P")


class DefaultUploadAction(BaseUploadAction[P], Generic[P]):
    """The default upload: eight context steps sharing an
    :class:`~synapse_sdk.plugins.actions.upload.UploadContext`, returning an
    :class:`UploadResult`.

    Runs as it is (``class Upload(DefaultUploadAction[UploadParams]): pass``). Extend it in
    :meth:`setup_steps`: ``super().setup_steps(registry)`` then
    ``registry.insert_after('organize_files', MyStep())``, ``insert_before``, ``remove`` or
    ``replace``. Restrict the files taken with :meth:`get_allowed_extensions`.
    """

    params_model = UploadParams
    result_model: ClassVar[Any] = UploadResult

    def setup_steps(self, registry: StepRegistry) -> None:
        """Register initialize, process_metadata, analyze_collection, organize_files,
        validate_files, upload_files, generate_data_units and cleanup, in that order."""
        for step in default_upload_steps():
            registry.register(step)


__getattr__ = module_getattr(__name__, lambda: __all__)
