"""The syrupy extension behind ``synapse_snapshot`` (this module imports syrupy)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from syrupy.extensions.amber import AmberSnapshotExtension

from ._snapshot import Masker, diff_summary, snapshot_data

__all__ = ["UPDATE_HINT", "SynapseSnapshotExtension", "bind_extension"]

UPDATE_HINT = "pytest --snapshot-update"


class SynapseSnapshotExtension(AmberSnapshotExtension):
    """Amber snapshots of runs and results with volatile values masked.

    A ``Run`` is stored as ``{action, status, params, result, error, events}`` with one line
    per event; pydantic models and dataclasses field by field; run ids, UUIDs, timestamps,
    durations and temporary paths as stable aliases (see :class:`~synapse_testing.Masker`).
    ``make_masker`` builds the masker for one snapshot; the fixture binds it to the test.

    A failed comparison starts with what to do and what changed: a missing snapshot says how
    to create it, a changed one names each changed part with its first change (a run's
    status, error and result before its events) ahead of syrupy's full diff, so pytest's
    default truncation keeps the lines that matter.
    """

    make_masker: ClassVar[Callable[[], Masker]] = Masker
    #: where this test's snapshots are stored, as shown in messages (set by the fixture)
    snapshot_file: ClassVar[str | None] = None

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return super().serialize(snapshot_data(data, type(self).make_masker()), **kwargs)

    def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
        where = f" to {self.snapshot_file}" if self.snapshot_file else ""
        if not snapshot_data:  # syrupy passes "" for a snapshot that does not exist yet
            yield f"Run `{UPDATE_HINT}` to write it{where}, then review and commit that file."
        else:
            note = f" (if the change is right, `{UPDATE_HINT}` writes it{where})"
            yield from diff_summary(str(snapshot_data), str(serialized_data), note)
            yield ""
        yield from super().diff_lines(serialized_data, snapshot_data)


def bind_extension(
    make_masker: Callable[[], Masker], snapshot_file: str | os.PathLike[str] | None = None
) -> type[SynapseSnapshotExtension]:
    """A subclass of :class:`SynapseSnapshotExtension` whose masker knows one test's paths
    (and whose messages name its snapshot file)."""
    return type(
        "SynapseSnapshotExtension",
        (SynapseSnapshotExtension,),
        {
            "make_masker": staticmethod(make_masker),
            "snapshot_file": None if snapshot_file is None else os.fspath(snapshot_file),
            "__module__": __name__,
        },
    )
