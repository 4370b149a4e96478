"""The notebooks in notebooks/ execute top to bottom, and their saved widget state shows the
finished runs (bars at their final value, forms holding the edited values)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs nbformat (dev extra)")
nbclient = pytest.importorskip("nbclient", reason="needs nbclient and ipykernel (dev extra)")
pytest.importorskip("ipykernel", reason="needs ipykernel (dev extra)")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def execute(name: str) -> Any:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    fresh = copy.deepcopy(nb)
    fresh.metadata.pop("widgets", None)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = nbclient.NotebookClient(
        fresh,
        timeout=60,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return fresh


def models(nb: Any, name: str) -> list[dict[str, Any]]:
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    return [m["state"] for m in state.values() if m["model_name"] == name]


def bars(nb: Any) -> dict[str, dict[str, Any]]:
    """Step name -> the state of its bar (a bar row: name, FloatProgress, text)."""
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    found = {}
    for model in state.values():
        if "synapse-bar" not in model["state"].get("_dom_classes", []):
            continue
        name, bar, _text = (c.removeprefix("IPY_MODEL_") for c in model["state"]["children"])
        found[re.sub(r"<[^>]+>", "", state[name]["state"]["value"])] = state[bar]["state"]
    return found


def check_common(nb: Any) -> None:
    """No cell failed, and every widget an output shows is in the saved state."""
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{output.ename}: {output.evalue}"
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                assert view["model_id"] in state


@pytest.fixture(scope="module")
def quickstart() -> Any:
    return execute("quickstart")


def test_quickstart_runs_and_saves_the_finished_panel(quickstart):
    check_common(quickstart)
    train = bars(quickstart)["train"]
    assert (train["value"], train["max"], train["bar_style"]) == (25.0, 25.0, "success")
    sliders = {m["value"] for m in models(quickstart, "IntSliderModel")}
    assert 20 in sliders  # the form cell set epochs to 20
    html = [m["value"] for m in models(quickstart, "HTMLModel")]
    assert any("Done in" in v for v in html)  # the status line
    assert any("train/loss" in v and "<polyline" in v for v in html)
    assert any("weights_path" in v for v in html)  # the result table
    run_cell = quickstart.cells[3]
    assert ">succeeded</span>" in run_cell.outputs[0]["data"]["text/html"]


def test_testing_notebook_runs_the_kit_and_saves_the_panel():
    nb = execute("testing_with_the_kit")
    check_common(nb)
    count = bars(nb)["count"]
    assert (count["value"], count["max"], count["bar_style"]) == (30.0, 30.0, "success")
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "n: Input should be greater than or equal to 1 (got 0)" in printed


def test_example_plugin_notebook():
    if not (NOTEBOOKS.parent / "examples" / "digits" / "config.yaml").exists():
        pytest.skip("examples/digits is not in this checkout")
    pytest.importorskip("sklearn", reason="the digits plugin needs the examples extra")
    nb = execute("example_plugin")
    check_common(nb)
    train = bars(nb)["train"]
    assert train["value"] == train["max"] and train["bar_style"] == "success"


@pytest.mark.parametrize("name", ["quickstart", "testing_with_the_kit", "example_plugin"])
def test_committed_notebooks_carry_outputs_and_widget_state(name):
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        pytest.skip(f"{path.name} is not built yet (python notebooks/build.py {name})")
    nb = json.loads(path.read_text())
    assert nb["metadata"]["widgets"][WIDGET_STATE]["state"], "saved without widget state"
    progress = [
        m["state"]
        for m in nb["metadata"]["widgets"][WIDGET_STATE]["state"].values()
        if m["model_name"] == "FloatProgressModel"
    ]
    assert progress and all(p["value"] == p["max"] for p in progress)
    assert all(c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code")


def _build_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_notebooks_build", NOTEBOOKS / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(nb: Any) -> list[tuple[str, str, str]]:
    return [(c["id"], c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def test_committed_notebooks_hold_exactly_the_cells_of_build_py():
    build = _build_module()
    committed = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert committed == sorted(build.NOTEBOOKS), "a notebook without cells in build.py, or unbuilt"
    for name, cells in build.NOTEBOOKS.items():
        on_disk = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
        fresh = build.make(cells)
        assert _cells(on_disk) == _cells(fresh), (
            f"notebooks/{name}.ipynb is out of date with notebooks/build.py: "
            f"run python notebooks/build.py {name}"
        )
        assert on_disk["metadata"]["kernelspec"] == fresh.metadata["kernelspec"]


@pytest.mark.parametrize("name", ["quickstart", "testing_with_the_kit", "example_plugin"])
def test_committed_panels_show_their_finished_run_without_a_kernel(name):
    """Each panel output has a static HTML twin of its final state (what an untrusted
    notebook shows in JupyterLab) beside the widget view (what a trusted one renders)."""
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    outputs = [o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", [])]
    panels = [d for d in outputs if "ActionPanel(" in "".join(d.get("text/plain", ""))]
    assert panels, f"{name}: no panel output"
    for data in panels:
        assert WIDGET_VIEW in data
        html = "".join(data["text/html"])
        assert "Done in" in html and "(100%)" in html and "VBox(children" not in html
        assert "".join(data["text/plain"]).endswith(", succeeded)")
