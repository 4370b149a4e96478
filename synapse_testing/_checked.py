"""Which runs' warnings the current test has looked at, for the strict teardown check.

The ledger is per test: the ``synapse_ctx`` fixture opens one at setup and closes it at
teardown. Reading warnings (``ctx.warnings()``, ``assert_warned``, a snapshot of the run)
marks that run's warnings as checked in the open ledger; outside such a test nothing is
recorded, so no query in one test changes whether another passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from synapse_sdk.plugins.events import Event, WarningEvent

__all__ = ["mark_checked", "warnings_ledger"]

_LEDGER: ContextVar[set[str] | None] = ContextVar("synapse_checked_warnings", default=None)


def mark_checked(events: Iterable[Event]) -> None:
    """Count the warnings among ``events`` as checked by the current test."""
    ledger = _LEDGER.get()
    if ledger is not None:
        ledger.update(e.run_id for e in events if isinstance(e, WarningEvent))


@contextmanager
def warnings_ledger() -> Iterator[set[str]]:
    """Open the current test's ledger: the run ids whose warnings it has looked at."""
    ledger: set[str] = set()
    token = _LEDGER.set(ledger)
    try:
        yield ledger
    finally:
        _LEDGER.reset(token)
