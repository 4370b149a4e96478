"""Backend benchmarks (issue 4): the BackendSink's cost per event, and 100,000 logs end to end.

Run: python benchmarks/bench_backend.py [N]   (N events per measurement, default 20000)

Each figure is a median of 5 runs, quoted against a baseline measured in the same process: the
same action run without a client. "slow backend" wraps the LocalBackend so that every call
takes 20 ms more, as a remote backend over a network would.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from typing import Any

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins import RuntimeContext, action, run_action


@action(name="progress")
def progress_only(params: dict, ctx: RuntimeContext) -> None:
    n = params["n"]
    for i in range(n):
        ctx.set_progress(i + 1, n, step="work")


@action(name="logs")
def logs_only(params: dict, ctx: RuntimeContext) -> None:
    level = params.get("level", "info")
    for i in range(params["n"]):
        ctx.log("tick", {"i": i}, level=level)


class SlowBackend:
    """Every backend call takes ``delay`` seconds more (a remote backend's round trip)."""

    def __init__(self, backend: LocalBackend, delay: float = 0.02) -> None:
        self._backend = backend
        self._delay = delay
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            time.sleep(self._delay)
            return attr(*args, **kwargs)

        return call


def timed(fn: Any, params: dict[str, Any], client: Any = None, runs: int = 5) -> float:
    """Median seconds of a whole run (including the sink's final flush at close)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run_action(fn, params, client=client).raise_for_status()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    root = tempfile.mkdtemp(prefix="bench-backend-")
    backend = LocalBackend(root)
    slow = SlowBackend(LocalBackend(root))
    t0 = time.perf_counter()
    for _ in range(100_000):
        pass
    loop_ns = (time.perf_counter() - t0) / 100_000 * 1e9
    print(f"BackendSink overhead, {n} events per run, median of 5 (LocalBackend in {root})")
    print(f"machine speed: an empty loop iteration takes {loop_ns:.0f} ns (~15 ns when idle)")
    empty = [timed(progress_only, {"n": 0}, client) for client in (None, backend, slow)]
    print(
        "fixed cost per run (job record, thread, final flush): "
        + ", ".join(f"{name} {t * 1e3:.1f} ms" for name, t in
                    zip(("no client", "LocalBackend", "slow backend"), empty, strict=True))
    )  # fmt: skip
    print("per event, fixed cost excluded:")
    print(f"{'events':<22}{'no client':>12}{'LocalBackend':>22}{'slow backend':>22}")
    for label, fn, params in [
        ("set_progress", progress_only, {"n": n}),
        ("ctx.log (info)", logs_only, {"n": n}),
        ("ctx.log (debug)", logs_only, {"n": n, "level": "debug"}),
    ]:
        totals = [timed(fn, params, client) for client in (None, backend, slow)]
        us = [(t - e) / n * 1e6 for t, e in zip(totals, empty, strict=True)]
        print(
            f"{label:<22}{us[0]:>9.2f} µs{us[1]:>12.2f} µs ({us[1] - us[0]:+.2f})"
            f"{us[2]:>12.2f} µs ({us[2] - us[0]:+.2f})"
        )
    print(f"slow backend calls in total: {slow.calls} (one per flush, not one per event)")

    total = 100_000
    t0 = time.perf_counter()
    run_action(logs_only, {"n": total}).raise_for_status()
    base_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_action(logs_only, {"n": total}, client=backend).raise_for_status()
    run_s = time.perf_counter() - t0
    job = backend.list_jobs(limit=1)[0]
    t1 = time.perf_counter()
    entries = backend.get_job_logs(job["id"])
    read_s = time.perf_counter() - t1
    ordered = [e["data"]["i"] for e in entries] == list(range(total))
    print(
        f"\n{total:,} log events in one run: {base_s:.2f} s without a client; with the "
        f"LocalBackend {run_s:.2f} s incl. the final flush, {len(entries):,} entries stored, "
        f"in order: {ordered}; reading them back {read_s:.2f} s"
    )
    backend.close()
    return 0 if ordered and len(entries) == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
