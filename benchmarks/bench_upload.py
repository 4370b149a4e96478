"""Upload benchmark (issue 13): DefaultUploadAction into LocalBackend against shutil.copy.

Run: python benchmarks/bench_upload.py [N ...]   (file counts, default 1000 10000 100000)

For each N, N files of 1 KiB (distinct contents) are written once, then each measurement runs in
a fresh process (so its peak RSS is its own), interleaved, three rounds, best time kept:

- ``copy``: a plain ``shutil.copy`` of every file into another folder (the floor: read and
  write each file once);
- ``upload``: ``run_action(DefaultUploadAction, ...)`` with a LocalBackend (durable, as a user
  gets it) on a new root: organize, validate, hash, store, make N data units in batches of
  200, release. The run's events go to a MemorySink, as the testing kit and notebooks see them.

Reported: files/s, the ratio to copy, peak RSS (``ru_maxrss``) and the peak's growth over the
process after imports, per file. Memory must stay flat in N: the context's per-file lists
(organized, uploaded, data units) keep a few hundred entries in memory and spill the rest to
the run's scratch folder, organize sorts on disk, and the result keeps counts (and the lost
files, none here). The peak must not rise with N, so the growth per file falls as 1/N.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(mode: str, src: str, work: str) -> None:
    from synapse_sdk.clients.local import LocalBackend
    from synapse_sdk.plugins import MemorySink, run_action
    from synapse_sdk.plugins.actions.upload import DefaultUploadAction, UploadParams

    class Upload(DefaultUploadAction[UploadParams]):
        action_name = "upload"

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if mode == "copy":
        out = Path(work, "copy")
        out.mkdir()
        made = 0
        with os.scandir(Path(src, "image")) as entries:  # no list of N paths held
            for entry in entries:
                shutil.copy(entry.path, out / entry.name)
                made += 1
    else:
        backend = LocalBackend(Path(work, "home"))
        storage = backend.create_storage("bench", path=src)
        collection = backend.create_data_collection(
            "bench", file_specifications=[{"name": "image", "is_required": True}]
        )
        params = {"name": "bench", "path": ".", "storage": storage["id"],
                  "data_collection": collection["id"]}  # fmt: skip
        t0 = time.perf_counter()
        run = run_action(Upload, params, client=backend, sinks=[MemorySink()])
        run.raise_for_status()
        made = run.result.data_units
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "made": made, "peak_kib": peak, "base_kib": base}))


def measure(mode: str, src: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(src), work],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(sizes: list[int]) -> None:
    cache = "off" if sys.dont_write_bytecode else "on"
    print(f"python {sys.version.split()[0]}, bytecode cache {cache}; 1 KiB files; best of 3 rounds")
    print(
        f"{'N':>7} {'copy files/s':>13} {'upload files/s':>15} {'x copy':>6} "
        f"{'copy peak':>10} {'upload peak':>12} {'RSS ratio':>9} {'growth/file':>12}"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as src:
            image = Path(src, "image")
            image.mkdir()
            for i in range(n):
                (image / f"{i:07}.bin").write_bytes(i.to_bytes(8, "big") * 128)
            best: dict[str, dict[str, float]] = {}
            for _ in range(3):
                for mode in ("copy", "upload"):
                    got = measure(mode, Path(src))
                    assert got["made"] == n, got
                    if mode not in best or got["seconds"] < best[mode]["seconds"]:
                        best[mode] = got
        copy, upload = best["copy"], best["upload"]
        growth = (upload["peak_kib"] - upload["base_kib"]) * 1024 / n
        print(
            f"{n:>7} {n / copy['seconds']:>13,.0f} {n / upload['seconds']:>15,.0f} "
            f"{copy['seconds'] / upload['seconds']:>6.2f} {copy['peak_kib'] / 1024:>8.1f}MB "
            f"{upload['peak_kib'] / 1024:>10.1f}MB {upload['peak_kib'] / copy['peak_kib']:>9.2f} "
            f"{growth:>10,.0f} B"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main([int(a) for a in sys.argv[1:]] or [1000, 10000, 100000])
    os._exit(0)
