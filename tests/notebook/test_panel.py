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

    assert run is not None and run.ok and panel.last_run is run
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
    assert "Done in" in panel.status.value and "events" not in panel.status.value
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
    assert "Cancelled after" in panel.status.value
    # a cancel the user asked for is no error: no red, no traceback, where it stopped
    result = panel.view.result.value
    assert "you stopped the run during slow, at " in result
    assert "CancelledError" not in result and "#c62828" not in result


def test_a_failure_shows_the_error_once_with_a_collapsible_traceback():
    panel = ActionPanel(Train, params={"fail": True})
    run = panel.run_sync(timeout=10)

    assert run is not None and isinstance(run.error, ExecutionError)
    html = panel.view.result.value
    assert html.startswith('<details class="synapse-error"><summary>')
    assert '<b style="color:#c62828">RuntimeError: diverged</b>' in html
    assert "ExecutionError" not in html  # the wrapper adds nothing a notebook user needs
    assert "Traceback (most recent call last)" in html
    assert html.count("diverged") == 2  # the summary, and the raise line in the traceback
    # train reached its total before the failure: it stays green
    assert panel.view.bars["train"].bar.bar_style == "success"
    assert "Failed after" in panel.status.value


def test_a_failed_step_turns_red_and_finished_steps_stay_green():
    @action(name="two_steps")
    def two_steps(params: dict, ctx: RuntimeContext) -> None:
        ctx.set_progress(3, 3, step="load")
        ctx.set_progress(1, 4, step="train")
        raise RuntimeError("out of memory")

    panel = ActionPanel(two_steps)
    panel.run_sync(timeout=10)
    styles = {step: bar.bar.bar_style for step, bar in panel.view.bars.items()}
    assert styles == {"load": "success", "train": "danger"}


def test_an_error_from_the_backend_shows_its_message_without_command_line_hints():
    from synapse_sdk.plugins.errors import NotFoundError

    @action(name="fetch")
    def fetch(params: dict, ctx: RuntimeContext) -> None:
        raise NotFoundError("dataset", 99, backend="/tmp/backend")

    panel = ActionPanel(fetch)
    panel.run_sync(timeout=10)
    html = panel.view.result.value
    assert "NotFoundError: No dataset with id 99 in backend /tmp/backend" in html
    assert "synapse backend" not in html and "hint" not in html


def test_a_hint_that_helps_in_a_notebook_is_kept():
    from synapse_sdk.plugins.errors import PluginError

    @action(name="configure")
    def configure(params: dict, ctx: RuntimeContext) -> None:
        raise PluginError("no labels in the dataset", hint="add a labels/ folder")

    panel = ActionPanel(configure)
    panel.run_sync(timeout=10)
    assert "hint: add a labels/ folder" in panel.view.result.value


def test_panel_run_is_no_record_that_fails_when_called():
    panel = ActionPanel(Train)
    assert panel.last_run is None
    with pytest.raises(AttributeError, match=r"panel.run_sync\(\) runs and waits"):
        panel.run()
    first = panel.run_sync(timeout=10)
    assert panel.last_run is first is panel.runs[-1]


def test_rerun_with_edited_params_keeps_the_history_and_resets_the_view():
    panel = ActionPanel(Train)
    first = panel.run_sync({"epochs": 2}, timeout=10)
    old_bar = panel.view.bars["train"].bar
    panel.form.widgets["epochs"].value = 6
    second = panel.run_sync(timeout=10)

    assert [r.params.epochs for r in panel.runs] == [2, 6]
    assert panel.runs == [first, second] and panel.last_run is second
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
    assert panel.last_run is not None and panel.last_run.status is RunStatus.CANCELLED
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


@pytest.fixture
def front_end(monkeypatch: pytest.MonkeyPatch):
    """An IPython shell whose display messages are recorded (the front-end boundary)."""
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    publisher = CapturingDisplayPublisher()
    monkeypatch.setattr(shell, "display_pub", publisher)
    return publisher.outputs


def test_a_displayed_panel_carries_a_static_twin_that_a_run_refreshes_in_place(front_end):
    from IPython.display import display

    panel = ActionPanel(Train, params={"epochs": 3})
    display(panel)
    (shown,) = front_end
    display_id = shown["transient"]["display_id"]
    data = shown["data"]
    assert set(data) == {
        "text/plain",
        "text/html",
        "application/vnd.jupyter.widget-view+json",
    }
    assert data["text/plain"] == "ActionPanel('train', idle)"  # not VBox(children=...
    assert "Passes over the data" in data["text/html"] and "train" in data["text/html"]

    panel.run_sync(timeout=10)
    update = front_end[-1]
    assert update["update"] and update["transient"]["display_id"] == display_id
    html = update["data"]["text/html"]
    assert "3/3 (100%)" in html and "Done in" in html and "final_loss" in html
    assert 'width:100.0%;height:14px;background:#4caf50"' in html
    assert update["data"]["text/plain"] == "ActionPanel('train', succeeded)"


def test_a_run_started_from_the_button_refreshes_the_display_when_it_ends(front_end):
    from IPython.display import display

    panel = ActionPanel(Train)
    display(panel)
    panel.run_button.click()
    panel.wait(timeout=10)
    assert [o["update"] for o in front_end] == [False, True]
    assert "Done in" in front_end[-1]["data"]["text/html"]


def test_the_form_alone_displays_with_its_static_twin():
    from synapse_sdk.notebook import ParamsForm

    form = ParamsForm(TrainParams, values={"epochs": 0})
    data = form._repr_mimebundle_()
    html = data["text/html"]
    assert "Epochs" in html and ">0</span>" in html
    assert "Input should be greater than or equal to 1" in html  # the inline error too
    assert data["text/plain"] == "ParamsForm(TrainParams, 1 error(s))"


def test_keep_as_test_writes_a_test_of_the_plugin_run_and_says_so(tmp_path):
    import shutil
    from pathlib import Path

    alpha = Path(__file__).parents[1] / "plugins" / "sample_plugins" / "alpha"
    root = tmp_path / "alpha"
    shutil.copytree(alpha, root, ignore=shutil.ignore_patterns("__pycache__"))
    panel = ActionPanel(root, "train")
    assert panel.keep_button.disabled  # nothing to keep yet
    run = panel.run_sync({"epochs": 2}, timeout=30)
    assert run is not None and run.ok
    assert not panel.keep_button.disabled

    panel.keep_button.click()
    assert "Kept as test_saved_alpha_train.py" in panel.status.value
    assert (root / "tests" / "test_saved_alpha_train.py").is_file()
    panel.keep_button.click()  # never clobbers without asking
    assert "Not kept" in panel.status.value and "exists already" in panel.status.value
    panel.close()
