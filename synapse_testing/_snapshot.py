"""Turn runs, events and results into stable snapshot data (no syrupy needed here).

The values are masked by :class:`~synapse_testing._masking.Masker`; a snapshot shows a run's
warnings, so taking one counts them as checked for the strict teardown check.
"""

from __future__ import annotations

from typing import Any

from ._checked import mark_checked
from ._masking import Masker, default_roots
from ._views import EventViews

__all__ = ["Masker", "default_roots", "snapshot_data"]


def snapshot_data(data: Any, masker: Masker) -> Any:
    """What a snapshot stores for ``data``: a Run (or anything with ``run_id``, ``status`` and
    ``events``) becomes the run record, a RecordingContext or EventLog its event lines;
    anything else is masked field by field."""
    if _is_run(data):
        masker.alias("run", data.run_id)
        mark_checked(data.events)
        return masker.run(data)
    if isinstance(data, EventViews):
        for run_id in data.run_ids:
            masker.alias("run", run_id)
        mark_checked(data.events)
        return [masker.event(e) for e in data.events]
    return masker.value(data)


def _is_run(data: Any) -> bool:
    return all(hasattr(data, name) for name in ("run_id", "status", "events", "action", "result"))
