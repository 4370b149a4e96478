"""`synapse backend datasets|models|jobs|logs|import-dataset` on a LocalBackend."""

import json

import pytest

from synapse_sdk.cli import main
from synapse_sdk.clients.local import LocalBackend
from synapse_sdk.plugins import RuntimeContext, action, run_action


@action(name="greet")
def greet(params: dict, ctx: RuntimeContext) -> dict:
    ctx.log("hello", {"who": "bob"})
    ctx.logger.warning("careful now")
    ctx.set_progress(1, 2, step="work")
    return {"ok": True}


@pytest.fixture
def home(tmp_path, monkeypatch):
    root = tmp_path / "home"
    monkeypatch.setenv("SYNAPSE_HOME", str(root))
    return root


def test_import_dataset_then_list_it(home, tmp_path, capsys):
    src = tmp_path / "pets"
    (src / "cats").mkdir(parents=True)
    (src / "cats" / "1.png").write_bytes(b"c")
    (src / "cats" / "notes.txt").write_text("x")
    assert main(["backend", "import-dataset", str(src), "--ext", ".png"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dataset 1 'pets': 1 data units in ")
    assert main(["backend", "datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "DATA", "UNITS", "CREATED"]
    assert lines[1].split()[:3] == ["1", "pets", "1"]


def test_jobs_models_and_logs(home, tmp_path, capsys):
    backend = LocalBackend(home)
    run_action(greet, client=backend).raise_for_status()
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x" * 2048)
    backend.create_model(weights, name="net", job=1)
    backend.close()

    assert main(["backend", "jobs"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:5] == ["1", "greet", "succeeded", "work", "50%"]
    assert main(["backend", "models", "--name", "net"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:5] == ["1", "net", "w.bin", "2.0", "KiB"]
    assert main(["backend", "logs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[3:] == ["INFO", "hello", '{"who":', '"bob"}']
    assert lines[1].split()[3:] == ["WARNING", "careful", "now"]
    assert main(["backend", "logs", "1", "--json", "--after", lines[0].split()[0]]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["data"] == {"message": "careful now"}


def test_listing_never_creates_a_backend(home, capsys):
    assert main(["backend", "datasets"]) == 2
    err = capsys.readouterr().err
    assert "No LocalBackend at" in err and "--backend" in err
    assert not home.exists()


def test_logs_of_an_unknown_job_is_a_not_found_error(home, capsys):
    LocalBackend(home).close()
    assert main(["backend", "logs", "9"]) == 2
    assert "No job with id 9" in capsys.readouterr().err
