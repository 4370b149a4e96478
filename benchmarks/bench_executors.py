"""Executor benchmarks (issue 8): task, job and serve against an in-process run; Ray too.

Run: python benchmarks/bench_executors.py [--ray]

The action is trivial (one progress event, a dict back), so every figure is the executor's own
cost. The baseline is ``run_action`` of the same action in this process, measured here.

* task: first run (pool start + first result) and warm per-run time over 200 runs
  (goal: warm <= 5 ms, first <= 0.5 s).
* job: submit to finished for one run (median of 5).
* serve: start (until it accepts requests) and p50 latency over 200 requests (keep-alive).
* --ray: one local Ray instance (2 CPUs, with the dashboard the Jobs API needs, loopback);
  ray-task first and warm (50 runs); ray-job submit to finished (median of 3).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

PLUGIN = """
from synapse_sdk.plugins import RuntimeContext, action


@action(name="noop")
def noop(params: dict, ctx: RuntimeContext) -> dict:
    ctx.set_progress(1, 1)
    return {"ok": True}
"""

ENTRY = "benchplugin:noop"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def make_plugin() -> str:
    root = Path(tempfile.mkdtemp(prefix="bench-executors-"))
    (root / "benchplugin.py").write_text(PLUGIN)
    return str(root)


def baseline(plugin_dir: str, n: int = 200) -> float:
    from synapse_sdk.plugins import run_action
    from synapse_sdk.plugins.executors.worker import load_action

    spec = load_action(ENTRY, plugin_dir)
    for _ in range(20):
        run_action(spec, {})
    t0 = time.perf_counter()
    for _ in range(n):
        run_action(spec, {})
    per_run = (time.perf_counter() - t0) / n
    print(f"in-process run_action (baseline)   {ms(per_run)} per run")
    return per_run


def bench_task(plugin_dir: str, base: float, n: int = 200) -> None:
    from synapse_sdk.plugins.executors import TaskExecutor

    t0 = time.perf_counter()
    with TaskExecutor(2) as pool:
        first = pool.run(ENTRY, {}, plugin_dir=plugin_dir)
        t_first = time.perf_counter() - t0
        assert first.ok, first.error
        for _ in range(20):
            pool.run(ENTRY, {}, plugin_dir=plugin_dir)
        t0 = time.perf_counter()
        for _ in range(n):
            pool.run(ENTRY, {}, plugin_dir=plugin_dir)
        warm = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        handles = [pool.submit(ENTRY, {}, plugin_dir=plugin_dir) for _ in range(n)]
        for h in handles:
            h.wait()
        parallel = (time.perf_counter() - t0) / n
    print(f"task: first run (pool start)       {ms(t_first)}   (goal <= 500 ms)")
    print(
        f"task: warm, sequential             {ms(warm)} per run = baseline + {ms(warm - base)}"
        "   (goal <= 5 ms)"
    )
    print(f"task: {n} submitted at once        {ms(parallel)} per run (2 workers)")


def bench_job(plugin_dir: str, reps: int = 5) -> None:
    from synapse_sdk.plugins.executors import JobExecutor

    times = []
    with JobExecutor() as jobs:
        for _ in range(reps):
            t0 = time.perf_counter()
            run = jobs.run(ENTRY, {}, plugin_dir=plugin_dir)
            times.append(time.perf_counter() - t0)
            assert run.ok, run.error
    print(
        f"job: submit to finished            {ms(statistics.median(times))} median of {reps}"
        f" (min {ms(min(times)).strip()})"
    )


def bench_serve(plugin_dir: str, base: float, n: int = 200) -> None:
    try:
        import httpx
    except ImportError:
        print("serve: skipped (pip install 'synapse-sdk[serve]')")
        return
    from synapse_sdk.plugins.executors import ServeExecutor

    with ServeExecutor() as executor:
        t0 = time.perf_counter()
        handle = executor.serve(ENTRY, plugin_dir=plugin_dir)
        t_start = time.perf_counter() - t0
        with httpx.Client(base_url=handle.url, headers=handle.headers) as client:
            for _ in range(20):
                client.post("/run", json={})
            latencies = []
            for _ in range(n):
                t0 = time.perf_counter()
                answer = client.post("/run", json={})
                latencies.append(time.perf_counter() - t0)
                assert answer.status_code == 200
    latencies.sort()
    p50 = latencies[n // 2]
    p90 = latencies[int(n * 0.9)]
    print(f"serve: start                       {ms(t_start)}")
    print(
        f"serve: POST /run p50 over {n}      {ms(p50)} = baseline + {ms(p50 - base)}"
        f" (p90 {ms(p90).strip()})"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_ray(plugin_dir: str, base: float, n: int = 50) -> None:
    from synapse_sdk.plugins.executors.ray import loopback_env

    loopback_env()  # before importing ray: 127.0.0.1 only
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    try:
        import ray
    except ImportError:
        print("ray: skipped (pip install 'synapse-sdk[ray]')")
        return
    from synapse_sdk.plugins.executors import RayJobExecutor, RayTaskExecutor

    t0 = time.perf_counter()
    context = ray.init(
        num_cpus=2,
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=free_port(),
        log_to_driver=False,
        object_store_memory=150 * 2**20,
    )
    assert context.address_info["node_ip_address"] == "127.0.0.1"
    print(f"ray: local instance start          {ms(time.perf_counter() - t0)}")
    try:
        tasks = RayTaskExecutor()
        t0 = time.perf_counter()
        assert tasks.run(ENTRY, {}, plugin_dir=plugin_dir).ok
        t_first = time.perf_counter() - t0
        for _ in range(5):
            tasks.run(ENTRY, {}, plugin_dir=plugin_dir)
        t0 = time.perf_counter()
        for _ in range(n):
            tasks.run(ENTRY, {}, plugin_dir=plugin_dir)
        warm = (time.perf_counter() - t0) / n
        print(f"ray-task: first run                {ms(t_first)}")
        print(
            f"ray-task: warm, sequential         {ms(warm)} per run = baseline + "
            f"{ms(warm - base).strip()}"
        )
        jobs = RayJobExecutor(f"http://{context.dashboard_url}")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            run = jobs.run(ENTRY, {}, plugin_dir=plugin_dir)
            times.append(time.perf_counter() - t0)
            assert run.ok, run.error
        print(
            f"ray-job: submit to finished        {ms(statistics.median(times))} median of 3"
            f" (first {ms(times[0]).strip()})"
        )
    finally:
        t0 = time.perf_counter()
        ray.shutdown()
        print(f"ray: shutdown                      {ms(time.perf_counter() - t0)}")


def main() -> None:
    plugin_dir = make_plugin()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    base = baseline(plugin_dir)
    bench_task(plugin_dir, base)
    bench_job(plugin_dir)
    bench_serve(plugin_dir, base)
    if "--ray" in sys.argv:
        bench_ray(plugin_dir, base)


if __name__ == "__main__":
    main()
