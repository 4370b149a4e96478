"""The strict teardown check's record of looked-at warnings is per test, never process-wide."""

from __future__ import annotations

from synapse_sdk.plugins import RuntimeContext
from synapse_testing import RecordingContext
from synapse_testing._checked import mark_checked, warnings_ledger


def _warned_context() -> RecordingContext:
    ctx = RecordingContext()
    ctx.warn("disk almost full", code="disk")
    return ctx


def test_reading_warnings_outside_a_test_ledger_marks_nothing_for_a_later_test():
    ctx = _warned_context()
    assert [w.code for w in ctx.warnings()] == ["disk"]  # no ledger open: nothing kept
    with warnings_ledger() as checked:
        assert checked == set()


def test_a_ledger_holds_the_runs_read_while_it_is_open_and_goes_with_it():
    ctx = _warned_context()
    with warnings_ledger() as checked:
        ctx.warnings()
        assert checked == {ctx.run_id}
    with warnings_ledger() as next_test:
        assert next_test == set()


def test_only_warning_events_mark_their_run():
    quiet = RecordingContext()
    quiet.set_progress(1, 2)
    with warnings_ledger() as checked:
        mark_checked(quiet.events)
        assert checked == set()
    assert isinstance(quiet, RuntimeContext)
