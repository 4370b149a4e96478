"""The notebook panel runs through the same executors as run_plugin(..., mode=...)."""

from __future__ import annotations

import os
import textwrap

import pytest

pytest.importorskip("ipywidgets")

from synapse_sdk.notebook import ActionPanel
from synapse_sdk.plugins.events import ProgressEvent

ACTIONS = """
import os

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction


class CountParams(BaseModel):
    n: int = 3


class CountAction(BaseAction[CountParams]):
    action_name = "count"

    def execute(self):
        for i in range(1, self.params.n + 1):
            self.set_progress(i, self.params.n, step="count")
        return {"pid": os.getpid(), "n": self.params.n}
"""


@pytest.fixture
def plugin(tmp_path):
    root = tmp_path / "panelplugin"
    (root / "plugin").mkdir(parents=True)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "count.py").write_text(ACTIONS)
    (root / "config.yaml").write_text(
        textwrap.dedent(
            """\
            name: Panel plugin
            code: panelplugin
            version: 0.1.0
            category: custom
            actions:
              count:
                entrypoint: plugin.count:CountAction
                method: task
            """
        )
    )
    return str(root)


def test_a_panel_in_task_mode_runs_in_a_worker_and_its_bar_ends_at_the_total(plugin):
    panel = ActionPanel(plugin, "count", mode="task", params={"n": 4})
    try:
        run = panel.run_sync(timeout=60)
        assert run is not None and run.ok, run and run.error
        assert run.result["pid"] != os.getpid()  # it ran in a worker process
        assert [e.current for e in run.events_of(ProgressEvent)] == [1, 2, 3, 4]
        bar = panel.view.bars["count"].bar
        assert (bar.value, bar.max, bar.bar_style) == (4, 4, "success")
    finally:
        panel.close()


def test_a_local_panel_stays_in_process(plugin):
    panel = ActionPanel(plugin, "count", params={"n": 2})
    try:
        run = panel.run_sync(timeout=30)
        assert run is not None and run.result["pid"] == os.getpid()
    finally:
        panel.close()
