"""The reference synapse-sdk's ``steps.dataset`` path. Its ``ExportDatasetStep`` /
``ConvertDatasetStep`` are the ``dataset`` and ``convert`` steps of
:class:`~synapse_sdk.plugins.actions.train.BaseTrainAction` here; asking for one says so."""

from __future__ import annotations

from .._compat import module_getattr

__all__: list[str] = []

__getattr__ = module_getattr(__name__, lambda: __all__)
