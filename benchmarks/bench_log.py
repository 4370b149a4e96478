"""The cost of ``ctx.log`` (issue 14): with no handler, and with the CLI's sinks.

Run: python benchmarks/bench_log.py [--reference /path/to/reference/venv/bin/python]

Per-call time of 100k ``ctx.log('tick', {'i': 1})`` calls (minimum of short batches), against
the standard library in the same process: a disabled ``logger.info`` call (level WARNING)
and an enabled one (a StreamHandler on /dev/null). "no handler" is a bare
``RuntimeContext()``; "CLI" is the context ``synapse run`` gives an action (the run's record
and the console sink, writing to /dev/null). With ``--reference``, the reference product's
``RuntimeContext`` is timed the same way in its own interpreter: a ``NoOpLogger`` (no
handler) and its ``ConsoleLogger`` (CLI), output to /dev/null.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import timeit
from typing import Any

OURS = """
import logging, os, sys, timeit
from synapse_sdk.plugins import RuntimeContext
from synapse_sdk.plugins.run import RunRecord
from synapse_sdk.plugins.sinks import ConsoleSink

null = open(os.devnull, "w")
bare = RuntimeContext(action_name="bench")
cli = RuntimeContext(action_name="bench", sinks=[RunRecord(), ConsoleSink(null)])
data = {"i": 1}

def best(fn, number=20000, repeat=25):
    timer = timeit.Timer(fn)
    return min(timer.timeit(number) for _ in range(repeat)) / number

print(best(lambda: bare.log("tick", data)), best(lambda: cli.log("tick", data)))
"""

REFERENCE = """
import os, sys, timeit, contextlib, io
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.loggers import ConsoleLogger, NoOpLogger

data = {"i": 1}
bare = RuntimeContext(logger=NoOpLogger(), env={})
null = open(os.devnull, "w")
with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
    cli = RuntimeContext(logger=ConsoleLogger(), env={})

    def best(fn, number=20000, repeat=25):
        timer = timeit.Timer(fn)
        return min(timer.timeit(number) for _ in range(repeat)) / number

    a, b = best(lambda: bare.log("tick", data)), best(lambda: cli.log("tick", data))
print(a, b)
"""


def stdlib() -> tuple[float, float]:
    disabled = logging.getLogger("bench.disabled")
    disabled.setLevel(logging.WARNING)
    enabled = logging.getLogger("bench.enabled")
    enabled.setLevel(logging.INFO)
    enabled.propagate = False
    enabled.addHandler(logging.StreamHandler(open(os.devnull, "w")))  # noqa: SIM115
    data = {"i": 1}

    def best(fn: Any, number: int = 20000, repeat: int = 25) -> float:
        timer = timeit.Timer(fn)
        return min(timer.timeit(number) for _ in range(repeat)) / number

    return (
        best(lambda: disabled.info("tick %s", data)),
        best(lambda: enabled.info("tick %s", data)),
    )


def run(python: str, code: str, rounds: int) -> tuple[float, float]:
    best = (float("inf"), float("inf"))
    env = dict(os.environ)
    cwd = None
    if python != sys.executable:  # the reference: never import this checkout's package
        env.pop("PYTHONPATH", None)
        cwd = tempfile.gettempdir()
    for _ in range(rounds):
        out = subprocess.run(
            [python, "-W", "ignore", "-c", code],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
        ).stdout.split()
        best = (min(best[0], float(out[-2])), min(best[1], float(out[-1])))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="python of a venv with the reference synapse-sdk")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):  # interleaved: a slow spell hits every subject alike
        for label, python, code in [("synapse-sdk (this)", sys.executable, OURS)] + (
            [("reference", args.reference, REFERENCE)] if args.reference else []
        ):
            got = run(python, code, 1)
            old = rows.get(label, (float("inf"), float("inf")))
            rows[label] = (min(old[0], got[0]), min(old[1], got[1]))
        got = stdlib()
        old = rows.get("stdlib logging", (float("inf"), float("inf")))
        rows["stdlib logging"] = (min(old[0], got[0]), min(old[1], got[1]))
    print(f"{'subject':22} {'no handler / disabled µs':>25} {'CLI / enabled µs':>17}")
    for label, (a, b) in rows.items():
        print(f"{label:22} {a * 1e6:25.2f} {b * 1e6:17.2f}")
    if args.reference:
        ours, ref = rows["synapse-sdk (this)"], rows["reference"]
        no_handler, cli = ours[0] / ref[0], ours[1] / ref[1]
        print(f"ratio this/reference: no handler {no_handler:.2f}, CLI {cli:.2f}")


if __name__ == "__main__":
    main()
