"""The reference synapse-sdk's category workflows, in plugins written in its style: a smart
tool's auto-label (``BaseAutoLabelAction``), a pre-annotation's ``ToTaskAction`` and an export
plugin's ``BaseExporter``. Each loads unchanged; what needs the platform says so, and the
rest runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import PluginCategory, RuntimeContext, action, run_plugin
from synapse_sdk.plugins.actions.to_task import ToTaskParams, ToTaskResult
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.errors import (
    BackendError,
    ExecutionError,
    PlatformRequiredError,
    ValidationError,
)
from synapse_sdk.plugins.loading import load_plugin
from synapse_sdk.plugins.runner import run_plugin_record

from .test_reference_plugins import HEADER, _write

# -- smart_tool: BaseAutoLabelAction ---------------------------------------------------------

SMART_TOOL = {
    "config.yaml": HEADER.format(category="smart_tool", code="smart-tool")
    + """\
annotation_category: image
annotation_type: bbox
smart_tool_type: interactive

actions:
  auto_label:
    entrypoint: plugin.auto_label.AutoLabelAction
    method: task
""",
    "plugin/auto_label.py": """\
        from __future__ import annotations

        from typing import Any

        from pydantic import Field

        from synapse_sdk.plugins.actions.auto_label import AutoLabelParams, BaseAutoLabelAction


        class AutoLabelActionParams(AutoLabelParams):
            confidence_threshold: float = Field(default=0.5, ge=0.0, le=1.0)


        class AutoLabelAction(BaseAutoLabelAction[AutoLabelActionParams]):
            action_name = "auto_label"

            def handle_input(self, input_data: dict[str, Any]) -> dict[str, Any]:
                return {
                    "image": input_data.get("file_url"),
                    "model": input_data.get("model_id"),
                    "threshold": input_data.get("confidence_threshold", 0.5),
                }

            def handle_output(self, output_data: dict[str, Any]) -> dict[str, Any]:
                threshold = self.params.confidence_threshold
                annotations = [
                    {"type": "bbox", "coordinates": p["box"], "label": p["class"]}
                    for p in output_data.get("predictions", [])
                    if p["score"] >= threshold
                ]
                return {"annotations": annotations, "metadata": output_data.get("metadata", {})}
        """,
}

TOOL_INPUT = {"plugin": "yolo", "version": "1.0.0", "model_id": 7, "file_url": "/data/cat.jpg"}


@pytest.fixture
def smart_tool(tmp_path: Path) -> Path:
    return _write(tmp_path / "demo-smart-tool", SMART_TOOL)


class DetectParams(BaseModel):
    """The input of a detector served as an action."""

    image: str
    model: int
    threshold: float


def _predict(model_input: dict) -> dict:
    """What a detector serving the tool would answer."""
    return {
        "predictions": [
            {"box": [1, 2, 3, 4], "class": "cat", "score": 0.9},
            {"box": [5, 6, 7, 8], "class": "dog", "score": 0.2},
        ],
        "metadata": {"seen": model_input},
    }


@action(name="detect")
def detect(params: DetectParams, ctx: RuntimeContext) -> dict:
    """A detector served over HTTP, as another plugin's model would be."""
    return _predict(params.model_dump())


def test_the_smart_tool_plugin_loads_as_a_smart_tool_action(smart_tool):
    discovery = PluginDiscovery.from_path(smart_tool)
    assert discovery.list_actions() == ["auto_label"]
    assert discovery.get_action_spec("auto_label").category is PluginCategory.SMART_TOOL


def test_auto_label_runs_input_inference_output_with_run_inference_overridden(
    smart_tool, synapse_run, synapse_ctx
):
    AutoLabelAction = load_plugin(smart_tool).load_entrypoint("plugin.auto_label:AutoLabelAction")

    class WithLocalModel(AutoLabelAction):  # type: ignore[misc, valid-type]
        def run_inference(self, model_input):
            return _predict(model_input)

    run = synapse_run(WithLocalModel, {**TOOL_INPUT, "confidence_threshold": 0.5})
    assert run.result == {
        "annotations": [{"type": "bbox", "coordinates": [1, 2, 3, 4], "label": "cat"}],
        # the tool's own key (file_url) reached handle_input through the params
        "metadata": {"seen": {"image": "/data/cat.jpg", "model": 7, "threshold": 0.5}},
    }
    assert synapse_ctx.progress_timeline() == {
        "input_transform": [(1, 3)],
        "inference": [(2, 3)],
        "output_transform": [(3, 3)],
    }


def test_auto_label_without_a_way_to_the_model_says_what_it_needs(smart_tool):
    run = run_plugin_record(smart_tool, "auto_label", TOOL_INPUT)
    error = run.error.__cause__
    assert isinstance(error, PlatformRequiredError)
    assert isinstance(error, NotImplementedError)
    assert error.action == "auto_label"
    assert error.override == "run_inference(self, model_input)"
    assert str(error).splitlines()[0] == (
        "Action 'auto_label' needs the model of plugin 'yolo@1.0.0' from the Synapse platform, "
        "which this run cannot reach"
    )
    assert "SYNAPSE_INFERENCE_URL" in error.hint
    assert "override run_inference(self, model_input) in AutoLabelAction" in error.hint


def test_auto_label_keeps_the_declared_params_strict(smart_tool):
    with pytest.raises(ValidationError) as info:
        run_plugin(smart_tool, "auto_label", {**TOOL_INPUT, "confidence_threshold": 3})
    assert info.value.fields == ["confidence_threshold"]
    with pytest.raises(ValidationError) as info:
        run_plugin(smart_tool, "auto_label", {"file_url": "/data/cat.jpg"})
    assert info.value.fields == ["plugin", "version"]


def test_auto_label_calls_the_model_served_at_the_env_url(smart_tool, synapse_run):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from synapse_sdk.plugins.executors.serve import ServeExecutor

    with ServeExecutor() as executor:
        handle = executor.serve(detect)
        url = f"{handle.url}/run"
        env = {"SYNAPSE_INFERENCE_URL": url, "SYNAPSE_INFERENCE_TOKEN": handle.token}
        run = synapse_run(smart_tool, "auto_label", TOOL_INPUT, env=env)
        assert run.result["annotations"] == [
            {"type": "bbox", "coordinates": [1, 2, 3, 4], "label": "cat"}
        ]

        # the endpoint's refusal (here: no token) is the run's error, with the status
        del env["SYNAPSE_INFERENCE_TOKEN"]
        failed = synapse_run(smart_tool, "auto_label", TOOL_INPUT, env=env, check=False)
        error = failed.error.__cause__
        assert isinstance(error, BackendError)
        assert error.backend == url
        assert " answered 401 " in str(error)


def test_auto_label_names_an_unreachable_model_endpoint(smart_tool, synapse_run):
    import socket

    with socket.socket() as sock:  # a port that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/run"
    failed = synapse_run(
        smart_tool, "auto_label", TOOL_INPUT, env={"SYNAPSE_INFERENCE_URL": url}, check=False
    )
    error = failed.error.__cause__
    assert isinstance(error, BackendError)
    assert str(error).startswith(f"Cannot reach {url}: ")
    assert "SYNAPSE_INFERENCE_URL" in error.hint


# -- pre_annotation: ToTaskAction ------------------------------------------------------------

PRE_ANNOTATION = {
    "config.yaml": HEADER.format(category="pre_annotation", code="pre-annotation")
    + """\

actions:
  to_task:
    entrypoint: plugin.to_task.ToTask
    method: job
""",
    "plugin/to_task.py": """\
        from __future__ import annotations

        import json
        from pathlib import Path
        from typing import Any

        from synapse_sdk.plugins.actions.to_task import ToTaskAction


        class ToTask(ToTaskAction):
            action_name = "to_task"

            def convert_data_from_file(
                self,
                primary_file_url: str,
                primary_file_name: str | None,
                data_file_url: str,
                data_file_name: str | None,
                task_data: dict[str, Any] | None = None,
            ) -> dict[str, Any]:
                boxes = json.loads(Path(data_file_url).read_text())["boxes"]
                return {"image": primary_file_name, "annotations": boxes}

            def convert_data_from_inference(
                self, inference_data: Any, task_data: dict[str, Any] | None = None
            ) -> dict[str, Any]:
                return {"annotations": [p["class"] for p in inference_data["predictions"]]}

            def setup_inference_params(
                self,
                primary_file_url: str,
                primary_file_name: str | None,
                data_files: list[dict[str, Any]],
                *,
                model_id: int | None = None,
                pre_processor_params: dict[str, Any] | None = None,
                pre_processor_config: dict[str, Any] | None = None,
                task_data: dict[str, Any] | None = None,
            ) -> dict[str, Any]:
                body = {"image": primary_file_url, "model": model_id}
                return {"method": "post", "json": {**body, **(pre_processor_params or {})}}
        """,
}

TO_TASK = {"name": "prefill", "project": 3, "agent": 1, "target_specification_name": "labels"}


@pytest.fixture
def pre_annotation(tmp_path: Path) -> Path:
    return _write(tmp_path / "demo-pre-annotation", PRE_ANNOTATION)


class TaskBoard:
    """The platform's tasks of one project, for a to-task action that reads and writes them
    here instead of through the platform's task API."""

    def __init__(self, root: Path) -> None:
        self.submitted: dict[int, dict] = {}
        self.tasks = []
        for task_id, boxes in ((1, [[0, 0, 2, 2]]), (2, None), (3, [[1, 1, 3, 3]])):
            files = {
                "image": {
                    "url": str(root / f"{task_id}.jpg"),
                    "is_primary": True,
                    "file_name_original": f"{task_id}.jpg",
                }
            }
            if boxes is not None:
                labels = root / f"{task_id}.json"
                labels.write_text(json.dumps({"boxes": boxes}))
                files["labels"] = {"url": str(labels), "file_name_original": labels.name}
            self.tasks.append({"id": task_id, "data": {}, "data_unit": {"files": files}})

    def serve(self, action_cls: type) -> type:
        board = self

        class OnBoard(action_cls):  # type: ignore[misc, valid-type]
            def fetch_tasks(self):
                return board.tasks

            def submit_task_data(self, task_id, data):
                board.submitted[task_id] = data

        return OnBoard


def test_the_pre_annotation_plugin_loads_its_to_task_action(pre_annotation):
    discovery = PluginDiscovery.from_path(pre_annotation)
    assert discovery.list_actions() == ["to_task"]
    spec = discovery.get_action_spec("to_task")
    assert spec.category is PluginCategory.PRE_ANNOTATION
    assert spec.params_model is ToTaskParams
    assert spec.result_model is ToTaskResult


def test_to_task_without_the_platform_says_it_needs_the_task_api(pre_annotation):
    run = run_plugin_record(pre_annotation, "to_task", TO_TASK)
    error = run.error.__cause__
    assert isinstance(error, PlatformRequiredError)
    assert error.feature == "the task API (the tasks of project 3)"
    assert error.override == "fetch_tasks(self)"
    assert str(error).startswith("Action 'to_task' needs the task API (the tasks of project 3)")
    assert "override fetch_tasks(self)" in error.hint


def test_to_task_converts_each_task_file_and_counts_the_failures(
    pre_annotation, tmp_path, synapse_run, synapse_ctx
):
    board = TaskBoard(tmp_path)
    ToTask = load_plugin(pre_annotation).load_entrypoint("plugin.to_task:ToTask")
    run = synapse_run(board.serve(ToTask), TO_TASK)

    assert board.submitted == {
        1: {"image": "1.jpg", "annotations": [[0, 0, 2, 2]]},
        3: {"image": "3.jpg", "annotations": [[1, 1, 3, 3]]},
    }
    assert run.result == ToTaskResult(
        message="to_task completed. success=2, failed=1",
        total_tasks=3,
        success_count=2,
        failed_count=1,
        failures=[{"task_id": 2, "error": "task 2 has no 'labels' file with a url"}],
    )
    events = [(e.data["task_id"], e.data["status"]) for e in synapse_ctx.logs("annotate_task_data")]
    assert events == [(1, "success"), (2, "failed"), (3, "success")]
    assert synapse_ctx.messages(level="error") == [
        "Task 2 failed: task 2 has no 'labels' file with a url"
    ]
    assert synapse_ctx.progress(None) == [(1, 3), (2, 3), (3, 3)]
    assert synapse_ctx.latest_metrics() == {"success": 2, "failed": 1, "stand_by": 0}


def test_to_task_by_inference_sends_what_setup_inference_params_builds(
    pre_annotation, tmp_path, synapse_run
):
    board = TaskBoard(tmp_path)
    ToTask = load_plugin(pre_annotation).load_entrypoint("plugin.to_task:ToTask")
    sent = []

    class WithLocalModel(board.serve(ToTask)):  # type: ignore[misc]
        def run_inference(self, inference_params, task_data=None):
            sent.append(inference_params)
            return _predict(inference_params["json"])

    params = {**TO_TASK, "method": "inference", "model": 7, "pre_processor_params": {"t": 1}}
    run = synapse_run(WithLocalModel, params)
    assert run.result.success_count == 3
    assert board.submitted[2] == {"annotations": ["cat", "dog"]}
    assert sent[0] == {
        "method": "post",
        "json": {"image": str(tmp_path / "1.jpg"), "model": 7, "t": 1},
    }


def test_to_task_by_file_needs_the_specification_name(pre_annotation):
    with pytest.raises(ExecutionError) as info:
        run_plugin(pre_annotation, "to_task", {**TO_TASK, "target_specification_name": None})
    error = info.value.__cause__
    assert isinstance(error, ValidationError)
    assert error.fields == ["target_specification_name"]
    assert "method 'inference'" in error.hint


def test_to_task_stops_at_the_first_task_when_the_model_is_out_of_reach(
    pre_annotation, tmp_path, synapse_run
):
    board = TaskBoard(tmp_path)
    ToTask = load_plugin(pre_annotation).load_entrypoint("plugin.to_task:ToTask")
    params = {**TO_TASK, "method": "inference", "pre_processor": 5}
    run = synapse_run(board.serve(ToTask), params, check=False)
    error = run.error.__cause__
    assert isinstance(error, PlatformRequiredError)  # not three failed tasks
    assert error.feature == "the model of pre-processor 5"
    assert error.override == "run_inference(self, inference_params, task_data)"
    assert board.submitted == {}
