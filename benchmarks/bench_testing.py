"""Testing-kit benchmarks (issue 5): per-test cost of the synapse_* fixtures, plugin import.

Run: python benchmarks/bench_testing.py [--tests 500] [--rounds 5]

Writes N generated tests of a trivial action into a temporary directory, in three files run
by the same ``python -m pytest -q -p no:cacheprovider <file>`` command:

- ``test_kit.py``:   ``run = synapse_run(trivial, {"x": i})`` (synapse_run -> synapse_ctx ->
  synapse_backend: a RecordingContext with a FakeBackend client, strict teardown checks);
- ``test_plain.py``: ``run = run_action(trivial, {"x": i})`` (the same test, no fixtures);
- ``test_empty.py``: ``assert i == i`` (pytest's own per-test cost).

Figures are medians over the rounds (files alternate); per-test cost = (time of the file - time of
a file with no test) / N, as wall time and as the pytest process's CPU time (the figure that
stays meaningful on a busy machine). The kit's overhead is kit minus plain.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = """\
from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action, run_action


class P(BaseModel):
    x: int = 1


@action(params=P)
def trivial(params: P, ctx: RuntimeContext) -> dict:
    ctx.set_progress(1, 1)
    return {"x": params.x}
"""

BODIES = {
    "kit": (
        "def test_{i}(synapse_run):\n"
        "    run = synapse_run(trivial, {{'x': {i}}})\n"
        "    assert run.result == {{'x': {i}}}\n"
    ),
    "plain": (
        "def test_{i}():\n"
        "    run = run_action(trivial, {{'x': {i}}})\n"
        "    assert run.result == {{'x': {i}}}\n"
    ),
    "empty": "def test_{i}():\n    assert {i} == {i}\n",
}


# Bytecode caching on, as on a developer's machine: with PYTHONDONTWRITEBYTECODE set, every
# run would compile (and assertion-rewrite) the test files and the kit again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def write_files(root: Path, n: int) -> None:
    for name, body in BODIES.items():
        tests = "\n\n".join(body.format(i=i) for i in range(n))
        (root / f"test_{name}.py").write_text(HEADER + "\n\n" + tests + "\n")
    (root / "test_none.py").write_text(HEADER)


def pytest_wall(root: Path, target: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one pytest process; CPU time is what stays meaningful on a
    busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", target],
        cwd=root,
        capture_output=True,
        text=True,
        env=ENV,
    )
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # exit 5 = no tests collected (the baseline file)
    if proc.returncode not in (0, 5):
        raise SystemExit(f"pytest {target} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.tests

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_files(root, n)
        pytest_wall(root, "test_kit.py")  # warm the bytecode caches once
        walls: dict[str, list[float]] = {name: [] for name in ("none", *BODIES)}
        cpus: dict[str, list[float]] = {name: [] for name in walls}
        for _ in range(args.rounds):
            for name in walls:
                wall, cpu = pytest_wall(root, f"test_{name}.py")
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall_med = {name: statistics.median(values) for name, values in walls.items()}
    cpu_med = {name: statistics.median(values) for name, values in cpus.items()}

    print(f"pytest, {n} generated tests per file, median of {args.rounds} rounds")
    print("                                  wall      per test |   CPU      per test")
    for name in ("none", "empty", "plain", "kit"):
        label = "collection only (0 tests)" if name == "none" else f"test_{name}.py"
        w, c = wall_med[name], cpu_med[name]
        pw = (w - wall_med["none"]) / n * 1e3
        pc = (c - cpu_med["none"]) / n * 1e3
        print(f"  {label:<28} {w:6.2f} s {pw:7.3f} ms | {c:6.2f} s {pc:7.3f} ms")
    ow = (wall_med["kit"] - wall_med["plain"]) / n * 1e3
    oc = (cpu_med["kit"] - cpu_med["plain"]) / n * 1e3
    print(f"  fixtures' overhead (kit - plain)            {ow:7.3f} ms |          {oc:7.3f} ms")
    print("  goal: a trivial action test using the fixtures costs <= 2 ms per test")

    ms = plugin_import_ms()
    print(f"import: synapse_testing.plugin after pytest {ms:6.1f} ms (-X importtime)")


def plugin_import_ms(runs: int = 9) -> float:
    """Median cumulative import time of synapse_testing.plugin once pytest is imported."""
    times = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import pytest, synapse_testing.plugin"],
            capture_output=True,
            text=True,
            check=True,
            env=ENV,
        )
        for line in proc.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "synapse_testing.plugin":
                times.append(int(parts[1]) / 1000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
