"""`synapse new`: every category scaffolds a plugin on its base class whose tests pass as
written, under plain `pytest`, with their first snapshot; names are quoted in the next steps."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from synapse_sdk.cli import main
from synapse_sdk.cli._scaffolds import BLUEPRINTS

# category -> (main action module, what it must build on, tests the scaffold writes)
EXPECTED = {
    "neural_net": ("train", "(BaseTrainAction[TrainParams])", 4),
    "export": ("export", "(BaseExportAction[ExportParams])", 2),
    "upload": ("upload", "(DefaultUploadAction[UploadParams])", 2),
    "smart_tool": ("auto_label", "(BaseAutoLabelAction[AutoLabelParams])", 2),
    "pre_annotation": ("to_task", "(ToTaskAction)", 2),
    "post_annotation": ("review", "(DatasetAction[ReviewParams])", 2),
    "data_validation": ("validate", "(DatasetAction[ValidateParams])", 3),
    "custom": ("run", "(BaseAction[RunParams])", 2),
}


def _pytest_script() -> str:
    """The `pytest` command itself: unlike `python -m pytest`, it does not put the current
    folder on sys.path, so the plugin's own pytest config must."""
    script = Path(sys.executable).with_name("pytest")
    if not script.exists():
        pytest.skip("the pytest console script is not installed next to this Python")
    return str(script)


def test_every_category_is_covered():
    assert set(EXPECTED) == set(BLUEPRINTS)


@pytest.mark.parametrize("category", sorted(EXPECTED))
def test_each_category_scaffolds_a_plugin_whose_tests_pass_under_plain_pytest(
    category, tmp_path, capsys
):
    module, base, tests = EXPECTED[category]
    root = tmp_path / f"my {category}"
    assert main(["new", str(root), "--category", category]) == 0
    err = capsys.readouterr().err
    assert f"wrote the first snapshot ({tests} passed" in err

    code = (root / "plugin" / f"{module}.py").read_text()
    assert base in code
    package = f"my_{category}"
    snapshot = root / "tests" / "__snapshots__" / f"test_{package}.ambr"
    assert "matches_its_snapshot" in snapshot.read_text()
    # config.yaml names what the code defines
    assert main(["sync", str(root), "--check"]) == 0
    assert main(["actions", str(root)]) == 0
    capsys.readouterr()

    proc = subprocess.run(
        [_pytest_script(), "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{tests} passed" in proc.stdout


def test_the_neural_net_plugin_trains_and_infers_from_the_command_line(
    tmp_path, capsys, monkeypatch
):
    """The README's commands: import the sample data, train on it, use the model."""
    monkeypatch.setenv("SYNAPSE_HOME", str(tmp_path / "home"))
    root = tmp_path / "digits like"
    assert main(["new", str(root), "--category", "neural_net", "--no-snapshot"]) == 0
    readme = (root / "README.md").read_text()
    for line in (
        "synapse backend import-dataset ./sample_data",
        "synapse run . train -p dataset=1",
        "synapse run . infer -p model=1",
    ):
        assert line in readme
    assert main(["backend", "import-dataset", str(root / "sample_data")]) == 0
    capsys.readouterr()
    assert main(["run", str(root), "train", "-p", "dataset=1", "-p", "epochs=30"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["model_id"] == 1 and abs(trained["weight"] - 4.0) < 0.01
    assert main(["run", str(root), "infer", "-p", "model=1", "--params", '{"inputs": [4]}']) == 0
    assert json.loads(capsys.readouterr().out)["predictions"] == [{"input": 4.0, "distance": 0.0}]


def test_the_first_action_takes_the_name_given(tmp_path, capsys):
    root = tmp_path / "fitter"
    assert main(["new", str(root), "--category", "neural_net", "--action", "fit"]) == 0
    assert "wrote the first snapshot (4 passed" in capsys.readouterr().err
    config = (root / "config.yaml").read_text()
    assert "entrypoint: plugin.fit:FitAction" in config
    assert "entrypoint: plugin.infer:InferAction" in config
    assert "class FitAction(BaseTrainAction[FitParams])" in (root / "plugin" / "fit.py").read_text()


def test_names_with_spaces_and_punctuation_are_quoted_in_the_next_steps(tmp_path, capsys):
    root = tmp_path / "My Plugin!"
    assert main(["new", str(root), "--no-snapshot"]) == 0
    err = capsys.readouterr().err
    (cd,) = [line.strip() for line in err.splitlines() if line.strip().startswith("cd ")]
    assert shlex.split(cd) == ["cd", str(root)]
    assert 'name: "My Plugin!"' in (root / "config.yaml").read_text()
    assert "code: my-plugin" in (root / "config.yaml").read_text()


def test_the_readme_commands_line_up(tmp_path):
    root = tmp_path / "aligned"
    assert main(["new", str(root), "--category", "export", "--no-snapshot"]) == 0
    readme = (root / "README.md").read_text()
    block = readme.split("```console\n")[1].split("```")[0].splitlines()
    assert len({line.index("# ") for line in block}) == 1, block


def test_the_notebook_opens_a_panel_per_action(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("SYNAPSE_HOME", str(tmp_path / "home"))
    root = tmp_path / "nn"
    assert main(["new", str(root), "--category", "neural_net", "--no-snapshot"]) == 0
    nb = nbformat.read(root / "notebook.ipynb", as_version=4)
    nbformat.validate(nb)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}
    )
    client.execute()
    shown = [
        "".join(o["data"]["text/plain"])
        for c in nb.cells
        for o in c.get("outputs", [])
        if "data" in o
    ]
    assert shown == ["ActionPanel('train', idle)", "ActionPanel('infer', idle)"]


def test_new_refuses_a_non_empty_directory(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("")
    assert main(["new", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "already exists and is not empty" in err and "--force" in err


def test_scaffold_refuses_an_unknown_category_and_a_bad_action_name(tmp_path):
    from synapse_sdk.cli.new import scaffold
    from synapse_sdk.plugins.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        scaffold(tmp_path / "a", category="neural_nets")
    assert (info.value.message, info.value.hint) == (
        "unknown plugin category 'neural_nets'",
        "did you mean 'neural_net'?",
    )
    with pytest.raises(ValidationError) as info:
        scaffold(tmp_path / "b", action="9 lives")
    assert (info.value.message, info.value.hint) == (
        "action name '9 lives' cannot be turned into a Python name",
        "use letters, digits and underscores, starting with a letter",
    )
    with pytest.raises(ValidationError, match="'infer' is taken by the neural_net plugin"):
        scaffold(tmp_path / "c", category="neural_net", action="infer")
    assert not any((tmp_path / d).exists() for d in "abc")
