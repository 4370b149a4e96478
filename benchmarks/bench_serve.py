"""Serve mode against a plain FastAPI app on uvicorn (issue 14, item 3): p50 / p90 latency.

Run:  python benchmarks/bench_serve.py            # uvicorn as installed (httptools if present)
      python benchmarks/bench_serve.py --h11      # both servers forced to http='h11',
                                                  # loop='asyncio': what a plain install gets

A plain install of the ``serve`` extra has no httptools and no uvloop; ``--h11`` gives both
servers that stack in any environment. To measure a real plain install, run this script with
the python of a venv made by ``pip install fastapi uvicorn httpx`` and ``pip install -e .``.

Both servers answer ``POST /run`` with a JSON body on 127.0.0.1 with one keep-alive httpx
client. The plain app is a sync FastAPI route that returns a dict (FastAPI runs it in its
thread pool, as our endpoint runs the action); ours is ``ServeExecutor().serve(action)`` of a
trivial action (one progress event, a dict back), with its default token, content-type and
host checks. Rounds alternate plain / ours (``--rounds``, default 5) of ``--requests`` (200)
requests each after 20 warm-up requests; the figures are each side's lowest p50 and p90 over
the rounds, and their ratio (target: ours within 1.2x).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PLUGIN = """
from synapse_sdk.plugins import RuntimeContext, action


@action(name="noop")
def noop(params: dict, ctx: RuntimeContext) -> dict:
    ctx.set_progress(1, 1)
    return {"ok": True}
"""


def plain_server(options: dict[str, Any]) -> tuple[str, Any]:
    """A plain FastAPI app on uvicorn (host/port as a user starts it); its URL and server."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/run")
    def run(body: dict) -> dict:  # type: ignore[type-arg]
        return {"ok": True}

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", (server, thread)


def latencies(url: str, n: int, headers: dict[str, str]) -> list[float]:
    import httpx

    with httpx.Client(base_url=url, headers=headers) as client:
        for _ in range(20):
            assert client.post("/run", json={}).status_code == 200
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            answer = client.post("/run", json={})
            out.append(time.perf_counter() - t0)
            assert answer.status_code == 200, answer.text
    out.sort()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--h11", action="store_true", help="force http='h11', loop='asyncio'")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    options = {"http": "h11", "loop": "asyncio"} if args.h11 else {}
    found = [m for m in ("httptools", "uvloop") if importlib.util.find_spec(m)]
    stack = "forced h11 + asyncio" if args.h11 else f"auto ({', '.join(found) or 'h11, asyncio'})"
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.2f}, {sys.prefix}; uvicorn stack: {stack}; "
        f"bytecode cache {'off' if sys.dont_write_bytecode else 'on'}"
    )
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    (root / "benchserve.py").write_text(PLUGIN)

    from synapse_sdk.plugins.executors import ServeExecutor

    plain_url, (plain, plain_thread) = plain_server(options)
    executor = ServeExecutor(server_options=options)
    handle = executor.serve("benchserve:noop", plugin_dir=str(root))
    ours_headers = handle.headers
    best: dict[str, list[float]] = {"plain": [1e9, 1e9], "ours": [1e9, 1e9]}
    n = args.requests
    try:
        for _ in range(args.rounds):
            for name, url, headers in (
                ("plain", plain_url, {}),
                ("ours", handle.url, ours_headers),
            ):
                lat = latencies(url, n, headers)
                p50, p90 = lat[n // 2], lat[int(n * 0.9)]
                best[name] = [min(best[name][0], p50), min(best[name][1], p90)]
    finally:
        executor.close()
        plain.should_exit = True
        plain_thread.join(5)
    for name in ("plain", "ours"):
        p50, p90 = best[name]
        print(f"{name:>5}: p50 {p50 * 1000:6.2f} ms   p90 {p90 * 1000:6.2f} ms")
    r50 = best["ours"][0] / best["plain"][0]
    r90 = best["ours"][1] / best["plain"][1]
    print(f"ratio ours/plain: p50 {r50:.2f}x   p90 {r90:.2f}x   (target <= 1.2x)")


if __name__ == "__main__":
    main()
