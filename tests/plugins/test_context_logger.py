"""ctx.logger is a stdlib logger (levels, handlers, propagation), and ctx.log is cheap when
nobody listens: no LogRecord is built without a handler to receive it."""

from __future__ import annotations

import logging

import pytest

from synapse_sdk.plugins import RuntimeContext
from synapse_sdk.plugins.events import LogEvent
from synapse_sdk.plugins.sinks import MemorySink


@pytest.fixture
def records_made(monkeypatch):
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args, **kwargs):
        record = factory(*args, **kwargs)
        made.append(record)
        return record

    monkeypatch.setattr(logging, "_logRecordFactory", counting)
    return made


def test_ctx_log_builds_no_record_when_no_handler_listens(records_made, monkeypatch):
    # as in a terminal: no handler on the root logger (pytest installs its own)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink], action_name="quiet")
    ctx.log("tick", {"i": 1})
    assert records_made == []
    # the run's own views still get the event
    (event,) = [e for e in sink.events if isinstance(e, LogEvent)]
    assert (event.event, event.data) == ("tick", {"i": 1})


def test_set_level_is_honoured_on_every_later_call(caplog):
    caplog.set_level(logging.DEBUG)
    ctx = RuntimeContext(action_name="levels")
    ctx.logger.debug("first")
    ctx.logger.setLevel(logging.ERROR)
    ctx.logger.info("hidden")
    ctx.logger.error("shown")
    ctx.logger.setLevel(logging.DEBUG)
    ctx.logger.debug("again")
    assert [r.getMessage() for r in caplog.records] == ["first", "shown", "again"]


def test_without_sinks_the_level_comes_from_logging_configuration(caplog):
    ctx = RuntimeContext(action_name="configured")
    caplog.set_level(logging.WARNING)
    ctx.log("info_event")
    caplog.set_level(logging.INFO)
    ctx.log("seen_event", {"k": 1})
    assert [r.getMessage() for r in caplog.records] == ["seen_event {'k': 1}"]


def test_a_handler_on_the_logger_gets_the_runs_records():
    ctx = RuntimeContext(sinks=[MemorySink()], action_name="handled")
    got: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record.getMessage())

    ctx.logger.addHandler(Collect())
    ctx.logger.propagate = False
    ctx.log("one", {"a": 1})
    ctx.logger.warning("two")
    assert got == ["one {'a': 1}", "two"]
