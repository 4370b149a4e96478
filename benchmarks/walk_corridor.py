"""How far a run walks through our modules: module hops and distinct modules per path.

Run: python benchmarks/walk_corridor.py            (this tree)
     PYTHONPATH=/path/to/old/checkout python benchmarks/walk_corridor.py   (another tree)

A "hop" is a Python-level call into a function of synapse_sdk / synapse_testing whose module
differs from the module of the previous such call. Each path is walked once warm (its plugin
loaded and cached), as it is walked on every later call.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

OURS = ("synapse_sdk", "synapse_testing")

CONFIG = """\
name: Walk
code: walk
version: 0.1.0
category: custom
actions:
  hello:
    entrypoint: plugin.main:Hello
"""
CODE = """\
from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction


class HelloParams(BaseModel):
    name: str = "x"


class Hello(BaseAction[HelloParams]):
    def execute(self) -> dict:
        self.ctx.set_progress(1, 1)
        return {"greeting": "hi " + self.params.name}
"""


def walk(fn: Callable[[], Any]) -> tuple[int, int]:
    """(hops, modules) of one call of ``fn``."""
    modules: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        name = frame.f_globals.get("__name__", "")
        if name.startswith(OURS) and (not modules or modules[-1] != name):
            modules.append(name)

    sys.setprofile(profile)
    threading.setprofile(profile)  # the notebook panel runs the action in a thread
    try:
        fn()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return max(len(modules) - 1, 0), len(set(modules))


def main() -> None:
    from synapse_sdk.cli import main as cli_main
    from synapse_sdk.plugins import run_action
    from synapse_sdk.plugins.loading import resolve_action

    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp, "walk_plugin")
        (plugin / "plugin").mkdir(parents=True)
        (plugin / "config.yaml").write_text(CONFIG)
        (plugin / "plugin" / "__init__.py").write_text("")
        (plugin / "plugin" / "main.py").write_text(CODE)
        os.chdir(tmp)  # no .synapse here: the CLI records nothing
        os.environ.pop("SYNAPSE_HOME", None)
        spec = resolve_action(str(plugin), "hello")
        cls = spec.target

        def cli() -> None:
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                cli_main(["run", str(plugin), "hello", "-p", "name=bob"])

        paths: list[tuple[str, Callable[[], Any]]] = [
            ("run_action(cls, params)", lambda: run_action(cls, {"name": "bob"})),
            ("synapse run DIR ACTION -p k=v", cli),
        ]
        try:
            from synapse_sdk.notebook import ActionPanel

            def panel() -> None:
                p = ActionPanel(str(plugin), "hello")
                p.run_sync({"name": "bob"})
                p.close()

            paths.append(("notebook panel run", panel))
        except ImportError:
            pass
        try:
            from synapse_testing import RecordingContext
            from synapse_testing._runner import ActionRunner

            def fixture_run() -> None:
                runner = ActionRunner(RecordingContext())
                runner(str(plugin), "hello", {"name": "bob"})

            paths.append(("synapse_run(plugin, action) call", fixture_run))
        except ImportError:
            pass
        print(f"{'path':36} {'hops':>5} {'modules':>8}")
        for label, fn in paths:
            fn()  # warm: plugin loaded, caches filled
            hops, modules = walk(fn)
            print(f"{label:36} {hops:5d} {modules:8d}")


if __name__ == "__main__":
    main()
