"""A small plugin written into tmp_path for CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin_files import write_plugin

CONFIG = """\
name: Tools
code: tools
actions:
  add:
    entrypoint: plugin.actions:add
    description: Add numbers
  fail:
    entrypoint: plugin.actions:fail
  echo:
    entrypoint: plugin.actions:echo
"""

ACTIONS = """\
from pydantic import BaseModel, Field

from synapse_sdk.plugins import action


class AddParams(BaseModel):
    a: int
    b: int = 0
    opts: dict = Field(default_factory=dict)


class AddResult(BaseModel):
    total: int


@action(params=AddParams, result=AddResult)
def add(params, ctx):
    ctx.set_progress(1, 1, step="add")
    return AddResult(total=params.a + params.b)


@action
def fail(params, ctx):
    raise RuntimeError("kaboom")


@action
def echo(params, ctx):
    return params
"""


@pytest.fixture
def tools_plugin(tmp_path: Path) -> Path:
    return write_plugin(tmp_path / "tools", CONFIG, {"actions": ACTIONS})
