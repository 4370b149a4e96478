"""Long runs at constant memory (issue 14): peak RSS and time per event of N ``set_progress``.

Run: python benchmarks/bench_memory.py [--baseline /path/to/old/checkout]

For N in 10k, 100k and 1M, an action calling ``ctx.set_progress(i, N)`` N times runs in a
fresh process, once through ``run_action`` and once through ``synapse run`` (output to
/dev/null); the process reports its peak RSS (``ru_maxrss``) and the time per event. With
``--baseline`` the same runs are made with another checkout first (PYTHONPATH), alternating.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

ACTION = """\
from synapse_sdk.plugins import RuntimeContext, action


@action(name="loop")
def loop(params: dict, ctx: RuntimeContext) -> dict:
    n = int(params.get("n", 1000))
    for i in range(n):
        ctx.set_progress(i + 1, n)
    return {"n": n}
"""

CONFIG = """\
name: Loop
code: loop
version: 0.1.0
category: custom
actions:
  loop:
    entrypoint: plugin.main:loop
"""

RUN_ACTION = textwrap.dedent(
    """
    import json, resource, sys, time
    from synapse_sdk.plugins.loading import resolve_action
    from synapse_sdk.plugins import run_action
    spec = resolve_action(sys.argv[1], "loop")
    n = int(sys.argv[2])
    t0 = time.perf_counter()
    run = run_action(spec, {"n": n})
    seconds = time.perf_counter() - t0
    assert run.ok, run.error
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss": rss, "kept": len(run.events)}))
    """
)

CLI = textwrap.dedent(
    """
    import json, resource, sys, time, io, contextlib
    from synapse_sdk.cli import main
    n = sys.argv[2]
    t0 = time.perf_counter()
    with open("/dev/null", "w") as null, contextlib.redirect_stdout(null):
        sys.stderr = null
        code = main(["run", sys.argv[1], "loop", "-p", "n=" + n, "--no-backend"])
    sys.stderr = sys.__stderr__
    seconds = time.perf_counter() - t0
    assert code == 0, code
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss": rss, "kept": -1}))
    """
)


def measure(tree: Path, script: str, plugin: str, n: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("SYNAPSE_HOME", None)
    out = subprocess.run(
        [sys.executable, "-c", script, plugin, str(n)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="an older checkout to compare with")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    trees = [("this", HERE)]
    if args.baseline is not None:
        trees.insert(0, ("baseline", args.baseline.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp, "loop")
        (plugin / "plugin").mkdir(parents=True)
        (plugin / "config.yaml").write_text(CONFIG)
        (plugin / "plugin" / "__init__.py").write_text("")
        (plugin / "plugin" / "main.py").write_text(ACTION)
        print(f"{'tree':9} {'path':11} {'N':>9} {'peak RSS MiB':>13} {'µs/event':>9} {'kept':>7}")
        for n in (int(x) for x in args.sizes.split(",")):
            for path, script in (("run_action", RUN_ACTION), ("synapse run", CLI)):
                for label, tree in trees:
                    r = measure(tree, script, str(plugin), n)
                    print(
                        f"{label:9} {path:11} {n:9,d} {r['rss']:13.1f} "
                        f"{r['seconds'] / n * 1e6:9.3f} {int(r['kept']):7d}"
                    )


if __name__ == "__main__":
    main()
