"""What ``synapse new`` writes for each plugin category: actions on the category's base class,
tests with the synapse_testing kit (and the first snapshot), a notebook, sample data.

Templates are :class:`string.Template` texts (``${name}`` placeholders: Python code keeps its
braces). Each category is a :class:`Blueprint`: its actions (the first one is renamed by
``--action``), the files of those actions and of their tests, and the commands a README shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["BLUEPRINTS", "Blueprint", "ScaffoldAction", "notebook_json"]


@dataclass(frozen=True)
class ScaffoldAction:
    """One action of a scaffold: ``name`` in config.yaml, its module and class."""

    name: str
    module: str
    cls: str
    description: str
    method: str = "task"


@dataclass(frozen=True)
class Blueprint:
    """A category's starting point."""

    category: str
    base: str  # the base class the main action is built on (shown by `synapse new`)
    actions: tuple[ScaffoldAction, ...]
    modules: dict[str, str]  # plugin/<module>.py -> template
    tests: str  # tests/test_<package>.py
    sample_data: dict[str, str] = field(default_factory=dict)  # sample_data/<name> -> text
    # README lines: (command, what it does); ${dir} is "." in the README
    try_it: tuple[tuple[str, str], ...] = ()


# -- neural_net ------------------------------------------------------------------------------

_TRAIN = '''\
"""`${action}`: train a model on a dataset of the backend, resume from a checkpoint, store it.

The model here is a toy (the mean of the numbers in the dataset's text files, learned by
gradient steps) so the plugin runs anywhere: replace `fit_epoch` and the model file with
your framework's. The rest is what a real training keeps: the dataset and checkpoint helpers,
per-epoch progress and metrics, and `create_model` storing the result.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseTrainAction
from synapse_sdk.plugins.actions.train import BaseTrainParams


class ${Cls}Params(BaseTrainParams):
    dataset: int = Field(description="Id of the dataset to train on")  # type: ignore[assignment]
    epochs: int = Field(default=5, ge=1, le=1000, description="Passes over the dataset")
    learning_rate: float = Field(default=0.5, gt=0, le=1, description="Step size")


class ${Cls}Result(BaseModel):
    model_id: int
    epochs: int
    final_loss: float
    weight: float


def read_numbers(dataset) -> list[float]:
    """The numbers of the dataset: one per data unit, the text of its file."""
    return [float(dataset.read(unit).decode().strip()) for unit in dataset.data_units()]


def fit_epoch(weight: float, samples: list[float], learning_rate: float) -> tuple[float, float]:
    """One gradient step over ``samples``: the new weight and the loss (mean squared error)."""
    gradient = sum(weight - x for x in samples) / len(samples)
    weight -= learning_rate * gradient
    loss = sum((x - weight) ** 2 for x in samples) / len(samples)
    return weight, loss


class ${Cls}Action(BaseTrainAction[${Cls}Params]):
    """${description}"""

    def execute(self) -> ${Cls}Result:
        samples = read_numbers(self.get_dataset())  # progress step "dataset"
        if not samples:
            raise ValueError(f"dataset {self.params.dataset} has no data units to train on")
        weight = 0.0
        checkpoint = self.get_checkpoint()  # params.checkpoint: a model id to resume from
        if checkpoint is not None:
            weight = json.loads(checkpoint.path.read_text())["weight"]
            self.log("resumed", {"model_id": checkpoint.id, "weight": weight})
        loss = 0.0
        for epoch in range(self.params.epochs):
            weight, loss = fit_epoch(weight, samples, self.params.learning_rate)
            self.set_progress(epoch + 1, self.params.epochs, step=self.progress.TRAIN)
            self.set_metrics({"loss": round(loss, 6)}, step=self.progress.TRAIN)
        model_file = self.work_dir / "model.json"  # removed after the run: create_model keeps it
        model_file.write_text(json.dumps({"weight": weight}))
        model = self.create_model(model_file, name="${code}", meta={"final_loss": round(loss, 6)})
        return ${Cls}Result(
            model_id=model["id"],
            epochs=self.params.epochs,
            final_loss=round(loss, 6),
            weight=round(weight, 6),
        )
'''

_INFER = '''\
"""`infer`: answer with a model that `${action}` stored (loaded once per process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from synapse_sdk.plugins import BaseInferenceAction
from synapse_sdk.plugins.actions.inference import BaseInferenceParams


class InferParams(BaseInferenceParams):
    inputs: list[float] = Field(description="Numbers to score against the model")


class InferAction(BaseInferenceAction[InferParams]):
    """Score numbers with a trained model: how far each is from what it learned."""

    def load_model(self, path: Path, record: Any) -> float:
        return float(json.loads(path.read_text())["weight"])

    def infer(self, model: float, inputs: list[float]) -> list[dict[str, float]]:
        return [{"input": x, "distance": round(abs(x - model), 6)} for x in inputs]
'''

_NEURAL_NET_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit: a fake backend seeded with a
dataset, the actions run by path as `synapse run` runs them, and a snapshot of a run."""

from pathlib import Path

from synapse_testing import EventLog, assert_model_uploaded, assert_progress_complete

PLUGIN = Path(__file__).resolve().parents[1]
NUMBERS = {"a.txt": "1", "b.txt": "2", "c.txt": "6"}


def test_${action}_learns_the_mean_and_stores_the_model(synapse_run, synapse_backend):
    dataset = synapse_backend.add_dataset("numbers", files=NUMBERS)
    run = synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"], "epochs": 40})
    assert abs(run.result.weight - 3.0) < 0.01
    assert_progress_complete(run, step="train")
    losses = EventLog.of(run).metrics("loss", step="train")
    assert len(losses) == 40 and losses == sorted(losses, reverse=True)
    assert_model_uploaded(synapse_backend, name="${code}", dataset=dataset["id"])


def test_${action}_resumes_from_a_checkpoint(synapse_run, synapse_backend):
    dataset = synapse_backend.add_dataset("numbers", files=NUMBERS)
    start = synapse_backend.add_model("start", content='{"weight": 3.0}', file_name="model.json")
    params = {"dataset": dataset["id"], "checkpoint": start["id"], "epochs": 1}
    run = synapse_run(PLUGIN, "${action}", params)
    assert abs(run.result.weight - 3.0) < 0.01  # it started where the checkpoint was


def test_infer_scores_inputs_with_a_stored_model(synapse_run, synapse_backend):
    model = synapse_backend.add_model("${code}", content='{"weight": 3.0}', file_name="model.json")
    run = synapse_run(PLUGIN, "infer", {"model": model["id"], "inputs": [3, 5]})
    assert run.result["predictions"] == [
        {"input": 3.0, "distance": 0.0},
        {"input": 5.0, "distance": 2.0},
    ]


def test_${action}_matches_its_snapshot(synapse_run, synapse_backend, synapse_snapshot):
    dataset = synapse_backend.add_dataset("numbers", files=NUMBERS)
    assert synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"]}) == synapse_snapshot
'''

# -- export ----------------------------------------------------------------------------------

_EXPORT = '''\
"""`${action}`: write a dataset of the backend out to a folder, with a manifest."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseExportAction
from synapse_sdk.plugins.actions.export import BaseExportParams


class ${Cls}Params(BaseExportParams):  # output_dir: where the export is written
    dataset: int = Field(description="Id of the dataset to export")


class ${Cls}Result(BaseModel):
    output_dir: str
    files: int


class ${Cls}Action(BaseExportAction[${Cls}Params]):
    """${description}"""

    def execute(self) -> ${Cls}Result:
        dataset = self.fetch_dataset(self.params.dataset)
        units = list(dataset.data_units())
        manifest = []
        for done, unit in enumerate(units, 1):
            name = unit["meta"].get("name") or f"unit_{unit['id']}"
            target = self.output_path(f"data/{name}")  # refuses names that leave output_dir
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(dataset.read(unit))  # convert to your format here
            manifest.append({"data_unit": unit["id"], "file": f"data/{name}"})
            self.set_progress(done, len(units), step=self.progress.EXPORT)
        self.output_path("manifest.json").write_text(json.dumps(manifest, indent=2))
        self.log("exported", {"files": len(units)})
        return ${Cls}Result(output_dir=str(self.output_dir), files=len(units))
'''

_EXPORT_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit."""

import json
from pathlib import Path

from synapse_testing import assert_progress_complete

PLUGIN = Path(__file__).resolve().parents[1]


def test_${action}_writes_every_file_and_a_manifest(synapse_run, synapse_backend, tmp_path):
    dataset = synapse_backend.add_dataset("notes", files={"a.txt": "alpha", "b.txt": "beta"})
    out = tmp_path / "out"
    run = synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"], "output_dir": str(out)})
    assert run.result.files == 2
    assert (out / "data" / "b.txt").read_text() == "beta"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [entry["file"] for entry in manifest] == ["data/a.txt", "data/b.txt"]
    assert_progress_complete(run, step="export")


def test_${action}_matches_its_snapshot(synapse_run, synapse_backend, synapse_snapshot, tmp_path):
    dataset = synapse_backend.add_dataset("notes", files={"a.txt": "alpha"})
    params = {"dataset": dataset["id"], "output_dir": str(tmp_path / "out")}
    assert synapse_run(PLUGIN, "${action}", params) == synapse_snapshot
'''

# -- upload ----------------------------------------------------------------------------------

_UPLOAD = '''\
"""`${action}`: the default upload workflow, plus a step of this plugin's own.

DefaultUploadAction reads the files of a storage, groups them by name across the data
collection's file specifications, validates, uploads and makes one data unit per group, in
steps: initialize, process_metadata, analyze_collection, organize_files, validate_files,
upload_files, generate_data_units, cleanup. A plugin inserts its own steps between them.
"""

from __future__ import annotations

from pathlib import Path

from synapse_sdk.plugins.actions.upload import DefaultUploadAction, UploadContext, UploadParams
from synapse_sdk.plugins.steps import BaseStep, StepRegistry, StepResult


class SkipEmptyFilesStep(BaseStep[UploadContext]):
    """Leave out groups with an empty file (an interrupted copy): each file is reported lost.

    A context step sees the whole upload: ``context.organized_files`` are the groups that
    become data units (``{"files": {spec: path}, "meta": {...}}``).
    """

    name = "skip_empty_files"
    progress_weight = 0.1

    def execute(self, context: UploadContext) -> StepResult:
        kept = []
        for group in context.organized_files:
            empty = [p for p in group["files"].values() if Path(p).stat().st_size == 0]
            for path in empty:
                context.lose(path, "empty file")
            if not empty:
                kept.append(group)
        skipped = len(context.organized_files) - len(kept)
        context.organized_files = kept
        return StepResult(success=True, data={"skipped": skipped})


class ${Cls}Action(DefaultUploadAction[UploadParams]):
    """${description}"""

    def setup_steps(self, registry: StepRegistry) -> None:
        super().setup_steps(registry)
        registry.insert_after("organize_files", SkipEmptyFilesStep())
'''

_UPLOAD_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit: a storage and a data collection
seeded in the fake backend, the upload run by path, and a snapshot of the run."""

from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1]


@pytest.fixture
def photos(synapse_backend):
    """A storage with two photos and an empty file, and a collection of images."""
    storage = synapse_backend.add_storage(
        files={"image/cat.jpg": b"cat", "image/dog.jpg": b"dog", "image/blank.jpg": b""}
    )
    collection = synapse_backend.add_data_collection(
        specs=[{"name": "image", "file_type": "image", "is_required": True,
                "extensions": [".jpg", ".png"]}]
    )  # fmt: skip
    return {"name": "photos", "path": ".", "storage": storage["id"],
            "data_collection": collection["id"]}  # fmt: skip


def test_${action}_makes_a_data_unit_per_photo_and_skips_empty_files(
    synapse_run, synapse_backend, photos
):
    result = synapse_run(PLUGIN, "${action}", photos).result
    assert (result.data_units, result.lost_files_count) == (2, 1)
    assert [(lost.file, lost.reason) for lost in result.lost_files] == [
        ("image/blank.jpg", "empty file")
    ]
    units = synapse_backend.list_data_units(photos["data_collection"])
    assert sorted(u["files"]["image"]["name"] for u in units) == ["cat.jpg", "dog.jpg"]


def test_${action}_matches_its_snapshot(synapse_run, synapse_snapshot, photos):
    assert synapse_run(PLUGIN, "${action}", photos) == synapse_snapshot
'''

# -- smart_tool ------------------------------------------------------------------------------

_AUTO_LABEL = '''\
"""`${action}`: a smart tool's auto-labelling, from the tool's input to annotations.

The platform sends what the tool has (``file_url``, settings) with the model to use
(``plugin`` at ``version``); `handle_input` makes the model's input, the model answers
(`run_inference`: the model served at ``SYNAPSE_INFERENCE_URL`` of the run's env, e.g.
`synapse serve` of an inference action), `handle_output` turns the answer into annotations.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from synapse_sdk.plugins.actions.auto_label import (
    AutoLabelParams,
    AutoLabelResult,
    BaseAutoLabelAction,
)


class ${Cls}Params(AutoLabelParams):
    confidence_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Boxes less sure than this are dropped"
    )


class ${Cls}Action(BaseAutoLabelAction[${Cls}Params]):
    """${description}"""

    def handle_input(self, input_data: dict[str, Any]) -> dict[str, Any]:
        if not input_data.get("file_url"):
            raise ValueError("the tool sent no file_url to label")
        return {"image": input_data["file_url"], "model": input_data.get("model_id")}

    def handle_output(self, output_data: Any) -> AutoLabelResult:
        threshold = self.params.confidence_threshold
        kept = [p for p in output_data.get("predictions", []) if p["confidence"] >= threshold]
        annotations = [
            {"type": "bbox", "label": p["label"], "coordinate": p["box"]} for p in kept
        ]
        dropped = len(output_data.get("predictions", [])) - len(kept)
        return AutoLabelResult(annotations=annotations, metadata={"dropped": dropped})
'''

_AUTO_LABEL_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit. The model belongs to another
plugin (the platform serves it), so a test stands in for it by overriding `run_inference`."""

from plugin.${module} import ${Cls}Action  # plain `pytest` here imports the plugin (pytest.ini)

ANSWER = {
    "predictions": [
        {"label": "cat", "confidence": 0.9, "box": [1, 2, 30, 40]},
        {"label": "dog", "confidence": 0.2, "box": [5, 5, 9, 9]},
    ]
}


class WithFakeModel(${Cls}Action):
    action_name = "${action}"
    sent = []

    def run_inference(self, model_input):
        self.sent.append(model_input)
        return ANSWER


PARAMS = {"plugin": "detector", "version": "1.0.0", "file_url": "https://files/cat.jpg"}


def test_${action}_keeps_sure_boxes_as_annotations(synapse_run):
    run = synapse_run(WithFakeModel, PARAMS)
    assert WithFakeModel.sent[-1] == {"image": "https://files/cat.jpg", "model": None}
    (box,) = run.result.annotations
    assert box == {"type": "bbox", "label": "cat", "coordinate": [1, 2, 30, 40]}
    assert run.result.metadata == {"dropped": 1}


def test_${action}_matches_its_snapshot(synapse_run, synapse_snapshot):
    assert synapse_run(WithFakeModel, {**PARAMS, "confidence_threshold": 0.1}) == synapse_snapshot
'''

# -- pre_annotation --------------------------------------------------------------------------

_TO_TASK = '''\
"""`${action}`: fill annotation tasks with labels from a file each task's data carries.

ToTaskAction runs the workflow (per task: find the files, convert, submit; failures counted
per task, progress and metrics); the plugin converts. Tasks live on the Synapse platform,
which provides `fetch_tasks` and `submit_task_data`; a test provides them in their place.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from synapse_sdk.plugins.actions.to_task import ToTaskAction


def read_url(url: str) -> bytes:
    """The bytes at ``url`` (``file://`` or a local path in tests, http(s) on the platform)."""
    if url.startswith("file://"):
        return Path(url[len("file://") :]).read_bytes()
    if "://" not in url:
        return Path(url).read_bytes()
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


class ${Cls}Action(ToTaskAction):
    """${description}"""

    action_name = "${action}"

    def convert_data_from_file(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_file_url: str,
        data_file_name: str | None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        labels = json.loads(read_url(data_file_url))
        return {
            "annotations": [
                {"type": "classification", "label": label} for label in labels["labels"]
            ],
            "source": primary_file_name,
        }
'''

_TO_TASK_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit. Tasks live on the platform: a
test subclass serves them from local files and records what would be submitted."""

import json

import pytest

from plugin.${module} import ${Cls}Action  # plain `pytest` here imports the plugin (pytest.ini)


@pytest.fixture
def tasks(tmp_path):
    """Two tasks whose data units carry an image and a label file, and a broken one."""
    made = []
    for task_id, labels in ((1, ["cat"]), (2, ["dog", "ball"]), (3, None)):
        image = tmp_path / f"{task_id}.jpg"
        image.write_bytes(b"jpeg")
        label = tmp_path / f"{task_id}.json"
        label.write_text(json.dumps({"labels": labels}) if labels else "not json")
        files = {
            "image": {"url": image.as_uri(), "file_name": image.name, "is_primary": True},
            "label": {"url": label.as_uri(), "file_name": label.name},
        }
        made.append({"id": task_id, "data": {}, "data_unit": {"files": files}})
    return made


@pytest.fixture
def action(tasks):
    class OnLocalTasks(${Cls}Action):
        submitted = {}

        def fetch_tasks(self):
            return tasks

        def submit_task_data(self, task_id, data):
            self.submitted[task_id] = data

    return OnLocalTasks


PARAMS = {"name": "first labels", "project": 1, "target_specification_name": "label"}


def test_${action}_fills_each_task_and_counts_the_broken_one(synapse_run, action):
    result = synapse_run(action, PARAMS).result
    assert (result.success_count, result.failed_count) == (2, 1)
    assert action.submitted[2]["annotations"] == [
        {"type": "classification", "label": "dog"},
        {"type": "classification", "label": "ball"},
    ]
    assert result.failures[0]["task_id"] == 3


def test_${action}_matches_its_snapshot(synapse_run, synapse_snapshot, action):
    assert synapse_run(action, PARAMS) == synapse_snapshot
'''

# -- dataset actions: post_annotation, data_validation ---------------------------------------

_REVIEW = '''\
"""`${action}`: after labelling, count the labels of a dataset's annotation files.

Each data unit holds a JSON file ``{"labels": [...]}``; the summary tells which classes
are there, how often, and which units have no label yet.
"""

from __future__ import annotations

import json
from collections import Counter

from pydantic import BaseModel, Field

from synapse_sdk.plugins.actions.dataset import DatasetAction, DatasetParams
from synapse_sdk.plugins.enums import PluginCategory


class ${Cls}Params(DatasetParams):  # dataset: the id of the dataset to review
    min_count: int = Field(default=1, ge=1, description="Classes seen fewer times are flagged")


class ${Cls}Result(BaseModel):
    units: int
    labels: dict[str, int]
    unlabelled: list[int]
    rare: list[str]


class ${Cls}Action(DatasetAction[${Cls}Params]):
    """${description}"""

    category = PluginCategory.POST_ANNOTATION

    def execute(self) -> ${Cls}Result:
        dataset = self.get_dataset()
        counts: Counter[str] = Counter()
        unlabelled = []
        units = list(dataset.data_units())
        for done, unit in enumerate(units, 1):
            labels = json.loads(dataset.read(unit)).get("labels", [])
            if not labels:
                unlabelled.append(unit["id"])
            counts.update(labels)
            self.set_progress(done, len(units), step="review")
        self.set_metrics({"classes": len(counts), "unlabelled": len(unlabelled)})
        rare = sorted(label for label, n in counts.items() if n < self.params.min_count)
        return ${Cls}Result(
            units=len(units), labels=dict(sorted(counts.items())), unlabelled=unlabelled, rare=rare
        )
'''

_REVIEW_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit."""

from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
LABELS = {
    "1.json": '{"labels": ["cat", "dog"]}',
    "2.json": '{"labels": ["cat"]}',
    "3.json": '{"labels": []}',
}


def test_${action}_counts_labels_and_finds_unlabelled_units(synapse_run, synapse_backend):
    dataset = synapse_backend.add_dataset("labels", files=LABELS)
    result = synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"], "min_count": 2}).result
    assert result.labels == {"cat": 2, "dog": 1}
    assert len(result.unlabelled) == 1 and result.rare == ["dog"]


def test_${action}_matches_its_snapshot(synapse_run, synapse_backend, synapse_snapshot):
    dataset = synapse_backend.add_dataset("labels", files=LABELS)
    assert synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"]}) == synapse_snapshot
'''

_VALIDATE = '''\
"""`${action}`: check every data unit of a dataset before it is used, and say what is wrong.

The rules here (allowed extensions, no empty file, a size limit) are examples: write yours
in `problems_of`. The run succeeds with a report; `fail_on_problems` makes it fail instead.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from synapse_sdk.plugins.actions.dataset import DatasetAction, DatasetParams
from synapse_sdk.plugins.enums import PluginCategory


class ${Cls}Params(DatasetParams):  # dataset: the id of the dataset to check
    extensions: list[str] = Field(
        default_factory=lambda: [".jpg", ".png", ".txt"], description="Allowed file types"
    )
    max_size_kb: int = Field(default=10_240, ge=1, description="Largest file allowed")
    fail_on_problems: bool = Field(default=False, description="Fail the run if any unit fails")


class Problem(BaseModel):
    data_unit: int
    file: str
    problem: str


class ${Cls}Result(BaseModel):
    checked: int
    valid: int
    problems: list[Problem]


class ${Cls}Action(DatasetAction[${Cls}Params]):
    """${description}"""

    category = PluginCategory.DATA_VALIDATION

    def problems_of(self, name: str, content: bytes) -> list[str]:
        """What is wrong with one file (empty: nothing)."""
        found = []
        if PurePosixPath(name).suffix.lower() not in self.params.extensions:
            found.append(f"extension not allowed (allowed: {', '.join(self.params.extensions)})")
        if not content:
            found.append("empty file")
        elif len(content) > self.params.max_size_kb * 1024:
            found.append(f"larger than {self.params.max_size_kb} kB")
        return found

    def execute(self) -> ${Cls}Result:
        dataset = self.get_dataset()
        units = list(dataset.data_units())
        problems = []
        for done, unit in enumerate(units, 1):
            name = unit["meta"].get("name") or str(unit["id"])
            for problem in self.problems_of(name, dataset.read(unit)):
                problems.append(Problem(data_unit=unit["id"], file=name, problem=problem))
            self.set_progress(done, len(units), step="validate")
        bad = len({p.data_unit for p in problems})
        self.set_metrics({"invalid": bad})
        if problems and self.params.fail_on_problems:
            listing = "; ".join(f"{p.file}: {p.problem}" for p in problems)
            raise ValueError(f"{bad} of {len(units)} data units are invalid: {listing}")
        return ${Cls}Result(checked=len(units), valid=len(units) - bad, problems=problems)
'''

_VALIDATE_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit."""

from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
FILES = {"ok.txt": "fine", "empty.txt": "", "notes.docx": "word"}


def test_${action}_reports_each_problem_with_its_file(synapse_run, synapse_backend):
    dataset = synapse_backend.add_dataset("mixed", files=FILES)
    result = synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"]}).result
    assert (result.checked, result.valid) == (3, 1)
    assert [(p.file, p.problem) for p in result.problems] == [
        ("empty.txt", "empty file"),
        ("notes.docx", "extension not allowed (allowed: .jpg, .png, .txt)"),
    ]


def test_${action}_can_fail_the_run(synapse_run, synapse_backend):
    dataset = synapse_backend.add_dataset("mixed", files=FILES)
    params = {"dataset": dataset["id"], "fail_on_problems": True}
    run = synapse_run(PLUGIN, "${action}", params, check=False)
    assert not run.ok and "2 of 3 data units are invalid" in str(run.error)


def test_${action}_matches_its_snapshot(synapse_run, synapse_backend, synapse_snapshot):
    dataset = synapse_backend.add_dataset("mixed", files=FILES)
    assert synapse_run(PLUGIN, "${action}", {"dataset": dataset["id"]}) == synapse_snapshot
'''

# -- custom ----------------------------------------------------------------------------------

_CUSTOM = '''\
"""`${action}`: a typed action: params in, progress and metrics out, a typed result."""

from __future__ import annotations

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction
from synapse_sdk.plugins.enums import PluginCategory


class ${Cls}Params(BaseModel):
    words: list[str] = Field(description="Words to process")
    repeat: int = Field(default=1, ge=1, le=100, description="How often each word is used")


class ${Cls}Result(BaseModel):
    text: str
    count: int


class ${Cls}Action(BaseAction[${Cls}Params]):
    """${description}"""

    category = PluginCategory.CUSTOM

    def execute(self) -> ${Cls}Result:
        parts = []
        words = self.params.words
        for done, word in enumerate(words, 1):
            parts.extend([word] * self.params.repeat)  # the work of one item goes here
            self.set_progress(done, len(words), step="${action}")
        self.set_metrics({"words": len(parts)}, step="${action}")
        self.log("joined", {"count": len(parts)})
        return ${Cls}Result(text=" ".join(parts), count=len(parts))
'''

_CUSTOM_TESTS = '''\
"""Tests of the ${title} plugin with the synapse_testing kit."""

from pathlib import Path

from synapse_testing import assert_logged, assert_progress_complete

PLUGIN = Path(__file__).resolve().parents[1]


def test_${action}_repeats_each_word(synapse_run):
    run = synapse_run(PLUGIN, "${action}", {"words": ["hi", "there"], "repeat": 2})
    assert run.result.text == "hi hi there there" and run.result.count == 4
    assert_progress_complete(run, step="${action}")
    assert_logged(run, "joined", data={"count": 4})


def test_${action}_matches_its_snapshot(synapse_run, synapse_snapshot):
    assert synapse_run(PLUGIN, "${action}", {"words": ["a", "b"]}) == synapse_snapshot
'''


def _one(
    category: str,
    base: str,
    name: str,
    description: str,
    module: str,
    tests: str,
    *,
    sample_data: dict[str, str] | None = None,
    try_it: tuple[tuple[str, str], ...] = (),
) -> Blueprint:
    """A category with one action, named ``name`` and defined in ``plugin/<name>.py``."""
    action = ScaffoldAction(name, name, "", description)
    return Blueprint(category, base, (action,), {name: module}, tests, sample_data or {}, try_it)


def _on_dataset(command: str, what: str) -> tuple[tuple[str, str], ...]:
    """README lines: import the sample data as dataset 1, then ``command`` on it."""
    return (
        ("synapse backend import-dataset ${dir}/sample_data", "a dataset (id 1)"),
        ("synapse run ${dir} ${action} -p dataset=1" + command, what),
    )


_NUMBERS = {f"{i}.txt": str(v) for i, v in enumerate((2, 3, 4, 7), 1)}
_LABELS = {
    "1.json": '{"labels": ["cat"]}',
    "2.json": '{"labels": ["cat", "dog"]}',
    "3.json": '{"labels": []}',
}

BLUEPRINTS: dict[str, Blueprint] = {
    "neural_net": Blueprint(
        "neural_net",
        "BaseTrainAction + BaseInferenceAction",
        (
            ScaffoldAction("train", "train", "", "Train a model on a dataset and store it."),
            ScaffoldAction("infer", "infer", "Infer", "Score numbers with a stored model."),
        ),
        {"train": _TRAIN, "infer": _INFER},
        _NEURAL_NET_TESTS,
        sample_data=_NUMBERS,
        try_it=(
            *_on_dataset("", "train; stores model 1"),
            ("synapse run ${dir} infer -p model=1 --params '{\"inputs\": [3, 9]}'", "use it"),
        ),
    ),
    "export": _one(
        "export",
        "BaseExportAction",
        "export",
        "Export a dataset to a folder.",
        _EXPORT,
        _EXPORT_TESTS,
        sample_data=_NUMBERS,
        try_it=_on_dataset(" -p output_dir=out", "write it out"),
    ),
    "upload": _one(
        "upload",
        "DefaultUploadAction",
        "upload",
        "Upload the files of a storage into a data collection.",
        _UPLOAD,
        _UPLOAD_TESTS,
        try_it=(
            ("synapse backend storages add photos FOLDER", "where files are read"),
            ("synapse backend collections add photos --spec image:required:.jpg", "what to fill"),
            (
                "synapse run ${dir} ${action} -p name=first -p storage=1 -p data_collection=1",
                "upload",
            ),
        ),
    ),
    "smart_tool": _one(
        "smart_tool",
        "BaseAutoLabelAction",
        "auto_label",
        "Auto-label an image with a served model.",
        _AUTO_LABEL,
        _AUTO_LABEL_TESTS,
    ),
    "pre_annotation": _one(
        "pre_annotation",
        "ToTaskAction",
        "to_task",
        "Fill annotation tasks with the labels of their data files.",
        _TO_TASK,
        _TO_TASK_TESTS,
    ),
    "post_annotation": _one(
        "post_annotation",
        "DatasetAction",
        "review",
        "Summarize the labels of an annotated dataset.",
        _REVIEW,
        _REVIEW_TESTS,
        sample_data=_LABELS,
        try_it=_on_dataset("", "summarize its labels"),
    ),
    "data_validation": _one(
        "data_validation",
        "DatasetAction",
        "validate",
        "Check the data units of a dataset.",
        _VALIDATE,
        _VALIDATE_TESTS,
        sample_data=_NUMBERS,
        try_it=_on_dataset("", "check it"),
    ),
    "custom": _one(
        "custom",
        "BaseAction",
        "run",
        "Process a list of words.",
        _CUSTOM,
        _CUSTOM_TESTS,
        try_it=(('synapse run ${dir} ${action} --params \'{"words": ["hi"]}\'', "run it"),),
    ),
}


def notebook_json(title: str, actions: list[str], needs_backend: bool) -> str:
    """A notebook (nbformat 4) with a panel per action, to open from the plugin's folder."""
    intro = (
        f"# {title} in a notebook\n\n"
        "Open this notebook from the plugin's folder (`jupyter lab notebook.ipynb`). Each "
        "panel is a form of the action's params, Run / Cancel buttons and live progress, "
        "metrics and logs; it runs the action exactly as `synapse run` does."
    )
    if needs_backend:
        intro += (
            "\n\nThe actions read and store data in the LocalBackend of `synapse run` "
            "(`./.synapse`, or `$SYNAPSE_HOME`): `synapse backend datasets` lists what it holds."
        )
    setup = "from synapse_sdk.notebook import ActionPanel\n\nPLUGIN = '.'"
    if needs_backend:
        setup = (
            "from synapse_sdk.clients import LocalBackend\n"
            "from synapse_sdk.notebook import ActionPanel\n\n"
            "PLUGIN = '.'\nbackend = LocalBackend()"
        )
    client = ", client=backend" if needs_backend else ""
    cells: list[dict[str, object]] = [_cell("markdown", intro), _cell("code", setup)]
    for name in actions:
        cells.append(_cell("code", f"{name} = ActionPanel(PLUGIN, {name!r}{client})\n{name}"))
    cells.append(
        _cell("markdown", "From code: `run = panel.run_sync()` runs and waits; `run.result`.")
    )
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1) + "\n"


def _cell(kind: str, source: str) -> dict[str, object]:
    if kind == "markdown":
        return {"cell_type": "markdown", "metadata": {}, "source": source}
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": source,
    }
