"""Save-as-test benchmark (issue 18): time and file sizes of keeping a run as a test.

Run: python benchmarks/bench_save.py [--events 1000 10000 100000] [--units 100] [--rounds 3]

The run: a plugin action that lists a dataset of ``--units`` data units (1 KiB image each,
read back with ``read_file``) from a LocalBackend wrapped in a ReadRecorder, then makes
``--events`` events: 90% progress of one step, 9% metrics, 1% logs. For each size:

- ``run``: the run itself (run_plugin_record, in process);
- ``save``: ``save_as_test(run, verify=False)``: seed (records and bytes fetched from the
  backend), baseline snapshot, three files written;
- ``save+verify``: the default, ``verify=True``: the same plus one replay on a FakeBackend
  seeded from the saved reads and a second snapshot to compare;
- ``pytest``: the saved test run by ``pytest`` in a subprocess (interpreter start included);
- sizes of the test file, the snapshot and the saved backend reads;
- peak traced memory (tracemalloc) of ``save+verify``.

Times are the best of ``--rounds`` rounds (save and save+verify alternate). Past 256
progress reports of one step the snapshot is the run's outline, so its size stays flat.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from synapse_sdk.clients import LocalBackend
from synapse_sdk.clients._reads import ReadRecorder
from synapse_sdk.plugins.runner import run_plugin_record
from synapse_testing import save_as_test

CONFIG = """\
name: Bench
code: bench
version: 0.1.0
category: neural_net
description: a run of many events
actions:
  work:
    entrypoint: plugin.work:work
    description: Read a dataset, report progress and metrics
"""

ACTION = """\
from pydantic import BaseModel
from synapse_sdk.plugins import RuntimeContext, action


class WorkParams(BaseModel):
    dataset: int
    events: int = 1000


@action(params=WorkParams)
def work(params: WorkParams, ctx: RuntimeContext) -> dict:
    units = ctx.client.list_data_units(params.dataset)
    size = sum(len(ctx.client.read_file(u["files"]["image"]["sha256"])) for u in units)
    n = params.events
    steps = n * 90 // 100
    for i in range(n):
        if i % 100 == 0:
            ctx.log("tick", {"i": i})
        elif i % 10 == 0:
            ctx.set_metrics({"loss": round(1.0 / (i + 1), 6)}, step="work")
        else:
            ctx.set_progress(min(i, steps), steps, step="work")
    ctx.set_progress(steps, steps, step="work")
    return {"units": len(units), "bytes": size}
"""


def make_plugin(root: Path) -> Path:
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "work.py").write_text(ACTION)
    return root


def one_size(events: int, units: int, rounds: int) -> dict[str, float | int]:
    work = Path(tempfile.mkdtemp(prefix="bench-save-"))
    try:
        plugin = make_plugin(work / "bench")
        backend = LocalBackend(work / "home")
        dataset = backend.create_dataset("d")
        backend.add_data_units(
            dataset["id"], [({"image": bytes([i % 256]) * 1024}, {"i": i}) for i in range(units)]
        )
        params = {"dataset": dataset["id"], "events": events}
        best = {"run": float("inf"), "save": float("inf"), "save+verify": float("inf")}
        saved = None
        for _ in range(rounds):
            reads = ReadRecorder(backend)
            t0 = time.perf_counter()
            run = run_plugin_record(plugin, "work", params, client=reads)
            best["run"] = min(best["run"], time.perf_counter() - t0)
            assert run.ok, run.error
            for verify in (False, True):
                t0 = time.perf_counter()
                saved = save_as_test(run, plugin, reads=reads, verify=verify, overwrite=True)
                key = "save+verify" if verify else "save"
                best[key] = min(best[key], time.perf_counter() - t0)
        assert saved is not None
        tracemalloc.start()
        save_as_test(run, plugin, reads=reads, overwrite=True)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(saved.test_file)],
            cwd=work,
            capture_output=True,
            text=True,
        )
        pytest_s = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"the saved test failed:\n{done.stdout[-3000:]}")
        data = sum(v for k, v in saved.sizes.items() if k.startswith("saved"))
        return {
            **best,
            "pytest": pytest_s,
            "test_file": saved.test_file.stat().st_size,
            "snapshot": saved.snapshot_file.stat().st_size,
            "reads": data,
            "peak_kib": peak // 1024,
            "outline": int(saved.outline),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'events':>7} {'run ms':>8} {'save ms':>8} {'+verify':>8} {'pytest s':>9} "
        f"{'test B':>7} {'ambr B':>7} {'reads B':>8} {'peak KiB':>9} outline"
    )
    for n in args.events:
        r = one_size(n, args.units, args.rounds)
        print(
            f"{n:>7} {r['run'] * 1e3:>8.1f} {r['save'] * 1e3:>8.1f} "
            f"{r['save+verify'] * 1e3:>8.1f} {r['pytest']:>9.2f} {r['test_file']:>7} "
            f"{r['snapshot']:>7} {r['reads']:>8} {r['peak_kib']:>9} {r['outline']}"
        )


if __name__ == "__main__":
    main()
