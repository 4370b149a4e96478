"""Plugins written in the reference synapse-sdk's style, one per category of its
``synapse plugin create``: its config.yaml keys, its import paths, its action API."""

from __future__ import annotations

import platform
import textwrap
from pathlib import Path

import pytest

from synapse_sdk.plugins import run_plugin
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.errors import ActionDefinitionError, ExecutionError

HEADER = """\
name: Demo {category}
code: demo-{code}
version: 0.1.0
variant: null
category: {category}
description: Demo {category} plugin
requires:
  sdk: '>=2026.1.0'
  python: '>=3.10,<3.13'
dependencies: {{}}
tags: []
"""

SIMPLE = """\
from __future__ import annotations

from pydantic import BaseModel

from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.enums import PluginCategory
from synapse_sdk.plugins.models.logger import LogLevel
from synapse_sdk.plugins.types import {type_name}


class Params(BaseModel):
    items: list[str] = []


class {cls}(BaseAction[Params]):
    action_name = "{action}"
    category = PluginCategory.{enum}
    output_type = {type_name}

    def execute(self) -> dict:
        self.log_message("Checking {{n}} items.", LogLevel.INFO, n=len(self.params.items))
        for i, _ in enumerate(self.params.items, 1):
            self.set_progress(i, len(self.params.items), category="{action}")
        self.log_message("Done.", LogLevel.SUCCESS)
        return {{"checked": len(self.params.items)}}
"""

# category -> (extra config lines, action name, class name, semantic type)
SIMPLE_PLUGINS = {
    "data_validation": ("", "validate", "Validator", "Result"),
    "post_annotation": ("", "post_annotate", "PostAnnotator", "Result"),
    "pre_annotation": ("", "pre_annotate", "PreAnnotator", "InferenceResults"),
    "smart_tool": (
        "annotation_category: image\nannotation_type: bbox\nsmart_tool_type: interactive\n",
        "auto_label",
        "AutoLabelAction",
        "InferenceResults",
    ),
    "upload": ("supported_data_types:\n  - image\n", "upload", "UploadAction", "DMv2Dataset"),
    "export": ("", "export", "Exporter", "COCODataset"),
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "plugin" / "__init__.py").touch()
    return root


@pytest.mark.parametrize("category", sorted(SIMPLE_PLUGINS))
def test_a_reference_style_plugin_of_each_category_loads_and_runs(tmp_path, category):
    extra, action, cls, type_name = SIMPLE_PLUGINS[category]
    code = category.replace("_", "-")
    config = (
        HEADER.format(category=category, code=code)
        + extra
        + f"\nactions:\n  {action}:\n    entrypoint: plugin.{action}.{cls}\n    method: task\n"
    )
    source = SIMPLE.format(cls=cls, action=action, enum=category.upper(), type_name=type_name)
    root = _write(tmp_path / code, {"config.yaml": config, f"plugin/{action}.py": source})

    discovery = PluginDiscovery.from_path(root)
    assert discovery.list_actions() == [action]
    assert run_plugin(root, action, {"items": ["a", "b", "c"]}) == {"checked": 3}


NEURAL_NET = {
    "config.yaml": HEADER.format(category="neural_net", code="demo-nn")
    + """\
data_type: image
tasks:
- image.object_detection
actions:
  train:
    entrypoint: plugin.train.TrainAction
    method: job
  test:
    entrypoint: plugin.test.TestAction
    method: job
  deployment:
    entrypoint: plugin.deployment.InferenceDeployment
    method: job
  inference:
    entrypoint: plugin.inference.InferenceDeployment
    method: serve
""",
    "plugin/train.py": """\
        from __future__ import annotations

        from pathlib import Path
        from typing import Any

        from pydantic import BaseModel, Field

        from synapse_sdk.plugins.actions.train import BaseTrainAction, BaseTrainParams
        from synapse_sdk.plugins.types import ModelWeights


        class TrainParams(BaseTrainParams):
            epochs: int = Field(default=2, ge=1, le=1000)


        class TrainResult(BaseModel):
            weights_path: str
            final_loss: float | None = None


        class TrainAction(BaseTrainAction[TrainParams]):
            action_name = "train"
            target_format: str | None = None
            output_type = ModelWeights
            result_model = TrainResult

            def execute(self, data_path: Path, checkpoint: dict[str, Any] | None) -> TrainResult:
                for epoch in range(self.params.epochs):
                    self.log_metric("train", "epoch", epoch, loss=1.0 / (epoch + 1))
                units = len(list(Path(data_path).iterdir()))
                weights = Path(data_path) / "best.pt"
                weights.write_bytes(f"trained on {units}".encode())
                return TrainResult(weights_path=str(weights), final_loss=0.5)
        """,
    "plugin/test.py": """\
        from __future__ import annotations

        import platform
        from typing import Any

        from pydantic import BaseModel

        from synapse_sdk.plugins.action import BaseAction
        from synapse_sdk.plugins.types import TestResults


        class TestParams(BaseModel):
            pass


        class TestAction(BaseAction[TestParams]):
            action_name = "test"
            params_model = TestParams
            output_type = TestResults

            def execute(self) -> dict[str, Any]:
                info = {"python_version": platform.python_version()}
                for key, value in info.items():
                    self.logger.info(f"{key}: {value}")
                return info
        """,
    "plugin/inference.py": """\
        from __future__ import annotations

        from typing import Any

        from fastapi import FastAPI
        from pydantic import BaseModel

        from synapse_sdk.plugins import BaseServeDeployment

        app = FastAPI()


        class InferenceInput(BaseModel):
            model: int
            text: str


        class InferenceDeployment(BaseServeDeployment):
            action_name = "inference"
            app = app

            async def _get_model(self, model_info: dict[str, Any]) -> Any:
                return model_info["path"].read_bytes().decode()

            @app.post("/")
            async def infer(self, data: InferenceInput) -> dict[str, Any]:
                model = await self.get_model(data.model)
                return {"model": model, "echo": data.text}
        """,
    "plugin/deployment.py": """\
        from __future__ import annotations

        from pydantic import BaseModel, Field

        from synapse_sdk.plugins import BaseDeploymentAction

        from plugin.inference import InferenceDeployment as InferenceServe


        class DeploymentParams(BaseModel):
            num_cpus: float = Field(default=4)
            num_gpus: float = Field(default=0)


        class InferenceDeployment(BaseDeploymentAction[DeploymentParams]):
            action_name = "deployment"
            params_model = DeploymentParams
            entrypoint = InferenceServe
        """,
}


@pytest.fixture
def neural_net(tmp_path):
    return _write(tmp_path / "demo-nn", NEURAL_NET)


def test_the_neural_net_plugin_loads_all_its_actions(neural_net):
    discovery = PluginDiscovery.from_path(neural_net)
    assert sorted(discovery.list_actions()) == ["deployment", "inference", "test", "train"]


def test_its_test_action_runs_and_logs_through_self_logger(neural_net, synapse_run, synapse_ctx):
    run = synapse_run(neural_net, "test", {})
    assert run.result == {"python_version": platform.python_version()}
    assert synapse_ctx.messages() == [f"python_version: {platform.python_version()}"]


def test_its_train_action_trains_on_the_downloaded_dataset_and_uploads(
    neural_net, synapse_run, synapse_ctx, synapse_backend
):
    dataset = synapse_backend.add_dataset("cats", files={"a.jpg": b"a", "b.jpg": b"b"})
    params = {"dataset": dataset["id"], "hyperparameters": [{"epochs": 3}]}
    run = synapse_run(neural_net, "train", params)
    (model,) = synapse_backend.uploaded_models
    assert synapse_backend.model_bytes(model) == b"trained on 2"
    assert run.result.final_loss == 0.5
    assert synapse_ctx.metrics("epoch", step="train") == [0, 1, 2]


def test_its_serve_deployment_answers_on_its_own_routes(neural_net):
    import asyncio

    import httpx

    from synapse_sdk.plugins.loading import load_plugin
    from synapse_testing import FakeBackend

    # the plugin's own import namespace: nothing lands on sys.path or under "plugin"
    plugin = load_plugin(neural_net)
    InferenceDeployment = plugin.load_entrypoint("plugin.inference:InferenceDeployment")

    backend = FakeBackend()
    model = backend.add_model("echo", content=b"echo-model", file_name="model.txt")
    app = InferenceDeployment.asgi_app(client=backend)

    async def ask() -> list[dict]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            answers = [
                await client.post("/", json={"model": model["id"], "text": text})
                for text in ("hi", "again")
            ]
        return [answer.json() for answer in answers]

    assert asyncio.run(ask()) == [
        {"model": "echo-model", "echo": "hi"},
        {"model": "echo-model", "echo": "again"},
    ]
    assert len(backend.calls_to("get_model")) == 1  # loaded once per instance


def test_running_the_serve_deployment_as_an_action_says_how_to_serve_it(neural_net):
    with pytest.raises(ExecutionError) as info:
        run_plugin(neural_net, "inference", {})
    assert isinstance(info.value.__cause__, ActionDefinitionError)
    assert "asgi_app" in str(info.value.__cause__)
