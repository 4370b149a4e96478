"""Strategy benchmark (issue 18): examples per second for the digits train params.

Run: python benchmarks/bench_strategies.py [--examples 500] [--rounds 5]

Each subject is a ``@given`` test with an empty body over ``--examples`` examples
(generation phase only, no example database, health checks off); rounds alternate subjects
and the best round of each is kept (the figure least moved by a busy machine):

- ``params``:  ``synapse_testing.strategies.params(TrainParams)``: dicts the model accepts,
  every field varied within its declared bounds, validators filtered;
- ``builds``:  ``st.builds(TrainParams)``: hypothesis fills required arguments only, and every
  field of TrainParams has a default, so it draws the default params every time;
- ``naive``:   ``st.fixed_dictionaries`` of ``st.from_type`` per scalar field (what one writes
  by hand without the constraints): only the share of its draws the model accepts is shown,
  since filtered by the model it is unsatisfiable (hypothesis gives up).

Beside the rate: the share of examples whose params differ from the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_testing.strategies import params

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"


def _accepts(model: Any, data: Any) -> bool:
    try:
        model.model_validate(data)
    except Exception:
        return False
    return True


def subjects(model: Any) -> dict[str, st.SearchStrategy[Any]]:
    scalars = (int, float, bool, str, int | None)  # from_type cannot draw dict[str, Any]
    fields = {n: f for n, f in model.model_fields.items() if f.annotation in scalars}
    raw = st.fixed_dictionaries({n: st.from_type(f.annotation) for n, f in fields.items()})
    return {
        "params": params(model),
        "builds": st.builds(model).map(lambda m: m.model_dump(exclude_defaults=True)),
        "naive": raw,
    }


def rate(strategy: st.SearchStrategy[Any], examples: int, model: Any) -> tuple[float, float]:
    """Examples per second, and the share of examples that differ from the default params."""
    default = model().model_dump()
    varied = 0
    calls = 0

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(drawn: Any) -> None:
        nonlocal varied, calls
        calls += 1
        if _accepts(model, drawn) and model.model_validate(drawn).model_dump() != default:
            varied += 1

    start = time.perf_counter()
    body()
    elapsed = time.perf_counter() - start
    return calls / elapsed, varied / max(1, calls)


def acceptance(strategy: st.SearchStrategy[Any], model: Any, draws: int) -> float:
    accepted = 0

    @settings(
        max_examples=draws,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(drawn: Any) -> None:
        nonlocal accepted
        accepted += _accepts(model, drawn)

    body()
    return accepted / draws


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    model = PluginDiscovery.from_path(DIGITS).get_action_spec("train").params_model
    assert model is not None
    chosen = subjects(model)
    timed = {k: v for k, v in chosen.items() if k != "naive"}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for name, strategy in timed.items():
            per_second, varied = rate(strategy, args.examples, model)
            if per_second > best.get(name, (0.0, 0.0))[0]:
                best[name] = (per_second, varied)
    print(
        f"digits TrainParams ({len(model.model_fields)} fields), {args.examples} examples, "
        f"best of {args.rounds} rounds, Python {sys.version.split()[0]}"
    )
    print(f"{'strategy':<10} {'examples/s':>11} {'varied':>7}")
    for name, (per_second, varied) in best.items():
        print(f"{name:<10} {per_second:>11,.0f} {varied:>7.0%}")
    ratio = best["params"][0] / best["builds"][0]
    print(f"params / builds: {ratio:.2f}x the rate")
    print(
        f"raw draws the model accepts: params {acceptance(chosen['params'], model, 200):.0%}, "
        f"naive {acceptance(chosen['naive'], model, 200):.0%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
