"""Steps benchmarks (issue 7): what the Orchestrator adds over plain calls.

Run: python benchmarks/bench_steps.py
Figures are best-of-7 per call; each is quoted against a baseline measured in the same process:
- a run of an action made of N trivial steps vs an execute() calling the same N functions;
- per step progress report (step + overall event) vs a bare ctx.set_progress;
- autolog('lightgbm') on a tiny training vs the same training without it (when installed).
"""

from __future__ import annotations

import timeit

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, BaseStep, MemorySink, RuntimeContext, run_action
from synapse_sdk.plugins.steps import Orchestrator, StepContext, StepRegistry


class P(BaseModel):
    x: int = 1


class Tiny(BaseStep[int]):
    def execute(self, ctx: StepContext) -> int:
        return 1


def work(_ctx: object) -> int:
    return 1


def make_actions(n: int) -> tuple[type[BaseAction[P]], type[BaseAction[P]]]:
    class Plain(BaseAction[P]):
        def execute(self) -> int:
            return sum(work(self.ctx) for _ in range(n))

    class Stepped(BaseAction[P]):
        def setup_steps(self, registry: StepRegistry) -> None:
            for i in range(n):
                registry.register(Tiny(name=f"s{i}"))

    return Plain, Stepped


def per_call(stmt, number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def main() -> None:
    for n in (1, 10):
        plain, stepped = make_actions(n)
        base = per_call(lambda plain=plain: run_action(plain, {}), 2000)
        steps = per_call(lambda stepped=stepped: run_action(stepped, {}), 2000)
        print(
            f"run_action, {n:2d} steps: execute() {base * 1e6:7.1f} µs   "
            f"steps {steps * 1e6:7.1f} µs   (+{(steps - base) / n * 1e6:.1f} µs per step)"
        )

    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])
    bare = per_call(lambda: ctx.set_progress(1, 2, "s"), 50000)
    sink.events.clear()

    class Report(BaseStep[None]):
        def execute(self, sctx: StepContext) -> None:
            global step_report
            step_report = per_call(lambda: sctx.set_progress(1, 2), 50000)

    Orchestrator([Report(name="s")], ctx).run()
    sink.events.clear()
    print(
        f"progress report: ctx.set_progress {bare * 1e6:5.2f} µs   step ctx.set_progress "
        f"{step_report * 1e6:5.2f} µs (emits the step event and the overall event)"
    )

    try:
        import lightgbm as lgb
        import numpy as np
    except ImportError:
        print("autolog: lightgbm not installed (pip install 'synapse-sdk[autolog-lightgbm]')")
        return
    from synapse_sdk.plugins.autolog import autolog

    X = np.random.RandomState(0).rand(200, 4)
    data = lgb.Dataset(X, X[:, 0], params={"verbose": -1}, free_raw_data=False)
    params = {"verbose": -1, "num_leaves": 4, "num_threads": 1}

    def fit() -> None:
        lgb.train(params, data, num_boost_round=50, valid_sets=[data])

    without = per_call(fit, 5)
    with autolog("lightgbm", RuntimeContext(sinks=[MemorySink()]), step="train"):
        with_autolog = per_call(fit, 5)
    print(
        f"autolog: lightgbm 50 rounds {without * 1e3:6.2f} ms   with autolog "
        f"{with_autolog * 1e3:6.2f} ms   (+{(with_autolog - without) / 50 * 1e6:.1f} µs per round)"
    )


step_report = 0.0

if __name__ == "__main__":
    main()
