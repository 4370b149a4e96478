"""Plugins the reliability tests run, written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin_files import write_plugin

CONFIG = """\
name: Steps
code: steps
actions:
  pipeline:
    entrypoint: plugin.pipeline:Pipeline
  stubborn:
    entrypoint: plugin.pipeline:stubborn
"""

PIPELINE = '''
import time

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, BaseStep, StepRegistry, action


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


@action(params=Params)
def stubborn(params, ctx):
    """Never reaches a cancellation point."""
    note(params.trail, "stubborn")
    for _ in range(params.ticks):
        time.sleep(0.01)
'''


@pytest.fixture
def steps_plugin(tmp_path: Path) -> Path:
    return write_plugin(tmp_path / "steps", CONFIG, {"pipeline": PIPELINE})
