"""An upload into LocalBackend interrupted at any step leaves no half-made data unit and no
orphan file, and running it again does not duplicate what was uploaded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins.actions.upload import DefaultUploadAction, UploadContext, UploadParams
from synapse_sdk.plugins.errors import BackendError, CancelledError
from synapse_sdk.plugins.runner import run_action
from synapse_sdk.plugins.steps import BaseStep, StepResult

N = 12


class Upload(DefaultUploadAction[UploadParams]):
    action_name = "upload"


def make_files(root: Path) -> None:
    for i in range(N):
        (root / "image").mkdir(parents=True, exist_ok=True)
        (root / "label").mkdir(exist_ok=True)
        (root / "image" / f"{i:03}.jpg").write_bytes(b"img" + bytes([i]) * (i * 9000))
        (root / "label" / f"{i:03}.json").write_text(json.dumps({"n": i}))


@pytest.fixture
def setup(tmp_path):
    make_files(tmp_path / "files")
    with LocalBackend(tmp_path / "home", durable=False) as backend:
        storage = backend.create_storage("files", path=tmp_path / "files")
        collection = backend.create_data_collection(
            "pairs", file_specifications=[{"name": "image", "is_required": True},
                                          {"name": "label", "is_required": True}],
        )  # fmt: skip
        params = {
            "name": "pairs",
            "path": ".",
            "storage": storage["id"],
            "data_collection": collection["id"],
            "creating_data_unit_batch_size": 5,
        }
        yield backend, params  # fmt: skip


def stored(backend: LocalBackend) -> set[str]:
    """Every content the backend holds (rows of small files, files of large ones)."""
    rows = {r[0] for r in backend._query("SELECT sha256 FROM blobs")}
    return rows | {p.name for p in (backend.root / "blobs").glob("*/*")}


def used(backend: LocalBackend, collection: int) -> set[str]:
    return {f["sha256"] for u in backend.list_data_units(collection) for f in u["files"].values()}


def assert_clean(backend: LocalBackend, collection: int, units: int) -> None:
    """``units`` whole data units, and no stored file that none of them uses."""
    listed = backend.list_data_units(collection)
    assert len(listed) == units == backend.get_data_collection(collection)["data_unit_count"]
    assert all(sorted(u["files"]) == ["image", "label"] for u in listed)
    assert stored(backend) == used(backend, collection)
    assert backend._query("SELECT count(*) FROM pending_files") == [(0,)]


def test_an_upload_makes_every_unit_and_running_it_again_duplicates_nothing(setup):
    backend, params = setup
    first = run_action(Upload, params, client=backend).raise_for_status().result
    assert (first.data_units, first.uploaded_files, first.lost_files_count) == (N, 2 * N, 0)
    assert_clean(backend, params["data_collection"], N)
    again = run_action(Upload, params, client=backend).raise_for_status().result
    assert (again.data_units, again.existing_data_units) == (0, N)
    assert (again.uploaded_files, again.reused_files) == (0, 2 * N)
    assert_clean(backend, params["data_collection"], N)


class Explode(BaseStep[UploadContext]):
    name = "explode"

    def execute(self, context: UploadContext) -> StepResult:
        raise RuntimeError("disk on fire")


class Cancel(BaseStep[UploadContext]):
    name = "cancel"

    def execute(self, context: UploadContext) -> StepResult:
        context.runtime.cancel()
        return StepResult()


@pytest.mark.parametrize("after", ["upload_files", "generate_data_units"])
@pytest.mark.parametrize("step", [Explode, Cancel])
def test_an_exception_or_a_cancel_at_any_step_rolls_back_units_and_files(setup, after, step):
    backend, params = setup

    class Interrupted(DefaultUploadAction[UploadParams]):
        def setup_steps(self, registry):
            super().setup_steps(registry)
            registry.insert_after(after, step())

    run = run_action(Interrupted, params, client=backend)
    assert not run.ok
    if step is Explode:
        assert isinstance(run.error.__cause__, RuntimeError)
    else:
        assert isinstance(run.error, CancelledError)
    assert_clean(backend, params["data_collection"], 0)
    assert stored(backend) == set()
    # and a clean run afterwards makes everything
    assert run_action(Upload, params, client=backend).raise_for_status().result.data_units == N


def test_a_failing_step_result_rolls_back_and_says_why(setup):
    backend, params = setup

    class Refuse(BaseStep[UploadContext]):
        name = "refuse"

        def execute(self, context: UploadContext) -> StepResult:
            return StepResult(success=False, error="quota exceeded")

    class Refused(DefaultUploadAction[UploadParams]):
        def setup_steps(self, registry):
            super().setup_steps(registry)
            registry.insert_before("cleanup", Refuse())

    run = run_action(Refused, params, client=backend)
    assert "Step 'refuse' failed: quota exceeded" in str(run.error)
    assert_clean(backend, params["data_collection"], 0)


class Flaky(LocalBackend):
    """Fails the first ``failures`` bulk uploads, as a busy server would."""

    failures = 2

    def upload_data_files(self, sources, **kwargs):
        if self.failures:
            self.failures -= 1
            raise BackendError("503 busy", backend="flaky")
        return super().upload_data_files(sources, **kwargs)


def test_a_transient_backend_failure_is_retried(tmp_path, setup):
    _, params = setup
    with Flaky(tmp_path / "home", durable=False) as backend:
        run = run_action(Upload, params, client=backend).raise_for_status()
    assert run.result.data_units == N
    retries = [e.data for e in run.events if getattr(e, "event", None) == "upload_retry"]
    assert [r["attempt"] for r in retries] == [1, 2]


def test_a_backend_down_for_good_fails_and_leaves_nothing(tmp_path, setup):
    _, params = setup
    with Flaky(tmp_path / "home", durable=False) as backend:
        backend.failures = 99
        run = run_action(Upload, {**params, "upload_max_retries": 1}, client=backend)
        assert "no file could be uploaded" in str(run.error)
        assert run.error.__cause__.result.exception is None
        assert_clean(backend, params["data_collection"], 0)


KILLER = """
import os, signal, sys
from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins.actions.upload import DefaultUploadAction, UploadContext, UploadParams
from synapse_sdk.plugins.runner import run_action
from synapse_sdk.plugins.steps import BaseStep, StepResult

class Kill(BaseStep[UploadContext]):
    name = "kill"
    def execute(self, context):
        os.kill(os.getpid(), signal.SIGKILL)

class Killed(DefaultUploadAction[UploadParams]):
    def setup_steps(self, registry):
        super().setup_steps(registry)
        registry.insert_after(sys.argv[3], Kill())

params = {"name": "k", "path": ".", "storage": 1, "data_collection": int(sys.argv[2]),
          "creating_data_unit_batch_size": 5}
run_action(Killed, params, client=LocalBackend(sys.argv[1]))
"""


@pytest.mark.parametrize(("after", "units"), [("upload_files", 0), ("generate_data_units", N)])
def test_a_killed_worker_leaves_no_orphan_and_a_rerun_finishes_without_duplicates(
    setup, tmp_path, after, units
):
    backend, params = setup
    script = tmp_path / "killer.py"
    script.write_text(textwrap.dedent(KILLER))
    root, collection = str(backend.root), params["data_collection"]
    backend.close()
    done = subprocess.run(
        [sys.executable, str(script), root, str(collection), after], capture_output=True
    )
    assert done.returncode == -9, done.stderr.decode()
    with LocalBackend(root, durable=False) as reopened:  # opening collects what was held
        assert_clean(reopened, collection, units)
        result = run_action(Upload, params, client=reopened).raise_for_status().result
        assert (result.data_units, result.existing_data_units) == (N - units, units)
        assert_clean(reopened, collection, N)
