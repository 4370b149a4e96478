"""A real plugin on disk (not importable from the test process) for the executor tests."""

from __future__ import annotations

import textwrap

import pytest

PLUGIN = '''
import os
import time
from pathlib import Path

from pydantic import BaseModel, Field

from synapse_sdk.plugins import (
    BaseAction,
    BaseStep,
    CancelledError,
    RuntimeContext,
    StepRegistry,
    StepResult,
    action,
)
from synapse_sdk.plugins.steps import StepContext


class CountParams(BaseModel):
    n: int = Field(default=3, ge=1)
    sleep: float = 0.0
    marker: str | None = None


class CountResult(BaseModel):
    total: int
    pid: int
    started: float
    finished: float


@action(name="count", result=CountResult)
def count(params: CountParams, ctx: RuntimeContext) -> CountResult:
    started = time.time()
    for i in range(params.n):
        ctx.set_progress(i + 1, params.n)
        time.sleep(params.sleep)
    ctx.set_metrics({"n": params.n})
    ctx.log("counted", {"n": params.n})
    return CountResult(total=params.n, pid=os.getpid(), started=started, finished=time.time())


class WaitParams(BaseModel):
    gate: str
    rollback_marker: str | None = None


@action(name="wait_for_gate")
def wait_for_gate(params: WaitParams, ctx: RuntimeContext) -> dict:
    """Reports progress, then waits until the gate file exists; rolls back when cancelled."""
    ctx.set_progress(1, 2)
    try:
        while not Path(params.gate).exists():
            ctx.check_cancelled()
            time.sleep(0.01)
    except CancelledError:
        if params.rollback_marker:
            Path(params.rollback_marker).write_text("rolled back")
        raise
    ctx.set_progress(2, 2)
    return {"gate": "open"}


@action(name="stubborn")
def stubborn(params: dict, ctx: RuntimeContext) -> None:
    """Never reaches a cancellation point."""
    ctx.log("started", {})
    time.sleep(60)


@action(name="boom")
def boom(params: dict, ctx: RuntimeContext) -> None:
    ctx.log("about_to_fail", {})
    raise RuntimeError("bad thing happened")


@action(name="die")
def die(params: dict, ctx: RuntimeContext) -> None:
    print("dying now", flush=True)
    os._exit(7)


@action(name="environ")
def environ(params: dict, ctx: RuntimeContext) -> dict:
    print("hello from the job", flush=True)
    return {
        "ctx_env": dict(ctx.env),
        "os_env": sorted(os.environ),
        "plugin_var": os.environ.get("PLUGIN_VAR"),
        "prefix": __import__("sys").prefix,
    }


class StepsParams(BaseModel):
    """No params: the gate and marker paths come from the job's env (GATE, MARKER)."""


class Prepare(BaseStep[str]):
    name = "prepare"

    def execute(self, ctx: StepContext) -> StepResult[str]:
        ctx.set_progress(1, 1)
        return StepResult("prepared", rollback_data=ctx.env.get("MARKER"))

    def rollback(self, ctx: StepContext, result: StepResult[str] | None = None) -> None:
        Path(result.rollback_data).write_text("prepare rolled back")


class Wait(BaseStep[None]):
    name = "wait"

    def execute(self, ctx: StepContext) -> None:
        while not Path(ctx.env["GATE"]).exists():
            ctx.check_cancelled()
            time.sleep(0.01)


class TwoSteps(BaseAction[StepsParams]):
    action_name = "two_steps"

    def setup_steps(self, registry: StepRegistry) -> None:
        registry.register(Prepare())
        registry.register(Wait())


@action(name="exits")
def exits(params: dict, ctx: RuntimeContext) -> None:
    ctx.log("exiting", {})
    raise SystemExit(3)


@action(name="selfref")
def selfref(params: dict, ctx: RuntimeContext) -> dict:
    result = {"name": "loop"}
    result["self"] = result
    return result


class PidParams(BaseModel):
    pidfile: str


@action(name="fork_and_die")
def fork_and_die(params: PidParams, ctx: RuntimeContext) -> None:
    """Dies while a forked child (which inherited the event pipe) sleeps on."""
    ctx.log("forking", {})
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    Path(params.pidfile).write_text(str(child))
    os._exit(9)


@action(name="leak_thread")
def leak_thread(params: dict, ctx: RuntimeContext) -> dict:
    import threading

    threading.Thread(target=time.sleep, args=(30,), daemon=False).start()
    return {"ok": True}


class EchoParams(BaseModel):
    text: str
    times: int = Field(default=1, ge=1, le=10)


class EchoResult(BaseModel):
    echo: str


class EchoAction(BaseAction[EchoParams]):
    action_name = "echo"
    result_model = EchoResult

    def execute(self) -> EchoResult:
        self.set_progress(1, 1)
        return EchoResult(echo=self.params.text * self.params.times)
'''


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A plugin directory holding the package ``h8plugin`` (module ``h8plugin.actions``)."""
    root = tmp_path_factory.mktemp("plugin")
    package = root / "h8plugin"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "actions.py").write_text(textwrap.dedent(PLUGIN))
    return str(root)


@pytest.fixture(scope="module")
def plugin_module(plugin_dir: str):
    """``h8plugin.actions`` imported in this process (the objects a test passes to executors)."""
    import importlib
    import sys

    sys.path.insert(0, plugin_dir)
    try:
        yield importlib.import_module("h8plugin.actions")
    finally:
        sys.path.remove(plugin_dir)


@pytest.fixture(scope="session")
def task_pool(plugin_dir: str):
    """One warm pool of two workers shared by the task tests."""
    from synapse_sdk.plugins.executors import TaskExecutor

    pool = TaskExecutor(2, preload=["h8plugin.actions:count"], plugin_dir=plugin_dir)
    pool.start(wait=True)
    yield pool
    pool.close()


CONFIG = """\
name: Modes Plugin
code: modes
version: 0.1.0
env:
  GREETING: hello
actions:
  shout:
    entrypoint: plugin.tools:shout
    method: task
    description: Shout a word
"""

TOOLS = """
import os

from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action


class ShoutParams(BaseModel):
    word: str


class ShoutResult(BaseModel):
    text: str
    pid: int


@action(result=ShoutResult)
def shout(params: ShoutParams, ctx: RuntimeContext) -> ShoutResult:
    ctx.set_progress(1, 1)
    greeting = ctx.env.get("GREETING", "hey")
    return ShoutResult(text=f"{greeting} {params.word.upper()}", pid=os.getpid())
"""


@pytest.fixture(scope="session")
def modes_plugin(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A config.yaml plugin (`plugin/tools.py`, action `shout`, env GREETING=hello)."""
    root = tmp_path_factory.mktemp("modes")
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin").mkdir()
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "tools.py").write_text(textwrap.dedent(TOOLS))
    return str(root)
