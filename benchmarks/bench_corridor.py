"""The run corridor against a baseline checkout, in one run (issue 16: each within 10%).

Run: python benchmarks/bench_corridor.py --baseline /path/to/old/checkout
     (e.g. `git worktree add /tmp/base <rev>` first)

Four figures, each measured for this tree and for the baseline tree in subprocesses that
alternate (A B A B ...), each subprocess reporting the minimum of short batches, and the
minimum over all rounds kept: a slow spell of a shared machine hits both trees alike.
The bytecode cache is on, as users run it. Ratios are this tree / baseline.

* import: wall time of ``python -c "import synapse_sdk.plugins"``
* run_action: per-call time of ``run_action(trivial, {"x": 3})``
* run_plugin: per-call time of a repeated ``run_plugin(plugin_dir, "hello", {...})``
* CLI: wall time of ``synapse run PLUGIN hello -p name=x`` (no backend home)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

PLUGIN_CONFIG = """\
name: Bench
code: bench
version: 0.1.0
category: custom
actions:
  hello:
    entrypoint: plugin.main:hello
    method: task
"""
PLUGIN_CODE = """\
from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action


class Hello(BaseModel):
    name: str = "x"


@action(params=Hello)
def hello(params: Hello, ctx: RuntimeContext) -> dict:
    return {"greeting": "hi " + params.name}
"""

IN_PROCESS = textwrap.dedent(
    """
    import sys, timeit
    from pydantic import BaseModel
    from synapse_sdk.plugins import RuntimeContext, action, run_action, run_plugin

    class P(BaseModel):
        x: int = 1

    @action(params=P)
    def trivial(params: P, ctx: RuntimeContext) -> dict:
        return {"x": params.x}

    plugin = sys.argv[1]
    params = {"x": 3}
    hello = {"name": "bob"}
    run_plugin(plugin, "hello", hello)

    def best(stmt, number):
        timer = timeit.Timer(stmt)
        return min(timer.timeit(number) for _ in range(60)) / number

    print(best(lambda: run_action(trivial, params), 500))
    print(best(lambda: run_plugin(plugin, "hello", hello), 300))
    """
)


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("SYNAPSE_HOME", None)
    return env


def _wall(args: list[str], env: dict[str, str], cwd: str, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def measure(tree: Path, plugin: str, cwd: str) -> dict[str, float]:
    env = _env(tree)
    py = sys.executable
    out = subprocess.run(
        [py, "-c", IN_PROCESS, plugin], env=env, cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.split()
    cli = [py, "-c", "import sys; from synapse_sdk.cli import main; sys.exit(main())"]
    return {
        "import synapse_sdk.plugins (ms)": _wall([py, "-c", "import synapse_sdk.plugins"], env, cwd)
        * 1e3,
        "run_action trivial (µs)": float(out[0]) * 1e6,
        "run_plugin(path) repeated (µs)": float(out[1]) * 1e6,
        "CLI trivial run (ms)": _wall([*cli, "run", plugin, "hello", "-p", "name=x"], env, cwd)
        * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, type=Path, help="an older checkout")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp, "bench_plugin")
        (plugin / "plugin").mkdir(parents=True)
        (plugin / "config.yaml").write_text(PLUGIN_CONFIG)
        (plugin / "plugin" / "__init__.py").write_text("")
        (plugin / "plugin" / "main.py").write_text(PLUGIN_CODE)
        best: dict[str, dict[str, float]] = {"this": {}, "baseline": {}}
        for _ in range(args.rounds):
            for label, tree in (("baseline", args.baseline.resolve()), ("this", HERE)):
                for key, value in measure(tree, str(plugin), tmp).items():
                    best[label][key] = min(best[label].get(key, float("inf")), value)
    print(f"{'figure':34} {'baseline':>10} {'this':>10} {'ratio':>7}")
    for key, base in best["baseline"].items():
        this = best["this"][key]
        print(f"{key:34} {base:10.2f} {this:10.2f} {this / base:7.3f}")


if __name__ == "__main__":
    main()
