"""Backend benchmarks of issue 17: no regression from the reliability work, and what the server's
security checks cost.

Run:
    git worktree add /tmp/synapse-before 7f2d496     # the code before issue 17's backend work
    python benchmarks/bench_backend_reliability.py --baseline /tmp/synapse-before

1. BackendSink: one run logging 100,000 events into a LocalBackend (durable), end to end.
2. LocalBackend: 8 processes writing to one root at once (50-entry log batches, a progress
   update, a data unit and a model per round), total writes per second.
   Both run the baseline and this checkout in fresh processes, interleaved, minimum of rounds;
   the ratio is this / baseline (below 1.0 is faster).
3. Server: requests per second of 4 client threads against `synapse backend serve` with its
   token, Host/Origin, content-type and size checks (the guard) and against the same routes
   without the guard, interleaved, best of rounds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

SINK = textwrap.dedent(
    """
    import sys, tempfile, time
    from synapse_sdk.clients.local import LocalBackend
    from synapse_sdk.plugins import RuntimeContext, action, run_action

    @action(name="logs")
    def logs(params: dict, ctx: RuntimeContext) -> None:
        for i in range(params["n"]):
            ctx.log("tick", {"i": i}, level="debug")

    backend = LocalBackend(tempfile.mkdtemp(prefix="bench-sink-"))
    t0 = time.perf_counter()
    run_action(logs, {"n": 100_000}, client=backend).raise_for_status()
    elapsed = time.perf_counter() - t0
    assert backend.list_jobs()[0]["log_count"] == 100_000
    print(elapsed)
    """
)

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from synapse_sdk.clients.local import LocalBackend

    root, me, dataset, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    while not os.path.exists(os.path.join(root, "go")):
        time.sleep(0.001)
    b = LocalBackend(root)
    job = b.create_job("work")
    weights = os.path.join(root, f"w{me}.bin")
    for r in range(rounds):
        b.append_job_logs(job["id"], [
            {"seq": r * 50 + i, "time": 0.0, "event": "tick", "level": "info",
             "data": {"i": i}, "file": None} for i in range(50)])
        b.update_job(job["id"], progress={"": {"current": r, "total": rounds, "percent": None}})
        b.add_data_units(dataset, [({"x": f"{me}/{r}".encode()}, {"r": r})])
        with open(weights, "wb") as f:
            f.write(os.urandom(1000))
        b.create_model(weights, name=f"m{me}")
    """
)


def _python(code_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(code_root)
    return env


def sink_seconds(code_root: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SINK],
        env=_python(code_root),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def writes_per_second(code_root: Path, procs: int = 8, rounds: int = 40) -> float:
    root = Path(tempfile.mkdtemp(prefix="bench-writers-"))
    prepare = (
        "import sys; from synapse_sdk.clients.local import LocalBackend; "
        "b = LocalBackend(sys.argv[1]); print(b.create_dataset('d')['id'])"
    )
    env = _python(code_root)
    dataset = subprocess.run(
        [sys.executable, "-c", prepare, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(n), dataset, str(rounds)], env=env
        )
        for n in range(procs)
    ]
    time.sleep(1.0)  # every worker imported and waiting
    t0 = time.perf_counter()
    (root / "go").touch()
    for w in workers:
        if w.wait(300):
            raise RuntimeError("a writer failed")
    elapsed = time.perf_counter() - t0
    return procs * rounds * 4 / elapsed  # four writes per round


def compare(baseline: Path, rounds: int) -> None:
    sink: dict[str, list[float]] = {"before": [], "now": []}
    local: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(rounds):
        for label, root in (("before", baseline), ("now", HERE)):
            sink[label].append(sink_seconds(root))
            local[label].append(writes_per_second(root))
    s_before, s_now = min(sink["before"]), min(sink["now"])
    print(
        f"BackendSink, 100,000 logs in one run (min of {rounds}): before {s_before:.2f} s, "
        f"now {s_now:.2f} s, ratio {s_now / s_before:.2f}"
    )
    w_before, w_now = max(local["before"]), max(local["now"])
    print(
        f"LocalBackend, 8 processes writing at once (best of {rounds}): before "
        f"{w_before:,.0f} writes/s, now {w_now:,.0f} writes/s, time ratio {w_before / w_now:.2f}"
    )


def server_throughput(rounds: int, seconds: float = 2.0) -> None:
    import httpx
    import uvicorn

    from synapse_sdk.clients.local import LocalBackend
    from synapse_sdk.clients.server import BackendServer

    backend = LocalBackend(tempfile.mkdtemp(prefix="bench-server-"), durable=False)
    guarded = BackendServer(backend).start()
    bare_app = guarded.app.app  # the same FastAPI routes without the guard
    config = uvicorn.Config(bare_app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    bare = uvicorn.Server(config)
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    bare_thread = threading.Thread(target=bare.run, kwargs={"sockets": [sock]}, daemon=True)
    bare_thread.start()
    while not bare.started:
        time.sleep(0.01)
    bare_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    job = backend.create_job("bench")["id"]

    def load(url: str, token: str | None, kind: str) -> float:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        count = [0] * 4
        stop = time.perf_counter() + seconds

        def worker(n: int) -> None:
            seq = n * 10**9 + int(time.time() * 1000) % 10**8 * 10
            with httpx.Client(base_url=url, headers=headers) as client:
                while time.perf_counter() < stop:
                    if kind == "read":
                        client.get(f"/jobs/{job}").raise_for_status()
                    else:
                        entries = [
                            {"seq": seq + i, "time": 0.0, "event": "e", "level": "info",
                             "data": {"i": i}, "file": None}
                            for i in range(50)
                        ]  # fmt: skip
                        seq += 50
                        client.post(
                            f"/jobs/{job}/logs",
                            json={"entries": entries},
                            headers={"Idempotency-Key": os.urandom(8).hex()},
                        ).raise_for_status()
                    count[n] += 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(count) / seconds

    for kind in ("read", "write"):
        results: dict[str, list[float]] = {"guarded": [], "bare": []}
        for _ in range(rounds):
            results["guarded"].append(load(guarded.url, guarded.token, kind))
            results["bare"].append(load(bare_url, None, kind))
        g, b = max(results["guarded"]), max(results["bare"])
        what = "GET /jobs/{id}" if kind == "read" else "POST /jobs/{id}/logs (50 entries, key)"
        print(
            f"server, {what}, 4 clients (best of {rounds}): with token and checks {g:,.0f} "
            f"req/s, without {b:,.0f} req/s, ratio {g / b:.2f}"
        )
    bare.should_exit = True
    bare_thread.join(5)
    guarded.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", choices=("compare", "server", "all"), default="all")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, bytecode cache: {not sys.dont_write_bytecode}")
    if args.part in ("compare", "all"):
        if args.baseline is None:
            parser.error("--baseline is needed to compare with the code before")
        compare(args.baseline, args.rounds)
    if args.part in ("server", "all"):
        server_throughput(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
