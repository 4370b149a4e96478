"""A reference-style plugin of each category works on every surface a user has: it lists with
``synapse actions``, loads with ``PluginDiscovery.from_path`` and the ast-only
``discover_actions``, and runs with ``synapse run``, ``run_plugin``, the ``synapse_run``
fixture and the notebook's ``ActionPanel``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synapse_sdk.cli import main
from synapse_sdk.plugins import run_plugin
from synapse_sdk.plugins.discovery import PluginDiscovery

from .test_reference_plugins import HEADER, SIMPLE, SIMPLE_PLUGINS, _write

PLAIN = {  # the reference scaffold's custom plugin: a plain function entrypoint
    "config.yaml": HEADER.format(category="custom", code="custom")
    + "\nactions:\n  main:\n    entrypoint: plugin.main.run\n    method: task\n",
    "plugin/main.py": '''\
        """Main action."""

        from typing import Any


        def run(**kwargs: Any) -> Any:
            """Count the items."""
            return {"checked": len(kwargs.get("items", []))}
        ''',
}

CATEGORIES = [*sorted(SIMPLE_PLUGINS), "custom"]


def make(root: Path, category: str) -> tuple[Path, str]:
    """The plugin directory and its action name."""
    if category == "custom":
        return _write(root / "custom", PLAIN), "main"
    extra, action, cls, type_name = SIMPLE_PLUGINS[category]
    code = category.replace("_", "-")
    config = (
        HEADER.format(category=category, code=code)
        + extra
        + f"\nactions:\n  {action}:\n    entrypoint: plugin.{action}.{cls}\n    method: task\n"
    )
    source = SIMPLE.format(cls=cls, action=action, enum=category.upper(), type_name=type_name)
    return _write(root / code, {"config.yaml": config, f"plugin/{action}.py": source}), action


@pytest.fixture(params=CATEGORIES)
def plugin(request, tmp_path) -> tuple[Path, str]:
    return make(tmp_path, request.param)


def test_it_lists_and_loads(plugin, capsys):
    root, action = plugin
    assert main(["actions", str(root), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["status"]) == (action, "ok")
    assert PluginDiscovery.from_path(root).list_actions() == [action]
    found = PluginDiscovery.discover_actions(root)
    # the ast scan finds action classes; a plain function is an action only through config.yaml
    assert list(found) == ([] if row["kind"] == "plain" else [action])


def test_it_runs_from_the_cli(plugin, capsys, monkeypatch, tmp_path):
    root, action = plugin
    monkeypatch.chdir(tmp_path)  # no .synapse here: nothing is recorded
    monkeypatch.delenv("SYNAPSE_HOME", raising=False)
    assert main(["run", str(root), action, "-p", 'items=["a","b","c"]', "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["status"], record["result"]) == ("succeeded", {"checked": 3})


def test_it_runs_with_run_plugin(plugin):
    root, action = plugin
    assert run_plugin(root, action, {"items": ["a", "b"]}) == {"checked": 2}


def test_it_runs_under_the_synapse_run_fixture(plugin, synapse_run):
    root, action = plugin
    run = synapse_run(root, action, {"items": ["a"]})
    assert run.result == {"checked": 1}


def test_it_runs_in_the_notebook_panel(plugin):
    pytest.importorskip("ipywidgets")
    from synapse_sdk.notebook import ActionPanel

    root, action = plugin
    panel = ActionPanel(root, action)
    # a plain entrypoint has no params model: its form is one JSON box
    try:
        run = panel.run_sync({"items": ["a", "b", "c", "d"]}, timeout=30)
        assert run is not None and run.ok and run.result == {"checked": 4}
    finally:
        panel.close()


def test_a_neural_net_train_action_runs_from_the_cli_against_the_local_backend(
    tmp_path, monkeypatch, capsys
):
    """`synapse run ... --backend`: the dataset comes from the LocalBackend, the trained model
    goes back to it, and the run is recorded there as a job."""
    from synapse_sdk.clients.local import LocalBackend

    from .test_reference_plugins import NEURAL_NET

    root = _write(tmp_path / "demo-nn", NEURAL_NET)
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (images / name).write_bytes(name.encode())
    monkeypatch.setenv("SYNAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["backend", "import-dataset", str(images), "--name", "cats"]) == 0
    dataset_id = LocalBackend().list_datasets()[0]["id"]
    capsys.readouterr()

    argv = ["run", str(root), "train", "-p", f"dataset={dataset_id}", "--backend", "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "succeeded"
    backend = LocalBackend()
    (model,) = backend.list_models()
    assert backend.read_file(model["file"]["sha256"]) == b"trained on 3"
    (job,) = backend.list_jobs()
    assert (job["action"], job["status"]) == ("train", "succeeded")
