"""Assertion helpers pass on what happened and fail with a message showing what happened."""

import re

import pytest

from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_testing import (
    FakeBackend,
    RecordingContext,
    assert_logged,
    assert_metrics,
    assert_model_uploaded,
    assert_progress_complete,
    assert_warned,
)


def run_with(body, client=None):
    @action(name="act")
    def act(params: dict, ctx: RuntimeContext) -> None:
        body(ctx)

    return run_action(act, {}, ctx=RecordingContext(client=client))


def fails(message: str):
    return pytest.raises(AssertionError, match="^" + re.escape(message) + "$")


def test_progress_complete_passes_for_monotonic_progress_reaching_total():
    def body(ctx):
        for i in range(4):
            ctx.set_progress(i, 3, step="load")
        ctx.set_progress(50, 100)
        ctx.set_progress(100, 100)

    run = run_with(body)
    assert_progress_complete(run)
    assert_progress_complete(run, step="load")
    assert_progress_complete(run, step=None)


def test_progress_that_went_backwards_shows_the_timeline():
    run = run_with(lambda ctx: [ctx.set_progress(c, 3, step="train") for c in (1, 2, 1, 3)])
    with fails(
        "progress of step 'train' went backwards at update 3: 2/3 -> 1/3\n"
        "  timeline: 1/3, 2/3, 1/3, 3/3"
    ):
        assert_progress_complete(run)


def test_progress_that_stopped_short_names_the_last_update():
    run = run_with(lambda ctx: [ctx.set_progress(c, 4) for c in (1, 2)])
    with fails(
        "progress of the run did not reach its total: last update 2/4\n  timeline: 1/4, 2/4"
    ):
        assert_progress_complete(run)


def test_missing_progress_lists_the_events_or_the_steps():
    run = run_with(lambda ctx: ctx.log("hi"))
    with fails(
        "no progress was reported; the run's events:\n"
        "  run_started act\n  log info hi\n  result\n  run_finished succeeded"
    ):
        assert_progress_complete(run)
    run = run_with(lambda ctx: ctx.set_progress(1, 1, step="load"))
    with fails("no progress was reported for step 'train'; progress: step 'load'"):
        assert_progress_complete(run, step="train")


def test_metrics_equal_and_close():
    run = run_with(lambda ctx: [ctx.set_metrics({"loss": 1 / (i + 1)}, step="t") for i in range(3)])
    assert_metrics(run, "loss", [1.0, 0.5, 1 / 3])
    assert_metrics(run, "loss", [1.0, 0.5, 0.333], step="t", abs=1e-3)
    with fails(
        "metric 'loss' in step 't' series differs\n"
        "  expected: [1.0, 0.5, 0.333]\n"
        "  actual:   [1.0, 0.5, 0.3333333333333333]\n"
        "  first difference at index 2: 0.3333333333333333 != 0.333"
    ):
        assert_metrics(run, "loss", [1.0, 0.5, 0.333], step="t")
    with fails(
        "metric 'loss' series differs\n"
        "  expected: [1.0, 0.5]\n"
        "  actual:   [1.0, 0.5, 0.3333333333333333]\n"
        "  3 values recorded, 2 expected"
    ):
        assert_metrics(run, "loss", [1.0, 0.5])


def test_an_unrecorded_metric_lists_the_recorded_ones_with_a_suggestion():
    run = run_with(lambda ctx: ctx.set_metrics({"loss": 1, "acc": 2}, step="train"))
    with fails(
        "metric 'los' was never recorded; recorded metrics: acc [train], loss [train]; "
        "did you mean 'loss'?"
    ):
        assert_metrics(run, "los", [1])


def test_assert_logged_matches_event_data_and_message():
    def body(ctx):
        ctx.log("epoch_end", {"epoch": 1, "loss": 0.5})
        ctx.logger.info("saved %s", "w.pt")

    run = run_with(body)
    entry = assert_logged(run, "epoch_end", data={"epoch": 1})
    assert entry.data == {"epoch": 1, "loss": 0.5}
    assert assert_logged(run, message="saved w.pt").level == "info"
    with fails(
        "no log with event 'epoch_end', data {'epoch': 2}; the run logged:\n"
        "  log info epoch_end {'epoch': 1, 'loss': 0.5}\n"
        "  log info 'saved w.pt'"
    ):
        assert_logged(run, "epoch_end", data={"epoch": 2})
    with pytest.raises(TypeError, match="needs an event name or message="):
        assert_logged(run)


def test_assert_warned_returns_the_warning_or_lists_them():
    run = run_with(lambda ctx: ctx.warn("disk almost full", code="disk"))
    assert assert_warned(run, "disk", match="almost").message == "disk almost full"
    with fails("no warning with code 'cpu'; warnings:\n  disk: disk almost full"):
        assert_warned(run, "cpu")


def test_assert_model_uploaded(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"W")
    backend = FakeBackend()
    backend.add_model("base")
    with fails("no model was uploaded (expected one with name='best'); backend calls: none"):
        assert_model_uploaded(backend, name="best")
    backend.create_model(weights, name="best", meta={"acc": 0.9, "epochs": 2})
    record = assert_model_uploaded(backend, name="best", meta={"acc": 0.9}, content=b"W")
    assert record["id"] == 2
    with fails(
        "no uploaded model with name='best', meta={'acc': 1.0}; uploaded models:\n"
        "  2 'best' meta={'acc': 0.9, 'epochs': 2} dataset=None size=1"
    ):
        assert_model_uploaded(backend, name="best", meta={"acc": 1.0})
