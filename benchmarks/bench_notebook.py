"""Notebook layer benchmark (issue 6): the cost of ``set_progress`` with a live panel attached.

Run: python benchmarks/bench_notebook.py [N]      (N defaults to 1,000,000)

Each figure is the best of 3 loops of N ``ctx.set_progress(i, N)`` calls, against a context
with no sink (the baseline) and against ``tqdm.notebook`` updating once per iteration, all in
this process. Widget messages are counted at the kernel boundary: ``comm.create_comm`` is
replaced by a comm that counts what the widgets send (outside a kernel nothing is sent anyway).
"""

from __future__ import annotations

import io
import sys
import time
from contextlib import redirect_stdout
from typing import Any

import comm

from synapse_sdk.notebook import ActionPanel, NotebookSink, RunView
from synapse_sdk.plugins import RuntimeContext, action
from synapse_sdk.plugins.events import ProgressEvent
from synapse_sdk.plugins.sinks import MemorySink


class CountingComm:
    """Counts the messages a widget would send to the front end."""

    kernel = "bench"
    sent = 0

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = f"bench-{id(self)}"

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        CountingComm.sent += 1

    def on_msg(self, callback: Any) -> None:
        pass

    def on_close(self, callback: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


def best(fn: Any, repeat: int = 3) -> tuple[float, int]:
    """The fastest of ``repeat`` runs of ``fn`` (seconds) and the messages of that run."""
    results = []
    for _ in range(repeat):
        before = CountingComm.sent
        seconds = fn()
        results.append((seconds, CountingComm.sent - before))
    return min(results)


def main(n: int) -> None:
    comm.create_comm = lambda **kw: CountingComm(**kw)

    def baseline() -> float:
        ctx = RuntimeContext(action_name="bench")
        t0 = time.perf_counter()
        for i in range(n):
            ctx.set_progress(i + 1, n)
        return time.perf_counter() - t0

    @action(name="bench")
    def loop(params: dict, ctx: RuntimeContext) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            ctx.set_progress(i + 1, n)
        return time.perf_counter() - t0

    def memory_sink() -> float:
        ctx = RuntimeContext(action_name="bench", sinks=[MemorySink()])
        t0 = time.perf_counter()
        for i in range(n):
            ctx.set_progress(i + 1, n)
        return time.perf_counter() - t0

    def sink_emit_only() -> float:
        sink = NotebookSink(RunView(), action="bench")
        ctx = RuntimeContext(action_name="bench")
        events = [ctx.make_event(ProgressEvent, i + 1, n, None) for i in range(min(n, 100_000))]
        emit = sink.emit
        t0 = time.perf_counter()
        for _ in range(n // len(events)):
            for event in events:
                emit(event)
        seconds = (time.perf_counter() - t0) * n / (len(events) * (n // len(events)))
        sink.close()
        return seconds

    panel = ActionPanel(loop)

    def with_panel() -> float:
        run = panel.run_sync()
        assert run is not None and run.ok, run
        bar = panel.view.bars[None].bar
        assert bar.value == bar.max == n, (bar.value, bar.max)
        return float(run.result)

    def with_tqdm() -> float:
        from tqdm.notebook import tqdm

        with redirect_stdout(io.StringIO()):  # outside a kernel display() prints a repr
            t0 = time.perf_counter()
            bar = tqdm(total=n)
            for _ in range(n):
                bar.update(1)
            bar.close()
            return time.perf_counter() - t0

    m = max(1, n // 100)

    def raw_widget() -> float:
        import ipywidgets

        bar = ipywidgets.IntProgress(max=m)
        t0 = time.perf_counter()
        for i in range(m):
            bar.value = i + 1
        return (time.perf_counter() - t0) * n / m  # scaled to n calls

    base, _ = best(baseline)
    rows = [
        ("no sink (baseline)", base, 0),
        ("MemorySink attached (the core's cost per event)", *best(memory_sink)),
        ("NotebookSink.emit alone (prebuilt events)", *best(sink_emit_only)),
        ("ActionPanel attached (run_sync, worker thread)", *best(with_panel)),
        ("tqdm.notebook update(1)", *best(with_tqdm)),
        (f"raw IntProgress.value = i ({m:,} calls, scaled)", *best(raw_widget)),
    ]
    print(f"{n:,} set_progress calls (best of 3), python {sys.version.split()[0]}")
    print(f"{'':52} {'per call':>10} {'vs baseline':>12} {'widget msgs':>12}")
    for name, seconds, msgs in rows:
        per = seconds / n * 1e9
        print(f"{name:52} {per:8.0f} ns {per - base / n * 1e9:+9.0f} ns {msgs:>12,}")
    print(f"panel: {panel.sink.flushes if panel.sink else 0} flushes in the last run")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
