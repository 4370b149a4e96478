"""Several processes share one LocalBackend root at the same time without losing a write."""

import subprocess
import sys
import textwrap

from synapse_sdk.clients import LocalBackend

WORKER = textwrap.dedent(
    """
    import os, sys, time
    from synapse_sdk.clients import LocalBackend

    root, me, dataset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    while not os.path.exists(os.path.join(root, "go")):
        time.sleep(0.005)
    b = LocalBackend(root)
    job = b.create_job("work", params={"worker": me})
    for batch in range(10):
        entries = [
            {"seq": batch * 50 + i, "time": time.time(), "event": "tick", "level": "info",
             "data": {"worker": me, "i": batch * 50 + i}, "file": None}
            for i in range(50)
        ]
        b.append_job_logs(job["id"], entries)
        b.update_job(job["id"], progress={"": {"current": batch + 1, "total": 10,
                                               "percent": (batch + 1) * 10.0}})
        path = os.path.join(root, f"m-{me}-{batch}.bin")
        with open(path, "wb") as f:
            f.write(f"weights {me} {batch}".encode())
        b.create_model(path, name=f"w{me}", job=job["id"])
        b.add_data_units(dataset, [({"x": f"{me}/{batch}".encode()}, {"worker": me})])
    b.update_job(job["id"], status="succeeded")
    """
)


def test_four_processes_write_concurrently_and_nothing_is_lost(tmp_path):
    root = tmp_path / "home"
    backend = LocalBackend(root)
    dataset = backend.create_dataset("shared")["id"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), str(n), str(dataset)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    (root / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err

    jobs = backend.list_jobs()
    assert len(jobs) == 4 and {j["status"] for j in jobs} == {"succeeded"}
    for job in jobs:
        logs = backend.get_job_logs(job["id"])
        assert [e["seq"] for e in logs] == list(range(500))
        assert job["log_count"] == 500
        assert job["progress"][""]["percent"] == 100.0
    models = backend.list_models()
    assert len(models) == 40 and len({m["id"] for m in models}) == 40
    for m in models:
        assert backend.read_file(m["file"]["sha256"]).startswith(b"weights ")
    assert backend.get_dataset(dataset)["data_unit_count"] == 40
    assert len(backend.list_data_units(dataset)) == 40
    backend.close()


KILLED_MID_UPLOAD = textwrap.dedent(
    """
    import os, sys
    from synapse_sdk.clients import LocalBackend

    b = LocalBackend(sys.argv[1])
    real_replace = os.replace

    def die(src, dst):  # the blob is written, not yet renamed: the process dies right here
        os._exit(9)

    os.replace = die
    b.create_model(sys.argv[2], name="half")
    """
)


def test_a_process_killed_mid_upload_leaves_no_record_and_its_temp_file_is_swept(tmp_path):
    root = tmp_path / "home"
    LocalBackend(root).close()
    weights = tmp_path / "big.bin"
    weights.write_bytes(b"w" * 300_000)  # above the inline limit: goes through tmp/
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_MID_UPLOAD, str(root), str(weights)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 9, proc.stderr
    leftovers = list((root / "tmp").iterdir())
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == 300_000
    with LocalBackend(root) as backend:  # the uploader is dead: its leftover goes
        assert backend.list_models() == []
        assert list((root / "tmp").iterdir()) == []
        assert backend.create_model(weights, name="whole")["id"] == 1
