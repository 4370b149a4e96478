"""The calls reference-style plugins make on their action and context, as events."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import run_action
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.events import LogEvent, MetricsEvent, ProgressEvent
from synapse_sdk.plugins.log_messages import LogMessageCode, register_log_messages
from synapse_sdk.plugins.models.logger import LogLevel
from synapse_testing import RecordingContext


class EvalLogMessageCode(LogMessageCode):
    EVAL_STARTING = ("EVAL_STARTING", LogLevel.INFO)
    EVAL_DONE = ("EVAL_DONE", LogLevel.SUCCESS)


register_log_messages(
    {
        EvalLogMessageCode.EVAL_STARTING: {
            "en": "Evaluating {count} images",
            "ko": "이미지 {count}개 평가 중",
        },
        EvalLogMessageCode.EVAL_DONE: "Evaluation is complete.",
    }
)


class EvalParams(BaseModel):
    count: int = 2


class EvalAction(BaseAction[EvalParams]):
    """Written as for the reference: its import paths, its logging calls."""

    action_name = "evaluate"

    @classmethod
    def get_log_message_code_class(cls):
        return EvalLogMessageCode

    def execute(self) -> dict:
        self.log_message(EvalLogMessageCode.EVAL_STARTING, count=self.params.count)
        self.log_message("Loading weights.", LogLevel.INFO)
        self.log_message("GPU not found; using the CPU.", LogLevel.WARNING)
        for i in range(self.params.count):
            self.set_progress(i + 1, self.params.count, category="evaluate")
            self.log_metric("validation", "epoch", i, val_loss=1.0 / (i + 1))
        self.log_visualization("validation", "epoch_1", 0, "/tmp/pred.png", score=0.9)
        self.logger.info("python: ok")
        self.log_message(EvalLogMessageCode.EVAL_DONE)
        return {"evaluated": self.params.count}


def _messages(ctx):
    return [
        (e.level, e.data["message"], e.data.get("key"))
        for e in ctx.events
        if isinstance(e, LogEvent) and e.event == "message"
    ]


def test_reference_logging_calls_become_events_of_the_run():
    ctx = RecordingContext()
    run = run_action(EvalAction, {"count": 2}, ctx=ctx)

    assert run.ok, run.error
    assert run.result == {"evaluated": 2}
    assert _messages(ctx) == [
        ("info", "Evaluating 2 images", "EVAL_STARTING"),
        ("info", "Loading weights.", None),
        ("warning", "GPU not found; using the CPU.", None),
        ("info", "python: ok", None),
        ("success", "Evaluation is complete.", "EVAL_DONE"),
    ]
    metrics = [(e.step, dict(e.values)) for e in ctx.events if isinstance(e, MetricsEvent)]
    assert metrics == [
        ("validation", {"epoch": 0, "val_loss": 1.0}),
        ("validation", {"epoch": 1, "val_loss": 0.5}),
    ]
    progress = [(e.current, e.total, e.step) for e in ctx.events if isinstance(e, ProgressEvent)]
    assert progress == [(1, 2, "evaluate"), (2, 2, "evaluate")]
    (picture,) = [e for e in ctx.events if isinstance(e, LogEvent) and e.event == "visualization"]
    assert picture.file == "/tmp/pred.png"
    assert picture.data == {"category": "validation", "group": "epoch_1", "index": 0, "score": 0.9}


def test_message_codes_follow_the_language_of_the_context():
    ctx = RecordingContext(env={"SYNAPSE_LANGUAGE": "ko"})
    run_action(EvalAction, {"count": 3}, ctx=ctx).raise_for_status()
    assert _messages(ctx)[0] == ("info", "이미지 3개 평가 중", "EVAL_STARTING")

    ctx = RecordingContext()
    ctx.language = "ko"
    ctx.log_message(EvalLogMessageCode.EVAL_STARTING, language="en", count=1)
    assert _messages(ctx) == [("info", "Evaluating 1 images", "EVAL_STARTING")]


def test_the_platform_levels_reach_caplog_as_stdlib_levels(caplog):
    ctx = RecordingContext()
    ctx.log_message("Upload failed for 3 files.", LogLevel.DANGER)
    ctx.log_message("Uploaded.", "success")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "Upload failed for 3 files."),
        ("INFO", "Uploaded."),
    ]
    assert [lvl for lvl, _, _ in _messages(ctx)] == ["danger", "success"]


def test_deprecated_context_argument_warns_and_is_the_level():
    ctx = RecordingContext()
    action = EvalAction(EvalParams(), ctx)
    with pytest.deprecated_call(match="context=.*deprecated"):
        action.log_message("careful", context="warning")
    assert _messages(ctx) == [("warning", "careful", None)]


def test_an_unknown_level_is_a_value_error_naming_the_levels():
    with pytest.raises(ValueError, match=r"unknown log level 'loud'.*success.*danger"):
        RecordingContext().log_message("x {n}", "loud", n=1)


def test_a_template_field_that_is_not_given_keeps_its_braces():
    ctx = RecordingContext()
    ctx.log_message("Saved {count} files to {path}", count=3)
    assert _messages(ctx) == [("info", "Saved 3 files to {path}", None)]


def test_step_keyword_and_end_log():
    ctx = RecordingContext()
    ctx.log_message("half way", step="train")
    ctx.end_log()
    events = [e for e in ctx.events if isinstance(e, LogEvent)]
    assert events[0].data == {"message": "half way", "step": "train"}
    assert events[1].data == {"message": "Plugin run is complete.", "key": "PLUGIN_RUN_COMPLETE"}


def test_register_log_messages_rejects_a_template_that_is_not_text():
    with pytest.raises(TypeError, match="EVAL_DONE must be a string"):
        register_log_messages({EvalLogMessageCode.EVAL_DONE: 3})


def test_step_wins_over_the_deprecated_category():
    ctx = RecordingContext()
    EvalAction(EvalParams(), ctx).set_progress(1, 2, "load", category="ignored")
    (event,) = [e for e in ctx.events if isinstance(e, ProgressEvent)]
    assert event.step == "load"
