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
from synapse_sdk.plugins.actions.export.exporter import BaseExporter
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


# -- export: BaseExporter --------------------------------------------------------------------

EXPORT = {
    "config.yaml": HEADER.format(category="export", code="export")
    + """\

actions:
  export:
    entrypoint: plugin.export.Exporter
    method: job
  export_dataset:
    entrypoint: plugin.export_dataset.ExportDataset
    method: job
""",
    "plugin/export.py": """\
        from __future__ import annotations

        import json
        from pathlib import Path
        from typing import Any

        from synapse_sdk.plugins.actions.export.exporter import BaseExporter
        from synapse_sdk.plugins.models.logger import LogLevel


        class Exporter(BaseExporter):
            def before_convert(self, data: dict[str, Any]) -> dict[str, Any]:
                self.run.log_dev_event("converting", {"id": data["id"]})
                return data

            def convert_data(self, data: dict[str, Any]) -> dict[str, Any]:
                label = data["data"].get("label")
                return {**data, "data": {"category": label, "source": data["id"]}}

            def after_convert(self, data: dict[str, Any]) -> dict[str, Any]:
                if data["data"]["category"] is None:
                    self.run.log_dev_event("no label", {"id": data["id"]}, level=LogLevel.WARNING)
                    return {**data, "data": None}
                return data

            def additional_file_saving(self, unique_export_path: Path) -> None:
                summary = {"name": self.params["name"], "total": self.params["count"]}
                (unique_export_path / "summary.json").write_text(json.dumps(summary))
        """,
    "plugin/export_dataset.py": """\
        from __future__ import annotations

        from typing import Any

        from synapse_sdk.plugins.actions.export import BaseExportAction, BaseExportParams

        from plugin.export import Exporter


        class ExportParams(BaseExportParams):
            dataset: int
            name: str
            save_original_file: bool = True


        class ExportDataset(BaseExportAction[ExportParams]):
            action_name = "export_dataset"

            def execute(self) -> dict[str, Any]:
                items = list(self.dataset_export_items(self.params.dataset))
                return self.export_with(
                    Exporter,
                    items,
                    name=self.params.name,
                    save_original_file=self.params.save_original_file,
                )
        """,
}


@pytest.fixture
def export_plugin(tmp_path: Path) -> Path:
    return _write(tmp_path / "demo-export", EXPORT)


def test_the_export_plugin_lists_its_exporter_entry_and_its_action(export_plugin):
    assert PluginDiscovery.from_path(export_plugin).list_actions() == ["export", "export_dataset"]
    Exporter = load_plugin(export_plugin).load_entrypoint("plugin.export:Exporter")
    assert issubclass(Exporter, BaseExporter)
    assert BaseExporter.__doc__.startswith("The helper an export action uses")


def test_an_export_action_runs_the_plugin_exporter_over_a_backend_dataset(
    export_plugin, tmp_path, synapse_run, synapse_ctx, synapse_backend
):
    dataset = synapse_backend.add_dataset(
        "pets",
        units=[
            ({"image": ("cat.jpg", b"CAT")}, {"label": "cat"}),
            ({"image": ("dog.jpg", b"DOG")}, {"label": "dog"}),
            ({"image": ("cat.jpg", b"CAT2")}, {"label": "cat"}),  # same name, another unit
            ({"image": ("blank.jpg", b"?")}, {}),  # no label: its data is None
        ],
    )
    out = tmp_path / "out"
    params = {"output_dir": str(out), "dataset": dataset["id"], "name": "pets"}
    run = synapse_run(export_plugin, "export_dataset", params)

    units = [unit["id"] for unit in synapse_backend.list_data_units(dataset["id"])]
    root = out / "pets"
    assert run.result == {
        "export_path": str(out),
        "output_path": str(root),
        "exported_count": 3,
        "failed_count": 1,
    }
    second_cat = f"cat__{units[2]}"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.*")) == [
        "error_file_list.json",
        "labels/cat.json",
        f"labels/{second_cat}.json",
        "labels/dog.json",
        "origin_files/blank.jpg",
        "origin_files/cat.jpg",
        f"origin_files/{second_cat}.jpg",
        "origin_files/dog.jpg",
        "summary.json",
    ]
    assert json.loads((root / f"labels/{second_cat}.json").read_text()) == {
        "category": "cat",
        "source": units[2],
    }
    assert (root / f"origin_files/{second_cat}.jpg").read_bytes() == b"CAT2"
    assert json.loads((root / "summary.json").read_text()) == {"name": "pets", "total": 4}
    assert json.loads((root / "error_file_list.json").read_text()) == {
        "json_file_name": [["blank.json", "data is null"]],
        "origin_file_name": [],
    }
    # what the run's events say
    data_files = synapse_ctx.logs("export_data_file")
    assert [(e.data["file_name"], e.data["status"]) for e in data_files] == [
        ("cat.json", "success"),
        ("dog.json", "success"),
        (f"{second_cat}.json", "success"),
        ("blank.json", "failed"),
    ]
    assert data_files[-1].level == "warning"
    assert synapse_ctx.latest_metrics("data_file") == {"stand_by": 0, "success": 3, "failed": 1}
    assert synapse_ctx.latest_metrics("original_file") == {"stand_by": 0, "success": 4, "failed": 0}
    assert synapse_ctx.progress("convert_data")[-1] == (4, 4)
    assert synapse_ctx.progress("save_files")[-1] == (4, 4)
    dev = synapse_ctx.logs("dev_event")
    assert [e.level for e in dev].count("warning") == 2  # the renamed cat and the blank
    assert dev[-1].data == {"message": "no label", "data": {"id": units[3]}}


def _http_file_server(directory: Path):
    """A static file server on 127.0.0.1 (the originals an export downloads)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test's output clean
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_base_exporter_fetches_originals_from_paths_file_and_http_urls(tmp_path, synapse_ctx):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (source / name).write_bytes(name.encode())
    server = _http_file_server(source)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    items = [
        {
            "id": 1,
            "files": {"url": str(source / "a.png"), "file_name_original": "a.png"},
            "data": {},
        },
        {
            "id": 2,
            "files": {"url": (source / "b.png").as_uri(), "file_name_original": "b.png"},
            "data": {},
        },
        {
            "id": 3,
            "files": {"url": f"{base}/c.png", "file_name_original": "../../c.png"},
            "data": {"n": 3},
        },
        {
            "id": 4,
            "files": {"url": f"{base}/gone.png", "file_name_original": "gone.png"},
            "data": {},
        },
        {
            "id": 5,
            "files": {"url": str(source / "gone.png"), "file_name_original": "x.png"},
            "data": {},
        },
    ]
    try:
        exporter = BaseExporter(
            synapse_ctx, items, tmp_path / "out", name="run", count=5, save_original_file=True
        )
        result = exporter.export()
    finally:
        server.shutdown()
        server.server_close()

    origin = tmp_path / "out" / "run" / "origin_files"
    assert sorted(p.name for p in origin.iterdir()) == ["a.png", "b.png", "c.png"]
    assert (origin / "c.png").read_bytes() == b"c.png"  # the '../..' stays inside
    assert result["exported_count"] == 5  # label files do not depend on originals
    failed = [
        e.data for e in synapse_ctx.logs("export_original_file") if e.data["status"] == "failed"
    ]
    assert [(f["target_id"], f["file_name"]) for f in failed] == [(4, "gone.png"), (5, "x.png")]
    assert "404" in failed[0]["error"]
    assert not (origin / "gone.png").exists()  # nothing is left of a failed download
    report = json.loads((tmp_path / "out" / "run" / "error_file_list.json").read_text())
    assert [name for name, _ in report["origin_file_name"]] == ["gone.png", "x.png"]


def test_base_exporter_never_overwrites_an_earlier_export(tmp_path, synapse_ctx):
    items = [{"id": 1, "files": {"file_name_original": "a.png"}, "data": {"k": 1}}]
    first = BaseExporter(synapse_ctx, items, tmp_path, name="run").export()
    second = BaseExporter(synapse_ctx, items, tmp_path, name="run").export()
    assert (first["output_path"], second["output_path"]) == (
        str(tmp_path / "run"),
        str(tmp_path / "run(1)"),
    )
    assert json.loads((tmp_path / "run(1)" / "labels" / "a.json").read_text()) == {"k": 1}


@pytest.mark.parametrize("name", [None, "", "../up", "a/b"])
def test_base_exporter_needs_a_plain_directory_name(tmp_path, synapse_ctx, name):
    exporter = BaseExporter(synapse_ctx, [], tmp_path, name=name)
    with pytest.raises(ValidationError) as info:
        exporter.export()
    assert info.value.fields == ["name"]
    assert f"got {name!r}" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_original_stored_in_the_backend_needs_the_run_to_have_one(tmp_path):
    from synapse_sdk.plugins import RuntimeContext

    items = [{"id": 1, "files": {"file_name_original": "a.png", "sha256": "0" * 64}, "data": {}}]
    exporter = BaseExporter(RuntimeContext(), items, tmp_path, name="run", save_original_file=True)
    assert exporter.export()["exported_count"] == 1
    report = json.loads((tmp_path / "run" / "error_file_list.json").read_text())
    ((name, error),) = report["origin_file_name"]
    assert name == "a.png"
    assert "needs a backend" in error
