"""ActionPanel: Run / Cancel from the buttons, live view, result, errors, re-runs."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.notebook import ActionPanel
from synapse_sdk.plugins import BaseAction, RuntimeContext, action
from synapse_sdk.plugins.errors import CancelledError, ExecutionError, ValidationError
from synapse_sdk.plugins.runner import RunStatus


class TrainParams(BaseModel):
    epochs: int = Field(3, ge=1, le=50, description="Passes over the data")
    fail: bool = False


class TrainResult(BaseModel):
    final_loss: float
    epochs: int


class Train(BaseAction[TrainParams]):
    """Train a toy model."""

    action_name = "train"
    result_model = TrainResult

    def execute(self) -> TrainResult:
        loss = 1.0
        for epoch in range(self.params.epochs):
            loss /= 2
            self.set_progress(epoch + 1, self.params.epochs, step="train")
            self.set_metrics({"loss": loss}, step="train")
            self.log("epoch", {"epoch": epoch})
        if self.params.fail:
            raise RuntimeError("diverged")
        self.set_progress(1, 1, step="save")
        return TrainResult(final_loss=loss, epochs=self.params.epochs)


started = threading.Event()


class SlowParams(BaseModel):
    steps: int = 10_000


@action(name="slow", params=SlowParams)
def slow(params: SlowParams, ctx: RuntimeContext) -> int:
    for i in range(params.steps):
        started.set()
        ctx.set_progress(i + 1, params.steps)
        time.sleep(0.001)
    return params.steps


def test_clicking_run_runs_the_action_and_shows_bars_metrics_logs_and_result():
    panel = ActionPanel(Train)
    panel.form.widgets["epochs"].value = 4
    panel.run_button.click()
    run = panel.wait(timeout=10)

    assert run is not None and run.ok and panel.run is run
    assert run.result == TrainResult(final_loss=0.0625, epochs=4)
    bars = panel.view.bars
    assert list(bars) == ["train", "save"]
    assert (bars["train"].bar.value, bars["train"].bar.max) == (4, 4)
    assert bars["train"].bar.bar_style == "success"
    metrics = panel.view.metrics.value
    assert "train/loss" in metrics and "0.0625" in metrics and "<polyline" in metrics
    assert "info    epoch {&#x27;epoch&#x27;: 3}" in panel.view.logs.value
    result = panel.view.result.value
    assert "final_loss" in result and "0.0625" in result
    assert "succeeded" in panel.status.value
    assert not panel.run_button.disabled and panel.cancel_button.disabled


def test_run_button_is_disabled_while_the_form_is_invalid():
    class Window(BaseModel):
        size: int = Field(5, ge=1)
        label: dict[str, int] = {}

    @action(params=Window)
    def windowed(params: Window, ctx: RuntimeContext) -> int:
        return params.size

    panel = ActionPanel(windowed)
    assert not panel.run_button.disabled
    panel.form.widgets["label"].value = '{"a": "b"}'
    assert panel.run_button.disabled
    assert panel.run_button.tooltip == "1 field(s) to fix"
    with pytest.raises(ValidationError, match=r"label\.a"):
        panel.start()
    panel.form.widgets["label"].value = '{"a": 1}'
    assert not panel.run_button.disabled


def test_cancel_stops_the_run_in_the_worker_thread():
    started.clear()
    panel = ActionPanel(slow)
    panel.run_button.click()
    assert started.wait(5)
    assert panel.running and not panel.cancel_button.disabled and panel.run_button.disabled
    panel.cancel_button.click()
    run = panel.wait(timeout=10)

    assert run is not None and run.status is RunStatus.CANCELLED
    assert isinstance(run.error, CancelledError)
    bar = panel.view.bars[None].bar
    assert 0 < bar.value < 10_000
    assert bar.bar_style == "warning"
    assert "cancelled" in panel.status.value


def test_a_failure_shows_the_error_with_a_collapsible_traceback():
    panel = ActionPanel(Train, params={"fail": True})
    run = panel.run_sync(timeout=10)

    assert run is not None and isinstance(run.error, ExecutionError)
    html = panel.view.result.value
    assert html.startswith("<details><summary>")
    assert "ExecutionError: Action &#x27;train&#x27; failed: RuntimeError: diverged" in html
    assert "Traceback (most recent call last)" in html
    assert panel.view.bars["train"].bar.bar_style == "danger"
    assert "failed" in panel.status.value


def test_rerun_with_edited_params_keeps_the_history_and_resets_the_view():
    panel = ActionPanel(Train)
    first = panel.run_sync({"epochs": 2}, timeout=10)
    old_bar = panel.view.bars["train"].bar
    panel.form.widgets["epochs"].value = 6
    second = panel.run_sync(timeout=10)

    assert [r.params.epochs for r in panel.runs] == [2, 6]
    assert panel.runs == [first, second] and panel.run is second
    assert panel.view.bars["train"].bar is not old_bar
    assert panel.view.bars["train"].bar.value == 6
    assert len(panel.view.progress.children) == 2  # no leftover rows from the first run


def test_start_while_running_and_wait_timeout_are_clear_errors():
    started.clear()
    panel = ActionPanel(slow)
    panel.start()
    assert started.wait(5)
    with pytest.raises(RuntimeError, match="'slow' is already running"):
        panel.start()
    with pytest.raises(TimeoutError, match=r"'slow' still running after 0\.01 s"):
        panel.wait(timeout=0.01)
    panel.cancel()
    assert panel.wait(timeout=10).status is RunStatus.CANCELLED


def test_a_plugin_path_needs_the_action_name():
    with pytest.raises(
        TypeError, match=r"needs the action name too: ActionPanel\('my_plugin', 'train'\)"
    ):
        ActionPanel("my_plugin")


PLUGIN_CONFIG = """\
name: Echo Plugin
code: echo
version: 0.1.0
category: neural_net
description: A one-action plugin for the panel tests
actions:
  shout:
    entrypoint: plugin.main:shout
    method: task
    description: Upper-case a word
"""

PLUGIN_CODE = """\
from pydantic import BaseModel, Field

from synapse_sdk.plugins import RuntimeContext, action


class ShoutParams(BaseModel):
    word: str = Field("hello", description="What to shout")


@action(params=ShoutParams)
def shout(params: ShoutParams, ctx: RuntimeContext) -> dict:
    ctx.set_progress(1, 1)
    return {"shouted": params.word.upper()}
"""


def test_panel_from_a_plugin_directory_uses_the_config(tmp_path):
    (tmp_path / "config.yaml").write_text(PLUGIN_CONFIG)
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "__init__.py").write_text("")
    (tmp_path / "plugin" / "main.py").write_text(PLUGIN_CODE)

    panel = ActionPanel.from_plugin(tmp_path, "shout")
    assert panel.spec.name == "shout"
    assert "Upper-case a word" in panel.header.value
    assert "What to shout" in panel.form._rows["word"].label.value
    panel.form.widgets["word"].value = "hi"
    run = panel.run_sync(timeout=10)
    assert run is not None and run.result == {"shouted": "HI"}


def test_close_cancels_the_run_and_closes_every_widget():
    from ipywidgets.widgets.widget import _instances

    started.clear()
    before = set(_instances)
    panel = ActionPanel(slow)
    panel.start()
    assert started.wait(5)
    made = set(_instances) - before
    assert panel.run_button.model_id in made
    panel.close()
    assert panel.run is not None and panel.run.status is RunStatus.CANCELLED
    assert not set(_instances) & made


def test_the_form_is_read_only_while_a_run_goes_on_and_editable_after():
    import threading

    from synapse_sdk.plugins import action

    release = threading.Event()

    @action(name="wait_here")
    def wait_here(params: dict, ctx: RuntimeContext) -> int:
        release.wait(10)
        return 1

    panel = ActionPanel(wait_here)
    panel.start()
    try:
        assert panel.form.read_only is True
    finally:
        release.set()
        panel.wait(timeout=10)
    assert panel.form.read_only is False
    panel.close()
