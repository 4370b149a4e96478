"""synapse-sdk's own suite gets the kit's fixtures too (the plugin loads from its entry point)."""

import pytest

from synapse_sdk.plugins import BaseAction, RuntimeContext, action
from synapse_sdk.plugins.events import RunFinished
from synapse_testing import FakeBackend, RecordingContext, assert_logged, assert_warned


@action(name="fetch")
def fetch(params: dict, ctx: RuntimeContext) -> int:
    ctx.log("env", {"token": ctx.env.get("TOKEN")})
    return len(ctx.client.list_data_units(params["dataset"]))


class Clamped(BaseAction[None]):  # type: ignore[type-var]  # an action without params
    action_name = "clamped"

    def execute(self) -> None:
        self.set_progress(5, 3)


def test_the_fixtures_are_real_objects(synapse_ctx, synapse_backend, synapse_run):
    assert isinstance(synapse_ctx, RecordingContext)
    assert isinstance(synapse_backend, FakeBackend)
    assert synapse_ctx.client is synapse_backend
    assert synapse_run.ctx is synapse_ctx


@pytest.mark.synapse(env={"TOKEN": "t0"})
def test_a_run_reads_the_seeded_dataset_and_the_marker_env(synapse_backend, synapse_run):
    synapse_backend.add_dataset("digits", files={"a.txt": "1", "b.txt": "2"})
    run = synapse_run(fetch, {"dataset": 1})
    assert run.result == 2
    assert_logged(run, "env", data={"token": "t0"})
    # the run was recorded as a backend job, synchronously and in order
    assert [c.method for c in synapse_backend.calls] == [
        "create_job",
        "list_data_units",
        "append_job_logs",
        "update_job",
    ]
    (job,) = synapse_backend.list_jobs()
    assert (job["action"], job["status"], job["result"]) == ("fetch", "succeeded", 2)


def test_later_runs_get_their_own_context(synapse_backend, synapse_run, synapse_ctx):
    synapse_backend.add_dataset("digits")
    first = synapse_run(fetch, {"dataset": 1})
    second = synapse_run(fetch, {"dataset": 1})
    assert first.run_id == synapse_ctx.run_id != second.run_id
    assert synapse_run.contexts[1].events == second.events
    assert isinstance(second.events[-1], RunFinished)


def test_a_clamped_progress_warning_must_be_checked(synapse_run):
    run = synapse_run(Clamped)
    assert_warned(run, "progress_clamped", match="5/3")
