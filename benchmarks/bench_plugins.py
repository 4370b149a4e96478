"""Plugin benchmarks (issue 3): CLI wall time, ast discovery, cached run_plugin overhead.

Run: python benchmarks/bench_plugins.py [--quick] [--part=1 --part=3 ...]
Each figure is quoted against a baseline measured in the same process:

1. ``synapse run PLUGIN noop`` as a whole process vs ``python -c pass`` (target: <= 0.3 s),
   medians; the same action with a pydantic params model, and the floor pydantic sets.
2. ``PluginDiscovery.discover_actions`` on a generated plugin of 1,000 modules (<= 0.5 s),
   medians, cold (nothing cached) and warm, vs reading and ``ast.parse`` of the same files.
3. repeated ``run_plugin(path, ...)`` vs ``run_action`` on the same action (<= +20 µs),
   the minimum of many short interleaved batches of each.

Run it with the bytecode cache on (``env -u PYTHONDONTWRITEBYTECODE``), as a user would.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from synapse_sdk.plugins import run_action, run_plugin
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.loading import load_plugin, resolve_action

NOOP_CONFIG = "name: Bench\ncode: bench\nactions:\n  noop:\n    entrypoint: plugin.noop:noop\n"
NOOP_CODE = (
    "from synapse_sdk.plugins import action\n\n\n"
    "@action\ndef noop(params, ctx):\n    return {'ok': True}\n"
)
# the same action with a pydantic params model: pays for importing pydantic (see the floor)
TYPED_CODE = (
    "from pydantic import BaseModel\n\nfrom synapse_sdk.plugins import action\n\n\n"
    "class Params(BaseModel):\n    n: int = 1\n\n\n"
    "@action(params=Params)\ndef noop(params, ctx):\n    return {'ok': True}\n"
)
MODULE_CODE = '''\
"""Generated module {i}."""

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, action
from synapse_sdk.plugins.types import DMv2Dataset, ModelWeights


class Params{i}(BaseModel):
    epochs: int = 1
    name: str = "m{i}"


def helper_{i}(x: int) -> int:
    return x * {i}


class Train{i}Action(BaseAction[Params{i}]):
    """Train model {i}."""

    input_type = DMv2Dataset
    output_type = ModelWeights

    def execute(self) -> dict:
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs)
        return {{"model": helper_{i}(self.params.epochs)}}


@action(name="convert_{i}", description="Convert {i}")
def convert_{i}(params, ctx):
    return {{"n": {i}}}
'''


def make_noop_plugin(root: Path, code: str = NOOP_CODE) -> Path:
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(NOOP_CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "noop.py").write_text(code)
    return root


def make_big_plugin(root: Path, modules: int) -> Path:
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text("name: Big\ncode: big\n")
    (root / "plugin" / "__init__.py").write_text("")
    for i in range(modules):
        package = root / "plugin" / f"group{i // 100}"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").touch()
        (package / f"mod{i}.py").write_text(MODULE_CODE.format(i=i))
    return root


def wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys of the child) of running ``argv``."""
    times = []
    cpu = []
    env = {**os.environ, "NO_COLOR": "1"}
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), statistics.median(cpu)


def main() -> None:
    quick = "--quick" in sys.argv
    parts = {arg[len("--part=") :] for arg in sys.argv if arg.startswith("--part=")} or {
        "1",
        "2",
        "3",
    }
    runs = 5 if quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        noop = make_noop_plugin(tmp_path / "noop")
        typed = make_noop_plugin(tmp_path / "typed", TYPED_CODE)

        if "1" in parts:
            cli_figures(noop, typed, runs)
        if "2" in parts:
            discovery_figures(tmp_path, quick)
        if "3" in parts:
            run_plugin_figures(noop, quick)


def cli_figures(noop: Path, typed: Path, runs: int) -> None:
    # 1. whole-process `synapse run`
    script = Path(sys.executable).with_name("synapse")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "synapse_sdk.cli"]
    wall([*cli, "run", str(noop), "noop"], 2)  # warm the bytecode caches
    wall([*cli, "run", str(typed), "noop"], 2)
    base = wall([sys.executable, "-c", "pass"], runs)
    # the floor of any run whose config or params are pydantic models: importing pydantic
    # and yaml, and building one model (which makes pydantic scan its plugin entry points)
    floor = "import pydantic, yaml\nclass M(pydantic.BaseModel):\n    x: int = 1\n"
    pyd = wall([sys.executable, "-c", floor], runs)
    cli_time = wall([*cli, "run", str(noop), "noop", "--no-backend"], runs)
    typed_time = wall([*cli, "run", str(typed), "noop", "--no-backend"], runs)
    print(f"1. synapse run (trivial action), whole process, median of {runs}:")
    print(f"   synapse run PLUGIN noop:       {cli_time[0]:.3f} s wall, {cli_time[1]:.3f} s CPU")
    print(
        f"   same, params model (pydantic): {typed_time[0]:.3f} s wall, {typed_time[1]:.3f} s CPU"
    )
    print(f"   baseline python -c pass:       {base[0]:.3f} s wall, {base[1]:.3f} s CPU")
    print(f"   import pydantic, yaml + 1 model: {pyd[0]:.3f} s wall, {pyd[1]:.3f} s CPU")
    print(f"   load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def discovery_figures(tmp_path: Path, quick: bool) -> None:
    # 2. ast discovery of a 1,000-module plugin
    modules = 1000
    big = make_big_plugin(tmp_path / "big", modules)
    from synapse_sdk.plugins import _scan

    times = []
    cpu = []
    for _ in range(3 if quick else 7):
        _scan._CACHE.clear()  # cold: every module parsed
        t0, c0 = time.perf_counter(), time.process_time()
        found = PluginDiscovery.discover_actions(big)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert len(found) == 2 * modules, len(found)
    warm = []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        PluginDiscovery.discover_actions(big)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    sources = [path.read_bytes() for path in big.rglob("*.py")]
    read_only = time.perf_counter() - t0
    import ast

    t0 = time.perf_counter()
    for source in sources:
        ast.parse(source)
    parse_only = time.perf_counter() - t0
    print(f"2. discover_actions on {modules} modules ({len(found)} actions), medians:")
    print(
        f"   cold (every file parsed):      {statistics.median(times):.3f} s wall, "
        f"{statistics.median(cpu):.3f} s CPU"
    )
    print(f"   warm (unchanged files cached): {statistics.median(warm):.3f} s")
    print(f"   baseline: reading the files:   {read_only:.3f} s")
    print(f"   baseline: ast.parse of them:   {parse_only:.3f} s")


def run_plugin_figures(noop: Path, quick: bool) -> None:
    # 3. cached run_plugin(path) vs run_action
    spec = resolve_action(noop, "noop")
    path = str(noop)
    number, repeat = (500, 40) if quick else (1000, 200)
    run_plugin(path, "noop")
    # short batches of the two interleaved, and the minimum of each: a slow spell of this
    # shared machine hits both alike and is filtered out
    action_t = plugin_t = float("inf")
    for _ in range(repeat):
        action_t = min(action_t, timeit.timeit(lambda: run_action(spec, None), number=number))
        plugin_t = min(plugin_t, timeit.timeit(lambda: run_plugin(path, "noop"), number=number))
    action_us = action_t / number * 1e6
    plugin_us = plugin_t / number * 1e6
    print(f"3. run_action(spec):          {action_us:7.1f} µs/call (min of {repeat} batches)")
    print(f"   run_plugin(path, 'noop'):  {plugin_us:7.1f} µs/call")
    print(f"   overhead of run_plugin:    {plugin_us - action_us:+7.1f} µs/call")
    stat_us = min(timeit.repeat(lambda: os.stat(path), number=number, repeat=repeat)) / number * 1e6
    watched = 1 + len(load_plugin(path).action_files("noop"))  # config.yaml + modules
    print(
        f"   (one os.stat on this disk: {stat_us:.1f} µs; the cache check does {watched}: "
        "config.yaml and the plugin modules the action imported)"
    )


if __name__ == "__main__":
    main()
