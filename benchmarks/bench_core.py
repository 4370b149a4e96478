"""Core benchmarks (issue 2): import time, run_action overhead, set_progress cost.

Run: python benchmarks/bench_core.py
Figures are medians; each is quoted against a baseline measured in the same process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import timeit

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, RuntimeContext, action, run_action


def wall(code: str, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class P(BaseModel):
    x: int = 1


@action(params=P)
def trivial(params: P, ctx: RuntimeContext) -> dict:
    return {"x": params.x}


class Trivial(BaseAction[P]):
    def execute(self) -> dict:
        return {"x": self.params.x}


def per_call(stmt, number: int = 5000, repeat: int = 40) -> float:
    # min of many short batches: the machines are noisy, the minimum is the undisturbed cost
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def paired(base, stmt, number: int = 1000, repeat: int = 300) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Per-call seconds of ``base`` and ``stmt``: short batches of the two interleaved, and the
    minimum of each, so a slow spell of this shared machine hits both alike and is filtered out."""
    tb, ts = timeit.Timer(base), timeit.Timer(stmt)
    b = min(tb.timeit(number) for _ in range(5))  # warm up
    s = min(ts.timeit(number) for _ in range(5))
    for _ in range(repeat):
        b = min(b, tb.timeit(number))
        s = min(s, ts.timeit(number))
    return b / number, s / number


def main() -> None:
    base = wall("pass")
    core = wall("import synapse_sdk.plugins")
    pyd = wall("import pydantic; from pydantic import BaseModel")
    both = wall("import synapse_sdk.plugins; from pydantic import BaseModel")
    print(f"import: python -c pass        {base * 1e3:7.1f} ms")
    print(f"import: synapse_sdk.plugins   {core * 1e3:7.1f} ms  (+{(core - base) * 1e3:.1f} ms)")
    print(f"import: pydantic.BaseModel    {pyd * 1e3:7.1f} ms  (+{(pyd - base) * 1e3:.1f} ms)")
    print(f"import: both                  {both * 1e3:7.1f} ms")

    ctx = RuntimeContext()
    params = {"x": 3}
    # three rounds of both pairs, the minimum of each figure over all: slow spells of this
    # shared machine last seconds, longer than one pair's measurement
    fn = (float("inf"), float("inf"))
    cls = (float("inf"), float("inf"))
    for _ in range(3):
        b, r = paired(
            lambda: trivial(P.model_validate(params), ctx),
            lambda: run_action(trivial, params),
            repeat=100,
        )
        fn = (min(fn[0], b), min(fn[1], r))
        b, r = paired(
            lambda: Trivial(P.model_validate(params), ctx).execute(),
            lambda: run_action(Trivial, params),
            repeat=100,
        )
        cls = (min(cls[0], b), min(cls[1], r))
    (baseline_fn, run_fn), (baseline_cls, run_cls) = fn, cls
    print(
        f"run_action(function): {run_fn * 1e6:6.2f} µs vs validate+call {baseline_fn * 1e6:6.2f} µs"
        f" -> +{(run_fn - baseline_fn) * 1e6:.2f} µs ({run_fn / baseline_fn:.2f}x)"
    )
    print(
        f"run_action(class):    {run_cls * 1e6:6.2f} µs vs validate+call "
        f"{baseline_cls * 1e6:6.2f} µs"
        f" -> +{(run_cls - baseline_cls) * 1e6:.2f} µs ({run_cls / baseline_cls:.2f}x)"
    )

    empty = per_call(lambda: None, number=200000)
    progress = per_call(lambda: ctx.set_progress(5, 10, "train"), number=200000) - empty
    noop_method = per_call(lambda: len("abc"), number=200000) - empty
    print(
        f"set_progress, no sink: {progress * 1e6:.3f} µs/call "
        f"(a builtin call: {noop_method * 1e6:.3f} µs)"
    )


if __name__ == "__main__":
    main()
