"""The syrupy extension behind ``synapse_snapshot`` (this module imports syrupy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from syrupy.extensions.amber import AmberSnapshotExtension

from ._snapshot import Masker, snapshot_data

__all__ = ["SynapseSnapshotExtension", "bind_extension"]


class SynapseSnapshotExtension(AmberSnapshotExtension):
    """Amber snapshots of runs and results with volatile values masked.

    A ``Run`` is stored as ``{action, status, params, result, error, events}`` with one line
    per event; pydantic models and dataclasses field by field; run ids, UUIDs, timestamps,
    durations and temporary paths as stable aliases (see :class:`~synapse_testing.Masker`).
    ``make_masker`` builds the masker for one snapshot; the fixture binds it to the test.
    """

    make_masker: ClassVar[Callable[[], Masker]] = Masker

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return super().serialize(snapshot_data(data, type(self).make_masker()), **kwargs)


def bind_extension(make_masker: Callable[[], Masker]) -> type[SynapseSnapshotExtension]:
    """A subclass of :class:`SynapseSnapshotExtension` whose masker knows one test's paths."""
    return type(
        "SynapseSnapshotExtension",
        (SynapseSnapshotExtension,),
        {"make_masker": staticmethod(make_masker), "__module__": __name__},
    )
