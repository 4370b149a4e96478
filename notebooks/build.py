"""Write and execute the notebooks in this folder (outputs and widget state are committed).

    python notebooks/build.py            # rebuild every notebook
    python notebooks/build.py quickstart # just one

Each notebook's cells live here, so the notebooks stay reviewable as code. Executing keeps the
widget state (``store_widget_state``) and each form's and panel's static HTML twin (a panel
refreshes its output when a run ends): opened in JupyterLab without running, an untrusted
notebook (any fresh clone) shows the finished forms and bars from the HTML, a trusted one
renders the widgets from the saved state.

``tests/notebook/test_notebooks.py`` checks that the committed notebooks hold exactly these
cells, re-executes them and checks the saved state; ``tests/notebook/test_browser.py`` opens
them in JupyterLab.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

QUICKSTART = [
    (
        "markdown",
        """# Quickstart: actions in a notebook

An action is a typed unit of work: a pydantic params model in, a result out, progress, metrics
and logs reported through its `RuntimeContext`. This notebook defines the two kinds of action
(a function and a class), runs one directly, builds a form from a params model and runs an
action from a panel with live progress.""",
    ),
    (
        "code",
        """from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction, RuntimeContext, action, run_action
from synapse_sdk.plugins.enums import PluginCategory


class ConvertParams(BaseModel):
    input_path: str
    output_format: str = Field(default="yolo", description="Target format")


class ConvertResult(BaseModel):
    output_path: str
    file_count: int


@action(
    name="convert",
    description="Convert dataset to target format",
    params=ConvertParams,
    result=ConvertResult,
)
def convert(params: ConvertParams, ctx: RuntimeContext) -> ConvertResult:
    ctx.set_progress(0, 100)
    output_path = f"{params.input_path}.{params.output_format}"  # the conversion goes here
    ctx.set_progress(100, 100)
    return ConvertResult(output_path=output_path, file_count=42)""",
    ),
    ("markdown", "A `Run` is the record of one run; a notebook shows it as a summary."),
    (
        "code",
        """run = run_action(convert, {"input_path": "/data/coco"})
run""",
    ),
    (
        "code",
        """class TrainParams(BaseModel):
    epochs: int = Field(default=10, ge=1, le=1000, description="Passes over the data")
    learning_rate: float = Field(default=0.001, gt=0, lt=1)
    batch_size: int = Field(default=32, ge=1)


class TrainResult(BaseModel):
    weights_path: str
    final_loss: float


class TrainAction(BaseAction[TrainParams]):
    \"\"\"Train a model on the dataset.\"\"\"

    action_name = "train"
    category = PluginCategory.NEURAL_NET
    result_model = TrainResult

    def execute(self) -> TrainResult:
        self.log("train_start", {"epochs": self.params.epochs, "lr": self.params.learning_rate})
        loss = 1.0
        for epoch in range(self.params.epochs):
            loss *= 0.8  # train_one_epoch(epoch, lr) goes here
            self.set_progress(epoch + 1, self.params.epochs, step="train")
            self.set_metrics({"loss": loss, "epoch": epoch}, step="train")
        return TrainResult(weights_path="/model/weights.pt", final_loss=round(loss, 6))""",
    ),
    (
        "markdown",
        """## A form from the params model

Bounded fields get bounded widgets (a slider when both bounds exist), and every edit is
validated by pydantic: errors show next to the field.""",
    ),
    (
        "code",
        """from synapse_sdk.notebook import ParamsForm

form = ParamsForm(TrainParams)
form.widgets["epochs"].value = 20
form""",
    ),
    ("code", "form.value"),
    (
        "markdown",
        """## A run panel

`ActionPanel` adds Run and Cancel buttons. The action runs in a worker thread, so Cancel
works while it runs; bars, metrics and logs update at most 10 times a second.
`panel.run_sync()` is what clicking Run and waiting does; `panel.last_run` is the latest
run.""",
    ),
    (
        "code",
        """from synapse_sdk.notebook import ActionPanel

panel = ActionPanel(TrainAction, params={"epochs": 25})
panel""",
    ),
    (
        "code",
        """run = panel.run_sync()
assert run.ok, run.error
run.result""",
    ),
]


EXAMPLE_PLUGIN = [
    (
        "markdown",
        """# The example plugin in a notebook

`ActionPanel` takes a plugin (a directory, its `config.yaml` or a module name) and an action
name, exactly like `synapse run`. The action's name, description and params come from the
plugin's config. The digits plugin (`examples/digits`) trains a softmax classifier on the
8x8 digits bundled with scikit-learn; its runs store datasets and models in a backend, here a
`LocalBackend` in a temporary folder.""",
    ),
    (
        "code",
        """import tempfile
from pathlib import Path

from synapse_sdk.clients import LocalBackend
from synapse_sdk.notebook import ActionPanel
from synapse_sdk.plugins.loading import load_plugin

PLUGIN = Path("..") / "examples" / "digits"
plugin = load_plugin(PLUGIN)
backend = LocalBackend(root=tempfile.mkdtemp(prefix="digits-"))
plugin.list_actions()""",
    ),
    (
        "markdown",
        """The form shows the params of `train`: `dataset` is optional (unticked: the bundled
digits, imported on first use), the bounded fields are sliders or bounded boxes.""",
    ),
    (
        "code",
        """panel = ActionPanel(PLUGIN, "train", params={"epochs": 8}, client=backend)
panel""",
    ),
    (
        "code",
        """run = panel.run_sync()
assert run.ok, run.traceback
run.result""",
    ),
    (
        "markdown",
        "The trained model is in the backend; `infer` classifies images with it.",
    ),
    (
        "code",
        """[(m["id"], m["name"], m["meta"]["val_accuracy"])
 for m in backend.list_models()]""",
    ),
]


TESTING = [
    (
        "markdown",
        """# Testing an action with the kit

`synapse_testing` is a pytest plugin (fixtures `synapse_ctx`, `synapse_run`, ...), and the
objects behind the fixtures work anywhere, notebooks included: a `RecordingContext` records
every event, `ActionRunner` runs actions with it, and the `assert_*` helpers check what a test
would check.""",
    ),
    (
        "code",
        """from pydantic import BaseModel, Field

from synapse_sdk.plugins import RuntimeContext, action


class CountParams(BaseModel):
    n: int = Field(5, ge=1, le=100)


@action(params=CountParams)
def count(params: CountParams, ctx: RuntimeContext) -> dict:
    total = 0
    for i in range(params.n):
        total += i
        ctx.set_progress(i + 1, params.n)
        ctx.set_metrics({"total": total})
    ctx.log("done", {"total": total})
    return {"total": total}""",
    ),
    (
        "code",
        """from synapse_testing import ActionRunner, RecordingContext
from synapse_testing import assert_logged, assert_metrics, assert_progress_complete

runner = ActionRunner(RecordingContext())
run = runner(count, {"n": 10})
assert_progress_complete(run)
assert_logged(run, "done", data={"total": 45})
assert_metrics(run, "total", [0, 1, 3, 6, 10, 15, 21, 28, 36, 45])
assert run.result == {"total": 45}
run""",
    ),
    (
        "markdown",
        """Invalid params fail before the action runs, with the field path in the message. The
panel's form checks the same model while you type: enter 0 in its field and the message
shows next to it, with Run disabled until it is fixed.""",
    ),
    (
        "code",
        """from synapse_sdk.notebook import ActionPanel
from synapse_sdk.plugins.errors import ValidationError

try:
    runner(count, {"n": 0})
except ValidationError as exc:
    print(exc)

panel = ActionPanel(count)
panel.form.widgets["n"].value = 30
panel.run_sync()
panel""",
    ),
]


def _cells_beside() -> dict[str, list[tuple[str, str]]]:
    """Notebooks whose cells live in their own module here: ``NAME.py`` defining ``CELLS``."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        if path.stem == "build":
            continue
        spec = importlib.util.spec_from_file_location(f"_notebook_cells_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cells = getattr(module, "CELLS", None)
        if cells is not None:
            found[path.stem] = cells
    return found


NOTEBOOKS = {
    "quickstart": QUICKSTART,
    "example_plugin": EXAMPLE_PLUGIN,
    "testing_with_the_kit": TESTING,
    **_cells_beside(),
}


def make(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A fresh notebook with these (kind, source) cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, source) in enumerate(cells):
        cell = (
            nbformat.v4.new_markdown_cell(source)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(source)
        )
        cell["id"] = f"cell-{i}"  # stable ids keep rebuild diffs small
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel (this interpreter), keeping the widget state."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def compact(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop unset (null) layout keys from the saved widget state: the front end fills in the
    same defaults, and every widget's layout otherwise costs about 1 kB of mostly nulls."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model in state.get("state", {}).values():
        if model["model_name"] == "LayoutModel":
            model["state"] = {k: v for k, v in model["state"].items() if v is not None}
    return nb


def main(names: list[str]) -> int:
    for name in names or list(NOTEBOOKS):
        nb = compact(execute(make(NOTEBOOKS[name]), HERE))
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
