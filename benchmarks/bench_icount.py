"""Instructions per call (valgrind callgrind) of the µs-level hot paths, against their baselines.

Run: python benchmarks/bench_icount.py   (needs valgrind, and about five minutes: every figure
is two runs of a fresh interpreter under callgrind)

Wall-clock figures of a few µs swing by 1.5x on shared machines, from one minute to the next.
Instruction counts do not: they are the same on every run, so they show what a change to the
hot path really did. Each figure is (instructions for 3N calls - for N calls) / 2N, which
cancels start-up; the cost of calling an empty lambda is subtracted from every figure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SETUP = """
from pydantic import BaseModel
from synapse_sdk.plugins import BaseAction, RuntimeContext, action, as_spec, run_action, run_plugin
from synapse_sdk.plugins.loading import resolve_action

class P(BaseModel):
    x: int = 1

@action(params=P)
def trivial(params, ctx):
    return {"x": params.x}

class Trivial(BaseAction[P]):
    def execute(self):
        return {"x": self.params.x}

ctx = RuntimeContext()
params = {"x": 3}
PLUGIN = PLUGIN_DIR
noop = resolve_action(PLUGIN, "noop")
"""

CASES = {
    "empty": "None",
    "function baseline: P.model_validate + call": "trivial(P.model_validate(params), ctx)",
    "run_action(function)": "run_action(trivial, params)",
    "class baseline: P.model_validate + execute": (
        "Trivial(P.model_validate(params), ctx).execute()"
    ),
    "run_action(class)": "run_action(Trivial, params)",
    "set_progress, no sink": "ctx.set_progress(5, 10, 'train')",
    "run_action(noop spec)": "run_action(noop, None)",
    "run_plugin(path, 'noop')": "run_plugin(PLUGIN, 'noop')",
}

RUNNER = """
import sys
exec(sys.argv[1], globals())
f = eval("lambda: " + sys.argv[2])
for _ in range(200):
    f()
for _ in range(int(sys.argv[3])):
    f()
"""


def instructions(setup: str, stmt: str, n: int) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            RUNNER,
            setup,
            stmt,
            str(n),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    match = re.search(r"Collected : (\d+)", out.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(match.group(1))


def per_call(setup: str, stmt: str, n: int = 1000) -> float:
    return (instructions(setup, stmt, 3 * n) - instructions(setup, stmt, n)) / (2 * n)


def main() -> None:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind (nothing measured)")
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_plugins import make_noop_plugin

    with tempfile.TemporaryDirectory() as tmp:
        plugin = make_noop_plugin(Path(tmp) / "noop")
        setup = SETUP.replace("PLUGIN_DIR", repr(str(plugin)))
        counts = {label: per_call(setup, stmt) for label, stmt in CASES.items()}
    empty = counts.pop("empty")
    net = {label: count - empty for label, count in counts.items()}
    for label, count in net.items():
        print(f"{label:45s} {count:9,.0f} instructions/call")
    fn = net["run_action(function)"] - net["function baseline: P.model_validate + call"]
    cls = net["run_action(class)"] - net["class baseline: P.model_validate + execute"]
    plugin_over = net["run_plugin(path, 'noop')"] - net["run_action(noop spec)"]
    print(f"run_action overhead: function {fn:+,.0f}, class {cls:+,.0f} instructions")
    print(f"run_plugin overhead over run_action: {plugin_over:+,.0f} instructions (+ 3 stat calls)")


if __name__ == "__main__":
    main()
