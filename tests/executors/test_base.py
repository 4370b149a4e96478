"""BaseExecutor: every executor shares one submit prologue; a new one writes only _start."""

from __future__ import annotations

import importlib
import threading

import pytest

from synapse_sdk.plugins import MemorySink, RunStatus, ValidationError
from synapse_sdk.plugins.executors import BaseExecutor, JobHandle, RunHandle
from synapse_sdk.plugins.executors._base import Submission
from synapse_sdk.plugins.executors.worker import execute_request

from .helpers import entry


class ThreadExecutor(BaseExecutor):
    """A whole executor: runs each request in a thread of this process."""

    def _start(self, submission: Submission) -> None:
        handle = submission.handle

        def work() -> None:
            handle.feed(execute_request(submission.request, handle.feed))

        threading.Thread(target=work, daemon=True).start()


def test_a_subclass_writing_only_start_gets_sinks_env_and_a_run(plugin_dir, plugin_module):
    sink = MemorySink()
    with ThreadExecutor(env={"FROM_EXECUTOR": "1"}) as executor:
        run = executor.run(
            entry("environ"), {}, plugin_dir=plugin_dir, sinks=[sink], env={"B": "2"}
        )
        echo = executor.run(plugin_module.EchoAction, {"text": "a", "times": 2})

    assert run.status is RunStatus.SUCCEEDED
    assert run.result["ctx_env"] == {"FROM_EXECUTOR": "1", "B": "2"}
    assert sink.events == run.events and sink.events[-1].status == "succeeded"
    assert echo.result == plugin_module.EchoResult(echo="aa")  # typed: the caller has the model


def test_params_are_checked_by_the_shared_prologue_before_start(plugin_module):
    started = []

    class Recording(ThreadExecutor):
        def _start(self, submission: Submission) -> None:
            started.append(submission)
            super()._start(submission)

    with pytest.raises(ValidationError) as info, Recording() as executor:
        executor.submit(plugin_module.count, {"n": 0})
    assert info.value.fields == ["n"]
    assert started == []


def test_every_executor_is_a_base_executor_and_job_handles_are_built_as_such():
    from synapse_sdk.plugins.executors import MODES, get_executor

    classes = {
        mode: getattr(importlib.import_module(module, "synapse_sdk.plugins.executors"), name)
        for mode, (module, name) in MODES.items()
    }
    assert all(issubclass(cls, BaseExecutor) for cls in classes.values()), classes
    assert classes["job"].handle_class is JobHandle
    assert issubclass(JobHandle, RunHandle)
    with get_executor("task", workers=1) as pool:
        assert pool.handle_class is RunHandle
