"""The reference synapse-sdk's category workflows, in plugins written in its style: a smart
tool's auto-label (``BaseAutoLabelAction``), a pre-annotation's ``ToTaskAction`` and an export
plugin's ``BaseExporter``. Each loads unchanged; what needs the platform says so, and the
rest runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import PluginCategory, RuntimeContext, action, run_plugin
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.errors import BackendError, PlatformRequiredError, ValidationError
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
