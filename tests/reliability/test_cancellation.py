"""Cancellation: a rollback runs to its end in every mode (also when it reports progress and
logs), and a signal to ``synapse run`` cancels the run instead of killing it: the job is
recorded as cancelled, never left ``running``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from synapse_sdk.plugins import RunStatus, RuntimeContext
from synapse_sdk.plugins.events import Event, StepEvent
from synapse_sdk.plugins.runner import run_plugin_record

CONFIG = """\
name: Steps
code: steps
actions:
  pipeline:
    entrypoint: plugin.pipeline:Pipeline
"""

PIPELINE = '''
import time

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, BaseStep, StepRegistry


class Params(BaseModel):
    trail: str
    ticks: int = 3000


def note(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\\n")


class Download(BaseStep[None]):
    name = "download"

    def execute(self, ctx):
        note(ctx.params.trail, "download")

    def rollback(self, ctx, result=None):
        ctx.log("undo_download", {"phase": "start"})
        ctx.set_progress(1, 2)  # the step context's progress
        ctx.runtime.set_progress(1, 1, "cleanup")  # and the run's own
        ctx.check_cancelled()
        ctx.log("undo_download", {"phase": "done"})
        note(ctx.params.trail, "undo download: done")


class Convert(BaseStep[None]):
    name = "convert"

    def execute(self, ctx):
        note(ctx.params.trail, "convert")
        for i in range(ctx.params.ticks):
            ctx.set_progress(i, ctx.params.ticks)
            time.sleep(0.01)

    def rollback(self, ctx, result=None):
        ctx.set_progress(0, 1)
        note(ctx.params.trail, "undo convert")


class Pipeline(BaseAction[Params]):
    """Two steps; the second runs until it is cancelled."""

    def setup_steps(self, registry: StepRegistry) -> None:
        registry.register(Download())
        registry.register(Convert())
'''


@pytest.fixture
def steps_plugin(tmp_path: Path) -> Path:
    root = tmp_path / "steps"
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    return root


class CancelWhenConverting:
    """Cancels the run once the ``convert`` step has started (as a user's Cancel would)."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.statuses: list[tuple[str, str]] = []

    def emit(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self.statuses.append((event.step, event.status))
            if (event.step, event.status) == ("convert", "started"):
                self.ctx.cancel()


@pytest.mark.parametrize("mode", ["local", "task", "job"])
def test_a_rollback_that_reports_progress_runs_to_its_end_when_the_run_is_cancelled(
    steps_plugin, tmp_path, mode
):
    trail = tmp_path / "trail.txt"
    ctx = RuntimeContext()
    watcher = CancelWhenConverting(ctx)
    run = run_plugin_record(
        steps_plugin, "pipeline", {"trail": str(trail)}, mode=mode, ctx=ctx, sinks=[watcher]
    )
    assert run.status is RunStatus.CANCELLED, run.error
    assert trail.read_text().splitlines() == [
        "download",
        "convert",
        "undo convert",
        "undo download: done",
    ]
    assert ("download", "rolled_back") in watcher.statuses
    assert not [s for s in watcher.statuses if s[1] == "rollback_failed"]
