"""Console sink output (plain mode) and JSONL round trip."""

import io
import json

from synapse_sdk.plugins import ConsoleSink, JsonlSink, RuntimeContext, action, run_action
from synapse_sdk.plugins.events import event_from_dict


@action()
def work(params, ctx):
    ctx.log("start", {"n": 100})
    for i in range(1, 101):
        ctx.set_progress(i, 100, step="train")
        ctx.set_metrics({"loss": 1 / i}, step="train")
    ctx.logger.warning("almost done")
    return {"ok": True}


def test_plain_console_output_is_throttled_and_readable(monkeypatch):
    now = [0.0]
    out = io.StringIO()
    sink = ConsoleSink(out, clock=lambda: now[0])
    run = run_action(work, {}, sinks=[sink])
    lines = out.getvalue().splitlines()
    assert lines[0] == f"run {run.run_id}: work started"
    assert lines[1] == "start {'n': 100}"
    progress = [line for line in lines if line.startswith("train:")]
    assert progress[0] == "train:   1.0% (1/100)"
    assert progress[-1] == "train: 100.0% (100/100)"
    assert len(progress) == 11  # one line per 10 %, plus the first
    metrics = [line for line in lines if "metrics" in line]
    assert metrics == ["[train] metrics loss=1", "[train] metrics loss=0.01"]
    assert "WARNING: almost done" in lines
    assert lines[-1].startswith(f"run {run.run_id}: succeeded in ")
    assert "\x1b[" not in out.getvalue()


def test_no_color_forces_plain_output_even_on_a_tty(monkeypatch):
    class TTY(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    out = TTY()
    run_action(work, {}, sinks=[ConsoleSink(out)])
    assert "train: 100.0% (100/100)" in out.getvalue()
    assert "\x1b[" not in out.getvalue()


def test_jsonl_events_round_trip(tmp_path):
    path = tmp_path / "log.jsonl"
    run = run_action(work, {}, sinks=[JsonlSink(path)])
    rebuilt = [event_from_dict(json.loads(line)) for line in path.read_text().splitlines()]
    assert len(rebuilt) == len(run.events)
    assert [type(e) for e in rebuilt] == [type(e) for e in run.events]
    assert rebuilt[5] == run.events[5]


def test_sinks_on_a_user_context_are_kept_after_the_run():
    out = io.StringIO()
    ctx = RuntimeContext(sinks=[ConsoleSink(out)])
    run_action(work, {}, ctx=ctx)
    assert len(ctx.sinks) == 1
